import { useState } from 'preact/hooks';
import { ApiError, type Api, type HaltState } from '../api.js';
import { Alert, Facts, Time } from '../components.js';
import { Person } from '../people.js';
import { checkReason, REASON_MAX } from '../lib/decisions.js';
import { canResume, canStop } from '../lib/roles.js';
import { usePoll } from '../router.js';

type Me = { userId: string; role: string };

/**
 * Stop / resume (POST /api/governance/stop: operator, executive, admin; POST /api/governance/resume:
 * executive, admin). A guarded control: a reason first, then an explicit confirmation step saying what
 * it does, then the request. The banner on every screen follows from the status (`onStatus` updates it
 * at once here; every other signed-in user's console reads it within its poll).
 */
export function Halt({ api, me, onStatus }: { api: Api; me: Me; onStatus: (s: HaltState) => void }) {
  const [status, setStatus] = useState<HaltState | null>(null);
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (s: HaltState) => {
    setStatus(s);
    onStatus(s);
  };
  usePoll(
    async () => {
      try {
        show(await api.haltState());
      } catch (err) {
        if (err instanceof ApiError && err.status !== 401) setError(err.message);
      }
    },
    5000,
    [],
  );

  const halted = status?.halted ?? false;
  const verb = halted ? 'resume' : 'stop';
  const allowed = status !== null && (halted ? canResume(me.role) : canStop(me.role));

  const ask = (e: Event) => {
    e.preventDefault();
    setDone(null);
    const c = checkReason(reason);
    if (!c.ok) {
      setError(c.message);
      document.getElementById('halt-reason')?.focus();
      return;
    }
    setError(null);
    setConfirming(true);
    // The confirmation step's first button takes the focus, so a keyboard user meets the question.
    setTimeout(() => document.getElementById('halt-confirm')?.focus(), 0);
  };

  async function commit() {
    setBusy(true);
    setError(null);
    try {
      const s = halted ? await api.resume(reason.trim()) : await api.stop(reason.trim());
      show(s);
      setReason('');
      setDone(
        s.halted
          ? `Decisions are stopped. Signed record ${s.intervention_id}; tokens issued before ledger entry #${s.tokens_invalid_before} are invalid for good.`
          : `Decisions are resumed. Signed record ${s.intervention_id}; tokens invalidated by the stop stay invalid.`,
      );
      // The confirmation step goes away: keyboard users land on the result rather than on the page's top.
      setTimeout(() => document.getElementById('halt-result')?.focus(), 0);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(err instanceof ApiError ? `${err.message} (${err.code})` : 'That failed. Try again.');
      // The state may have changed under us (409 ALREADY_HALTED / NOT_HALTED): read it again.
      api.haltState().then(show, () => undefined);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <main id="main" tabIndex={-1}>
      <h1>Stop / resume decisions</h1>
      {status === null ? (
        <p>Loading…</p>
      ) : (
        <Facts
          rows={[
            ['State', <strong data-halted={halted ? 'yes' : 'no'}>{halted ? '■ Halted: every decision is denied' : '▶ Running: decisions are evaluated'}</strong>],
            [halted ? 'Stopped' : 'Last change', status.since ? <Time iso={status.since} /> : '—'],
            ['By', <Person id={status.by} />],
            ['Reason', status.reason ?? '—'],
            ['Signed record', status.intervention_id ? <code>{status.intervention_id}</code> : '—'],
            ['Latest stop', status.tokens_invalid_before === null ? 'never stopped' : `ledger entry #${status.tokens_invalid_before}`],
          ]}
        />
      )}
      {done && (
        <div id="halt-result" tabIndex={-1}>
          <Alert kind="success">{done}</Alert>
        </div>
      )}
      {status !== null && !allowed && (
        <p class="hint">
          {halted ? 'Only an executive or an admin may resume decisions.' : 'Your role may not stop decisions (operators, executives and admins may).'}
        </p>
      )}
      {allowed && (
        <section aria-labelledby="h-halt" class="resolve">
          <h2 id="h-halt">{halted ? 'Resume decisions' : 'Stop all decisions'}</h2>
          <p class="hint">
            {halted
              ? 'Decisions are evaluated again. Capability tokens the stop invalidated stay invalid.'
              : 'From the moment it commits, every POST /decide is denied with reason "halted" (still recorded), and every capability token issued before it fails verification for good, even after a resume.'}
          </p>
          <form onSubmit={ask} noValidate>
            <label for="halt-reason">Reason (required, signed and ledgered)</label>
            <textarea id="halt-reason" rows={3} maxLength={REASON_MAX + 200} value={reason} disabled={confirming} onInput={(e) => setReason(e.currentTarget.value)} />
            {error && <Alert>{error}</Alert>}
            {!confirming && (
              <div class="actions">
                <button type="submit" class={halted ? 'approve' : 'deny'}>
                  {halted ? 'Resume decisions…' : 'Stop decisions…'}
                </button>
              </div>
            )}
          </form>
          {confirming && (
            <div class="confirm" role="group" aria-labelledby="halt-question">
              <p id="halt-question">
                <strong>Really {verb} every decision now?</strong> {halted ? '' : 'This cannot be undone for tokens already issued.'}
              </p>
              <div class="actions">
                <button id="halt-confirm" type="button" class={halted ? 'approve' : 'deny'} disabled={busy} onClick={commit}>
                  {halted ? 'Yes, resume decisions' : 'Yes, stop decisions'}
                </button>
                <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            </div>
          )}
        </section>
      )}
    </main>
  );
}
