/**
 * One LISTEN connection per replica for every notice channel (src/storage.ts): a PgListener shared by
 * the decision changes, the API-key notices and the state notices, on a real PostgreSQL database. Each
 * user hears its own channel only; one backend serves all three; killing it is seen by every user (the
 * key cache empties, the state notices resync) and the LISTENs come back together. Skipped with the
 * reason when the machine has no PostgreSQL; a failure under CI=true.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { ApiKeyCache, type CachedApiKey } from '../../src/modules/auth/api-key-cache.js';
import { sendKeyRevokedNotice } from '../../src/modules/auth/api-key-notices.js';
import { PgApiKeyNotices } from '../../src/modules/auth/api-key-notices.pg.js';
import { PgDecisionChanges } from '../../src/modules/decision/decision.changes.pg.js';
import { PgListener } from '../../src/platform/db/pg-listener.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { PgStateNotices, type StateNotice } from '../../src/platform/db/state-notices.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { warn: () => undefined, info: () => undefined };
const key = (keyId: string): CachedApiKey => ({ keyId, name: keyId, role: 'agent', actorPattern: '*', lastUsedAtMs: null });

/** Whether a notice for `decisionId` wakes its waiter (well before the wait's 2 s timeout). */
function heard(changes: PgDecisionChanges, decisionId: string): Promise<boolean> {
  const t0 = Date.now();
  return changes.waitFor(decisionId, 2_000).then(() => Date.now() - t0 < 1_500);
}

async function until(cond: () => boolean, ms = 3_000): Promise<boolean> {
  for (let waited = 0; !cond() && waited < ms; waited += 10) await sleep(10);
  return cond();
}

describePostgres('one shared LISTEN connection for every notice channel (PostgreSQL)', () => {
  let db: FreshDatabase;
  let admin: PostgresPort;
  let listener: PgListener;
  let changes: PgDecisionChanges;
  let keys: PgApiKeyNotices;
  let state: PgStateNotices;
  let cache: ApiKeyCache;
  const stateSeen: StateNotice[] = [];
  let resyncs = 0;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_sharedlisten');
    admin = await openPostgresPort({ url: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    stateSeen.length = 0;
    resyncs = 0;
    listener = new PgListener({ url: db.url, logger: quiet, applicationName: 'lexecon-listen-test', initialBackoffMs: 50, maxBackoffMs: 400 });
    changes = new PgDecisionChanges({ url: db.url, port: admin, logger: quiet, listener });
    keys = new PgApiKeyNotices({ url: db.url, logger: quiet, listener });
    state = await PgStateNotices.open(db.url, quiet, 1_000, listener);
    state.onNotice((n) => stateSeen.push(n));
    state.onResync(() => resyncs++);
    cache = new ApiKeyCache({ ttlMs: 60_000 });
    keys.attach(cache);
    await listener.startAndWait();
  });
  afterEach(async () => {
    await state.close();
    await keys.close();
    await changes.close();
    await listener.close();
  });

  it('one backend LISTENs on the three channels, and each user hears its own channel only', async () => {
    expect(listener.channels).toEqual(['lexecon_decision_changes', 'lexecon_api_key_revoked', 'lexecon_state_changes']);
    const backends = await admin.all<{ n: number }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'lexecon-listen-test' AND datname = current_database()",
    );
    expect(Number(backends[0]!.n)).toBe(1);
    const waiting = heard(changes, 'dec_shared1');
    cache.put('hash_1', key('key_1'), cache.begin());
    await admin.transaction(async (tx) => {
      await changes.notifyInTransaction(tx, 'dec_shared1');
      await sendKeyRevokedNotice(tx, 'key_1');
      await state.send(tx, { kind: 'halt', seq: 7, value: '1' });
    });
    expect(await waiting).toBe(true);
    expect(await until(() => cache.get('hash_1') === undefined)).toBe(true);
    expect(await until(() => stateSeen.length === 1)).toBe(true);
    expect(stateSeen).toEqual([{ kind: 'halt', seq: 7, value: '1' }]);
  });

  it('the shared connection killed: every user sees it (the key cache empties, the state notices resync), all LISTENs come back', async () => {
    cache.put('hash_2', key('key_2'), cache.begin());
    const pid = listener.backendPid;
    expect(await admin.one('SELECT pg_terminate_backend(?::int) AS ok', [String(pid)])).toEqual({ ok: 1 });
    expect(await until(() => listener.connects >= 2 && listener.listening)).toBe(true);
    expect(cache.get('hash_2')).toBeUndefined();
    expect(resyncs).toBe(1);
    expect(listener.backendPid).not.toBe(pid);
    // After the reconnect, every channel is heard again.
    const waiting = heard(changes, 'dec_shared2');
    cache.put('hash_3', key('key_3'), cache.begin());
    await admin.transaction(async (tx) => {
      await changes.notifyInTransaction(tx, 'dec_shared2');
      await sendKeyRevokedNotice(tx, 'key_3');
      await state.send(tx, { kind: 'policy', seq: 9, value: '-' });
    });
    expect(await waiting).toBe(true);
    expect(await until(() => cache.get('hash_3') === undefined)).toBe(true);
    expect(await until(() => stateSeen.length === 1)).toBe(true);
  });

  it('subscribing after the start, or twice to one channel, is refused', () => {
    expect(() => listener.subscribe({ channel: 'lexecon_other', onNotification: () => undefined })).toThrow(/before the listener starts/);
    const fresh = new PgListener({ url: db.url, logger: quiet, channel: 'lexecon_one', onNotification: () => undefined });
    expect(() => fresh.subscribe({ channel: 'lexecon_one', onNotification: () => undefined })).toThrow(/already listened/);
    expect(() => new PgListener({ url: db.url, logger: quiet }).start()).toThrow(/needs a channel/);
  });
});
