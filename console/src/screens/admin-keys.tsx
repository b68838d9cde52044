import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api, type ApiKeyInfo } from '../api.js';
import { Alert, DataTable, pageSummary, Time, useCursorPages } from '../components.js';
import { actorMatches, checkActorPattern, checkKeyName, fieldProblems } from '../lib/admin.js';
import { Person } from '../people.js';
import { Confirm, Pager } from './confirm.js';

const refusal = (err: unknown) => (err instanceof ApiError ? `${err.message} (${err.code})` : 'That failed. Try again.');

/**
 * The secret of a key just created, shown once: the API keeps only its hash, and this component keeps
 * it in its own state until "Done" (never in storage). A copy button; when the browser refuses the
 * clipboard, the text is selected for the person to copy.
 */
function SecretOnce({ secret, name, onDone }: { secret: string; name: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => document.getElementById('key-secret-h')?.focus(), []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      field.current?.select();
      setCopied('The browser refused the clipboard: the key is selected, copy it with Ctrl+C (⌘C).');
    }
  }
  return (
    <section class="secret-once" aria-labelledby="key-secret-h">
      <h3 id="key-secret-h" tabIndex={-1}>
        The key for {name}
      </h3>
      <p>
        <strong>It will not be shown again.</strong> Store it now where the agent reads its credentials (a secret manager, an
        environment variable). The server keeps only a hash: a lost key is revoked and replaced.
      </p>
      <label for="key-secret">API key</label>
      <input id="key-secret" ref={field} class="secret" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
      <div class="actions">
        <button type="button" class="primary" onClick={copy}>
          Copy the key
        </button>
        <button type="button" onClick={onDone}>
          Done: I stored it
        </button>
      </div>
      <p role="status" class="hint">
        {copied ?? ''}
      </p>
    </section>
  );
}

function CreateKey({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [pattern, setPattern] = useState('');
  const [probe, setProbe] = useState('');
  const [errors, setErrors] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ secret: string; name: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const local = new Map<string, string[]>();
    const n = checkKeyName(name);
    if (!n.ok) local.set('name', [n.message]);
    const p = checkActorPattern(pattern);
    if (!p.ok) local.set('actor_pattern', [p.message]);
    setErrors(local);
    if (local.size > 0) {
      document.getElementById(local.has('name') ? 'key-name' : 'key-pattern')?.focus();
      return;
    }
    setBusy(true);
    try {
      const k = await api.createApiKey({ name: name.trim(), actor_pattern: pattern });
      setCreated({ secret: k.api_key, name: k.name });
      setName('');
      setPattern('');
      setProbe('');
      onCreated();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) setErrors(fieldProblems(err.details));
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
    }
  }

  const invalid = (f: string, id: string) => ((errors.get(f)?.length ?? 0) > 0 ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : {});
  const errs = (f: string, id: string) =>
    (errors.get(f)?.length ?? 0) > 0 ? (
      <ul id={`${id}-error`} class="field-problems">
        {errors.get(f)!.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    ) : null;
  return (
    <section aria-labelledby="h-new-key" class="resolve">
      <h2 id="h-new-key">Create an agent API key</h2>
      {created ? (
        <SecretOnce secret={created.secret} name={created.name} onDone={() => setCreated(null)} />
      ) : (
        <form class="stack" onSubmit={submit} noValidate>
          <label for="key-name">Name (the agent or system that uses it)</label>
          <input id="key-name" autoComplete="off" value={name} {...invalid('name', 'key-name')} onInput={(e) => setName(e.currentTarget.value)} />
          {errs('name', 'key-name')}
          <label for="key-pattern">Actor pattern</label>
          <input id="key-pattern" autoComplete="off" value={pattern} aria-describedby="key-pattern-hint" {...invalid('actor_pattern', 'key-pattern')} onInput={(e) => setPattern(e.currentTarget.value)} />
          <p id="key-pattern-hint" class="hint">
            The actors this key may ask decisions for: <code>*</code> matches any run of characters (e.g. <code>ai_agent:sales-*</code>); anything else must match exactly. Other actors are refused (403 ACTOR_NOT_ALLOWED).
          </p>
          {errs('actor_pattern', 'key-pattern')}
          <label for="key-probe">Try an actor against the pattern (optional, not sent)</label>
          <input id="key-probe" autoComplete="off" value={probe} aria-describedby="key-probe-result" onInput={(e) => setProbe(e.currentTarget.value)} />
          <p id="key-probe-result" class="hint" aria-live="polite">
            {probe && pattern ? (actorMatches(pattern, probe) ? `✓ ${probe} matches: the key may decide for it.` : `✗ ${probe} does not match: refused.`) : ''}
          </p>
          {error && <Alert>{error}</Alert>}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Create key
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** The keys of one page: name, pattern, prefix, who created it and when, last use, status in words. */
function KeyTable({ items, me, locked, onRevoke }: { items: ApiKeyInfo[]; me: string; locked: boolean; onRevoke: (k: ApiKeyInfo) => void }) {
  return (
    <DataTable label="API keys table" caption="Agent API keys" columns={['Name', 'Actor pattern', 'Prefix', 'Created', 'Last used', 'Status']} actions>
      {items.map((k) => (
        <tr key={k.key_id} data-key-name={k.name} data-status={k.status}>
          <td>{k.name}</td>
          <td>
            <code>{k.actor_pattern}</code>
          </td>
          <td>
            <code>{k.key_prefix}…</code>
          </td>
          <td>
            <Time iso={k.created_at} /> by <Person id={k.created_by} me={me} />
          </td>
          <td>{k.last_used_at ? <Time iso={k.last_used_at} /> : 'never'}</td>
          <td>
            <span class={`key-status key-${k.status}`}>{k.status === 'active' ? '● active' : '○ revoked'}</span>
            {k.revoked_at ? (
              <div class="hint">
                <Time iso={k.revoked_at} />
              </div>
            ) : null}
          </td>
          <td>
            {k.status === 'active' && (
              <button type="button" class="deny" aria-label={`Revoke ${k.name}`} disabled={locked} onClick={() => onRevoke(k)}>
                Revoke…
              </button>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Agent API keys (admin): list a page at a time, create (the secret once), revoke after a confirmation. */
export function ApiKeys({ api, me }: { api: Api; me: string }) {
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { cursors, setCursors, page, reload } = useCursorPages((cursor) => api.apiKeys({ limit: '50', ...(cursor ? { cursor } : {}) }), setError, refusal, [api]);

  async function revoke() {
    if (!revoking) return;
    setBusy(true);
    setError(null);
    try {
      const k = await api.revokeApiKey(revoking.key_id);
      setDone(`Key ${k.name} (${k.key_prefix}…) is revoked: the next request with it is refused.`);
      reload();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
      setRevoking(null);
      setTimeout(() => document.getElementById('keys-result')?.focus(), 0);
    }
  }

  return (
    <>
      <section aria-labelledby="h-keys">
        <h2 id="h-keys">Agent API keys</h2>
        <p role="status" class="hint">
          {pageSummary(cursors.length, page, 'key')}
        </p>
        <KeyTable items={page?.items ?? []} me={me} locked={revoking !== null} onRevoke={(k) => (setDone(null), setRevoking(k))} />
        <Pager label="API keys" cursors={cursors} next={page?.next_cursor} onChange={setCursors} />
        {revoking && (
          <Confirm
            id="revoke-confirm"
            question={`Revoke ${revoking.name} (${revoking.key_prefix}…, actors ${revoking.actor_pattern})? Every request with it is refused from now on; this cannot be undone.`}
            yes="Yes, revoke the key"
            danger
            busy={busy}
            onYes={revoke}
            onCancel={() => setRevoking(null)}
          />
        )}
        <div id="keys-result" tabIndex={-1}>
          {error && <Alert>{error}</Alert>}
          {done && <Alert kind="success">{done}</Alert>}
        </div>
      </section>
      <CreateKey api={api} onCreated={reload} />
    </>
  );
}
