import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, buildTestApp, createTestUser, type TestApp } from '../helpers/build-test-app.js';
import { startTestOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const REDIRECT_URI = 'http://127.0.0.1:8000/auth/oidc/sso/callback';

const accounts: Record<string, Record<string, unknown>> = {
  alice: { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', groups: ['lexecon-auditors'] },
  root: { email: 'root@example.com', email_verified: true, preferred_username: 'root', groups: ['lexecon-admins'] },
  carol: { email: 'carol@example.com', email_verified: true, preferred_username: 'carol.idp', groups: ['lexecon-auditors'] },
  mallory: { email: 'carol2@example.com', email_verified: false, preferred_username: 'mallory', groups: ['lexecon-auditors'] },
  eve: { email: 'eve@example.com', email_verified: true, preferred_username: 'eve', groups: ['strangers'] },
};

let provider: TestOidcProvider;
let t: TestApp;
/** Every log line of the app (at info level). */
const logs: string[] = [];

beforeAll(async () => {
  provider = await startTestOidcProvider({
    clients: [{ client_id: 'lexecon', client_secret: 'client-secret-for-tests', redirect_uris: [REDIRECT_URI] }],
    accounts,
  });
  // The provider signs with real time, so the app's clock starts at real time too.
  t = await buildTestApp({
    clock: new ManualClock(Date.now()),
    logStream: { write: (line) => logs.push(line) },
    env: {
      LEXECON_LOG_LEVEL: 'info',
      LEXECON_OIDC_ISSUER: provider.issuer,
      LEXECON_OIDC_CLIENT_ID: 'lexecon',
      LEXECON_OIDC_CLIENT_SECRET: 'client-secret-for-tests',
      LEXECON_OIDC_REDIRECT_URI: REDIRECT_URI,
      LEXECON_OIDC_ROLE_MAP: 'lexecon-admins=admin,lexecon-auditors=auditor',
      LEXECON_OIDC_SCOPES: 'openid email profile groups',
    },
  });
});

afterAll(async () => {
  await t?.app.close();
  await provider?.close();
});

/** Start a login at Lexecon: the provider URL and the state cookie it set. */
async function begin(): Promise<{ location: string; cookie: string }> {
  const res = await t.app.inject({ method: 'GET', url: '/auth/oidc/sso/login' });
  expect(res.statusCode).toBe(302);
  const location = res.headers.location as string;
  expect(res.json()).toEqual({ authorization_url: location });
  const setCookie = String(res.headers['set-cookie']);
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Lax/);
  return { location, cookie: setCookie.split(';')[0]! };
}

function callback(url: URL, cookie: string | undefined) {
  return t.app.inject({
    method: 'GET',
    url: `/auth/oidc/sso/callback${url.search}`,
    headers: cookie === undefined ? {} : { cookie },
  });
}

/** A whole login as `accountId`; the callback's answer. */
async function login(accountId: string, amr?: string[]) {
  const { location, cookie } = await begin();
  const redirect = await provider.authorize(location, { accountId, ...(amr ? { amr } : {}) });
  return callback(redirect, cookie);
}

async function events(type: string) {
  return (await t.services.ledger.listEntries({ eventType: type, limit: 1000 })).map((e) => JSON.parse(e.dataJson));
}

describe('OIDC login against a real OpenID Provider', () => {
  it('sends the browser to the provider with PKCE (S256), state and nonce', async () => {
    const { location } = await begin();
    const url = new URL(location);
    expect(url.origin).toBe(provider.issuer);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    for (const p of ['state', 'nonce', 'code_challenge', 'client_id', 'redirect_uri']) expect(url.searchParams.get(p)).toBeTruthy();
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
  });

  it('creates a local user with the mapped role at the first login, and finds it again later', async () => {
    const first = await login('alice');
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.user).toMatchObject({ username: 'alice', role: 'auditor', mfa_enabled: false, mfa_enrollment_required: false });
    expect((await t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(body.token) })).statusCode).toBe(200);
    const me = (await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(body.token) })).json();
    expect(me.session.method).toBe('oidc');

    const second = (await login('alice')).json();
    expect(second.user.user_id).toBe(body.user.user_id);
    expect((await events('user_created')).filter((e) => e.user_id === body.user.user_id)).toEqual([
      { user_id: body.user.user_id, role: 'auditor', by: 'oidc:sso', via: 'oidc' },
    ]);
    const links = (await events('auth_oidc_linked')).filter((e) => e.user_id === body.user.user_id);
    expect(links).toEqual([
      { user_id: body.user.user_id, provider: 'sso', subject_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), created: true, by: 'oidc:sso' },
    ]);
    const logins = (await events('auth_login_succeeded')).filter((e) => e.user_id === body.user.user_id);
    expect(logins).toHaveLength(2);
    expect(logins[0]).toMatchObject({ method: 'oidc', provider: 'sso' });
  });

  it('never links itself to a local account with the same verified email: 409, no link, the role untouched (issue 14 C8)', async () => {
    // A privileged local account whose email an identity at the provider also shows (verified).
    const local = await t.services.auth.createUser(
      { username: 'carol', email: 'carol@example.com', password: 'violet-harbour-42-trombone', role: 'governance_lead' },
      'system',
      'cli',
    );
    const refused = await login('carol');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('OIDC_ACCOUNT_NOT_LINKED');
    expect(await t.services.auth.getUser(local.userId)).toMatchObject({ role: 'governance_lead' });
    expect((await events('auth_oidc_linked')).filter((e) => e.user_id === local.userId)).toEqual([]);
    expect(t.db.prepare('SELECT count(*) FROM sessions WHERE user_id = ?').pluck().get(local.userId)).toBe(0);
    expect(t.db.prepare("SELECT count(*) FROM users WHERE lower(email) = 'carol@example.com'").pluck().get()).toBe(1);

    // An unverified email proves nothing: a separate user, the local account untouched.
    accounts.mallory!.email = 'carol@example.com';
    const mallory = (await login('mallory')).json();
    expect(mallory.user.user_id).not.toBe(local.userId);
    expect(await t.services.auth.getUser(local.userId)).toMatchObject({ role: 'governance_lead' });
  });

  it('links an existing account only by an admin: POST /auth/users/:id/oidc-links, ledgered; then the login signs in as it', async () => {
    const local = await t.services.auth.createUser(
      { username: 'dave.local', email: 'dave@example.com', password: 'violet-harbour-42-trombone', role: 'auditor' },
      'system',
      'cli',
    );
    accounts.dave = { email: 'dave@example.com', email_verified: true, preferred_username: 'dave', groups: ['lexecon-auditors'] };
    expect((await login('dave')).json().error.code).toBe('OIDC_ACCOUNT_NOT_LINKED');

    const admin = await createTestUser(t, 'admin');
    const auditor = await createTestUser(t, 'auditor');
    const link = (token: string, body: object, userId = local.userId) =>
      t.app.inject({ method: 'POST', url: `/auth/users/${userId}/oidc-links`, headers: bearer(token), payload: body });
    expect((await link(auditor.token, { provider: 'sso', subject: 'dave' })).statusCode).toBe(403);
    expect((await link(admin.token, { provider: 'okta', subject: 'dave' })).json().error.code).toBe('OIDC_PROVIDER_NOT_FOUND');
    expect((await link(admin.token, { provider: 'sso', subject: 'dave' }, 'usr_01ZZZZZZZZZZZZZZZZZZZZZZZZ')).statusCode).toBe(404);
    const linked = await link(admin.token, { provider: 'sso', subject: 'dave' });
    expect(linked.statusCode, linked.body).toBe(201);
    expect(linked.json()).toEqual({ user_id: local.userId, provider: 'sso', subject: 'dave', linked_at: expect.any(String) });
    expect((await link(admin.token, { provider: 'sso', subject: 'dave' })).json().error.code).toBe('OIDC_IDENTITY_LINKED');
    expect((await events('auth_oidc_linked')).filter((e) => e.user_id === local.userId)).toEqual([
      { user_id: local.userId, provider: 'sso', subject_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), created: false, by: admin.userId },
    ]);
    const list = await t.app.inject({ method: 'GET', url: `/auth/users/${local.userId}/oidc-links`, headers: bearer(admin.token) });
    expect(list.json().items).toEqual([linked.json()]);

    const dave = await login('dave');
    expect(dave.statusCode).toBe(200);
    expect(dave.json().user).toMatchObject({ user_id: local.userId, role: 'auditor' });
  });

  it('keeps the callback’s code and state out of the logs (issue 14 C8)', async () => {
    const { location, cookie } = await begin();
    const redirect = await provider.authorize(location, { accountId: 'alice' });
    const code = redirect.searchParams.get('code')!;
    const state = redirect.searchParams.get('state')!;
    expect(code.length).toBeGreaterThan(8);
    logs.length = 0;
    expect((await callback(redirect, cookie)).statusCode).toBe(200);
    const text = logs.join('');
    expect(text).toContain('/auth/oidc/sso/callback?');
    expect(text).toContain('code=[redacted]');
    expect(text).toContain('state=[redacted]');
    expect(text).not.toContain(code);
    expect(text).not.toContain(state);
    expect(text).not.toContain(encodeURIComponent(state));
  });

  it('applies the role the provider maps at every login, and ends older sessions when it changes', async () => {
    const before = (await login('alice')).json();
    accounts.alice!.groups = ['lexecon-admins'];
    try {
      const refused = await login('alice');
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('MFA_REQUIRED_AT_PROVIDER');
      const after = (await login('alice', ['pwd', 'otp'])).json();
      expect(after.user).toMatchObject({ user_id: before.user.user_id, role: 'admin', mfa_enrollment_required: false });
      expect((await t.app.inject({ method: 'GET', url: '/auth/users', headers: bearer(after.token) })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(before.token) })).statusCode).toBe(401);
      expect((await events('user_updated')).find((e) => e.user_id === before.user.user_id)).toMatchObject({
        by: 'oidc:sso',
        changes: { role: { from: 'auditor', to: 'admin' } },
      });
    } finally {
      accounts.alice!.groups = ['lexecon-auditors'];
    }
  });

  it('refuses a role that requires MFA unless the provider asserted MFA (amr)', async () => {
    const res = await login('root', ['pwd']);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('MFA_REQUIRED_AT_PROVIDER');
    const ok = await login('root', ['pwd', 'hwk']);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.role).toBe('admin');
  });

  it('refuses claims that map to no role', async () => {
    const res = await login('eve');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('OIDC_NO_ROLE');
  });

  it('rejects a wrong state, a missing state cookie and a replayed callback', async () => {
    const { location, cookie } = await begin();
    const redirect = await provider.authorize(location, { accountId: 'alice' });

    const tampered = new URL(redirect);
    tampered.searchParams.set('state', 'forged-state');
    const wrong = await callback(tampered, cookie);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('OIDC_STATE_MISMATCH');

    const noCookie = await callback(redirect, undefined);
    expect(noCookie.json().error.code).toBe('OIDC_STATE_MISMATCH');

    expect((await callback(redirect, cookie)).statusCode).toBe(200);
    const replay = await callback(redirect, cookie);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('OIDC_STATE_MISMATCH');
  });

  it('rejects an ID token whose nonce is not the one this login sent', async () => {
    const { location, cookie } = await begin();
    const redirect = await provider.authorize(location, { accountId: 'alice' });
    t.db.prepare('UPDATE oidc_login_states SET nonce = ?').run('a-nonce-from-another-login');
    const res = await callback(redirect, cookie);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('OIDC_NONCE_MISMATCH');
  });

  it('keeps logins in flight for 10 minutes, used once, and drops expired ones', async () => {
    const count = () => t.db.prepare('SELECT count(*) FROM oidc_login_states').pluck().get() as number;
    const before = count();
    const { location, cookie } = await begin();
    expect(count()).toBe(before + 1);
    const redirect = await provider.authorize(location, { accountId: 'alice' });
    t.clock.advance(601_000);
    try {
      await begin();
      expect(count()).toBe(1);
      const late = await callback(redirect, cookie);
      expect(late.statusCode).toBe(401);
      expect(late.json().error.code).toBe('OIDC_STATE_MISMATCH');
    } finally {
      t.clock.advance(-601_000);
    }
  });

  it('reports a refusal at the provider and an unknown provider name', async () => {
    const { location, cookie } = await begin();
    const denied = await callback(await provider.authorize(location, { accountId: 'alice', deny: true }), cookie);
    expect(denied.statusCode).toBe(401);
    expect(denied.json().error.code).toBe('OIDC_CALLBACK_ERROR');

    const unknown = await t.app.inject({ method: 'GET', url: '/auth/oidc/okta/login' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('OIDC_PROVIDER_NOT_FOUND');
  });
});

describe('OIDC not configured', () => {
  it('answers 404 on the OIDC routes', async () => {
    const plain = await buildTestApp();
    try {
      const res = await plain.app.inject({ method: 'GET', url: '/auth/oidc/sso/login' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('OIDC_PROVIDER_NOT_FOUND');
    } finally {
      await plain.app.close();
    }
  });
});
