import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type EvidenceExport } from '../api.js';
import { Alert, DataTable, Time } from '../components.js';
import { defaultPeriod, fromLocalInput, periodProblem } from '../lib/period.js';
import { canExport } from '../lib/roles.js';

const KINDS = ['ledger', 'decisions', 'escalations', 'overrides', 'interventions', 'policies'] as const;

const errText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Save a blob as a file: an object URL on a temporary link with `download` (no new window, no data: URL). */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function CreateExport({ api, onCreated }: { api: Api; onCreated: (e: EvidenceExport) => void }) {
  const [period, setPeriod] = useState(() => defaultPeriod(Date.now()));
  const [kinds, setKinds] = useState<Set<string>>(() => new Set(KINDS));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const from = fromLocalInput(period.from);
    const to = fromLocalInput(period.to);
    const problem = periodProblem(from, to) ?? (kinds.size === 0 ? 'Choose at least one kind of record.' : null);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const created = await api.createEvidenceExport({ from: from!, to: to!, include: KINDS.filter((k) => kinds.has(k)) });
      onCreated(created);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(errText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby="create-export-h" class="panel">
      <h3 id="create-export-h">New export</h3>
      <div class="row">
        <div class="field">
          <label for="export-from">From (your local time, included)</label>
          <input id="export-from" type="datetime-local" required value={period.from} onInput={(e) => setPeriod({ ...period, from: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="export-to">To (your local time, not included)</label>
          <input id="export-to" type="datetime-local" required value={period.to} onInput={(e) => setPeriod({ ...period, to: e.currentTarget.value })} />
        </div>
      </div>
      <fieldset>
        <legend>Records to include</legend>
        {KINDS.map((k) => (
          <label class="check" key={k}>
            <input
              type="checkbox"
              checked={kinds.has(k)}
              onChange={(e) => {
                const next = new Set(kinds);
                if (e.currentTarget.checked) next.add(k);
                else next.delete(k);
                setKinds(next);
              }}
            />{' '}
            {k}
          </label>
        ))}
      </fieldset>
      {error && <Alert>{error}</Alert>}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating the signed package…' : 'Create export'}
        </button>
      </div>
    </form>
  );
}

/**
 * Evidence exports: the list (newest first, paged), a download of each signed package, and for the
 * roles the API lets create one (governance lead, admin, auditor) the form.
 */
export function Exports({ api, role }: { api: Api; role: string }) {
  const [items, setItems] = useState<EvidenceExport[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [downloading, setDownloading] = useState<string | null>(null);

  const load = async (cursor?: string) => {
    try {
      const page = await api.evidenceExports(cursor ? { limit: '20', cursor } : { limit: '20' });
      setItems((prev) => (cursor && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next_cursor);
      setError(null);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(errText(err));
    }
  };
  useEffect(() => {
    void load();
  }, [api]);

  const download = async (x: EvidenceExport) => {
    setDownloading(x.export_id);
    setError(null);
    try {
      saveBlob(await api.downloadEvidenceExport(x.export_id), `${x.export_id}.tar`);
      setNotice(`Downloaded ${x.export_id}.tar (${size(x.size)}). SHA-256 ${x.sha256}.`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(errText(err));
    } finally {
      setDownloading(null);
    }
  };

  return (
    <section aria-labelledby="exports-h">
      <h2 id="exports-h">Evidence exports</h2>
      <p class="hint">
        A signed BagIt package of the records of a period, checkable offline: <code>lexecon verify-export &lt;file&gt; --public-key keys.json</code> (the
        keys from <code>GET /api/governance/keys</code>).
      </p>
      {canExport(role) ? (
        <CreateExport
          api={api}
          onCreated={(x) => {
            setNotice(`Export ${x.export_id} created: ${size(x.size)}, ledger seq ${x.ledger?.first_seq ?? '—'}–${x.ledger?.last_seq ?? '—'}.`);
            void load();
          }}
        />
      ) : (
        <p class="hint">Your role may download exports but not create them (governance leads, admins and auditors can).</p>
      )}
      <div role="status" aria-live="polite">
        {notice && <Alert kind="success">{notice}</Alert>}
      </div>
      {error && <Alert>{error}</Alert>}
      {items && items.length === 0 && <p>No exports yet.</p>}
      {items && items.length > 0 && (
        <DataTable caption="Evidence exports, newest first" columns={['Export', 'Period', 'Records', 'Size and SHA-256', 'Created', 'File']} class="exports">
          {items.map((x) => (
            <tr key={x.export_id} data-export-id={x.export_id}>
              <td>
                <code>{x.export_id}</code>
              </td>
              <td>
                <Time iso={x.from} /> to <Time iso={x.to} />
              </td>
              <td>
                {Object.entries(x.counts)
                  .map(([k, n]) => `${k} ${n}`)
                  .join(', ')}
              </td>
              <td>
                {size(x.size)}
                <div>
                  <code title={x.sha256}>{x.sha256.slice(0, 16)}…</code>
                </div>
              </td>
              <td>
                <Time iso={x.created_at} />
                <div class="hint">by {x.created_role}</div>
              </td>
              <td>
                <button type="button" onClick={() => download(x)} disabled={downloading === x.export_id} aria-label={`Download ${x.export_id}.tar`}>
                  {downloading === x.export_id ? 'Downloading…' : 'Download'}
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {next && (
        <div class="actions">
          <button type="button" onClick={() => load(next)}>
            Show older exports
          </button>
        </div>
      )}
    </section>
  );
}
