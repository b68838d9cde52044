import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usernameKey } from '../../src/modules/auth/auth.service.js';
import { hashSecret, normalizeRecoveryCode, totpCode } from '../../src/modules/auth/credentials.js';
import type { HumanRole } from '../../src/modules/auth/roles.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { bearer, buildTestApp, createTestUser, GOOD_PASSWORD, TEST_START, type TestApp } from '../helpers/build-test-app.js';

// ---------------------------------------------------------------- helpers

type Res = LightMyRequestResponse;
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const SESSION_TOKEN = /^lxs_[A-Za-z0-9_-]{43}$/;
const API_KEY = /^lxk_[A-Za-z0-9_-]{43}$/;
const RECOVERY_CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;
const WWW_AUTHENTICATE = 'Bearer realm="lexecon"';
const OTHER_PASSWORD = 'copper-lantern-77-meadow';
const STEP_MS = 30_000;

/** A test app with the per-IP login limit off (tests log in far more than 20 times a minute). */
function freshApp(env: Record<string, string> = {}): Promise<TestApp> {
  return buildTestApp({ env: { LEXECON_LOGIN_RATE_LIMIT: '0', ...env } });
}

function req(t: TestApp, method: Method, url: string, token?: string, body?: object): Promise<Res> {
  return t.app.inject({ method, url, headers: token === undefined ? {} : bearer(token), ...(body === undefined ? {} : { payload: body }) });
}

function login(t: TestApp, username: string, password: string, totp?: string): Promise<Res> {
  return req(t, 'POST', '/auth/login', undefined, { username, password, ...(totp === undefined ? {} : { totp }) });
}

/** Log in and return the session token (asserting success). */
async function loginToken(t: TestApp, username: string, password: string, totp?: string): Promise<string> {
  const res = await login(t, username, password, totp);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().token as string;
}

interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** Assert the error envelope (DESIGN §8) with this status and code; returns `error`. */
function expectError(res: Res, status: number, code: string): ErrorBody {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(Object.keys(body).sort()).toEqual(['error', 'request_id']);
  expect(body.request_id).toBe(res.headers['x-request-id']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  return body.error as ErrorBody;
}

/** A 401 from the guard: envelope, UNAUTHORIZED and the `WWW-Authenticate` challenge. */
function expectUnauthenticated(res: Res): void {
  expectError(res, 401, 'UNAUTHORIZED');
  expect(res.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
}

/** Every problem message listed in a VALIDATION_FAILED answer. */
function problemMessages(err: ErrorBody): string[] {
  return (err.details as Array<{ message: string }>).map((d) => d.message);
}

/** Data of the ledger entries of one event type, in seq order. */
async function events(t: TestApp, eventType: string): Promise<Array<Record<string, unknown>>> {
  const rows = await t.services.ledger.listEntries({ eventType, limit: 1000 });
  return rows.map((r) => JSON.parse(r.dataJson) as Record<string, unknown>);
}

/** Every ledger entry's data, concatenated. */
async function allLedgerData(t: TestApp): Promise<string> {
  return (await t.services.ledger.listEntries({ limit: 100_000 })).map((r) => r.dataJson).join('\n');
}

/** A 6-digit code that is valid in none of the steps the server accepts now. */
function wrongCode(secret: string, nowMs: number): string {
  const valid = new Set([-1, 0, 1].map((d) => totpCode(secret, nowMs + d * STEP_MS)));
  return ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
}

/** The session id behind a token. */
async function sessionId(t: TestApp, token: string): Promise<string> {
  const res = await req(t, 'GET', '/auth/me', token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().session.session_id as string;
}

/** Enrol a signed-in user in MFA over HTTP: the secret and recovery codes. */
async function enrolOverHttp(t: TestApp, token: string): Promise<{ secret: string; codes: string[] }> {
  const enrol = await req(t, 'POST', '/auth/mfa/enroll', token);
  expect(enrol.statusCode, enrol.body).toBe(200);
  const secret = enrol.json().secret as string;
  const confirm = await req(t, 'POST', '/auth/mfa/confirm', token, { code: totpCode(secret, t.clock.now()) });
  expect(confirm.statusCode, confirm.body).toBe(200);
  return { secret, codes: confirm.json().recovery_codes as string[] };
}

let t: TestApp;
beforeEach(async () => {
  t = await freshApp();
});
afterEach(() => t.app.close());

// ---------------------------------------------------------------- login

describe('POST /auth/login', () => {
  it('answers a session token, its absolute expiry and the user', async () => {
    const u = await createTestUser(t, 'auditor');
    const res = await login(t, u.username, u.password);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['expires_at', 'token', 'user']);
    expect(body.token).toMatch(SESSION_TOKEN);
    expect(body.expires_at).toBe(new Date(Date.parse(TEST_START) + 43_200_000).toISOString());
    expect(body.user).toEqual({
      user_id: u.userId,
      username: u.username,
      role: 'auditor',
      mfa_enabled: false,
      mfa_enrollment_required: false,
    });
    expect((await req(t, 'GET', '/auth/me', body.token)).statusCode).toBe(200);
  });

  it('gives unknown users, wrong passwords and disabled users the identical 401', async () => {
    const u = await createTestUser(t, 'operator');
    const off = await createTestUser(t, 'operator');
    await t.services.auth.updateUser(off.userId, { disabled: true }, 'system');
    const answers = await Promise.all([
      login(t, 'no-such-user', u.password),
      login(t, u.username, OTHER_PASSWORD),
      login(t, u.username, u.password.toUpperCase()),
      login(t, off.username, off.password),
    ]);
    const shapes = answers.map((res) => ({ status: res.statusCode, error: expectError(res, 401, 'INVALID_CREDENTIALS') }));
    for (const s of shapes) expect(s).toEqual(shapes[0]);
    expect(shapes[0]!.error.details).toBeUndefined();
    expect(await events(t, 'auth_login_failed')).toHaveLength(4);
  });

  it('compares usernames case-insensitively (and trimmed), passwords exactly', async () => {
    const u = await createTestUser(t, 'auditor', { username: 'Carol.Example' });
    for (const name of ['carol.example', 'CAROL.EXAMPLE', ' Carol.Example ']) {
      const res = await login(t, name, u.password);
      expect(res.statusCode, name).toBe(200);
      expect(res.json().user.username).toBe('Carol.Example');
    }
  });

  it('refuses a malformed body with VALIDATION_FAILED listing every issue', async () => {
    const err = expectError(await req(t, 'POST', '/auth/login', undefined, { username: '', extra: 1 }), 400, 'VALIDATION_FAILED');
    expect((err.details as unknown[]).length).toBeGreaterThanOrEqual(2);
  });
});

// ---------------------------------------------------------------- lockout

describe('login lockout', () => {
  it('counts concurrent failures one by one: a burst cannot slip past the limit', async () => {
    const s = await freshApp();
    try {
      const u = await createTestUser(s, 'auditor');
      const burst = await Promise.all(Array.from({ length: 5 }, () => login(s, u.username, OTHER_PASSWORD)));
      expect(burst.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 401]);
      expectError(await login(s, u.username, u.password), 423, 'ACCOUNT_LOCKED');
    } finally {
      await s.app.close();
    }
  });

  it('forgets failures of names whose window and lock have passed, so guessed names do not pile up', async () => {
    const s = await freshApp();
    try {
      const count = () => s.db.prepare('SELECT count(*) FROM login_throttle').pluck().get();
      for (const name of ['ghost-a', 'ghost-b', 'ghost-c']) await login(s, name, OTHER_PASSWORD);
      expect(count()).toBe(3);
      s.clock.advance(901_000);
      await login(s, 'ghost-d', OTHER_PASSWORD);
      expect(count()).toBe(1);
    } finally {
      await s.app.close();
    }
  });

  it('locks the username after LEXECON_LOGIN_MAX_FAILURES failures: 423 with Retry-After, even for the right password, until the lockout ends', async () => {
    const u = await createTestUser(t, 'auditor');
    for (let i = 0; i < 5; i++) expectError(await login(t, u.username, OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
    const locked = await login(t, u.username, u.password);
    const err = expectError(locked, 423, 'ACCOUNT_LOCKED');
    expect(locked.headers['retry-after']).toBe('900');
    expect(err.details).toEqual({
      retry_after_s: 900,
      locked_until: new Date(Date.parse(TEST_START) + 900_000).toISOString(),
    });
    t.clock.advance(899_000);
    const still = await login(t, u.username, u.password);
    expectError(still, 423, 'ACCOUNT_LOCKED');
    expect(still.headers['retry-after']).toBe('1');
    t.clock.advance(1_000);
    expect((await login(t, u.username, u.password)).statusCode).toBe(200);
  });

  it('locks an unknown username exactly like a known one (no enumeration)', async () => {
    const u = await createTestUser(t, 'auditor');
    for (let i = 0; i < 5; i++) {
      expectError(await login(t, u.username, OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
      expectError(await login(t, 'ghost-user', OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
    }
    const known = await login(t, u.username, u.password);
    const unknown = await login(t, 'ghost-user', u.password);
    expect(expectError(unknown, 423, 'ACCOUNT_LOCKED')).toEqual(expectError(known, 423, 'ACCOUNT_LOCKED'));
    expect(unknown.headers['retry-after']).toBe(known.headers['retry-after']);
  });

  it('resets the count on a successful login', async () => {
    const u = await createTestUser(t, 'auditor');
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) expectError(await login(t, u.username, OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
      expect((await login(t, u.username, u.password)).statusCode).toBe(200);
    }
  });

  it('forgets failures older than the lockout window', async () => {
    const u = await createTestUser(t, 'auditor');
    for (let i = 0; i < 4; i++) await login(t, u.username, OTHER_PASSWORD);
    t.clock.advance(900_000);
    for (let i = 0; i < 4; i++) await login(t, u.username, OTHER_PASSWORD);
    expect((await login(t, u.username, u.password)).statusCode).toBe(200);
  });

  it('locks even when the failures arrive concurrently', async () => {
    const u = await createTestUser(t, 'auditor');
    await Promise.all(Array.from({ length: 5 }, () => login(t, u.username, OTHER_PASSWORD)));
    expectError(await login(t, u.username, u.password), 423, 'ACCOUNT_LOCKED');
  });

  it('follows LEXECON_LOGIN_MAX_FAILURES and LEXECON_LOGIN_LOCKOUT_S', async () => {
    const s = await freshApp({ LEXECON_LOGIN_MAX_FAILURES: '2', LEXECON_LOGIN_LOCKOUT_S: '60' });
    try {
      const u = await createTestUser(s, 'auditor');
      for (let i = 0; i < 2; i++) expectError(await login(s, u.username, OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
      const locked = await login(s, u.username, u.password);
      expectError(locked, 423, 'ACCOUNT_LOCKED');
      expect(locked.headers['retry-after']).toBe('60');
      s.clock.advance(60_000);
      expect((await login(s, u.username, u.password)).statusCode).toBe(200);
    } finally {
      await s.app.close();
    }
  });

  it('ledgers auth_login_failed and auth_lockout with the username only as a keyed HMAC, never the password', async () => {
    const u = await createTestUser(t, 'auditor', { username: 'Dana.Lockout' });
    for (let i = 0; i < 5; i++) await login(t, 'DANA.lockout', OTHER_PASSWORD);
    for (let i = 0; i < 5; i++) await login(t, 'ghost-user', OTHER_PASSWORD);
    const macOf = (name: string) => t.services.auth.loginNameMac(usernameKey(name));
    const failed = await events(t, 'auth_login_failed');
    const lockouts = await events(t, 'auth_lockout');
    expect(failed).toHaveLength(10);
    expect(failed[0]).toEqual({ username_hmac: macOf('Dana.Lockout'), user_id: u.userId, reason: 'invalid_credentials' });
    expect(failed[9]).toEqual({ username_hmac: macOf('ghost-user'), user_id: null, reason: 'invalid_credentials' });
    expect(lockouts).toEqual([
      { username_hmac: macOf('Dana.Lockout'), user_id: u.userId, failures: 5, locked_until: expect.any(String) },
      { username_hmac: macOf('ghost-user'), user_id: null, failures: 5, locked_until: expect.any(String) },
    ]);
    const text = JSON.stringify([failed, lockouts]).toLowerCase();
    for (const secret of ['dana.lockout', 'ghost-user', OTHER_PASSWORD]) expect(text).not.toContain(secret);
  });
});

// ---------------------------------------------------------------- issue 14: lockout under concurrency, login names

describe('lockout holds under concurrency (issue 14 B4)', () => {
  const statuses = (answers: Res[]) => answers.map((r) => r.statusCode);
  const count = (answers: Res[], status: number) => statuses(answers).filter((s) => s === status).length;

  it('19 concurrent wrong passwords with a limit of 5: at most 5 are answered 401, the rest 423; the right password is then refused', async () => {
    const u = await createTestUser(t, 'auditor');
    const burst = await Promise.all(Array.from({ length: 19 }, () => login(t, u.username, OTHER_PASSWORD)));
    expect(count(burst, 401)).toBeLessThanOrEqual(5);
    expect(count(burst, 401) + count(burst, 423)).toBe(19);
    for (const r of burst.filter((x) => x.statusCode === 423)) expectError(r, 423, 'ACCOUNT_LOCKED');
    expect((await events(t, 'auth_login_failed')).length).toBeLessThanOrEqual(5);
    expect(await events(t, 'auth_lockout')).toHaveLength(1);
    expectError(await login(t, u.username, u.password), 423, 'ACCOUNT_LOCKED');
  });

  it('an unknown name is locked the same way under concurrency', async () => {
    const burst = await Promise.all(Array.from({ length: 19 }, () => login(t, 'ghost-burst', OTHER_PASSWORD)));
    expect(count(burst, 401)).toBeLessThanOrEqual(5);
    expect(count(burst, 423)).toBeGreaterThanOrEqual(14);
  });

  it('19 concurrent wrong TOTP codes at login (right password): at most 5 are answered 401, the rest 423', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const bad = wrongCode(u.totpSecret!, t.clock.now());
    const burst = await Promise.all(Array.from({ length: 19 }, () => login(t, u.username, u.password, bad)));
    expect(count(burst, 401)).toBeLessThanOrEqual(5);
    expect(count(burst, 423)).toBeGreaterThanOrEqual(14);
    expectError(await login(t, u.username, u.password, totpCode(u.totpSecret!, t.clock.now())), 423, 'ACCOUNT_LOCKED');
  });

  it('wrong codes at POST /auth/mfa/disable count toward the lockout, also concurrently; MFA stays on', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const bad = wrongCode(u.totpSecret!, t.clock.now());
    const burst = await Promise.all(
      Array.from({ length: 19 }, () => req(t, 'POST', '/auth/mfa/disable', u.token, { password: u.password, code: bad })),
    );
    expect(count(burst, 401)).toBeLessThanOrEqual(5);
    expect(count(burst, 423)).toBeGreaterThanOrEqual(14);
    expect((await events(t, 'auth_login_failed')).map((e) => e.reason)).toEqual(Array(count(burst, 401)).fill('invalid_mfa_code'));
    const good = totpCode(u.totpSecret!, t.clock.now());
    expectError(await req(t, 'POST', '/auth/mfa/disable', u.token, { password: u.password, code: good }), 423, 'ACCOUNT_LOCKED');
    expectError(await login(t, u.username, u.password, good), 423, 'ACCOUNT_LOCKED');
    expect((await req(t, 'GET', '/auth/me', u.token)).json().user).toMatchObject({ mfa_enabled: true });
  });

  it('wrong codes at POST /auth/mfa/disable, one after another, lock the name after 5', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const bad = wrongCode(u.totpSecret!, t.clock.now());
    for (let i = 0; i < 5; i++) {
      expectError(await req(t, 'POST', '/auth/mfa/disable', u.token, { password: u.password, code: bad }), 401, 'INVALID_MFA_CODE');
    }
    expectError(await login(t, u.username, u.password, totpCode(u.totpSecret!, t.clock.now())), 423, 'ACCOUNT_LOCKED');
  });

  it('concurrent wrong current passwords at POST /auth/password stop at the limit', async () => {
    const u = await createTestUser(t, 'auditor');
    const burst = await Promise.all(
      Array.from({ length: 19 }, () =>
        req(t, 'POST', '/auth/password', u.token, { current_password: OTHER_PASSWORD, new_password: 'amber-falcon-93-quarry' }),
      ),
    );
    expect(count(burst, 403)).toBeLessThanOrEqual(5);
    expect(count(burst, 423)).toBeGreaterThanOrEqual(14);
  });

  it('a right password verified while concurrent failures lock the name gets no session', async () => {
    const u = await createTestUser(t, 'auditor');
    // 4 failures: the 5th attempt (the right password) is still admitted, then the lock set meanwhile wins.
    for (let i = 0; i < 4; i++) expectError(await login(t, u.username, OTHER_PASSWORD), 401, 'INVALID_CREDENTIALS');
    const sessionsBefore = t.db.prepare('SELECT count(*) FROM sessions WHERE user_id = ?').pluck().get(u.userId);
    const [right, ...wrong] = await Promise.all([
      login(t, u.username, u.password),
      ...Array.from({ length: 6 }, () => login(t, u.username, OTHER_PASSWORD)),
    ]);
    // Either the right password came first (200: its success cleared the count) or it was refused; never a
    // session after a lock.
    if (right!.statusCode === 200) {
      expect(count(wrong, 401)).toBeLessThanOrEqual(5);
    } else {
      expectError(right!, 423, 'ACCOUNT_LOCKED');
      expect(t.db.prepare('SELECT count(*) FROM sessions WHERE user_id = ?').pluck().get(u.userId)).toBe(sessionsBefore);
    }
  });
});

describe('failed login names in the ledger (issue 14 C6)', () => {
  it('is an HMAC keyed per server, not the SHA-256 of the name (often a mistyped password)', async () => {
    await login(t, 'hunter2', OTHER_PASSWORD);
    await login(t, 'Hunter2 ', OTHER_PASSWORD);
    const failed = await events(t, 'auth_login_failed');
    expect(failed).toHaveLength(2);
    const ledger = await allLedgerData(t);
    for (const plain of ['hunter2', 'Hunter2 ', usernameKey('hunter2')]) expect(ledger).not.toContain(sha256Hex(plain));
    expect(Object.keys(failed[0]!).sort()).toEqual(['reason', 'user_id', 'username_hmac']);
    expect(failed[0]!.username_hmac).toMatch(/^[0-9a-f]{64}$/);
    // Stable per server (the same name is recognisable), different on another server (another key).
    expect(failed[1]!.username_hmac).toBe(failed[0]!.username_hmac);
    const other = await freshApp();
    try {
      await login(other, 'hunter2', OTHER_PASSWORD);
      expect((await events(other, 'auth_login_failed'))[0]!.username_hmac).not.toBe(failed[0]!.username_hmac);
    } finally {
      await other.app.close();
    }
  });
});

describe('auth writes commit with their ledger entry or not at all (issue 14 C5)', () => {
  /** Make the ledger refuse entries of one event type, as a failing append would. */
  function failLedger(s: TestApp, eventType: string): () => void {
    s.db.exec(
      `CREATE TRIGGER test_fail_append BEFORE INSERT ON ledger_entries WHEN NEW.event_type = '${eventType}'
         BEGIN SELECT RAISE(ABORT, 'injected ledger failure'); END;`,
    );
    return () => s.db.exec('DROP TRIGGER test_fail_append');
  }
  const rows = (sql: string, ...params: unknown[]) => t.db.prepare(sql).pluck().get(...params);

  it('an API key whose auth_api_key_created entry fails is not left behind', async () => {
    const admin = await createTestUser(t, 'admin');
    const restore = failLedger(t, 'auth_api_key_created');
    const res = await req(t, 'POST', '/auth/api-keys', admin.token, { name: 'half-written', actor_pattern: 'ai_agent:*' });
    restore();
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(rows('SELECT count(*) FROM api_keys')).toBe(0);
  });

  it('an API key named with a lone surrogate (unhashable in the ledger) is not left behind', async () => {
    const admin = await createTestUser(t, 'admin');
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/api-keys',
      headers: { ...bearer(admin.token), 'content-type': 'application/json' },
      payload: '{"name":"bot \\ud800","actor_pattern":"ai_agent:*"}',
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.json()).toHaveProperty('error.code');
    expect(rows('SELECT count(*) FROM api_keys')).toBe(0);
  });

  it('nor a user, a session, a role change, a revocation, an MFA change or a password change', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'auditor');
    const attempt = async (eventType: string, act: () => Promise<Res>) => {
      const restore = failLedger(t, eventType);
      try {
        expect((await act()).statusCode, eventType).toBeGreaterThanOrEqual(400);
      } finally {
        restore();
      }
    };

    await attempt('user_created', () => req(t, 'POST', '/auth/users', admin.token, { username: 'never-made', password: OTHER_PASSWORD, role: 'auditor' }));
    expect(rows("SELECT count(*) FROM users WHERE username = 'never-made'")).toBe(0);

    const sessions = rows('SELECT count(*) FROM sessions WHERE user_id = ?', u.userId);
    await attempt('auth_login_succeeded', () => login(t, u.username, u.password));
    expect(rows('SELECT count(*) FROM sessions WHERE user_id = ?', u.userId)).toBe(sessions);

    await attempt('user_updated', () => req(t, 'PATCH', `/auth/users/${u.userId}`, admin.token, { role: 'operator' }));
    expect(rows('SELECT role FROM users WHERE user_id = ?', u.userId)).toBe('auditor');
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);

    const key = (await req(t, 'POST', '/auth/api-keys', admin.token, { name: 'bot', actor_pattern: 'ai_agent:*' })).json();
    await attempt('auth_api_key_revoked', () => req(t, 'DELETE', `/auth/api-keys/${key.key_id}`, admin.token));
    expect(rows('SELECT revoked_at FROM api_keys WHERE key_id = ?', key.key_id)).toBeNull();

    const enrol = await req(t, 'POST', '/auth/mfa/enroll', u.token);
    const secret = enrol.json().secret as string;
    await attempt('auth_mfa_enrolled', () => req(t, 'POST', '/auth/mfa/confirm', u.token, { code: totpCode(secret, t.clock.now()) }));
    expect(rows('SELECT mfa_enabled FROM users WHERE user_id = ?', u.userId)).toBe(0);
    expect(rows('SELECT count(*) FROM recovery_codes WHERE user_id = ?', u.userId)).toBe(0);

    const hash = rows('SELECT password_hash FROM users WHERE user_id = ?', u.userId);
    await attempt('user_password_changed', () =>
      req(t, 'POST', '/auth/password', u.token, { current_password: u.password, new_password: 'amber-falcon-93-quarry' }),
    );
    expect(rows('SELECT password_hash FROM users WHERE user_id = ?', u.userId)).toBe(hash);

    await attempt('auth_logout', () => req(t, 'POST', '/auth/logout', u.token));
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
    expect((await req(t, 'GET', '/ledger/verify', admin.token)).json()).toMatchObject({ valid: true });
  });
});

describe('per-IP login rate limit', () => {
  it('answers the attempt over LEXECON_LOGIN_RATE_LIMIT per minute with 429 RATE_LIMITED and Retry-After', async () => {
    const s = await buildTestApp({ env: { LEXECON_LOGIN_RATE_LIMIT: '3' } });
    try {
      const u = await createTestUser(s, 'auditor');
      expect((await login(s, u.username, u.password)).statusCode).toBe(200);
      for (let i = 0; i < 2; i++) expect((await login(s, u.username, OTHER_PASSWORD)).statusCode).toBe(401);
      const limited = await login(s, u.username, u.password);
      expectError(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Per IP: another client is not limited, and other routes are not limited by it.
      const other = await s.app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: '10.0.0.2',
        payload: { username: u.username, password: u.password },
      });
      expect(other.statusCode).toBe(200);
      expect((await req(s, 'GET', '/health')).statusCode).toBe(200);
    } finally {
      await s.app.close();
    }
  });
});

// ---------------------------------------------------------------- sessions

describe('sessions', () => {
  it('a bearer token opens GET /auth/me; logout ends it at once', async () => {
    const u = await createTestUser(t, 'auditor');
    const token = await loginToken(t, u.username, u.password);
    const me = await req(t, 'GET', '/auth/me', token);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      user: { user_id: u.userId, username: u.username, email: null, role: 'auditor', mfa_enabled: false, mfa_enrollment_required: false },
      session: { session_id: expect.stringMatching(/^ses_/), method: 'password', expires_at: expect.any(String) },
    });
    const out = await req(t, 'POST', '/auth/logout', token);
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    expectUnauthenticated(await req(t, 'GET', '/auth/me', token));
    expectUnauthenticated(await req(t, 'POST', '/auth/logout', token));
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
    expect(await events(t, 'auth_logout')).toEqual([{ user_id: u.userId, session_id: me.json().session.session_id }]);
  });

  it('expires after LEXECON_SESSION_IDLE_S without requests (default 1800 s)', async () => {
    const u = await createTestUser(t, 'auditor');
    const token = await loginToken(t, u.username, u.password);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1_799_000);
      expect((await req(t, 'GET', '/auth/me', token)).statusCode).toBe(200);
    }
    t.clock.advance(1_800_000);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', token));
  });

  it('honours a configured idle time', async () => {
    const s = await freshApp({ LEXECON_SESSION_IDLE_S: '120' });
    try {
      const u = await createTestUser(s, 'auditor');
      s.clock.advance(119_000);
      expect((await req(s, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
      s.clock.advance(120_000);
      expectUnauthenticated(await req(s, 'GET', '/auth/me', u.token));
    } finally {
      await s.app.close();
    }
  });

  it('expires LEXECON_SESSION_TTL_S (default 43200 s) after login however active', async () => {
    const u = await createTestUser(t, 'auditor');
    const token = await loginToken(t, u.username, u.password);
    for (let elapsed = 1200; elapsed < 43_200; elapsed += 1200) {
      t.clock.advance(1_200_000);
      expect((await req(t, 'GET', '/auth/me', token)).statusCode, `at ${elapsed} s`).toBe(200);
    }
    t.clock.advance(1_199_000);
    expect((await req(t, 'GET', '/auth/me', token)).statusCode).toBe(200);
    t.clock.advance(1_000);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', token));
  });

  it.each([
    ['no header', undefined],
    ['a token without Bearer', 'lxs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['Basic credentials', `Basic ${Buffer.from('admin:secret').toString('base64')}`],
    ['an empty Bearer', 'Bearer '],
    ['a garbage token', 'Bearer not-a-token'],
    ['two tokens', 'Bearer lxs_a lxs_b'],
    ['an unknown lxs_ token of the right shape', 'Bearer lxs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an unknown lxk_ key of the right shape', 'Bearer lxk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('answers 401 with the envelope and WWW-Authenticate for %s', async (_what, authorization) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: authorization === undefined ? {} : { authorization },
    });
    expectUnauthenticated(res);
  });

  it('accepts the scheme name in any case', async () => {
    const u = await createTestUser(t, 'auditor');
    const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `bearer ${u.token}` } });
    expect(res.statusCode).toBe(200);
  });

  it('GET /auth/sessions lists your own sessions, newest first, marking the current one', async () => {
    const a = await createTestUser(t, 'auditor');
    const b = await createTestUser(t, 'auditor');
    t.clock.advance(1000);
    const a1 = await loginToken(t, a.username, a.password);
    t.clock.advance(1000);
    const a2 = await loginToken(t, a.username, a.password);
    const ids = { a0: await sessionId(t, a.token), a1: await sessionId(t, a1), a2: await sessionId(t, a2), b: await sessionId(t, b.token) };
    expect((await req(t, 'POST', '/auth/logout', a2)).statusCode).toBe(204);

    const res = await req(t, 'GET', '/auth/sessions', a1);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<{ session_id: string; current: boolean; live: boolean; revoked_at: string | null }>;
    expect(items.map((s) => s.session_id)).toEqual([ids.a2, ids.a1, ids.a0]);
    expect(items.map((s) => s.current)).toEqual([false, true, false]);
    expect(items.map((s) => s.live)).toEqual([false, true, true]);
    expect(items[0]!.revoked_at).toEqual(expect.any(String));
    expect(JSON.stringify(items)).not.toContain(ids.b);
    expect(JSON.stringify(items)).not.toContain('token');
  });

  it('DELETE /auth/sessions/:id ends one of your sessions; another user’s is 404 unless you are an admin', async () => {
    const a = await createTestUser(t, 'auditor');
    const b = await createTestUser(t, 'operator');
    const admin = await createTestUser(t, 'admin');
    const a2 = await loginToken(t, a.username, a.password);
    const [a1Id, a2Id] = [await sessionId(t, a.token), await sessionId(t, a2)];

    expect((await req(t, 'DELETE', `/auth/sessions/${a2Id}`, a.token)).statusCode).toBe(204);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', a2));
    expect((await req(t, 'GET', '/auth/me', a.token)).statusCode).toBe(200);

    expectError(await req(t, 'DELETE', `/auth/sessions/${a1Id}`, b.token), 404, 'NOT_FOUND');
    expectError(await req(t, 'DELETE', '/auth/sessions/ses_00000000000000000000000000', a.token), 404, 'NOT_FOUND');
    expect((await req(t, 'GET', '/auth/me', a.token)).statusCode).toBe(200);

    expect((await req(t, 'DELETE', `/auth/sessions/${a1Id}`, admin.token)).statusCode).toBe(204);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', a.token));
    expect(await events(t, 'auth_session_revoked')).toEqual([
      { user_id: a.userId, session_id: a2Id, by: a.userId },
      { user_id: a.userId, session_id: a1Id, by: admin.userId },
    ]);
  });

  // BUG: GET /auth/me finds the current session in listSessions(), which holds only the newest 100.
  it('GET /auth/me works for an older session of a user with more than 100 sessions', async () => {
    const u = await createTestUser(t, 'auditor');
    const record = await t.services.auth.getUser(u.userId);
    for (let i = 0; i < 100; i++) await t.services.auth.openSession(record, 'password');
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
  });

  it('stores tokens, API keys, TOTP secrets and recovery codes only hashed or sealed', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'auditor');
    const token = await loginToken(t, u.username, u.password);
    const { secret, codes } = await enrolOverHttp(t, token);
    const key = (await req(t, 'POST', '/auth/api-keys', admin.token, { name: 'bot', actor_pattern: 'ai_agent:*' })).json()
      .api_key as string;
    expect(key).toMatch(API_KEY);

    const dump = (table: string) => JSON.stringify(t.db.prepare(`SELECT * FROM ${table}`).all());
    const stored = ['sessions', 'api_keys', 'users', 'recovery_codes'].map(dump).join('\n');
    const plain = [token, u.token, admin.token, key, key.slice(4), secret, admin.totpSecret!, ...codes, ...codes.map(normalizeRecoveryCode)];
    for (const s of plain) expect(stored).not.toContain(s);
    expect(t.db.prepare('SELECT token_hash FROM sessions').pluck().all()).toContain(hashSecret(token));
    expect(t.db.prepare('SELECT key_hash FROM api_keys').pluck().all()).toEqual([hashSecret(key)]);
    expect(dump('users')).not.toContain(GOOD_PASSWORD);
  });
});

// ---------------------------------------------------------------- password change

describe('POST /auth/password', () => {
  it('refuses a wrong current password with 403 WRONG_PASSWORD, the session intact', async () => {
    const u = await createTestUser(t, 'auditor');
    const res = await req(t, 'POST', '/auth/password', u.token, { current_password: OTHER_PASSWORD, new_password: 'amber-falcon-93-quarry' });
    expectError(res, 403, 'WRONG_PASSWORD');
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
    expect((await login(t, u.username, u.password)).statusCode).toBe(200);
  });

  it('counts wrong current passwords toward the lockout, so a stolen session cannot guess the password', async () => {
    const s = await freshApp();
    try {
      const u = await createTestUser(s, 'auditor');
      const change = (current: string) =>
        req(s, 'POST', '/auth/password', u.token, { current_password: current, new_password: 'amber-falcon-93-quarry' });
      for (let i = 0; i < 5; i++) expectError(await change(OTHER_PASSWORD), 403, 'WRONG_PASSWORD');
      expectError(await change(u.password), 423, 'ACCOUNT_LOCKED');
      expectError(await login(s, u.username, u.password), 423, 'ACCOUNT_LOCKED');
      expect(await events(s, 'auth_lockout')).toHaveLength(1);
    } finally {
      await s.app.close();
    }
  });

  it.each([
    ['too short', () => 'Sh0rt-pw!', ['must be at least 12 characters']],
    ['common', () => 'password1234', ['is a commonly used password']],
    ['containing the username', (name: string) => `${name}-amber-falcon`, ['must not contain the username']],
    ['the current one', () => GOOD_PASSWORD, ['must differ from the current password']],
  ])('refuses a new password that is %s with 400 VALIDATION_FAILED', async (_what, make, expected) => {
    const u = await createTestUser(t, 'auditor');
    const res = await req(t, 'POST', '/auth/password', u.token, { current_password: u.password, new_password: make(u.username) });
    const err = expectError(res, 400, 'VALIDATION_FAILED');
    expect(problemMessages(err)).toEqual(expected);
    expect(err.details).toEqual(expected.map((message) => ({ in: 'body', field: 'new_password', message, code: 'password_rule' })));
  });

  it('lists every problem of a weak new password at once', async () => {
    const u = await createTestUser(t, 'auditor', { username: 'qwerty' });
    const res = await req(t, 'POST', '/auth/password', u.token, { current_password: u.password, new_password: 'qwerty1' });
    expect(problemMessages(expectError(res, 400, 'VALIDATION_FAILED')).sort()).toEqual([
      'is a commonly used password',
      'must be at least 12 characters',
      'must not contain the username',
    ]);
  });

  it('changes the password: 204, this session lives on, the other sessions end at once, the old password stops working', async () => {
    const u = await createTestUser(t, 'auditor');
    const other = await loginToken(t, u.username, u.password);
    const res = await req(t, 'POST', '/auth/password', u.token, { current_password: u.password, new_password: OTHER_PASSWORD });
    expect(res.statusCode).toBe(204);
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', other));
    expectError(await login(t, u.username, u.password), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, u.username, OTHER_PASSWORD)).statusCode).toBe(200);
    expect(await events(t, 'user_password_changed')).toEqual([{ user_id: u.userId, by: u.userId, sessions_revoked: 1 }]);
  });
});

// ---------------------------------------------------------------- user administration

describe('user administration', () => {
  const patch = (token: string, userId: string, body: object) => req(t, 'PATCH', `/auth/users/${userId}`, token, body);

  it('POST /auth/users creates a user: 201, no password or hash in the answer, ledgered', async () => {
    const admin = await createTestUser(t, 'admin');
    const res = await req(t, 'POST', '/auth/users', admin.token, {
      username: 'erin.new',
      email: 'erin@example.com',
      password: OTHER_PASSWORD,
      role: 'approver',
    });
    expect(res.statusCode).toBe(201);
    const at = new Date(t.clock.now()).toISOString();
    expect(res.json()).toEqual({
      user_id: expect.stringMatching(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/),
      username: 'erin.new',
      email: 'erin@example.com',
      role: 'approver',
      disabled: false,
      mfa_enabled: false,
      password_login: true,
      created_at: at,
      updated_at: at,
    });
    expect(res.body).not.toContain(OTHER_PASSWORD);
    expect(res.body).not.toContain('argon2');
    expect((await login(t, 'erin.new', OTHER_PASSWORD)).json().user.role).toBe('approver');
    expect((await events(t, 'user_created')).at(-1)).toEqual({ user_id: res.json().user_id, role: 'approver', by: admin.userId, via: 'api' });
  });

  it('refuses a duplicate username, whatever its case, with 409 USERNAME_TAKEN', async () => {
    const admin = await createTestUser(t, 'admin');
    await createTestUser(t, 'auditor', { username: 'Frank.Dup' });
    const res = await req(t, 'POST', '/auth/users', admin.token, { username: 'frank.DUP', password: OTHER_PASSWORD, role: 'auditor' });
    expectError(res, 409, 'USERNAME_TAKEN');
  });

  it.each([
    ['a weak password', { username: 'gina.weak', password: 'password1234', role: 'auditor' }, 'password'],
    ['a password containing the username', { username: 'gina.weak', password: 'gina.weak-amber-falcon', role: 'auditor' }, 'password'],
    ['an unknown role', { username: 'gina.role', password: OTHER_PASSWORD, role: 'superuser' }, 'role'],
    ['the agent role', { username: 'gina.role', password: OTHER_PASSWORD, role: 'agent' }, 'role'],
    ['a bad username', { username: 'g n', password: OTHER_PASSWORD, role: 'auditor' }, 'username'],
    ['a bad email', { username: 'gina.mail', email: 'nope', password: OTHER_PASSWORD, role: 'auditor' }, 'email'],
    ['no password', { username: 'gina.nopw', role: 'auditor' }, 'password'],
  ])('refuses %s with 400 VALIDATION_FAILED naming the field', async (_what, body, field) => {
    const admin = await createTestUser(t, 'admin');
    const err = expectError(await req(t, 'POST', '/auth/users', admin.token, body), 400, 'VALIDATION_FAILED');
    expect((err.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
    expect((await t.services.auth.listUsers(undefined, 100)).map((u) => u.username)).not.toContain(body.username);
  });

  it('GET /auth/users pages with limit and cursor: no repeats, next_cursor null at the end; a bogus cursor is 400', async () => {
    const admin = await createTestUser(t, 'admin');
    for (let i = 0; i < 5; i++) await createTestUser(t, 'auditor');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/auth/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const res = await req(t, 'GET', url, admin.token);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: Array<{ user_id: string }>; next_cursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      expect(JSON.stringify(body.items)).not.toMatch(/argon2|password_hash|mfa_secret/);
      seen.push(...body.items.map((u) => u.user_id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(6);
    expect(seen).toEqual((await t.services.auth.listUsers(undefined, 100)).map((u) => u.userId));

    for (const bad of ['cursor=bogus', 'cursor=aTp1c3JfMDAw', 'limit=0', 'limit=201', 'limit=two']) {
      expectError(await req(t, 'GET', `/auth/users?${bad}`, admin.token), 400, 'VALIDATION_FAILED');
    }
  });

  it('GET /auth/users/:id answers one user; an unknown one is 404', async () => {
    const admin = await createTestUser(t, 'admin');
    const res = await req(t, 'GET', `/auth/users/${admin.userId}`, admin.token);
    expect(res.json()).toMatchObject({ user_id: admin.userId, role: 'admin', mfa_enabled: true });
    expectError(await req(t, 'GET', '/auth/users/usr_00000000000000000000000000', admin.token), 404, 'NOT_FOUND');
  });

  it('a role change ends the user’s sessions at once and is ledgered as {role:{from,to}}', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'auditor');
    const res = await patch(admin.token, u.userId, { role: 'operator' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user_id: u.userId, role: 'operator' });
    expectUnauthenticated(await req(t, 'GET', '/auth/me', u.token));
    expect((await login(t, u.username, u.password)).json().user.role).toBe('operator');
    expect(await events(t, 'user_updated')).toEqual([
      { user_id: u.userId, by: admin.userId, changes: { role: { from: 'auditor', to: 'operator' } }, sessions_revoked: 1 },
    ]);
  });

  it('disabling a user ends their sessions and refuses their login; enabling lets them back', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'approver');
    expect((await patch(admin.token, u.userId, { disabled: true })).json()).toMatchObject({ disabled: true });
    expectUnauthenticated(await req(t, 'GET', '/auth/me', u.token));
    expectError(await login(t, u.username, u.password), 401, 'INVALID_CREDENTIALS');
    expect((await patch(admin.token, u.userId, { disabled: false })).json()).toMatchObject({ disabled: false });
    expect((await login(t, u.username, u.password)).statusCode).toBe(200);
  });

  it('never demotes or disables the last active admin (409 LAST_ADMIN)', async () => {
    const admin = await createTestUser(t, 'admin');
    expectError(await patch(admin.token, admin.userId, { role: 'auditor' }), 409, 'LAST_ADMIN');
    expectError(await patch(admin.token, admin.userId, { disabled: true }), 409, 'LAST_ADMIN');
    expect((await req(t, 'GET', '/auth/users', admin.token)).statusCode).toBe(200);

    const second = await createTestUser(t, 'admin');
    expect((await patch(admin.token, second.userId, { disabled: true })).statusCode).toBe(200);
    expectError(await patch(admin.token, admin.userId, { role: 'auditor' }), 409, 'LAST_ADMIN');
    expect((await patch(admin.token, second.userId, { disabled: false })).statusCode).toBe(200);
    expect((await patch(admin.token, second.userId, { role: 'auditor' })).json()).toMatchObject({ role: 'auditor' });
    expectError(await patch(admin.token, admin.userId, { disabled: true }), 409, 'LAST_ADMIN');
  });

  it('two admins demoted and disabled at once: one change wins, the other is 409 LAST_ADMIN (checked again in its transaction)', async () => {
    const a = await createTestUser(t, 'admin');
    const b = await createTestUser(t, 'admin');
    const results = await Promise.allSettled([
      t.services.auth.updateUser(a.userId, { role: 'auditor' }, b.userId),
      t.services.auth.updateUser(b.userId, { disabled: true }, a.userId),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toMatchObject([
      { statusCode: 409, code: 'LAST_ADMIN' },
    ]);
    const admins = (await t.services.auth.listUsers(undefined, 100)).filter((u) => u.role === 'admin' && !u.disabled);
    expect(admins).toHaveLength(1);
    expect(await events(t, 'user_updated')).toHaveLength(1);
  });

  it('PATCH {} is 400; PATCH of an unknown user is 404', async () => {
    const admin = await createTestUser(t, 'admin');
    expectError(await patch(admin.token, admin.userId, {}), 400, 'VALIDATION_FAILED');
    expectError(await patch(admin.token, admin.userId, { nickname: 'x' }), 400, 'VALIDATION_FAILED');
    expectError(await patch(admin.token, 'usr_00000000000000000000000000', { role: 'auditor' }), 404, 'NOT_FOUND');
  });

  it('a password reset ends the user’s sessions; the new password logs in, the old one does not; a weak one is 400', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'operator');
    expectError(await patch(admin.token, u.userId, { password: 'password1234' }), 400, 'VALIDATION_FAILED');
    expect((await req(t, 'GET', '/auth/me', u.token)).statusCode).toBe(200);
    const res = await patch(admin.token, u.userId, { password: OTHER_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(OTHER_PASSWORD);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', u.token));
    expectError(await login(t, u.username, u.password), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, u.username, OTHER_PASSWORD)).statusCode).toBe(200);
    expect((await events(t, 'user_updated')).at(-1)).toMatchObject({ changes: { password_reset: true }, sessions_revoked: 1 });
  });

  it('PATCH {mfa_reset:true} turns the user’s MFA off and ends their sessions', async () => {
    const admin = await createTestUser(t, 'admin');
    const u = await createTestUser(t, 'operator', { mfa: true });
    expectError(await login(t, u.username, u.password), 401, 'MFA_REQUIRED');
    const res = await patch(admin.token, u.userId, { mfa_reset: true });
    expect(res.json()).toMatchObject({ mfa_enabled: false });
    expectUnauthenticated(await req(t, 'GET', '/auth/me', u.token));
    expect((await login(t, u.username, u.password)).json().user).toMatchObject({ mfa_enabled: false });
    expect((await events(t, 'user_updated')).at(-1)).toMatchObject({ changes: { mfa_reset: true } });
  });
});

// ---------------------------------------------------------------- MFA

describe('MFA', () => {
  it.each<[HumanRole, boolean]>([
    ['admin', true],
    ['executive', true],
    ['governance_lead', false],
    ['approver', false],
    ['operator', false],
    ['auditor', false],
  ])('login of an unenrolled %s reports mfa_enrollment_required: %s (default LEXECON_MFA_REQUIRED_ROLES)', async (role, required) => {
    const u = await createTestUser(t, role, { mfa: false });
    const res = await login(t, u.username, u.password);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ role, mfa_enabled: false, mfa_enrollment_required: required });
  });

  it('an unenrolled admin may only enrol; after confirming, the same session has full access', async () => {
    const u = await createTestUser(t, 'admin', { mfa: false });
    const token = await loginToken(t, u.username, u.password);
    expect((await req(t, 'GET', '/auth/me', token)).json().user).toMatchObject({ mfa_enrollment_required: true });
    for (const [method, url] of [
      ['GET', '/auth/users'],
      ['GET', '/auth/sessions'],
      ['GET', '/ledger/verify'],
      ['POST', '/auth/password'],
    ] as const) {
      expectError(await req(t, method, url, token, method === 'POST' ? {} : undefined), 403, 'MFA_ENROLLMENT_REQUIRED');
    }

    expectError(await req(t, 'POST', '/auth/mfa/confirm', token, { code: '123456' }), 409, 'MFA_NOT_ENROLLING');
    const enrol = await req(t, 'POST', '/auth/mfa/enroll', token);
    expect(enrol.statusCode).toBe(200);
    const { secret, otpauth_uri } = enrol.json() as { secret: string; otpauth_uri: string };
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(otpauth_uri).toBe(`otpauth://totp/Lexecon:${u.username}?secret=${secret}&issuer=Lexecon`);

    expectError(await req(t, 'POST', '/auth/mfa/confirm', token, { code: wrongCode(secret, t.clock.now()) }), 400, 'INVALID_MFA_CODE');
    expectError(await req(t, 'POST', '/auth/mfa/confirm', token, { code: '12ab' }), 400, 'VALIDATION_FAILED');
    expectError(await req(t, 'GET', '/auth/users', token), 403, 'MFA_ENROLLMENT_REQUIRED');

    const confirm = await req(t, 'POST', '/auth/mfa/confirm', token, { code: totpCode(secret, t.clock.now()) });
    expect(confirm.statusCode).toBe(200);
    const body = confirm.json() as { mfa_enabled: boolean; recovery_codes: string[] };
    expect(body.mfa_enabled).toBe(true);
    expect(body.recovery_codes).toHaveLength(10);
    expect(new Set(body.recovery_codes).size).toBe(10);
    for (const c of body.recovery_codes) expect(c).toMatch(RECOVERY_CODE);

    expect((await req(t, 'GET', '/auth/users', token)).statusCode).toBe(200);
    expect((await req(t, 'GET', '/ledger/verify', token)).statusCode).toBe(200);
    expect((await req(t, 'GET', '/auth/me', token)).json().user).toMatchObject({ mfa_enabled: true, mfa_enrollment_required: false });
    expect(await events(t, 'auth_mfa_enrolled')).toEqual([{ user_id: u.userId, recovery_codes: 10 }]);
  });

  it('refuses to enrol or confirm again while MFA is on (409)', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    expectError(await req(t, 'POST', '/auth/mfa/enroll', u.token), 409, 'MFA_ALREADY_ENABLED');
    expectError(await req(t, 'POST', '/auth/mfa/confirm', u.token, { code: totpCode(u.totpSecret!, t.clock.now()) }), 409, 'MFA_ALREADY_ENABLED');
  });

  it('login of an MFA user needs a valid, unused TOTP code: MFA_REQUIRED, INVALID_MFA_CODE, replay refused', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    const secret = u.totpSecret!;
    // The code that confirmed enrollment cannot be used again.
    expectError(await login(t, u.username, u.password, totpCode(secret, t.clock.now())), 401, 'INVALID_MFA_CODE');
    t.clock.advance(STEP_MS);
    const code = totpCode(secret, t.clock.now());
    expectError(await login(t, u.username, u.password), 401, 'MFA_REQUIRED');
    expectError(await login(t, u.username, u.password, '  '), 401, 'MFA_REQUIRED');
    expectError(await login(t, u.username, OTHER_PASSWORD, code), 401, 'INVALID_CREDENTIALS');
    expectError(await login(t, u.username, u.password, wrongCode(secret, t.clock.now())), 401, 'INVALID_MFA_CODE');
    const ok = await login(t, u.username, u.password, code);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user).toMatchObject({ mfa_enabled: true, mfa_enrollment_required: false });
    expectError(await login(t, u.username, u.password, code), 401, 'INVALID_MFA_CODE');
    expect((await events(t, 'auth_login_succeeded')).at(-1)).toMatchObject({ user_id: u.userId, mfa: 'totp' });
  });

  it('accepts a code one step old (clock drift), not two steps old', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const oneOld = totpCode(u.totpSecret!, t.clock.now());
    t.clock.advance(STEP_MS);
    expect((await login(t, u.username, u.password, oneOld)).statusCode).toBe(200);
    const twoOld = totpCode(u.totpSecret!, t.clock.now());
    t.clock.advance(2 * STEP_MS);
    expectError(await login(t, u.username, u.password, twoOld), 401, 'INVALID_MFA_CODE');
  });

  it('counts wrong codes toward the lockout', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const bad = wrongCode(u.totpSecret!, t.clock.now());
    for (let i = 0; i < 5; i++) expectError(await login(t, u.username, u.password, bad), 401, 'INVALID_MFA_CODE');
    expectError(await login(t, u.username, u.password, totpCode(u.totpSecret!, t.clock.now())), 423, 'ACCOUNT_LOCKED');
    expect((await events(t, 'auth_login_failed')).map((e) => e.reason)).toEqual(Array(5).fill('invalid_mfa_code'));
  });

  it('a recovery code works once, typed in any case with or without dashes', async () => {
    const u = await createTestUser(t, 'auditor');
    const { codes } = await enrolOverHttp(t, u.token);
    const [first, second] = [codes[0]!, codes[1]!];
    expect((await login(t, u.username, u.password, first.toLowerCase())).statusCode).toBe(200);
    expectError(await login(t, u.username, u.password, first), 401, 'INVALID_MFA_CODE');
    expect((await login(t, u.username, u.password, second.replaceAll('-', ''))).statusCode).toBe(200);
    expectError(await login(t, u.username, u.password, second), 401, 'INVALID_MFA_CODE');
    expect(await events(t, 'auth_recovery_code_used')).toEqual([
      { user_id: u.userId, remaining: 9 },
      { user_id: u.userId, remaining: 8 },
    ]);
    expect((await events(t, 'auth_login_succeeded')).at(-1)).toMatchObject({ mfa: 'recovery_code' });
  });

  it('with LEXECON_MFA_REQUIRED_ROLES empty, an admin has no enrollment requirement', async () => {
    const s = await freshApp({ LEXECON_MFA_REQUIRED_ROLES: '' });
    try {
      const admin = await createTestUser(s, 'admin');
      expect(admin.totpSecret).toBeUndefined();
      expect((await req(s, 'GET', '/auth/users', admin.token)).statusCode).toBe(200);
      expect((await login(s, admin.username, admin.password)).json().user).toMatchObject({
        mfa_enabled: false,
        mfa_enrollment_required: false,
      });
    } finally {
      await s.app.close();
    }
  });

  it('POST /auth/mfa/disable needs the password and a current code', async () => {
    const u = await createTestUser(t, 'operator', { mfa: true });
    t.clock.advance(STEP_MS);
    const code = totpCode(u.totpSecret!, t.clock.now());
    const disable = (body: object) => req(t, 'POST', '/auth/mfa/disable', u.token, body);
    expectError(await disable({ code }), 403, 'WRONG_PASSWORD');
    expectError(await disable({ password: OTHER_PASSWORD, code }), 403, 'WRONG_PASSWORD');
    expectError(await disable({ password: u.password, code: wrongCode(u.totpSecret!, t.clock.now()) }), 401, 'INVALID_MFA_CODE');
    expectError(await disable({ password: u.password }), 400, 'VALIDATION_FAILED');
    expect((await disable({ password: u.password, code })).statusCode).toBe(204);
    expect((await login(t, u.username, u.password)).json().user).toMatchObject({ mfa_enabled: false });
    expectError(await disable({ password: u.password, code }), 409, 'MFA_NOT_ENABLED');
    expect(await events(t, 'auth_mfa_disabled')).toEqual([{ user_id: u.userId, by: u.userId }]);
  });
});

// ---------------------------------------------------------------- API keys

describe('agent API keys', () => {
  const createKey = (token: string, body: object) => req(t, 'POST', '/auth/api-keys', token, body);

  it('POST /auth/api-keys answers 201 with the key once; lists never show it nor its hash', async () => {
    const admin = await createTestUser(t, 'admin');
    const res = await createKey(admin.token, { name: 'support bot', actor_pattern: 'ai_agent:support-*' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toEqual({
      key_id: expect.stringMatching(/^key_[0-9A-HJKMNP-TV-Z]{26}$/),
      name: 'support bot',
      actor_pattern: 'ai_agent:support-*',
      role: 'agent',
      key_prefix: expect.any(String),
      created_by: admin.userId,
      created_at: new Date(t.clock.now()).toISOString(),
      last_used_at: null,
      revoked_at: null,
      status: 'active',
      api_key: expect.stringMatching(API_KEY),
    });
    expect(created.api_key.startsWith(created.key_prefix)).toBe(true);

    const list = await req(t, 'GET', '/auth/api-keys', admin.token);
    expect(list.statusCode).toBe(200);
    const { api_key: _secret, ...listed } = created;
    expect(list.json()).toEqual({ items: [listed], next_cursor: null });
    expect(list.body).not.toContain(created.api_key);
    expect(list.body).not.toContain(hashSecret(created.api_key));
  });

  it('a key authenticates as role agent: human-only routes are 403; last_used_at is recorded', async () => {
    const admin = await createTestUser(t, 'admin');
    const key = (await createKey(admin.token, { name: 'bot', actor_pattern: '*' })).json().api_key as string;
    t.clock.advance(5_000);
    for (const url of ['/auth/me', '/ledger/verify', '/auth/users', '/auth/sessions']) {
      expectError(await req(t, 'GET', url, key), 403, 'FORBIDDEN');
    }
    const [listed] = (await req(t, 'GET', '/auth/api-keys', admin.token)).json().items;
    expect(listed.last_used_at).toBe(new Date(t.clock.now()).toISOString());
  });

  it('DELETE revokes: the key fails at once; revoking again is 200 and changes nothing; an unknown key is 404', async () => {
    const admin = await createTestUser(t, 'admin');
    const created = (await createKey(admin.token, { name: 'bot', actor_pattern: 'ai_agent:*' })).json();
    const revoke = () => req(t, 'DELETE', `/auth/api-keys/${created.key_id}`, admin.token);
    const first = await revoke();
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ key_id: created.key_id, status: 'revoked', revoked_at: new Date(t.clock.now()).toISOString() });
    expect(first.body).not.toContain(created.api_key);
    expectUnauthenticated(await req(t, 'GET', '/auth/me', created.api_key));
    t.clock.advance(60_000);
    const again = await revoke();
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expectError(await req(t, 'DELETE', '/auth/api-keys/key_00000000000000000000000000', admin.token), 404, 'NOT_FOUND');
    expect(await events(t, 'auth_api_key_revoked')).toHaveLength(1);
  });

  it.each([
    ['an empty actor_pattern', { name: 'bot', actor_pattern: '' }, 'actor_pattern'],
    ['a control character in actor_pattern', { name: 'bot', actor_pattern: 'ai_agent:\u0007' }, 'actor_pattern'],
    ['a blank name', { name: '   ', actor_pattern: '*' }, 'name'],
    ['a human role', { name: 'bot', actor_pattern: '*', role: 'admin' }, 'role'],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_what, body, field) => {
    const admin = await createTestUser(t, 'admin');
    const err = expectError(await createKey(admin.token, body), 400, 'VALIDATION_FAILED');
    expect((err.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
    expect((await req(t, 'GET', '/auth/api-keys', admin.token)).json().items).toEqual([]);
  });

  it('ledgers creation and revocation with the key id, name and pattern, never the key', async () => {
    const admin = await createTestUser(t, 'admin');
    const created = (await createKey(admin.token, { name: 'ledger bot', actor_pattern: 'ai_agent:ledger' })).json();
    await req(t, 'DELETE', `/auth/api-keys/${created.key_id}`, admin.token);
    expect(await events(t, 'auth_api_key_created')).toEqual([
      { key_id: created.key_id, name: 'ledger bot', actor_pattern: 'ai_agent:ledger', role: 'agent', by: admin.userId },
    ]);
    expect(await events(t, 'auth_api_key_revoked')).toEqual([
      { key_id: created.key_id, name: 'ledger bot', actor_pattern: 'ai_agent:ledger', by: admin.userId },
    ]);
    const all = await allLedgerData(t);
    expect(all).not.toContain(created.api_key);
    expect(all).not.toContain(hashSecret(created.api_key));
  });
});

// ---------------------------------------------------------------- no secrets anywhere

describe('secrets stay out of the ledger and the logs', () => {
  it('no password, token, TOTP secret, recovery code or API key reaches the ledger or the logs (at trace level)', async () => {
    const logs: string[] = [];
    const t = await buildTestApp({
      env: { LEXECON_LOGIN_RATE_LIMIT: '0', LEXECON_LOG_LEVEL: 'trace' },
      logStream: { write: (line) => logs.push(line) },
    });
    try {
      await secretsScenario(t, logs);
    } finally {
      await t.app.close();
    }
  });
});

/** Logins, MFA, password changes and keys, then: none of their secrets is in the ledger or the logs. */
async function secretsScenario(t: TestApp, logs: string[]): Promise<void> {
  const secrets: string[] = [GOOD_PASSWORD, OTHER_PASSWORD];
  const admin = await createTestUser(t, 'admin');
  secrets.push(admin.token, admin.totpSecret!);
  t.clock.advance(STEP_MS);
  const adminCode = totpCode(admin.totpSecret!, t.clock.now());
  secrets.push(await loginToken(t, admin.username, admin.password, adminCode));

  const thirdPassword = 'saffron-glacier-18-violin';
  const resetPassword = 'ember-orchard-64-zeppelin';
  const wrongPassword = 'not-the-right-one-31';
  secrets.push(thirdPassword, resetPassword, wrongPassword);
  const created = await req(t, 'POST', '/auth/users', admin.token, { username: 'hana.s', password: OTHER_PASSWORD, role: 'executive' });
  const userId = created.json().user_id as string;
  const token = await loginToken(t, 'hana.s', OTHER_PASSWORD);
  const { secret, codes } = await enrolOverHttp(t, token);
  secrets.push(token, secret, ...codes);
  expect((await req(t, 'POST', '/auth/password', token, { current_password: OTHER_PASSWORD, new_password: thirdPassword })).statusCode).toBe(204);
  secrets.push(await loginToken(t, 'hana.s', thirdPassword, codes[0]));
  await login(t, 'hana.s', wrongPassword);
  await login(t, 'hana.s', thirdPassword, '000000');
  expect((await req(t, 'PATCH', `/auth/users/${userId}`, admin.token, { password: resetPassword })).statusCode).toBe(200);

  const key = (await req(t, 'POST', '/auth/api-keys', admin.token, { name: 'bot', actor_pattern: '*' })).json();
  secrets.push(key.api_key);
  await req(t, 'GET', '/auth/me', key.api_key);
  await req(t, 'DELETE', `/auth/api-keys/${key.key_id}`, admin.token);

  const ledger = await allLedgerData(t);
  for (const type of ['user_created', 'auth_login_succeeded', 'auth_mfa_enrolled', 'user_password_changed', 'auth_recovery_code_used', 'auth_login_failed', 'user_updated', 'auth_api_key_created', 'auth_api_key_revoked']) {
    expect(await events(t, type), type).not.toEqual([]);
  }
  for (const s of [...secrets, ...codes.map(normalizeRecoveryCode), 'hana.s', admin.username]) {
    expect(ledger).not.toContain(s);
  }
  expect((await req(t, 'GET', '/ledger/verify', admin.token)).json()).toMatchObject({ valid: true });

  const logText = logs.join('');
  expect(logText).toContain('incoming request');
  expect(logText).toContain('/auth/login');
  for (const s of [...secrets, ...codes.map(normalizeRecoveryCode)]) expect(logText).not.toContain(s);
}
