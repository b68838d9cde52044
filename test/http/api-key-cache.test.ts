/**
 * The API key cache (issue 16): an agent's key is read from the database at most once per
 * LEXECON_AUTH_CACHE_TTL_MS, and a revocation still holds: at once on the server that revoked it, within
 * the NOTIFY latency on the other PostgreSQL replicas, and at most the TTL where no notice arrives (a
 * second process on a SQLite file; a replica whose LISTEN is off). Runs on both backends.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_PREFIX, newBearerSecret } from '../../src/modules/auth/credentials.js';
import { ManualClock } from '../../src/platform/clock.js';
import {
  bearer,
  buildTestApp,
  createAgentKey,
  createTestUser,
  seedSession,
  tempDir,
  testStore,
  TEST_BACKEND,
  TEST_START,
  type TestApp,
  type TestStore,
} from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 403 FORBIDDEN on a human-only route: the key authenticated (as an agent); 401: it did not. */
async function status(t: TestApp, key: string): Promise<number> {
  const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(key) });
  expect([401, 403], res.body).toContain(res.statusCode);
  if (res.statusCode === 401) expect(res.json().error.code).toBe('UNAUTHORIZED');
  return res.statusCode;
}

/** Ask `t` every 20 ms until the key is refused; the ms it took (throws after `limitMs`). */
async function msUntilRefused(t: TestApp, key: string, limitMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if ((await status(t, key)) === 401) return performance.now() - start;
    if (performance.now() - start > limitMs) throw new Error(`the key was still accepted after ${limitMs} ms`);
    await sleep(20);
  }
}

/** Mark the key revoked in the database behind the service's back (no eviction, no notice). */
async function revokeBehindTheServicesBack(t: TestApp, keyId: string): Promise<void> {
  await t.port.run('UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ?', [TEST_START, 'test', keyId]);
}

describe('API key cache, one server', () => {
  const apps: TestApp[] = [];
  const app = async (ttlMs: number, clock?: ManualClock) => {
    const t = await buildTestApp({ env: { LEXECON_AUTH_CACHE_TTL_MS: String(ttlMs) }, ...(clock && { clock }) });
    apps.push(t);
    return t;
  };
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.app.close();
  });

  it('a key revoked through the API is refused at once, long before the TTL', async () => {
    const t = await app(60_000);
    const admin = await createTestUser(t, 'admin');
    const { keyId, secret } = await createAgentKey(t);
    expect(await status(t, secret)).toBe(403);
    expect(await status(t, secret)).toBe(403);
    const res = await t.app.inject({ method: 'DELETE', url: `/auth/api-keys/${keyId}`, headers: bearer(admin.token) });
    expect(res.statusCode, res.body).toBe(200);
    expect(await status(t, secret)).toBe(401);
  });

  it('serves a live key from memory for the TTL: a row changed behind its back is seen only when the entry expires', async () => {
    const cached = await app(60_000);
    const a = await createAgentKey(cached);
    expect(await status(cached, a.secret)).toBe(403);
    await revokeBehindTheServicesBack(cached, a.keyId);
    // Nothing told the cache: the entry is used until it expires.
    expect(await status(cached, a.secret)).toBe(403);

    const short = await app(300);
    const b = await createAgentKey(short);
    expect(await status(short, b.secret)).toBe(403);
    await revokeBehindTheServicesBack(short, b.keyId);
    expect(await msUntilRefused(short, b.secret, 5_000)).toBeLessThan(2_000);
  });

  it('TTL 0 reads the key on every request', async () => {
    const t = await app(0);
    const { keyId, secret } = await createAgentKey(t);
    expect(await status(t, secret)).toBe(403);
    await revokeBehindTheServicesBack(t, keyId);
    expect(await status(t, secret)).toBe(401);
  });

  it('unknown keys are refused every time and a key created after them works at once', async () => {
    const t = await app(60_000);
    for (let i = 0; i < 3; i++) expect(await status(t, newBearerSecret(API_KEY_PREFIX))).toBe(401);
    const { secret } = await createAgentKey(t);
    expect(await status(t, secret)).toBe(403);
  });

  it('last_used_at is still written at most once a minute, from cached keys too', async () => {
    const clock = new ManualClock(TEST_START);
    const t = await app(60_000, clock);
    const { keyId, secret } = await createAgentKey(t);
    const lastUsed = async () => (await t.port.one<{ last_used_at: string | null }>('SELECT last_used_at FROM api_keys WHERE key_id = ?', [keyId]))?.last_used_at;
    expect(await lastUsed()).toBeNull();
    expect(await status(t, secret)).toBe(403);
    expect(await lastUsed()).toBe(TEST_START);
    clock.advance(59_999);
    expect(await status(t, secret)).toBe(403);
    expect(await lastUsed()).toBe(TEST_START);
    clock.advance(1);
    expect(await status(t, secret)).toBe(403);
    expect(await lastUsed()).toBe(new Date(clock.now()).toISOString());
  });
});

describe('API key cache, two servers on one database', () => {
  let store: TestStore;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    store = await testStore(tempDir());
  });
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.app.close();
  });
  afterAll(async () => {
    await store?.close();
  });
  const server = async (ttlMs: number, opts: { noApiKeyNotices?: boolean } = {}) => {
    const t = await buildTestApp({ store, env: { LEXECON_AUTH_CACHE_TTL_MS: String(ttlMs) }, ...opts });
    apps.push(t);
    return t;
  };

  it.skipIf(TEST_BACKEND !== 'postgres')(
    'PostgreSQL: a key revoked on A is refused by B within the NOTIFY latency (B caches it for 60 s)',
    async () => {
      const a = await server(60_000);
      const b = await server(60_000);
      const admin = await createTestUser(a, 'admin');
      const { keyId, secret } = await createAgentKey(a);
      expect(await status(b, secret)).toBe(403);
      expect(await status(a, secret)).toBe(403);
      const res = await a.app.inject({ method: 'DELETE', url: `/auth/api-keys/${keyId}`, headers: bearer(admin.token) });
      expect(res.statusCode, res.body).toBe(200);
      expect(await status(a, secret)).toBe(401);
      expect(await msUntilRefused(b, secret, 2_000)).toBeLessThan(2_000);
    },
  );

  it('without notices (SQLite: a second process; PostgreSQL: LISTEN off) the TTL bounds a revocation made elsewhere', async () => {
    const ttlMs = 3_000;
    const a = await server(ttlMs);
    const b = await server(ttlMs, { noApiKeyNotices: true });
    const admin = await createTestUser(a, 'admin');
    const { keyId, secret } = await createAgentKey(a);
    expect(await status(b, secret)).toBe(403);
    const cachedAt = performance.now();
    const res = await a.app.inject({ method: 'DELETE', url: `/auth/api-keys/${keyId}`, headers: bearer(admin.token) });
    expect(res.statusCode, res.body).toBe(200);
    expect(await status(a, secret)).toBe(401);
    // B heard nothing: it still holds the key (unless this slow machine took the whole TTL to revoke)…
    if (performance.now() - cachedAt < ttlMs - 1_500) expect(await status(b, secret)).toBe(403);
    // …and refuses it once its entry expires, at most the TTL after it was cached.
    await msUntilRefused(b, secret, ttlMs + 2_000);
    expect(performance.now() - cachedAt).toBeLessThan(ttlMs + 1_000);
  });

  it('a long-poll re-reads its key after the wait, not from the cache: revoked elsewhere meanwhile, it gets 401', async () => {
    const a = await server(60_000);
    const b = await server(60_000, { noApiKeyNotices: true });
    const lead = await seedSession(a, 'governance_lead');
    expect((await a.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED })).statusCode).toBe(201);
    const admin = await createTestUser(a, 'admin');
    const { keyId, secret } = await createAgentKey(a);
    const d = (await b.app.inject({ method: 'POST', url: '/decide', headers: bearer(secret), payload: BULK })).json();
    expect(d.outcome).toBe('escalated');
    const poll = b.app.inject({ method: 'GET', url: `/decide/${d.decision_id}?wait=2`, headers: bearer(secret) });
    expect((await a.app.inject({ method: 'DELETE', url: `/auth/api-keys/${keyId}`, headers: bearer(admin.token) })).statusCode).toBe(200);
    // B heard nothing and still holds the key for new requests…
    expect(await status(b, secret)).toBe(403);
    // …but the poll, after its wait, read the key again.
    const answer = await poll;
    expect(answer.statusCode, answer.body).toBe(401);
    expect(answer.json().error.code).toBe('UNAUTHORIZED');
    // And that read evicted it: B now refuses it for every request.
    expect(await status(b, secret)).toBe(401);
  });
});
