import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type DecisionDetail } from '../api.js';
import { Alert, Link, Time } from '../components.js';
import { decisionQuery, NO_FILTERS, OUTCOMES, type DecisionFilters } from '../lib/decisions.js';
import { humanize } from '../lib/format.js';

/** The filters and the page in view, kept in memory so that coming back from a decision finds them. */
let remembered: { filters: DecisionFilters; cursors: Array<string | null> } = { filters: NO_FILTERS, cursors: [null] };

/** An outcome as a word with its own mark, so colour is never the only signal. */
export function OutcomeTag({ outcome }: { outcome: string }) {
  const mark = outcome === 'approved' ? '✓' : outcome === 'denied' ? '✕' : outcome === 'escalated' ? '↑' : '◐';
  return (
    <span class={`outcome outcome-${outcome}`}>
      <span aria-hidden="true">{mark} </span>
      {humanize(outcome)}
    </span>
  );
}

/**
 * The decisions, newest first, filtered by actor, outcome and time (GET /decide), a page at a time
 * through the API's cursor. Every human role reads them.
 */
export function Decisions({ api }: { api: Api }) {
  const [form, setForm] = useState<DecisionFilters>(remembered.filters);
  const [applied, setApplied] = useState<DecisionFilters>(remembered.filters);
  const [cursors, setCursors] = useState<Array<string | null>>(remembered.cursors);
  const [page, setPage] = useState<{ items: DecisionDetail[]; next_cursor: string | null } | null>(null);
  const [error, setError] = useState<{ field?: keyof DecisionFilters; message: string } | null>(null);
  const [loading, setLoading] = useState(false);

  const cursor = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    remembered = { filters: applied, cursors };
    const q = decisionQuery(applied, cursor);
    if (!q.ok) return;
    let live = true;
    setLoading(true);
    api.decisions(q.query).then(
      (p) => {
        if (!live) return;
        setPage(p);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setLoading(false);
        if (err instanceof ApiError && err.status !== 401) setError({ message: err.message });
      },
    );
    return () => {
      live = false;
    };
  }, [api, applied, cursor, cursors.length]);

  const set = (k: keyof DecisionFilters) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const apply = (e: Event) => {
    e.preventDefault();
    const q = decisionQuery(form);
    if (!q.ok) {
      setError({ field: q.field, message: q.message });
      document.getElementById(`f-${q.field}`)?.focus();
      return;
    }
    setError(null);
    setApplied(form);
    setCursors([null]);
  };
  const clear = () => {
    setForm(NO_FILTERS);
    setApplied(NO_FILTERS);
    setCursors([null]);
    setError(null);
  };
  const invalid = (k: keyof DecisionFilters) => (error?.field === k ? { 'aria-invalid': true as const, 'aria-describedby': 'filter-error' } : {});

  return (
    <main id="main" tabIndex={-1}>
      <h1>Decisions</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter decisions">
        <div class="filter">
          <label for="f-actor">Actor (exact)</label>
          <input id="f-actor" value={form.actor} onInput={set('actor')} placeholder="ai_agent:assistant" autoComplete="off" {...invalid('actor')} />
        </div>
        <div class="filter">
          <label for="f-outcome">Outcome</label>
          <select id="f-outcome" value={form.outcome} onChange={set('outcome')} {...invalid('outcome')}>
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option value={o} key={o}>
                {humanize(o)}
              </option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="f-since">From (your time)</label>
          <input id="f-since" type="datetime-local" value={form.since} onInput={set('since')} {...invalid('since')} />
        </div>
        <div class="filter">
          <label for="f-until">Before (your time)</label>
          <input id="f-until" type="datetime-local" value={form.until} onInput={set('until')} {...invalid('until')} />
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      {error && (
        <Alert id="filter-error">
          {error.message}
        </Alert>
      )}
      <p class="hint" role="status">
        {loading ? 'Loading…' : page ? `Page ${cursors.length}: ${page.items.length} decision${page.items.length === 1 ? '' : 's'}${page.next_cursor ? ', older ones on the next page' : ''}.` : ''}
      </p>
      {page && page.items.length === 0 && <p>No decisions match.</p>}
      {page && page.items.length > 0 && (
        <div class="table-wrap">
          <table class="decisions">
            <caption class="visually-hidden">Decisions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Decision</th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action · tool</th>
                <th scope="col">Outcome</th>
                <th scope="col">Effective outcome</th>
                <th scope="col">Risk</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((d) => (
                <tr key={d.decision_id} data-decision-id={d.decision_id}>
                  <td>
                    <Link to={`/decisions/${d.decision_id}`}>{d.decision_id}</Link>
                  </td>
                  <td>
                    <Time iso={d.timestamp} />
                  </td>
                  <td>
                    <code>{d.actor}</code>
                  </td>
                  <td>
                    <code>{d.action}</code> · <code>{d.tool}</code>
                  </td>
                  <td>
                    <OutcomeTag outcome={d.outcome} />
                  </td>
                  <td>
                    <OutcomeTag outcome={d.effective_outcome} />
                    {d.effective_outcome !== d.outcome && <span class="tag">changed</span>}
                  </td>
                  <td>
                    {d.risk.overall_score} ({d.risk.risk_level})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="actions" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors([null])}>
          Newest
        </button>
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer page
        </button>
        <button type="button" disabled={!page?.next_cursor} onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}>
          Older page
        </button>
      </nav>
    </main>
  );
}
