import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, type Api, type EscalationDetail, type ResolveOutcome } from '../api.js';
import { Alert, Facts, Link, Sla, Time } from '../components.js';
import { humanize } from '../lib/format.js';
import { canResolve } from '../lib/roles.js';
import { checkNotes, NOTES_MAX } from '../lib/validate.js';
import { useNow, usePoll } from '../router.js';
import { POLL_MS } from './queue.js';

const ACTIONS: Array<{ outcome: ResolveOutcome; label: string; kind: string }> = [
  { outcome: 'approved', label: 'Approve', kind: 'approve' },
  { outcome: 'denied', label: 'Deny', kind: 'deny' },
  { outcome: 'deferred', label: 'Defer', kind: 'plain' },
  { outcome: 'escalated_further', label: 'Escalate further', kind: 'plain' },
];

const PURGED = 'not kept: purged by retention';

/** The agent's stated intent (its claim), or why it is not shown. */
function Intent({ d }: { d: EscalationDetail['decision'] }) {
  if (d.request_purged) return <span class="hint">{PURGED}</span>;
  if (d.user_intent === null) return <span class="hint">none given</span>;
  return (
    <>
      <q class="intent">{d.user_intent}</q>
      <div class="hint">as the agent stated it (its claim)</div>
    </>
  );
}

/** The data classes the agent declared with its request (not guessed from the risk factors). */
function DataClasses({ d }: { d: EscalationDetail['decision'] }) {
  if (d.request_purged || d.data_classes === null) return <span class="hint">{PURGED}</span>;
  if (d.data_classes.length === 0) return <>none declared</>;
  return (
    <span class="data-classes">
      {d.data_classes.map((x, i) => (
        <Fragment key={i}>
          {i > 0 && ', '}
          <code>{x}</code>
        </Fragment>
      ))}
    </span>
  );
}

function who(id: string | null, me: { userId: string }): string {
  if (!id) return '—';
  return id === me.userId ? 'you' : id;
}

/**
 * One case, with what a reviewer needs to decide: the request (actor, action, tool, the agent's intent
 * and data classes as it sent them, or that retention purged them), the
 * policy's explanation and matched relations, every risk factor with its dimension and the overall
 * score, the conditions, the context summary (marked as the agent's claim when it is one), the history
 * and the signed records with their verification. Resolvers get the controls; notes are kept in memory
 * (`drafts`) across a sign-in.
 */
export function CaseView({ api, id, me, drafts }: { api: Api; id: string; me: { userId: string; role: string }; drafts: Map<string, string> }) {
  const [c, setC] = useState<EscalationDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notes, setNotesState] = useState(drafts.get(id) ?? '');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow();

  const setNotes = (v: string) => {
    setNotesState(v);
    drafts.set(id, v);
  };

  const load = async () => {
    try {
      setC(await api.escalation(id));
      setLoadError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) setLoadError(err.status === 404 ? `No escalation ${id}.` : err.message);
    }
  };
  usePoll(load, POLL_MS, [id]);

  async function act(outcome: ResolveOutcome) {
    const check = checkNotes(notes);
    if (!check.ok) {
      setError(check.message);
      document.getElementById('notes')?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await api.resolve(id, outcome, notes.trim());
      drafts.delete(id);
      setNotesState('');
      setDone(
        outcome === 'escalated_further'
          ? `Escalated further to ${r.escalated_to.join(', ')}. Signed record ${r.intervention_id}.`
          : `Resolved: ${r.resolution}. The decision's effective outcome is now ${r.effective_outcome}. Signed record ${r.intervention_id}.`,
      );
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ALREADY_RESOLVED') {
        const d = (err.details ?? {}) as { resolved_by?: string; resolution?: string; resolved_at?: string };
        setError(`Already resolved by ${who(d.resolved_by ?? null, me)} (${d.resolution ?? 'resolved'}). Nothing was changed.`);
        await load();
      } else if (err instanceof ApiError && err.status === 401) {
        // Back to sign-in; the notes stay in `drafts` and come back after it.
      } else {
        setError(err instanceof ApiError ? err.message : 'The resolution failed. Try again.');
      }
    } finally {
      setBusy(false);
    }
  }

  async function acknowledge() {
    setBusy(true);
    setError(null);
    try {
      await api.acknowledge(id);
      await load();
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  if (!c) {
    return (
      <main id="main" tabIndex={-1}>
        <p>
          <Link to="/escalations">← Back to the queue</Link>
        </p>
        {loadError ? <Alert>{loadError}</Alert> : <p>Loading {id}…</p>}
      </main>
    );
  }

  const d = c.decision;
  const open = c.status !== 'resolved';
  const resolver = canResolve(me.role);
  const notesCheck = checkNotes(notes);
  return (
    <main id="main" tabIndex={-1} class="case">
      <p>
        <Link to="/escalations">← Back to the queue</Link>
      </p>
      <h1>
        Case {c.escalation_id} <span class={`priority priority-${c.priority}`}>{humanize(c.priority)}</span>
      </h1>
      {!open && (
        <Alert kind="info">
          This case was already resolved by {who(c.resolved_by, me)}: {c.resolution} at <Time iso={c.resolved_at} />.
        </Alert>
      )}
      <div class="grid">
        <section aria-labelledby="h-request">
          <h2 id="h-request">The request</h2>
          <Facts
            rows={[
              ['Actor', <code>{d.actor}</code>],
              ['Action', <code>{d.action}</code>],
              ['Tool', <code>{d.tool}</code>],
              ['Intent', <Intent d={d} />],
              ['Data classes', <DataClasses d={d} />],
              ['Requested by', <code>{d.requested_by}</code>],
              ['Decided', <Time iso={d.timestamp} />],
              ['Decision', <code>{d.decision_id}</code>],
              ['Ledger entry', `#${d.ledger.seq} (${d.ledger.entry_hash.slice(0, 12)}…)`],
            ]}
          />
        </section>
        <section aria-labelledby="h-case">
          <h2 id="h-case">The case</h2>
          <Facts
            rows={[
              ['SLA', <Sla deadline={c.sla_deadline} createdAt={c.created_at} now={now} open={open} />],
              ['Deadline', <Time iso={c.sla_deadline} />],
              ['Status', open ? humanize(c.status) : `Resolved: ${c.resolution}`],
              ['Trigger', humanize(c.trigger)],
              ['Assigned to', c.escalated_to.join(', ')],
              ['Opened by', who(c.opened_by, me)],
              ['Deadlines missed', String(c.sla_missed)],
              ['Effective outcome', humanize(d.effective_outcome)],
            ]}
          />
        </section>
      </div>

      <section aria-labelledby="h-policy">
        <h2 id="h-policy">Why the policy escalated</h2>
        <p>{d.reason}</p>
        <Facts
          rows={[
            ['Policy', d.policy ? `${d.policy.policy_id} (${d.policy.mode}, version ${d.policy.version_hash.slice(0, 12)}…)` : 'none'],
            ['Escalation triggers', d.explanation.escalation_triggers.map(humanize).join(', ') || 'none'],
            ['Default applied', d.explanation.default_applied ? 'yes' : 'no'],
          ]}
        />
        <h3>Matched relations</h3>
        {d.explanation.matched.length === 0 ? (
          <p>None.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Relation</th>
                <th scope="col">Type</th>
                <th scope="col">Effect</th>
              </tr>
            </thead>
            <tbody>
              {d.explanation.matched.map((m) => (
                <tr key={m.relation_id}>
                  <td>
                    <code>{m.relation_id}</code>
                  </td>
                  <td>{m.relation_type}</td>
                  <td>{humanize(m.effect)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h3>Conditions</h3>
        {d.conditions.length === 0 ? <p>None.</p> : <ul>{d.conditions.map((x) => <li key={x}>{x}</li>)}</ul>}
      </section>

      <section aria-labelledby="h-risk">
        <h2 id="h-risk">
          Risk: {d.risk.overall_score} / 100 ({d.risk.risk_level})
        </h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Source</th>
              <th scope="col">Dimension</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {d.risk.factors.map((f, i) => (
              <tr key={i}>
                <td>
                  <code>{f.key}</code>
                </td>
                <td>{humanize(f.source)}</td>
                <td>{f.dimension ?? '—'}</td>
                <td>{f.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="h-context">
        <h2 id="h-context">Context summary</h2>
        {c.context_summary ? (
          <>
            {c.context_summary_source === 'agent_claim' && <p class="tag tag-warn">The agent's own claim, not evidence</p>}
            <blockquote>{c.context_summary}</blockquote>
          </>
        ) : (
          <p>None given.</p>
        )}
      </section>

      {resolver && open && (
        <section aria-labelledby="h-resolve" class="resolve">
          <h2 id="h-resolve">Your decision</h2>
          <form onSubmit={(e) => e.preventDefault()} noValidate>
            <label for="notes">Notes (required: why this outcome)</label>
            <textarea id="notes" rows={4} maxLength={NOTES_MAX + 200} aria-describedby="notes-count" value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
            <p id="notes-count" class={`hint${notesCheck.ok || notes.trim() === '' ? '' : ' invalid'}`}>
              {notes.trim().length} / {NOTES_MAX} characters
            </p>
            {error && <Alert>{error}</Alert>}
            <div class="actions">
              {c.status === 'pending' && (
                <button type="button" onClick={acknowledge} disabled={busy}>
                  Acknowledge (I am on it)
                </button>
              )}
              {ACTIONS.map((a) => (
                <button key={a.outcome} type="button" class={a.kind} disabled={busy} onClick={() => act(a.outcome)}>
                  {a.label}
                </button>
              ))}
            </div>
          </form>
        </section>
      )}
      {(!open || !resolver) && error && <Alert>{error}</Alert>}
      {done && <Alert kind="success">{done}</Alert>}

      <section aria-labelledby="h-history">
        <h2 id="h-history">History</h2>
        <ol class="history">
          {c.history.map((h, i) => (
            <li key={i}>
              <Time iso={h.at} /> — <strong>{humanize(h.event)}</strong> by {who(h.by, me)}
              {h.role ? ` (${h.role})` : ''} · ledger #{h.ledger.seq}
            </li>
          ))}
        </ol>
        <h3>Signed records</h3>
        {c.interventions.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <ul class="records">
            {c.interventions.map((r) => (
              <li key={r.intervention_id}>
                <code>{r.intervention_id}</code>: {humanize(r.kind)} by {who(r.actor.user_id, me)} ({r.actor.role}) at <Time iso={r.at} /> —{' '}
                <span class={`verify verify-${r.verification}`}>
                  signature {r.verification === 'valid' ? 'valid ✓' : `${humanize(r.verification)} ✗`}
                </span>
                <div class="hint">Notes: {r.justification}</div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
