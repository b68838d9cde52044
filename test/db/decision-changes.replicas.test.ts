/**
 * Decision change notices across replicas (issue 15): two PgDecisionChanges on one PostgreSQL database,
 * each with its own pool and its own LISTEN connection, as two server processes would have. Skipped with
 * the reason when the machine has no PostgreSQL; a failure under CI=true.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { PgDecisionChanges } from '../../src/modules/decision/decision.changes.pg.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Logged {
  level: 'warn' | 'info';
  msg: string;
}

function recordingLogger(into: Logged[]) {
  return {
    warn: (_obj: object, msg: string) => void into.push({ level: 'warn', msg }),
    info: (_obj: object, msg: string) => void into.push({ level: 'info', msg }),
  };
}

/** How long a wait took, and whether it ended before its timeout. */
async function timed(p: Promise<void>): Promise<number> {
  const start = performance.now();
  await p;
  return performance.now() - start;
}

describePostgres('decision change notices across replicas (PostgreSQL LISTEN/NOTIFY)', () => {
  let db: FreshDatabase;
  let admin: PostgresPort;
  let ports: PostgresPort[] = [];
  let replicas: PgDecisionChanges[] = [];
  let logs: Logged[][] = [];

  beforeAll(async () => {
    db = await freshDatabase('lexecon_changes');
    admin = await openPostgresPort({ url: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });

  beforeEach(async () => {
    ports = await Promise.all([0, 1].map(() => openPostgresPort({ url: db.url, poolSize: 2 })));
    logs = [[], []];
    replicas = await Promise.all(
      ports.map((port, i) =>
        PgDecisionChanges.open({ url: db.url, port, logger: recordingLogger(logs[i]!), initialBackoffMs: 50, maxBackoffMs: 400 }),
      ),
    );
  });
  afterEach(async () => {
    for (const r of replicas) await r.close();
    for (const p of ports) await p.close();
  });

  it('a notice on replica A wakes a waiter on replica B within a second; other decisions are not woken', async () => {
    const [a, b] = replicas as [PgDecisionChanges, PgDecisionChanges];
    const woken = timed(b.waitFor('dec_one', 10_000));
    let otherWoken = false;
    void b.waitFor('dec_other', 3_000).then(() => (otherWoken = true));
    expect(b.waiting('dec_one')).toBe(1);
    a.notify('dec_one');
    expect(await woken).toBeLessThan(1_000);
    await sleep(200);
    expect(otherWoken).toBe(false);
    // A's own waiters are woken by its own notice, too.
    const own = timed(a.waitFor('dec_two', 10_000));
    a.notify('dec_two');
    expect(await own).toBeLessThan(1_000);
  });

  it('a waiter times out when nothing happens', async () => {
    const elapsed = await timed(replicas[1]!.waitFor('dec_quiet', 300));
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('a notice sent in a transaction is delivered at COMMIT, and never when it rolls back', async () => {
    const [a, b] = replicas as [PgDecisionChanges, PgDecisionChanges];
    // Rolled back: nobody wakes (B's waiter runs its full timeout).
    const rolledBackWait = timed(b.waitFor('dec_rb', 1_200));
    await ports[0]!
      .transaction(async (tx) => {
        await a.notifyInTransaction(tx, 'dec_rb');
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await rolledBackWait).toBeGreaterThanOrEqual(1_150);

    // Committed: the waiter wakes after COMMIT, not before.
    let woke = false;
    const committedWait = b.waitFor('dec_commit', 10_000).then(() => (woke = true));
    await ports[0]!.transaction(async (tx) => {
      await a.notifyInTransaction(tx, 'dec_commit');
      await sleep(300);
      expect(woke).toBe(false); // sent, but not delivered before COMMIT
    });
    await committedWait;
    expect(woke).toBe(true);
  });

  it('the LISTEN connection killed from another session: the loss is logged, it reconnects, and later notices arrive', async () => {
    const [a, b] = replicas as [PgDecisionChanges, PgDecisionChanges];
    const pid = b.listenConnection.backendPid;
    expect(pid).toBeGreaterThan(0);
    const killed = await admin.one<{ ok: number }>('SELECT pg_terminate_backend(?::int) AS ok', [String(pid)]);
    expect(killed).toEqual({ ok: 1 });
    for (let i = 0; i < 200 && b.listenConnection.connects < 2; i++) await sleep(25);
    expect(b.listenConnection.connects).toBe(2);
    expect(b.listenConnection.backendPid).not.toBe(pid);
    expect(logs[1]!.some((l) => l.level === 'warn' && l.msg.startsWith('LISTEN connection lost'))).toBe(true);
    expect(logs[1]!.some((l) => l.level === 'info' && l.msg === 'LISTEN connection re-established')).toBe(true);

    const woken = timed(b.waitFor('dec_after', 10_000));
    a.notify('dec_after');
    expect(await woken).toBeLessThan(1_000);
  });

  it('close() answers the waiters at once, releases the LISTEN connection, and later waits return at once', async () => {
    const b = replicas[1]!;
    const pid = b.listenConnection.backendPid;
    const wait = timed(b.waitFor('dec_shutdown', 10_000));
    await b.close();
    expect(await wait).toBeLessThan(500);
    expect(await timed(b.waitFor('dec_shutdown', 10_000))).toBeLessThan(50);
    for (let i = 0; i < 100; i++) {
      const row = await admin.one<{ n: number }>('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ?::int', [String(pid)]);
      if (row!.n === 0) break;
      await sleep(20);
    }
    expect(await admin.one('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ?::int', [String(pid)])).toEqual({ n: 0 });
    expect(b.listenConnection.listening).toBe(false);
  });

  it('open() against an unreachable database fails after its timeout and stops retrying', async () => {
    const logged: Logged[] = [];
    const url = 'postgres://nobody@127.0.0.1:1/none';
    const failed = await PgDecisionChanges.open(
      { url, port: ports[0]!, logger: recordingLogger(logged), initialBackoffMs: 20, maxBackoffMs: 50 },
      400,
    ).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/not established within 400 ms/);
    expect(logged.filter((l) => l.msg === 'LISTEN connection attempt failed').length).toBeGreaterThanOrEqual(2);
    const attempts = logged.length;
    await sleep(300);
    expect(logged.length).toBe(attempts); // closed: no more attempts
  });

  it('carries decision ids only: anything else is refused before it is sent, and ignored when received', async () => {
    const [a, b] = replicas as [PgDecisionChanges, PgDecisionChanges];
    expect(() => a.notify('x'.repeat(200))).toThrow(TypeError);
    expect(() => a.notify("dec_1'; DROP")).toThrow(TypeError);
    let woke = false;
    void b.waitFor('dec_ok', 1_000).then(() => (woke = true));
    await admin.one("SELECT pg_notify('lexecon_decision_changes', ?)", [`dec_ok ${'y'.repeat(500)}`]);
    await sleep(300);
    expect(woke).toBe(false);
  });
});
