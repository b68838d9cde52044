import { useState } from 'preact/hooks';
import { ApiError, type Api, type EscalationListItem } from '../api.js';
import { Alert, Link, Sla, Time } from '../components.js';
import { humanize } from '../lib/format.js';
import { assignedTo, orderQueue } from '../lib/queue.js';
import { canResolve } from '../lib/roles.js';
import { useNow, usePoll } from '../router.js';

/** How often the queue and a case re-read the API (live updates). */
export const POLL_MS = 4000;

/**
 * The escalation queue: open cases, mine first, nearest deadline first; resolved ones on request.
 * Re-read every few seconds so two reviewers see the same state.
 */
export function Queue({ api, me }: { api: Api; me: { userId: string; role: string } }) {
  const [items, setItems] = useState<EscalationListItem[] | null>(null);
  const [showResolved, setShowResolved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<string | null>(null);
  const now = useNow();
  const resolver = canResolve(me.role);

  usePoll(
    async () => {
      try {
        const page = await api.escalations(showResolved ? { limit: '200' } : { status: 'open', limit: '200' });
        setItems(page.items);
        setError(null);
        setUpdatedAt(new Date().toISOString());
      } catch (err) {
        if (err instanceof ApiError && err.status !== 401) setError(err.message);
      }
    },
    POLL_MS,
    [showResolved],
  );

  const ordered = items ? orderQueue(items, me) : [];
  return (
    <main id="main" tabIndex={-1}>
      <h1>{resolver ? 'Escalation queue' : 'Escalations'}</h1>
      {!resolver && <p class="hint">Read only: your role may read cases but not resolve them.</p>}
      <div class="toolbar">
        <label class="check">
          <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved(e.currentTarget.checked)} /> Show resolved cases too
        </label>
        <span class="hint">
          {updatedAt ? (
            <>
              Updated <Time iso={updatedAt} />, refreshes every {POLL_MS / 1000} s
            </>
          ) : (
            'Loading…'
          )}
        </span>
      </div>
      {error && <Alert>{error}</Alert>}
      {items && ordered.length === 0 && <p>No {showResolved ? '' : 'open '}escalations.</p>}
      {ordered.length > 0 && (
        <div class="table-wrap">
          <table class="queue">
            <caption class="visually-hidden">Escalations, yours first, then by deadline</caption>
            <thead>
              <tr>
                <th scope="col">Case</th>
                <th scope="col">Request</th>
                <th scope="col">Priority</th>
                <th scope="col">SLA</th>
                <th scope="col">Trigger</th>
                <th scope="col">Status</th>
                <th scope="col">Assigned to</th>
              </tr>
            </thead>
            <tbody>
              {ordered.map((c) => {
                const mine = c.status !== 'resolved' && assignedTo(c, me);
                return (
                  <tr key={c.escalation_id} class={mine ? 'mine' : undefined} data-escalation-id={c.escalation_id}>
                    <td>
                      <Link to={`/escalations/${c.escalation_id}`}>{c.escalation_id}</Link>
                      {mine && <span class="tag">yours</span>}
                      <div class="hint">
                        opened <Time iso={c.created_at} />
                      </div>
                    </td>
                    <td class="request">
                      <code>{c.actor}</code>
                      <div>
                        wants <code>{c.proposed_action}</code>
                      </div>
                      <div class="hint">
                        with <code>{c.tool}</code>
                      </div>
                    </td>
                    <td>
                      <span class={`priority priority-${c.priority}`}>{humanize(c.priority)}</span>
                    </td>
                    <td>
                      <Sla deadline={c.sla_deadline} createdAt={c.created_at} now={now} open={c.status !== 'resolved'} />
                      <div class="hint">
                        due <Time iso={c.sla_deadline} />
                      </div>
                    </td>
                    <td>{humanize(c.trigger)}</td>
                    <td>{c.status === 'resolved' ? `Resolved: ${c.resolution ?? '—'}` : humanize(c.status)}</td>
                    <td>{c.escalated_to.join(', ')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
