import { useEffect, useState } from 'preact/hooks';
import { ApiError, type AdminUser, type Api, type UserChange } from '../api.js';
import { Alert, DataTable, pageSummary, Time, useCursorPages } from '../components.js';
import {
  checkEmail,
  checkNewUsername,
  fieldProblems,
  HUMAN_ROLE_CHOICES,
  passwordRuleProblems,
  PASSWORD_RULE_TEXT,
  userState,
  type UserNames,
} from '../lib/admin.js';
import { Confirm, Pager } from './confirm.js';

const PAGE = '50';

/** An API refusal in words, with its code (409 LAST_ADMIN and USERNAME_TAKEN come as the server says them). */
function refusal(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`;
  return 'That failed. Try again.';
}

/** A password input with the server's rule under it and the problems the browser can see as you type. */
function PasswordField({ id, label, value, username, serverErrors, onInput }: { id: string; label: string; value: string; username: string; serverErrors: string[]; onInput: (v: string) => void }) {
  const local = value.length > 0 ? passwordRuleProblems(value, username) : [];
  const problems = [...new Set([...local, ...serverErrors])];
  return (
    <>
      <label for={id}>{label}</label>
      <input id={id} type="password" autoComplete="new-password" value={value} aria-invalid={problems.length > 0 ? true : undefined} aria-describedby={`${id}-rule ${id}-problems`} onInput={(e) => onInput(e.currentTarget.value)} />
      <p id={`${id}-rule`} class="hint">
        Password rule: {PASSWORD_RULE_TEXT}
      </p>
      <div id={`${id}-problems`} aria-live="polite">
        {problems.length > 0 && (
          <ul class="field-problems">
            {problems.map((p) => (
              <li key={p}>The password {p}.</li>
            ))}
          </ul>
        )}
      </div>
    </>
  );
}

function FieldError({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <ul id={id} class="field-problems">
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

/** Create a user (POST /auth/users): checks the browser can make first, then the API's 400 details beside each field. */
function CreateUser({ api, names, onCreated }: { api: Api; names: UserNames; onCreated: (u: AdminUser) => void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('approver');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setDone(null);
    setError(null);
    const local = new Map<string, string[]>();
    const u = checkNewUsername(username);
    if (!u.ok) local.set('username', [u.message]);
    const m = checkEmail(email);
    if (!m.ok) local.set('email', [m.message]);
    const p = passwordRuleProblems(password, username);
    if (password.length === 0) local.set('password', ['Enter a password.']);
    else if (p.length > 0) local.set('password', []); // shown by the field already
    setErrors(local);
    if (local.size > 0) {
      document.getElementById(`new-${[...local.keys()][0]}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const created = await api.createUser({ username, password, role, ...(email.trim() ? { email: email.trim() } : {}) });
      names.remember(created.user_id, created.username);
      setDone(`User ${created.username} created as ${created.role} (${created.user_id}). Give them their password by a safe channel; they sign in at this console.`);
      setUsername('');
      setEmail('');
      setPassword('');
      setErrors(new Map());
      onCreated(created);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        const byField = fieldProblems(err.details);
        setErrors(byField);
        setError(err.message);
      } else if (err instanceof ApiError && err.code === 'USERNAME_TAKEN') {
        setErrors(new Map([['username', [err.message]]]));
        setError(refusal(err));
      } else if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
    }
  }

  const invalid = (f: string) => ((errors.get(f)?.length ?? 0) > 0 ? { 'aria-invalid': true as const, 'aria-describedby': `new-${f}-error` } : {});
  /** Typing in a field clears what was said about it (and the form's refusal): the next submit judges again. */
  const edit = (f: string, set: (v: string) => void) => (v: string) => {
    set(v);
    setError(null);
    if (errors.has(f)) setErrors(new Map([...errors].filter(([k]) => k !== f)));
  };
  return (
    <section aria-labelledby="h-new-user" class="resolve">
      <h2 id="h-new-user">Create a user</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <label for="new-username">Username</label>
        <input id="new-username" autoComplete="off" value={username} {...invalid('username')} onInput={(e) => edit('username', setUsername)(e.currentTarget.value)} />
        <FieldError id="new-username-error" messages={errors.get('username')} />
        <label for="new-email">Email (optional)</label>
        <input id="new-email" type="email" autoComplete="off" value={email} {...invalid('email')} onInput={(e) => edit('email', setEmail)(e.currentTarget.value)} />
        <FieldError id="new-email-error" messages={errors.get('email')} />
        <label for="new-role">Role</label>
        <select id="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {HUMAN_ROLE_CHOICES.map((r) => (
            <option key={r.role} value={r.role}>
              {r.label}
            </option>
          ))}
        </select>
        <PasswordField id="new-password" label="Password" value={password} username={username} serverErrors={errors.get('password') ?? []} onInput={edit('password', setPassword)} />
        {error && <Alert>{error}</Alert>}
        {done && <Alert kind="success">{done}</Alert>}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Create user
          </button>
        </div>
      </form>
    </section>
  );
}

type Pending = { kind: 'role'; role: string } | { kind: 'disable' } | { kind: 'enable' } | { kind: 'mfa' } | { kind: 'password'; password: string };

function question(u: AdminUser, p: Pending): string {
  switch (p.kind) {
    case 'role':
      return `Change ${u.username}'s role from ${u.role} to ${p.role}? Their sessions end at once.`;
    case 'disable':
      return `Disable ${u.username}? They cannot sign in and their sessions end at once.`;
    case 'enable':
      return `Enable ${u.username} again? They can sign in with their password.`;
    case 'mfa':
      return `Reset ${u.username}'s two-factor authentication (a lost device)? Their sessions end; they enrol again at their next sign-in.`;
    case 'password':
      return `Reset ${u.username}'s password? Their sessions end; give them the new password by a safe channel.`;
  }
}

function change(p: Pending): UserChange {
  switch (p.kind) {
    case 'role':
      return { role: p.role };
    case 'disable':
      return { disabled: true };
    case 'enable':
      return { disabled: false };
    case 'mfa':
      return { mfa_reset: true };
    case 'password':
      return { password: p.password };
  }
}

/** A new role for the user, asked through the confirmation step. */
function RoleForm({ user, role, locked, onRole, onAsk }: { user: AdminUser; role: string; locked: boolean; onRole: (r: string) => void; onAsk: (p: Pending) => void }) {
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        if (role !== user.role) onAsk({ kind: 'role', role });
      }}
    >
      <label for="manage-role">Role</label>
      <select id="manage-role" value={role} disabled={locked} onChange={(e) => onRole(e.currentTarget.value)}>
        {HUMAN_ROLE_CHOICES.map((r) => (
          <option key={r.role} value={r.role}>
            {r.role}
          </option>
        ))}
      </select>
      <div class="actions">
        <button type="submit" disabled={locked || role === user.role}>
          Change role…
        </button>
      </div>
    </form>
  );
}

/** Disable or enable, and the MFA reset (only when the user has MFA). */
function AccessButtons({ user, locked, onAsk }: { user: AdminUser; locked: boolean; onAsk: (p: Pending) => void }) {
  return (
    <div>
      <h3>Access</h3>
      <div class="actions">
        {user.disabled ? (
          <button type="button" class="approve" disabled={locked} onClick={() => onAsk({ kind: 'enable' })}>
            Enable…
          </button>
        ) : (
          <button type="button" class="deny" disabled={locked} onClick={() => onAsk({ kind: 'disable' })}>
            Disable…
          </button>
        )}
        <button type="button" disabled={locked || !user.mfa_enabled} aria-describedby="mfa-hint" onClick={() => onAsk({ kind: 'mfa' })}>
          Reset two-factor…
        </button>
      </div>
      <p id="mfa-hint" class="hint">
        {user.mfa_enabled ? 'For a lost device: they enrol again.' : 'Two-factor authentication is off for this user: nothing to reset.'}
      </p>
    </div>
  );
}

/** One user's changes (PATCH /auth/users/:id), each through a confirmation step. */
function ManageUser({ api, user, me, onChanged, onClose }: { api: Api; user: AdminUser; me: string; onChanged: (u: AdminUser) => void; onClose: () => void }) {
  const [role, setRole] = useState(user.role);
  const [password, setPassword] = useState('');
  const [passwordErrors, setPasswordErrors] = useState<string[]>([]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setRole(user.role);
  }, [user.user_id, user.role]);

  const ask = (p: Pending) => {
    setError(null);
    setDone(null);
    setPending(p);
  };

  async function commit() {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      const updated = await api.updateUser(user.user_id, change(pending));
      setDone(`${updated.username}: ${pending.kind === 'password' ? 'password reset' : pending.kind === 'mfa' ? 'two-factor authentication reset' : `now ${userState(updated)}, role ${updated.role}`}. Their sessions have ended.`);
      if (pending.kind === 'password') setPassword('');
      setPasswordErrors([]);
      onChanged(updated);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && pending.kind === 'password') setPasswordErrors(fieldProblems(err.details).get('password') ?? []);
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
      setPending(null);
      setTimeout(() => document.getElementById('manage-result')?.focus(), 0);
    }
  }

  const askPassword = (e: Event) => {
    e.preventDefault();
    const problems = password.length === 0 ? ['must not be empty'] : passwordRuleProblems(password, user.username);
    setPasswordErrors(password.length === 0 ? ['must not be empty'] : []);
    if (problems.length > 0) {
      document.getElementById('reset-password')?.focus();
      return;
    }
    ask({ kind: 'password', password });
  };

  return (
    <section aria-labelledby="h-manage" class="resolve" data-managing={user.username}>
      <h2 id="h-manage" tabIndex={-1}>
        Manage {user.username}
      </h2>
      <p>
        {user.role} · {userState(user)} · <code>{user.user_id}</code>
        {user.user_id === me ? ' · this is you' : ''}
      </p>
      <div class="grid">
        <RoleForm user={user} role={role} locked={pending !== null} onRole={setRole} onAsk={ask} />
        <AccessButtons user={user} locked={pending !== null} onAsk={ask} />
      </div>
      {user.password_login ? (
        <form class="stack" onSubmit={askPassword} noValidate>
          <PasswordField id="reset-password" label="New password" value={password} username={user.username} serverErrors={passwordErrors} onInput={setPassword} />
          <div class="actions">
            <button type="submit" disabled={pending !== null}>
              Reset password…
            </button>
          </div>
        </form>
      ) : (
        <p class="hint">This user signs in with single sign-on only (no password).</p>
      )}
      {pending && <Confirm id="manage-confirm" question={question(user, pending)} yes="Yes, change it" danger={pending.kind !== 'enable'} busy={busy} onYes={commit} onCancel={() => setPending(null)} />}
      <div id="manage-result" tabIndex={-1}>
        {error && <Alert>{error}</Alert>}
        {done && <Alert kind="success">{done}</Alert>}
      </div>
      <div class="actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}

/** The users of one page, each with its "Manage" button. */
function UserTable({ items, me, onManage }: { items: AdminUser[]; me: string; onManage: (u: AdminUser) => void }) {
  return (
    <DataTable label="Users table" caption="Users, oldest first" columns={['Username', 'Email', 'Role', 'State', 'Created']} actions>
      {items.map((u) => (
        <tr key={u.user_id} data-username={u.username} class={u.disabled ? 'disabled-row' : undefined}>
          <td>
            {u.username}
            {u.user_id === me ? <span class="tag">you</span> : null}
          </td>
          <td>{u.email ?? '—'}</td>
          <td>{u.role}</td>
          <td>{userState(u)}</td>
          <td>
            <Time iso={u.created_at} />
          </td>
          <td>
            <button type="button" aria-label={`Manage ${u.username}`} onClick={() => onManage(u)}>
              Manage
            </button>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Users (admin): the list a page at a time, create, and one user's changes. */
export function Users({ api, names, me }: { api: Api; names: UserNames; me: string }) {
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<AdminUser | null>(null);
  const { cursors, setCursors, page, reload } = useCursorPages(
    async (cursor) => {
      const p = await api.users({ limit: PAGE, ...(cursor ? { cursor } : {}) });
      for (const u of p.items) names.remember(u.user_id, u.username);
      return p;
    },
    setError,
    refusal,
    [api],
  );

  const open = (u: AdminUser) => {
    setSelected(u);
    setTimeout(() => document.getElementById('h-manage')?.focus(), 0);
  };

  return (
    <>
      <section aria-labelledby="h-users">
        <h2 id="h-users">Users</h2>
        {error && <Alert>{error}</Alert>}
        <p role="status" class="hint">
          {pageSummary(cursors.length, page, 'user')}
        </p>
        <UserTable items={page?.items ?? []} me={me} onManage={open} />
        <Pager label="Users" cursors={cursors} next={page?.next_cursor} onChange={setCursors} />
      </section>
      {selected && (
        <ManageUser
          key={selected.user_id}
          api={api}
          user={selected}
          me={me}
          onChanged={(u) => {
            setSelected(u);
            reload();
          }}
          onClose={() => setSelected(null)}
        />
      )}
      <CreateUser api={api} names={names} onCreated={reload} />
    </>
  );
}
