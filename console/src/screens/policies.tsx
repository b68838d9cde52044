import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type PolicyDetail, type PolicySummary, type PolicyVersionInfo } from '../api.js';
import { Alert, DataTable, Facts, Time } from '../components.js';
import { canLoadPolicy } from '../lib/roles.js';
import { Person } from '../people.js';
import { DryRun, LoadPolicy } from './policy-tools.js';

const refusal = (err: unknown) => (err instanceof ApiError ? `${err.message} (${err.code})` : 'That failed. Try again.');

/** The JSON of the version the API serves in full (GET /policies/:id: the active version, else the latest). */
function PolicyDocument({ detail }: { detail: PolicyDetail }) {
  const doc = { policy_id: detail.policy_id, name: detail.name, version: detail.version, mode: detail.mode, terms: detail.terms, relations: detail.relations, ...(detail.risk_factors ? { risk_factors: detail.risk_factors } : {}) };
  return (
    <>
      <h3 id="h-doc">
        Document of version <code>{detail.version_hash.slice(0, 12)}…</code> ({detail.active ? 'the active version' : 'the latest version'}, normalized)
      </h3>
      <pre class="json" tabIndex={0} aria-labelledby="h-doc">
        {JSON.stringify(doc, null, 2)}
      </pre>
      {detail.warnings.length > 0 && <p>Warnings of this version:</p>}
      {detail.warnings.length > 0 && (
        <ul>
          {detail.warnings.map((w, i) => (
            <li key={i}>
              <code>{w.path}</code>: {w.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Versions({ api, policy, me, reload }: { api: Api; policy: PolicySummary; me: string; reload: number }) {
  const [versions, setVersions] = useState<PolicyVersionInfo[] | null>(null);
  const [detail, setDetail] = useState<PolicyDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    Promise.all([api.policyVersions(policy.policy_id), api.policy(policy.policy_id)]).then(
      ([v, d]) => {
        if (!live) return;
        setVersions(v.items);
        setDetail(d);
      },
      (err) => live && !(err instanceof ApiError && err.status === 401) && setError(refusal(err)),
    );
    return () => {
      live = false;
    };
  }, [api, policy.policy_id, reload]);
  return (
    <section aria-labelledby="h-versions">
      <h2 id="h-versions" tabIndex={-1}>
        {policy.name} <code>{policy.policy_id}</code>: versions
      </h2>
      {error && <Alert>{error}</Alert>}
      {versions === null ? (
        <p>Loading…</p>
      ) : (
        <DataTable label="Versions table" caption={`Versions of ${policy.policy_id}, newest first`} columns={['Version hash', 'Version', 'Mode', 'Terms, relations', 'Loaded', 'State']}>
          {versions.map((v) => (
            <tr key={v.version_hash} data-version-hash={v.version_hash} class={v.active ? 'active-row' : undefined}>
              <td>
                <code title={v.version_hash}>{v.version_hash.slice(0, 16)}…</code>
              </td>
              <td>{v.version ?? '—'}</td>
              <td>{v.mode}</td>
              <td>
                {v.terms_count}, {v.relations_count}
              </td>
              <td>
                <Time iso={v.loaded_at} /> by <Person id={v.loaded_by} me={me} />
              </td>
              <td>{v.active ? <strong class="tag">★ active</strong> : 'stored'}</td>
            </tr>
          ))}
        </DataTable>
      )}
      {detail && <PolicyDocument detail={detail} />}
      <p class="hint">The API serves in full the active version of a policy, or its latest: older versions are listed by their hash.</p>
    </section>
  );
}

/** Every policy with its latest version; the active one marked with a word and a star. */
function PolicyTable({ items, selected, onSelect }: { items: PolicySummary[]; selected: string | null; onSelect: (id: string) => void }) {
  return (
    <DataTable label="Policies table" caption="Policies and their latest versions" columns={['Policy', 'Name', 'Versions', 'Latest loaded', 'State']} actions>
      {items.map((p) => (
        <tr key={p.policy_id} data-policy-id={p.policy_id} class={p.active ? 'active-row' : undefined}>
          <td>
            <code>{p.policy_id}</code>
          </td>
          <td>{p.name}</td>
          <td>{p.versions}</td>
          <td>
            <Time iso={p.latest_loaded_at} />
          </td>
          <td>{p.active ? <strong class="tag">★ active</strong> : 'inactive'}</td>
          <td>
            <button
              type="button"
              aria-pressed={p.policy_id === selected}
              aria-label={`Show the versions of ${p.policy_id}`}
              onClick={() => onSelect(p.policy_id)}
            >
              Versions
            </button>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Policies: read by every human role (listed for governance leads, admins, auditors); load and dry run for governance leads and admins. */
export function PoliciesScreen({ api, me }: { api: Api; me: { userId: string; role: string } }) {
  const [list, setList] = useState<{ items: PolicySummary[]; active_version_hash: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const author = canLoadPolicy(me.role);

  useEffect(() => {
    let live = true;
    api.policies().then(
      (l) => {
        if (!live) return;
        setList(l);
        setError(null);
        setSelected((s) => s ?? l.items.find((p) => p.active)?.policy_id ?? null);
      },
      (err) => live && !(err instanceof ApiError && err.status === 401) && setError(refusal(err)),
    );
    return () => {
      live = false;
    };
  }, [api, reload]);

  const shown = list?.items.find((p) => p.policy_id === selected) ?? null;
  return (
    <main id="main" tabIndex={-1}>
      <h1>Policies</h1>
      {!author && <p class="hint">Read only: governance leads and admins load policies and run dry runs.</p>}
      {error && <Alert>{error}</Alert>}
      {list && (
        <Facts
          rows={[
            ['Active version', list.active_version_hash ? <code>{list.active_version_hash}</code> : 'none: every decision is denied until a policy is loaded'],
            ['Policies', String(list.items.length)],
          ]}
        />
      )}
      <section aria-labelledby="h-policies">
        <h2 id="h-policies">Policies</h2>
        <PolicyTable items={list?.items ?? []} selected={selected} onSelect={(id) => (setSelected(id), setTimeout(() => document.getElementById('h-versions')?.focus(), 0))} />
        {list && list.items.length === 0 && <p>No policy is loaded yet.</p>}
      </section>
      {shown && <Versions key={shown.policy_id} api={api} policy={shown} me={me.userId} reload={reload} />}
      {author && (
        <>
          <LoadPolicy
            api={api}
            onLoaded={(r) => {
              setSelected(r.policy_id);
              setReload((n) => n + 1);
            }}
          />
          <DryRun api={api} />
        </>
      )}
    </main>
  );
}
