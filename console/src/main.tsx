import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, type HaltStatus, type SessionGrant, type UserSummary } from './api.js';
import { Alert, Facts, Link, Time } from './components.js';
import { navFor } from './lib/roles.js';
import { navigate, usePoll, useRoute } from './router.js';
import { CaseView } from './screens/case.js';
import { DecisionView } from './screens/decision.js';
import { Decisions } from './screens/decisions.js';
import { Halt } from './screens/halt.js';
import { PendingOverrides } from './screens/override.js';
import { Queue } from './screens/queue.js';
import { ComplianceScreen } from './screens/compliance.js';
import { LedgerScreen } from './screens/ledger.js';
import { MetricsScreen } from './screens/metrics.js';
import { EnrolMfa, OidcCallback, SignIn } from './screens/signin.js';
// administration and policies
import { UserNames } from './lib/admin.js';
import { People, Person } from './people.js';
import { AdminScreen } from './screens/admin.js';
import { PoliciesScreen } from './screens/policies.js';

/** The halt state: polled for every signed-in user, shown on every screen while decisions are halted. */
function HaltBanner({ status }: { status: HaltStatus | null }) {
  if (!status?.halted) return null;
  return (
    <div class="halted" role="alert">
      <strong>Decisions are halted.</strong> Every decision is denied until an executive or an admin resumes. Since <Time iso={status.since} />
      {status.by ? <> by <Person id={status.by} /></> : ''}
      {status.reason ? `: ${status.reason}` : ''}
    </div>
  );
}

function Account({ api, user, onEnrol, onSignOut }: { api: Api; user: UserSummary; onEnrol: () => void; onSignOut: () => void }) {
  const [expires, setExpires] = useState<string | null>(null);
  useEffect(() => {
    api.me().then((m) => setExpires(m.session.expires_at), () => undefined);
  }, [api]);
  return (
    <main id="main" tabIndex={-1}>
      <h1>Your account</h1>
      <Facts
        rows={[
          ['Username', user.username],
          ['User id', <code>{user.user_id}</code>],
          ['Role', user.role],
          ['Two-factor authentication', user.mfa_enabled ? 'on' : 'off'],
          ['Session ends at the latest', <Time iso={expires} />],
        ]}
      />
      <div class="actions">
        {!user.mfa_enabled && (
          <button type="button" onClick={onEnrol}>
            Set up two-factor authentication
          </button>
        )}
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </main>
  );
}

function App() {
  const route = useRoute();
  const [user, setUser] = useState<UserSummary | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [status, setStatus] = useState<HaltStatus | null>(null);
  const [enrolling, setEnrolling] = useState(false);
  const lastUsername = useRef('');
  const people = useRef<{ owner: string; names: UserNames } | null>(null);
  // What the user typed (resolution notes per case), in memory: it survives a sign-in after a 401.
  const drafts = useMemo(() => new Map<string, string>(), []);
  const api = useMemo(
    () =>
      new Api(() => {
        setUser(null);
        setStatus(null);
        setNotice('Your session has ended. Sign in again to continue: what you typed is kept.');
      }),
    [],
  );

  const signedIn = (g: SessionGrant) => {
    api.setToken(g.token);
    lastUsername.current = g.user.username;
    setNotice(null);
    setEnrolling(false);
    setUser(g.user);
    if (route === '/oidc/callback' || route === '/' || route === '/signin') navigate('/escalations', true);
  };

  usePoll(
    async () => {
      if (!user || user.mfa_enrollment_required) return;
      setStatus(await api.status());
    },
    5000,
    [user],
  );

  // Focus the new screen's main region so keyboard and screen-reader users land on it (the sign-in
  // screen focuses its first field itself).
  useEffect(() => {
    if (user !== null) document.getElementById('main')?.focus();
  }, [route, user === null]);

  if (route === '/oidc/callback' && !user) {
    return (
      <OidcCallback
        api={api}
        onSignedIn={signedIn}
        onFailed={(m) => {
          setNotice(`Single sign-on failed: ${m}`);
          navigate('/', true);
        }}
      />
    );
  }

  if (!user) {
    return <SignIn api={api} notice={notice} initialUsername={lastUsername.current} onSignedIn={signedIn} />;
  }

  const finishEnrolment = async () => {
    const me = await api.me();
    setUser(me.user);
    setEnrolling(false);
  };

  const signOut = async () => {
    await api.logout().catch(() => undefined);
    api.setToken(null);
    drafts.clear();
    people.current = null;
    setUser(null);
    setStatus(null);
    setNotice('You are signed out.');
    navigate('/', true);
  };

  // usernames for people shown by id: admins only (the only role that may read users); a cache per sign-in
  const names = user.role === 'admin' ? (people.current?.owner === user.user_id ? people.current.names : (people.current = { owner: user.user_id, names: new UserNames((id) => api.user(id).then((u) => u.username)) }).names) : null;

  if (user.mfa_enrollment_required || enrolling) {
    return <EnrolMfa api={api} required={user.mfa_enrollment_required} onDone={finishEnrolment} />;
  }

  const me = { userId: user.user_id, role: user.role };
  const nav = navFor(user.role);
  let screen;
  const caseMatch = /^\/escalations\/(esc_[A-Za-z0-9]+)$/.exec(route);
  // screens 3-5: decisions, overrides, stop/resume
  const decisionMatch = /^\/decisions\/(dec_[A-Za-z0-9]+)$/.exec(route);
  if (caseMatch) screen = <CaseView key={caseMatch[1]} api={api} id={caseMatch[1]!} me={me} drafts={drafts} />;
  else if (decisionMatch) screen = <DecisionView key={decisionMatch[1]} api={api} id={decisionMatch[1]!} me={me} />;
  else if (route === '/decisions') screen = <Decisions api={api} />;
  else if (route === '/overrides') screen = <PendingOverrides api={api} me={me} />;
  else if (route === '/halt') screen = <Halt api={api} me={me} onStatus={setStatus} />;
  // screens 6-7: ledger, evidence, compliance, metrics
  else if (route === '/ledger' || route.startsWith('/ledger/entries/'))
    screen = <LedgerScreen api={api} role={user.role} entryId={route.startsWith('/ledger/entries/') ? decodeURIComponent(route.slice('/ledger/entries/'.length)) : undefined} />;
  else if (route === '/compliance') screen = <ComplianceScreen api={api} role={user.role} />;
  else if (route === '/metrics') screen = <MetricsScreen api={api} me={me} />;
  // administration and policies
  else if (route === '/admin') screen = <AdminScreen api={api} me={me} names={names} />;
  else if (route === '/policies') screen = <PoliciesScreen api={api} me={me} />;
  else if (route === '/account') screen = <Account api={api} user={user} onEnrol={() => setEnrolling(true)} onSignOut={signOut} />;
  else if (route === '/escalations' || route === '/' || route === '/signin') screen = <Queue api={api} me={me} />;
  else
    screen = (
      <main id="main" tabIndex={-1}>
        <Alert>There is no screen at {route}.</Alert>
        <Link to="/escalations">Go to the escalations</Link>
      </main>
    );

  return (
    <>
      <header class="top">
        <span class="brand">Lexecon oversight</span>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.path}>
                <Link to={n.path} aria-current={route.startsWith(n.path) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {user.username} ({user.role})
        </span>
      </header>
      <People.Provider value={names}>
        <HaltBanner status={status} />
        {screen}
      </People.Provider>
    </>
  );
}

render(<App />, document.getElementById('app')!);
