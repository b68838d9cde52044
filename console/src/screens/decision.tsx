import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, type Api, type DecisionDetail, type HaltState, type LedgerEntry, type Override } from '../api.js';
import { Alert, Facts, Link, Time } from '../components.js';
import { Person } from '../people.js';
import { issuingSeq, tokenStatus, type IssuingSeq, type LedgerEvidence } from '../lib/decisions.js';
import { humanize } from '../lib/format.js';
import { canOverride, canReadLedger } from '../lib/roles.js';
import { useNow, usePoll } from '../router.js';
import { OutcomeTag } from './decisions.js';
import { OverrideForm } from './override.js';

type Me = { userId: string; role: string };

interface Loaded {
  decision: DecisionDetail;
  overrides: Override[];
  halt: HaltState;
  entry: LedgerEntry | null;
  issued: IssuingSeq;
  explicitRevocation: boolean | null;
}

/**
 * Whether the ledger shows an explicit revocation of the decision's token: a `token_revoked` entry for
 * its jti after the decision's entry (one page of that event type), or the escalation's resolution naming
 * it as revoked. Only asked when the API reports the token revoked (a revocation or a stop). null when
 * the page read did not cover the whole range.
 */
async function findRevocation(api: Api, d: DecisionDetail): Promise<boolean | null> {
  if (!d.token?.revoked) return false;
  const jti = d.token.jti;
  const page = await api.ledgerEntries({ event_type: 'token_revoked', after_seq: String(d.ledger.seq), limit: '1000' });
  if (page.entries.some((e) => e.data.jti === jti)) return true;
  if (d.escalation) {
    const c = await api.escalation(d.escalation.escalation_id);
    if (c.history.some((h) => h.details.token_revoked === jti)) return true;
  }
  return page.next_cursor === null ? false : null;
}

/**
 * Where the decision's token was issued, from the ledger as the API shows it: the decision's own entry,
 * the escalation's approval (its `resolved` step names its entry and the jti), or an override that
 * minted it (created with effect at once, or its `override_confirmed` entry, looked for on one page of
 * that event type after the override's creation). Without a match only a lower bound is known.
 */
async function findIssuing(api: Api, d: DecisionDetail, overrides: Override[], entry: LedgerEntry | null): Promise<IssuingSeq> {
  const bounds = [d.ledger.seq];
  if (!d.token) return { atLeast: d.ledger.seq };
  const jti = d.token.jti;
  const evidence: LedgerEvidence[] = entry ? [{ seq: entry.seq, data: entry.data }] : [];
  let found = issuingSeq(jti, evidence, bounds);
  if ('exact' in found) return found;
  if (d.escalation?.resolution === 'approved') {
    const c = await api.escalation(d.escalation.escalation_id);
    for (const h of c.history) if (h.event === 'resolved') evidence.push({ seq: h.ledger.seq, data: h.details });
    found = issuingSeq(jti, evidence, bounds);
    if ('exact' in found) return found;
  }
  for (const o of overrides) {
    if (o.token_issued !== jti) continue;
    bounds.push(o.ledger.seq);
    if (!o.two_person) {
      // Took effect at creation: its override_created entry issued the token.
      evidence.push({ seq: o.ledger.seq, data: { token_issued: o.token_issued } });
    } else {
      const page = await api.ledgerEntries({ event_type: 'override_confirmed', after_seq: String(o.ledger.seq), limit: '200' });
      for (const e of page.entries) if (e.data.override_id === o.override_id) evidence.push({ seq: e.seq, data: e.data });
    }
  }
  return issuingSeq(jti, evidence, bounds);
}

/**
 * A decision's page: outcome and effective outcome, reason, risk, the escalation, the overrides, the
 * capability token's status (computed from the API's answers: see lib/decisions.ts tokenStatus) and the
 * ledger entry; the override form for executives and admins. Re-read every 5 s.
 */
export function DecisionView({ api, id, me }: { api: Api; id: string; me: Me }) {
  const [state, setState] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [showEntry, setShowEntry] = useState(false);
  const [tick, setTick] = useState(0);
  const [notice, setNotice] = useState<ComponentChildren | null>(null);
  const now = useNow(5000);
  const ledgerReader = canReadLedger(me.role);

  usePoll(
    async () => {
      try {
        const [decision, overrides, halt] = await Promise.all([api.decision(id), api.overrides({ decision_id: id, limit: '200' }), api.haltState()]);
        const entry = ledgerReader ? await api.ledgerEntry(decision.ledger.entry_id) : null;
        const issued = ledgerReader ? await findIssuing(api, decision, overrides.items, entry) : { atLeast: decision.ledger.seq };
        const explicitRevocation = ledgerReader ? await findRevocation(api, decision) : null;
        setState({ decision, overrides: overrides.items, halt, entry, issued, explicitRevocation });
        setLoadError(null);
      } catch (err) {
        if (err instanceof ApiError && err.status !== 401) setLoadError(err.status === 404 ? `No decision ${id}.` : err.message);
      }
    },
    5000,
    [id, tick],
  );

  const back = (
    <p>
      <Link to="/decisions">← Back to the decisions</Link>
    </p>
  );
  if (!state) {
    return (
      <main id="main" tabIndex={-1}>
        {back}
        {loadError ? <Alert>{loadError}</Alert> : <p>Loading {id}…</p>}
      </main>
    );
  }
  const { decision: d, overrides, halt, entry } = state;
  const token = tokenStatus({ token: d.token, tokensInvalidBefore: halt.tokens_invalid_before, issued: state.issued, explicitRevocation: state.explicitRevocation, now });
  const pending = overrides.filter((o) => o.status === 'pending_confirmation');

  return (
    <main id="main" tabIndex={-1} class="decision">
      {back}
      <h1>Decision {d.decision_id}</h1>
      {loadError && <Alert>{loadError}</Alert>}
      <div class="grid">
        <section aria-labelledby="h-outcome">
          <h2 id="h-outcome">Outcome</h2>
          <Facts
            rows={[
              ['Outcome', <OutcomeTag outcome={d.outcome} />],
              [
                'Effective outcome',
                <span data-testid="effective-outcome">
                  <OutcomeTag outcome={d.effective_outcome} />
                  {d.effective_outcome !== d.outcome && <span class="tag">changed by a review or an override</span>}
                </span>,
              ],
              ['Reason', d.reason],
              ['Conditions', d.conditions.length > 0 ? d.conditions.join('; ') : 'none'],
              ['Policy', d.policy ? `${d.policy.policy_id} (${d.policy.mode})` : 'none'],
              ['Risk', `${d.risk.overall_score} / 100 (${d.risk.risk_level})`],
            ]}
          />
        </section>
        <section aria-labelledby="h-request">
          <h2 id="h-request">The request</h2>
          <Facts
            rows={[
              ['Actor', <code>{d.actor}</code>],
              ['Action', <code>{d.action}</code>],
              ['Tool', <code>{d.tool}</code>],
              ['Requested by', <Person id={d.requested_by} />],
              ['Decided', <Time iso={d.timestamp} />],
              ['Request id', d.request_id ? <code>{d.request_id}</code> : 'none'],
            ]}
          />
        </section>
      </div>

      <section aria-labelledby="h-token">
        <h2 id="h-token">Capability token</h2>
        <p>
          <span class={`token-status token-${token.status}`} data-token-status={token.status}>
            <strong>{token.label}</strong>
          </span>{' '}
          {token.detail}
        </p>
        {d.token && (
          <Facts
            rows={[
              ['Token id', <code>{d.token.jti}</code>],
              ['Expires', <Time iso={d.token.expires_at} />],
              ['Issued by ledger entry', 'exact' in state.issued ? `#${state.issued.exact}` : `not found (at or after #${state.issued.atLeast})`],
              ['Latest stop', halt.tokens_invalid_before === null ? 'none' : `ledger entry #${halt.tokens_invalid_before}`],
            ]}
          />
        )}
      </section>

      {d.escalation && (
        <section aria-labelledby="h-esc">
          <h2 id="h-esc">Escalation</h2>
          <p>
            <Link to={`/escalations/${d.escalation.escalation_id}`}>{d.escalation.escalation_id}</Link>: {humanize(d.escalation.status)}
            {d.escalation.resolution ? <>, resolved {d.escalation.resolution} by <Person id={d.escalation.resolved_by} me={me.userId} /></> : ''}.
          </p>
        </section>
      )}

      <section aria-labelledby="h-overrides">
        <h2 id="h-overrides">Overrides</h2>
        {overrides.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul class="records">
            {overrides.map((o) => (
              <li key={o.override_id} data-override-id={o.override_id}>
                <code>{o.override_id}</code>: {humanize(o.original_outcome)} → {humanize(o.new_outcome)},{' '}
                <strong data-override-status={o.status}>{humanize(o.status)}</strong>
                {o.two_person ? ' (two-person)' : ''}; asked by <Person id={o.authorized_by} me={me.userId} /> ({o.authorized_role}) at <Time iso={o.created_at} />
                {o.confirmed_by ? <>, confirmed by <Person id={o.confirmed_by} me={me.userId} /> at <Time iso={o.confirmed_at} /></> : ''}
                {o.expires_at ? <>; expires <Time iso={o.expires_at} /></> : ''}
                <div class="hint">Justification: {o.justification}</div>
                <div class="hint">
                  Signed records:{' '}
                  {o.interventions.map((r) => (
                    <span key={r.intervention_id} class={`verify verify-${r.verification}`}>
                      {humanize(r.kind)} {r.verification === 'valid' ? 'valid ✓' : `${humanize(r.verification)} ✗`}{' '}
                    </span>
                  ))}
                </div>
              </li>
            ))}
          </ul>
        )}
        {pending.length > 0 && (
          <p>
            Waiting for a second person: <Link to="/overrides">the confirmation queue</Link>.
          </p>
        )}
      </section>

      {canOverride(me.role) && pending.length === 0 && (
        <OverrideForm
          api={api}
          decision={d}
          onDone={(m) => {
            setNotice(m);
            setTick((t) => t + 1);
          }}
        />
      )}
      {notice && <Alert kind="success">{notice}</Alert>}

      {ledgerReader && (
        <section aria-labelledby="h-ledger">
          <h2 id="h-ledger">Ledger entry</h2>
          <p>
            Entry <code>{d.ledger.entry_id}</code> (#{d.ledger.seq}), hash <code>{d.ledger.entry_hash}</code>. Its JSON as{' '}
            <code>GET /ledger/entries/{d.ledger.entry_id}</code> answers it:
          </p>
          <button type="button" aria-expanded={showEntry} aria-controls="ledger-json" onClick={() => setShowEntry(!showEntry)}>
            {showEntry ? 'Hide the ledger entry JSON' : 'Show the ledger entry JSON'}
          </button>
          {showEntry && (
            <pre id="ledger-json" class="json" tabIndex={0} aria-label={`Ledger entry ${d.ledger.entry_id}, JSON`}>
              {entry ? JSON.stringify(entry, null, 2) : 'Loading…'}
            </pre>
          )}
        </section>
      )}
    </main>
  );
}
