/**
 * The auth and policy repositories on both drivers (issue 15): the same cases run against SQLite and
 * against PostgreSQL (skipped with the reason when the machine has none), on the schema `allMigrations`
 * builds. The lockout count is also driven by concurrent attempts on two PostgreSQL ports, as two
 * replicas would make them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { AuthRepo, newUserRecord, type ApiKeyRecord, type SessionRecord } from '../../src/modules/auth/auth.repo.js';
import { LoginThrottleRepo, type AttemptReservation } from '../../src/modules/auth/login-throttle.repo.js';
import { PolicyRepo, type PolicyVersionRecord } from '../../src/modules/policy/policy.repo.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { UniqueViolation } from '../../src/platform/db/errors.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const NOW = Date.parse('2026-11-25T10:00:00.000Z');
const AT = new Date(NOW).toISOString();

function limits(nowMs = NOW, maxFailures = 5, lockoutS = 900) {
  return {
    now: new Date(nowMs).toISOString(),
    windowFloor: new Date(nowMs - lockoutS * 1000).toISOString(),
    maxFailures,
    lockUntil: new Date(nowMs + lockoutS * 1000).toISOString(),
  };
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err);

/** The cases, on a migrated database reached through `port()` (and `other()`, a second process or replica). */
function contract(port: () => DbPort, other: () => DbPort) {
  it('users: insert, unique username key, reads, patches, admin count', async () => {
    const db = port();
    const r = new AuthRepo(db);
    const u = newUserRecord({ userId: 'usr_A1', username: 'Ann', usernameKey: 'ann', email: 'Ann@Example.org', role: 'admin', passwordHash: 'h', at: AT });
    await db.transaction((tx) => r.insertUser(tx, u));
    expect(await rejection(db.transaction((tx) => r.insertUser(tx, { ...u, userId: 'usr_A2' })))).toBeInstanceOf(UniqueViolation);
    expect(await r.countUsers()).toBe(1);
    expect(await r.userById('usr_A1')).toEqual(u);
    expect(await r.userByUsernameKey('ann')).toEqual(u);
    expect((await r.userByEmail('ann@EXAMPLE.org')).map((x) => x.userId)).toEqual(['usr_A1']);
    expect((await r.listUsers(undefined, 10)).map((x) => x.userId)).toEqual(['usr_A1']);
    expect(await r.listUsers('usr_A1', 10)).toEqual([]);
    expect(await r.activeAdminCount()).toBe(1);
    await r.patchUser('usr_A1', { disabled: true, mfaPendingSecret: 'sealed' }, '2026-11-25T10:00:01.000Z');
    expect(await r.userById('usr_A1')).toMatchObject({ disabled: true, mfaPendingSecret: 'sealed', updatedAt: '2026-11-25T10:00:01.000Z' });
    expect(await r.userActive('usr_A1')).toBe(false);
    expect(await r.activeAdminCount()).toBe(0);
    await db.transaction((tx) => r.updateUser(tx, 'usr_A1', { disabled: false, email: null }, AT));
    expect(await r.userById('usr_A1')).toMatchObject({ disabled: false, email: null });
    expect(await db.transaction((tx) => r.userActive('usr_A1', tx))).toBe(true);
  });

  it('MFA: a TOTP step is accepted once, recovery codes are used once, disabling clears both', async () => {
    const db = port();
    const r = new AuthRepo(db);
    await db.transaction((tx) => r.insertUser(tx, newUserRecord({ userId: 'usr_M1', username: 'mo', usernameKey: 'mo', email: null, role: 'approver', passwordHash: null, at: AT })));
    await db.transaction((tx) => r.enableMfa(tx, 'usr_M1', 'sealed', 100, ['c1', 'c2', 'c3'], AT));
    expect(await r.userById('usr_M1')).toMatchObject({ mfaEnabled: true, mfaSecret: 'sealed', mfaPendingSecret: null, mfaLastStep: 100 });
    expect(await r.advanceMfaStep('usr_M1', 100)).toBe(false);
    expect(await Promise.all([r.advanceMfaStep('usr_M1', 101), r.advanceMfaStep('usr_M1', 101)])).toEqual(expect.arrayContaining([true, false]));
    expect(await r.unusedRecoveryCodes('usr_M1')).toBe(3);
    expect(await db.transaction((tx) => r.useRecoveryCode(tx, 'usr_M1', 'c2', AT))).toBe(true);
    expect(await db.transaction((tx) => r.useRecoveryCode(tx, 'usr_M1', 'c2', AT))).toBe(false);
    expect(await db.transaction((tx) => r.unusedRecoveryCodes('usr_M1', tx))).toBe(2);
    await db.transaction((tx) => r.disableMfa(tx, 'usr_M1', AT));
    expect(await r.userById('usr_M1')).toMatchObject({ mfaEnabled: false, mfaSecret: null, mfaLastStep: null });
    expect(await r.unusedRecoveryCodes('usr_M1')).toBe(0);
  });

  it('sessions and API keys: found by hash, touched, revoked once', async () => {
    const db = port();
    const r = new AuthRepo(db);
    await db.transaction((tx) => r.insertUser(tx, newUserRecord({ userId: 'usr_S1', username: 'sue', usernameKey: 'sue', email: null, role: 'auditor', passwordHash: null, at: AT })));
    const session = (n: number): SessionRecord => ({
      sessionId: `ses_S${n}`,
      tokenHash: `tok-${n}`,
      userId: 'usr_S1',
      method: 'password',
      createdAt: `2026-11-25T10:00:0${n}.000Z`,
      lastSeenAt: AT,
      expiresAt: '2026-11-26T10:00:00.000Z',
      revokedAt: null,
      revokedReason: null,
    });
    for (const n of [1, 2, 3]) await db.transaction((tx) => r.insertSession(tx, session(n)));
    expect(await r.sessionByTokenHash('tok-2')).toEqual(session(2));
    expect(await r.sessionById('ses_S9')).toBeUndefined();
    expect((await r.listSessions('usr_S1')).map((s) => s.sessionId)).toEqual(['ses_S3', 'ses_S2', 'ses_S1']);
    await r.touchSession('ses_S1', '2026-11-25T10:05:00.000Z');
    expect((await r.sessionById('ses_S1'))!.lastSeenAt).toBe('2026-11-25T10:05:00.000Z');
    expect(await r.liveSessionCount('usr_S1')).toBe(3);
    expect(await r.liveSessionCount('usr_S1', 'ses_S1')).toBe(2);
    expect(await db.transaction((tx) => r.revokeSession(tx, 'ses_S2', AT, 'logout'))).toBe(true);
    expect(await db.transaction((tx) => r.revokeSession(tx, 'ses_S2', AT, 'logout'))).toBe(false);
    expect(await r.sessionActive('ses_S2')).toBe(false);
    expect(await db.transaction((tx) => r.revokeUserSessions(tx, 'usr_S1', AT, 'user_updated', 'ses_S1'))).toBe(1);
    expect(await db.transaction((tx) => r.sessionActive('ses_S1', tx))).toBe(true);

    const key: ApiKeyRecord = {
      keyId: 'key_K1',
      name: 'agent',
      actorPattern: 'ai_agent:*',
      role: 'agent',
      keyHash: 'kh-1',
      keyPrefix: 'lxk_abcdefgh',
      createdBy: 'usr_S1',
      createdAt: AT,
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    await db.transaction((tx) => r.insertApiKey(tx, key));
    expect(await r.apiKeyByHash('kh-1')).toEqual(key);
    await r.touchApiKey('key_K1', AT);
    expect(await r.apiKeyById('key_K1')).toEqual({ ...key, lastUsedAt: AT });
    expect((await r.listApiKeys(undefined, 5)).map((k) => k.keyId)).toEqual(['key_K1']);
    expect(await db.transaction((tx) => r.revokeApiKey(tx, 'key_K1', AT, 'usr_S1'))).toBe(true);
    expect(await db.transaction((tx) => r.revokeApiKey(tx, 'key_K1', AT, 'usr_S1'))).toBe(false);
  });

  it('OIDC: a user and their identity together, an identity linked once, login states used once', async () => {
    const db = port();
    const r = new AuthRepo(db);
    const u = newUserRecord({ userId: 'usr_O1', username: 'oli', usernameKey: 'oli', email: null, role: 'auditor', passwordHash: null, at: AT });
    await db.transaction((tx) => r.insertOidcUser(tx, u, 'idp', 'sub-1'));
    expect(await r.oidcIdentity('idp', 'sub-1')).toBe('usr_O1');
    expect(await r.oidcIdentitiesOf('usr_O1')).toEqual([{ provider: 'idp', subject: 'sub-1', linkedAt: AT }]);
    expect(await rejection(db.transaction((tx) => r.linkOidcIdentity(tx, 'idp', 'sub-1', 'usr_O1', AT)))).toBeInstanceOf(UniqueViolation);
    const clash = newUserRecord({ ...u, userId: 'usr_O2', at: AT });
    expect(await rejection(db.transaction((tx) => r.insertOidcUser(tx, clash, 'idp', 'sub-2')))).toBeInstanceOf(UniqueViolation);
    expect(await r.oidcIdentity('idp', 'sub-2')).toBeUndefined();

    const state = { stateHash: 'st-1', provider: 'idp', nonce: 'n', codeVerifier: 'v', expiresAt: '2026-11-25T10:10:00.000Z' };
    await r.putOidcState(state, AT);
    await r.putOidcState({ ...state, stateHash: 'st-old', expiresAt: AT }, AT);
    expect(await r.takeOidcState('st-old', AT)).toBeUndefined();
    expect(await r.takeOidcState('st-1', AT)).toEqual(state);
    expect(await r.takeOidcState('st-1', AT)).toBeUndefined();
  });

  it('lockout: counted before verification, locked at the limit, cleared by a success unless locked meanwhile', async () => {
    const [a, b] = [new LoginThrottleRepo(port()), new LoginThrottleRepo(other())];
    const finish = (key: string, now: string) => other().transaction((tx) => b.finishAttempt(tx, key, now));
    const answers: AttemptReservation[] = [];
    for (let i = 0; i < 7; i++) answers.push(await (i % 2 ? a : b).reserveAttempt('dana', limits()));
    expect(answers.slice(0, 5)).toEqual([1, 2, 3, 4, 5].map((attempts) => ({ state: 'counted', attempts })));
    expect(answers.slice(5)).toEqual([
      { state: 'locked', lockedUntil: limits().lockUntil, newlyLocked: true },
      { state: 'locked', lockedUntil: limits().lockUntil, newlyLocked: false },
    ]);
    expect(await finish('dana', limits().now)).toBe(limits().lockUntil);
    expect(await a.reserveAttempt('dana', limits(NOW + 899_000))).toMatchObject({ state: 'locked', newlyLocked: false });
    // The lock and the window are over: a new window starts with this attempt.
    expect(await a.reserveAttempt('dana', limits(NOW + 900_000))).toEqual({ state: 'counted', attempts: 1 });
    expect(await finish('dana', limits(NOW + 900_000).now)).toBeUndefined();
    expect(await a.reserveAttempt('dana', limits(NOW + 900_000))).toEqual({ state: 'counted', attempts: 1 });

    await a.releaseAttempt('dana');
    await a.releaseAttempt('dana');
    for (let i = 1; i <= 5; i++) expect(await a.reserveAttempt('dana', limits(NOW + 900_000))).toEqual({ state: 'counted', attempts: i });
    expect(await b.lockIfExhausted('dana', limits(NOW + 900_000))).toBe(true);
    expect(await a.lockIfExhausted('dana', limits(NOW + 900_000))).toBe(false);
    expect(await finish('nobody', limits().now)).toBeUndefined();
  });

  it('policies: versions stored once, one active version, summaries', async () => {
    const db = port();
    const p = new PolicyRepo(db);
    const v1: PolicyVersionRecord = {
      versionHash: 'a'.repeat(64),
      versionId: 'pol_01',
      policyId: 'payments',
      name: 'Payments',
      version: '1',
      mode: 'strict' as PolicyVersionRecord['mode'],
      document: '{"policy_id":"payments"}',
      termsCount: 3,
      relationsCount: 2,
      warnings: [{ path: '$.terms[0]', message: 'w' }] as PolicyVersionRecord['warnings'],
      loadedBy: 'usr_A1',
      loadedAt: AT,
    };
    const v2 = { ...v1, versionHash: 'b'.repeat(64), versionId: 'pol_02', version: null, warnings: [], loadedAt: '2026-11-25T10:01:00.000Z' };
    expect(await p.active()).toBeUndefined();
    expect(await db.transaction((tx) => p.storeAndActivate(tx, v1, AT, 'usr_A1'))).toEqual({ stored: true, activated: true });
    expect(await db.transaction((tx) => p.storeAndActivate(tx, v1, AT, 'usr_A1'))).toEqual({ stored: false, activated: false });
    expect(await db.transaction((tx) => p.storeAndActivate(tx, v2, v2.loadedAt, 'cli'))).toEqual({ stored: true, activated: true });
    expect(await db.transaction((tx) => p.storeAndActivate(tx, v1, v2.loadedAt, 'cli'))).toEqual({ stored: false, activated: true });
    expect(await p.active()).toEqual({ versionHash: v1.versionHash, activatedBy: 'cli', activatedAt: v2.loadedAt });
    expect(await p.byHash(v1.versionHash)).toEqual(v1);
    expect((await p.versions('payments')).map((v) => v.versionId)).toEqual(['pol_02', 'pol_01']);
    expect(await p.policies()).toEqual([
      { policyId: 'payments', name: 'Payments', latestVersionHash: v2.versionHash, latestLoadedAt: v2.loadedAt, versions: 2 },
    ]);
  });
}

describe('auth and policy repositories on SQLite', () => {
  let db: DbPort;
  beforeAll(async () => {
    db = createSqlitePort(openDatabase(':memory:'));
    await migratePort(db, allMigrations);
  });
  afterAll(() => db.close());
  // One connection: the second "process" is the same port (two connections in one process would
  // block each other; test/auth/login-throttle.test.ts covers two connections one after the other).
  contract(
    () => db,
    () => db,
  );
});

describePostgres('auth and policy repositories on PostgreSQL', () => {
  let fresh: FreshDatabase;
  let replicas: DbPort[] = [];
  beforeAll(async () => {
    fresh = await freshDatabase('lexecon_auth');
    replicas = [await openPostgresPort({ url: fresh.url, poolSize: 6 }), await openPostgresPort({ url: fresh.url, poolSize: 6 })];
    await migratePort(replicas[0]!, allMigrations);
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await fresh?.drop();
  });
  contract(
    () => replicas[0]!,
    () => replicas[1]!,
  );

  it('concurrent attempts from two replicas never lose a count: exactly maxFailures pass, one locks', async () => {
    const [a, b] = replicas.map((r) => new LoginThrottleRepo(r));
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a! : b!).reserveAttempt('erin', limits())));
    expect(answers.filter((x) => x.state === 'counted').map((x) => (x as { attempts: number }).attempts).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    expect(answers.filter((x) => x.state === 'locked' && x.newlyLocked)).toHaveLength(1);
  });
});
