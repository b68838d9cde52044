import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, type Api, type DecisionDetail, type Override, type OverrideType } from '../api.js';
import { Alert, Link, Time } from '../components.js';
import { Person } from '../people.js';
import { alwaysTwoPerson, checkExpiry, checkJustification, JUSTIFICATION_MAX, JUSTIFICATION_MIN, overrideTargets, parseConditions } from '../lib/decisions.js';
import { humanize } from '../lib/format.js';
import { canOverride } from '../lib/roles.js';
import { usePoll } from '../router.js';

const TYPES: OverrideType[] = ['manual', 'emergency', 'policy_exception', 'risk_acceptance', 'correction'];

type Me = { userId: string; role: string };

/** A server refusal as people read it: its message, and its code for anyone quoting it. */
function refusal(err: unknown, fallback: string): string {
  return err instanceof ApiError ? `${err.message} (${err.code})` : fallback;
}

/** A justification field with the 20-character rule counted as you type (trimmed, as the server counts). */
function Justification({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (v: string) => void }) {
  const check = checkJustification(value);
  return (
    <>
      <label for={id}>{label}</label>
      <textarea id={id} rows={3} maxLength={JUSTIFICATION_MAX + 200} aria-describedby={`${id}-count`} value={value} onInput={(e) => onInput(e.currentTarget.value)} />
      <p id={`${id}-count`} class={`hint count ${check.ok ? 'count-ok' : 'invalid'}`} data-ok={check.ok ? 'yes' : 'no'}>
        <span aria-hidden="true">{check.ok ? '✓ ' : '✕ '}</span>
        {check.message}
      </p>
    </>
  );
}

/**
 * The override form of a decision's page (executive and admin only: the caller hides it from the
 * others): new outcome, type, justification (20–4000 characters once trimmed, counted as you type),
 * optional expiry (future, ≤ 90 days). The API decides whether it is active at once or waits for a
 * second person; the answer's status is what the form reports.
 */
export function OverrideForm({ api, decision, onDone }: { api: Api; decision: DecisionDetail; onDone: (message: ComponentChildren) => void }) {
  const targets = overrideTargets(decision.effective_outcome);
  const [outcome, setOutcome] = useState<string>(targets[0] ?? '');
  const [type, setType] = useState<OverrideType>('manual');
  const [justification, setJustification] = useState('');
  const [expiry, setExpiry] = useState('');
  const [conditions, setConditions] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const j = checkJustification(justification);
    if (!j.ok) {
      setError(`The justification is too ${j.length < JUSTIFICATION_MIN ? 'short' : 'long'}: ${j.message}`);
      document.getElementById('ovr-justification')?.focus();
      return;
    }
    const x = checkExpiry(expiry, Date.now());
    if (!x.ok) {
      setError(x.message);
      document.getElementById('ovr-expiry')?.focus();
      return;
    }
    const c = outcome === 'conditional' ? parseConditions(conditions) : ({ ok: true, conditions: undefined } as const);
    if (!c.ok) {
      setError(c.message);
      document.getElementById('ovr-conditions')?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const o = await api.createOverride({
        decision_id: decision.decision_id,
        new_outcome: outcome,
        justification: justification.trim(),
        override_type: type,
        ...(x.iso ? { expires_at: x.iso } : {}),
        ...(c.conditions ? { conditions: c.conditions } : {}),
      });
      setJustification('');
      setExpiry('');
      onDone(
        o.status === 'pending_confirmation' ? (
          <>
            Override {o.override_id} waits for a second executive or admin to confirm it (two-person rule); nothing changed yet. It lapses unconfirmed at{' '}
            <Time iso={o.lapses_at} />.
          </>
        ) : (
          `Override ${o.override_id} is ${o.status}: the effective outcome is now ${o.effective_outcome}.`
        ),
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err, 'The override failed. Try again.'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="h-override" class="resolve">
      <h2 id="h-override">Override this decision</h2>
      <p class="hint">
        The decision's own outcome never changes; an override changes its effective outcome ({humanize(decision.effective_outcome)} now). It is signed, ledgered and
        shown on this page.
      </p>
      <form onSubmit={submit} noValidate>
        <label for="ovr-outcome">New outcome</label>
        <select id="ovr-outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
          {targets.map((t) => (
            <option key={t} value={t}>
              {humanize(t)}
            </option>
          ))}
        </select>
        {alwaysTwoPerson(decision.effective_outcome, outcome) && (
          <p class="hint">Turning a denial into permission always needs a second executive or admin to confirm.</p>
        )}
        {outcome === 'conditional' && (
          <>
            <label for="ovr-conditions">Conditions (one per line; none: the decision's own)</label>
            <textarea id="ovr-conditions" rows={3} value={conditions} onInput={(e) => setConditions(e.currentTarget.value)} />
          </>
        )}
        <label for="ovr-type">Type</label>
        <select id="ovr-type" value={type} onChange={(e) => setType(e.currentTarget.value as OverrideType)}>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {humanize(t)}
            </option>
          ))}
        </select>
        <Justification id="ovr-justification" label={`Justification (at least ${JUSTIFICATION_MIN} characters)`} value={justification} onInput={setJustification} />
        <label for="ovr-expiry">Expires (optional, your time; at most 90 days ahead)</label>
        <input id="ovr-expiry" type="datetime-local" value={expiry} onInput={(e) => setExpiry(e.currentTarget.value)} />
        {error && <Alert>{error}</Alert>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Submit override
          </button>
        </div>
      </form>
    </section>
  );
}

/** One pending override with, for another executive or admin, confirm and reject; the requester may withdraw. */
function PendingItem({ api, o, me, onChange }: { api: Api; o: Override; me: Me; onChange: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const mine = o.authorized_by === me.userId;
  const may = canOverride(me.role);
  const fieldId = `verdict-${o.override_id}`;

  async function act(kind: 'confirm' | 'reject') {
    const j = checkJustification(text);
    if (!j.ok) {
      setError(`The justification is too ${j.length < JUSTIFICATION_MIN ? 'short' : 'long'}: ${j.message}`);
      document.getElementById(fieldId)?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (kind === 'confirm') await api.confirmOverride(o.override_id, text.trim());
      else await api.rejectOverride(o.override_id, text.trim());
      onChange();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err, 'That failed. Try again.'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="pending" data-override-id={o.override_id}>
      <h3>
        <Link to={`/decisions/${o.decision_id}`}>{o.decision_id}</Link>: {humanize(o.original_outcome)} → {humanize(o.new_outcome)}
      </h3>
      <p>
        {humanize(o.override_type)}, asked by <Person id={o.authorized_by} me={me.userId} /> ({o.authorized_role}) at <Time iso={o.created_at} />; lapses unconfirmed at{' '}
        <Time iso={o.lapses_at} />.
      </p>
      <blockquote>{o.justification}</blockquote>
      {may && (
        <form onSubmit={(e) => e.preventDefault()} noValidate>
          {mine && <p class="hint">You asked for this override: another executive or admin must confirm it. You may withdraw it.</p>}
          <Justification id={fieldId} label={mine ? 'Why you withdraw it' : 'Your justification'} value={text} onInput={setText} />
          {error && <Alert>{error}</Alert>}
          <div class="actions">
            {!mine && (
              <button type="button" class="approve" disabled={busy} onClick={() => act('confirm')}>
                Confirm override
              </button>
            )}
            <button type="button" class="deny" disabled={busy} onClick={() => act('reject')}>
              {mine ? 'Withdraw override' : 'Reject override'}
            </button>
          </div>
        </form>
      )}
    </li>
  );
}

/**
 * The two-person confirmation queue: overrides waiting for a second executive or admin
 * (GET /api/governance/override?status=pending_confirmation), re-read every few seconds. The server
 * refuses a confirmation by the requester (403 SAME_PERSON): the requester gets no confirm button, and
 * any refusal is shown with the server's message.
 */
export function PendingOverrides({ api, me }: { api: Api; me: Me }) {
  const [items, setItems] = useState<Override[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  usePoll(
    async () => {
      try {
        setItems((await api.overrides({ status: 'pending_confirmation', limit: '200' })).items);
        setError(null);
      } catch (err) {
        if (err instanceof ApiError && err.status !== 401) setError(err.message);
      }
    },
    5000,
    [tick],
  );
  return (
    <main id="main" tabIndex={-1}>
      <h1>{canOverride(me.role) ? 'Override confirmations' : 'Overrides waiting for confirmation'}</h1>
      {!canOverride(me.role) && <p class="hint">Read only: only executives and admins may confirm or reject overrides.</p>}
      <p class="hint">
        Under the two-person rule an override changes nothing until a second, different executive or admin confirms it. Refreshes every 5 s.
      </p>
      {error && <Alert>{error}</Alert>}
      {items && items.length === 0 && <p>No override waits for confirmation.</p>}
      {items && items.length > 0 && (
        <ul class="pending-list">
          {items.map((o) => (
            <PendingItem key={o.override_id} api={api} o={o} me={me} onChange={() => setTick((t) => t + 1)} />
          ))}
        </ul>
      )}
    </main>
  );
}
