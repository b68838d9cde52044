import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type LedgerEntry, type LedgerVerification } from '../api.js';
import { Alert, Facts, Link, Time } from '../components.js';
import { formatDuration, humanize } from '../lib/format.js';
import { navigate, useNow } from '../router.js';
import { Exports } from './evidence.js';

/** Time since `startedAt`, ticking: what a busy verification honestly shows (the API reports no progress). */
function Elapsed({ startedAt }: { startedAt: number }) {
  const now = useNow(500);
  return <span>{formatDuration(now - startedAt)} elapsed</span>;
}

const errText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

/**
 * Verify now: GET /ledger/verify recomputes every hash from genesis to the head in one request. The API
 * gives no progress, so the console shows that it is busy and for how long, and then the result: the
 * head and the count come from that verification.
 */
function Verify({ api }: { api: Api }) {
  const [busySince, setBusySince] = useState<number | null>(null);
  const [result, setResult] = useState<{ v: LedgerVerification; at: string; ms: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    const started = Date.now();
    setBusySince(started);
    setError(null);
    try {
      const v = await api.verifyLedger();
      setResult({ v, at: new Date().toISOString(), ms: Date.now() - started });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(errText(err));
    } finally {
      setBusySince(null);
    }
  };

  const v = result?.v;
  return (
    <section aria-labelledby="verify-h">
      <h2 id="verify-h">Integrity</h2>
      <p class="hint">Recomputes every entry's SHA-256 and link from genesis to the current head on the server.</p>
      <div class="actions">
        <button type="button" class="primary" onClick={run} disabled={busySince !== null} aria-describedby="verify-state">
          {busySince !== null ? 'Verifying…' : 'Verify the ledger now'}
        </button>
      </div>
      <div id="verify-state" role="status" aria-live="polite" aria-busy={busySince !== null}>
        {busySince !== null && (
          <p class="busy">
            <span class="spinner" aria-hidden="true" /> Verifying the whole chain: <Elapsed startedAt={busySince} />. The server reports no progress for a
            single verification; a large ledger takes longer.
          </p>
        )}
        {busySince === null && v && (
          <p class={v.valid ? 'verdict verdict-ok' : 'verdict verdict-bad'} data-verdict={v.valid ? 'valid' : 'invalid'}>
            <span aria-hidden="true">{v.valid ? '✔ ' : '✖ '}</span>
            {v.valid ? 'Valid: every hash and link holds.' : `Invalid: the chain breaks at seq ${v.first_invalid?.seq ?? '?'}.`}
          </p>
        )}
      </div>
      {error && <Alert>{error}</Alert>}
      {v && (
        <Facts
          rows={[
            ['Result', v.valid ? 'valid' : 'INVALID'],
            ['Entries checked', <span data-field="entries-checked">{v.entries_checked.toLocaleString('en-GB')}</span>],
            ['Entries in the ledger', <span data-field="count">{v.head_seq === null ? '0' : (v.head_seq + 1).toLocaleString('en-GB')}</span>],
            ['Head seq', <span data-field="head-seq">{v.head_seq ?? '—'}</span>],
            ['Head hash', <code data-field="head-hash">{v.head_hash ?? '—'}</code>],
            ...(v.first_invalid
              ? ([
                  ['First invalid', `${v.first_invalid.entry_id} (seq ${v.first_invalid.seq}): ${humanize(v.first_invalid.code)}`],
                  ['Why', v.first_invalid.reason],
                ] as Array<[string, string]>)
              : []),
            ['Verified at', <Time iso={result?.at} />],
            ['Took', (result?.ms ?? 0) < 1000 ? `${result?.ms ?? 0} ms` : formatDuration(result?.ms ?? 0)],
          ]}
        />
      )}
    </section>
  );
}

/** A page of entries: seq, id (a link to the entry), type, time, hash. */
function EntryTable({ entries, filter }: { entries: LedgerEntry[]; filter: string }) {
  return (
    <div class="table-wrap">
      <table class="entries">
        <caption class="visually-hidden">Ledger entries in seq order{filter ? `, type ${filter}` : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Entry</th>
            <th scope="col">Event type</th>
            <th scope="col">Time</th>
            <th scope="col">Entry hash</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.entry_id} data-seq={e.seq}>
              <td>{e.seq}</td>
              <td>
                <Link to={`/ledger/entries/${e.entry_id}`}>{e.entry_id}</Link>
              </td>
              <td>{e.event_type}</td>
              <td>
                <Time iso={e.timestamp} />
              </td>
              <td>
                <code title={e.entry_hash}>{e.entry_hash.slice(0, 16)}…</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PAGE = 25;

/**
 * The entries, in seq order, a page at a time (`next_cursor`); previous pages from the cursors already
 * seen. An entry opens with its JSON as the API gave it.
 */
function Entries({ api, entryId }: { api: Api; entryId?: string | undefined }) {
  const [eventType, setEventType] = useState('');
  const [applied, setApplied] = useState('');
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState<{ entries: LedgerEntry[]; next: string | null } | null>(null);
  const [entry, setEntry] = useState<LedgerEntry | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [goTo, setGoTo] = useState('');
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    let live = true;
    const q: Record<string, string> = { limit: String(PAGE) };
    if (applied) q.event_type = applied;
    if (cursor) q.cursor = cursor;
    api.ledgerEntries(q).then(
      (r) => {
        if (live) {
          setPage({ entries: r.entries, next: r.next_cursor });
          setError(null);
        }
      },
      (err) => live && setError(errText(err)),
    );
    return () => {
      live = false;
    };
  }, [api, applied, cursor]);

  useEffect(() => {
    if (!entryId) {
      setEntry(null);
      return;
    }
    let live = true;
    api.ledgerEntry(entryId).then(
      (e) => {
        if (!live) return;
        setEntry(e);
        setError(null);
        document.getElementById('entry-h')?.focus();
      },
      (err) => live && setError(errText(err)),
    );
    return () => {
      live = false;
    };
  }, [api, entryId]);

  return (
    <section aria-labelledby="entries-h">
      <h2 id="entries-h">Entries</h2>
      <div class="toolbar">
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            setCursors([null]);
            setApplied(eventType.trim());
          }}
        >
          <label for="event-type">Event type</label>
          <input id="event-type" value={eventType} placeholder="e.g. decision" onInput={(e) => setEventType(e.currentTarget.value)} />
          <button type="submit">Filter</button>
        </form>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (goTo.trim()) navigate(`/ledger/entries/${encodeURIComponent(goTo.trim())}`);
          }}
        >
          <label for="entry-id">Entry id</label>
          <input id="entry-id" value={goTo} placeholder="entry_12" onInput={(e) => setGoTo(e.currentTarget.value)} />
          <button type="submit">Open</button>
        </form>
      </div>
      {error && <Alert>{error}</Alert>}
      {entry && (
        <div class="entry">
          <h3 id="entry-h" tabIndex={-1}>
            Entry {entry.entry_id} (seq {entry.seq})
          </h3>
          <p class="hint">
            {humanize(entry.event_type)} at <Time iso={entry.timestamp} />. <Link to="/ledger">Close</Link>
          </p>
          <pre class="code json" data-entry-json={entry.entry_id} tabIndex={0} aria-label={`JSON of ${entry.entry_id}`}>
            <code>{JSON.stringify(entry, null, 2)}</code>
          </pre>
        </div>
      )}
      {page && page.entries.length === 0 && <p>No entries{applied ? ` of type ${applied}` : ''}.</p>}
      {page && page.entries.length > 0 && <EntryTable entries={page.entries} filter={applied} />}
      <div class="actions">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>
          Next page
        </button>
        <span class="hint">Page {cursors.length}</span>
      </div>
    </section>
  );
}

/** Screen 6: the ledger (verify, head and count, entries) and the evidence exports. */
export function LedgerScreen({ api, role, entryId }: { api: Api; role: string; entryId?: string | undefined }) {
  return (
    <main id="main" tabIndex={-1}>
      <h1>Ledger and evidence</h1>
      <Verify api={api} />
      <Exports api={api} role={role} />
      <Entries api={api} entryId={entryId} />
    </main>
  );
}
