/**
 * One runner at a time across replicas (issue 15): `runExclusive` on real PostgreSQL with two replicas
 * (separate pools on one database, as two server processes have), and on SQLite. The PostgreSQL part is
 * skipped with the reason when the machine has no PostgreSQL; a failure under CI=true.
 */
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exclusiveLockKey, runExclusive, type ExclusiveResult } from '../../src/platform/db/exclusive-run.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { SingleFlight } from '../../src/platform/single-flight.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise and its resolver: a run that holds the lock until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(10);
  }
}

describe('exclusiveLockKey', () => {
  it('is a stable signed 64-bit key per name', () => {
    const key = exclusiveLockKey('sla-monitor');
    expect(key).toBe(exclusiveLockKey('sla-monitor'));
    expect(key).not.toBe(exclusiveLockKey('override-lapse'));
    expect(key >= -(2n ** 63n) && key < 2n ** 63n).toBe(true);
    // Pinned: the key is documented (an operator finds it in pg_locks); changing it is a breaking change.
    expect(exclusiveLockKey('sla-monitor')).toBe(5014732944409585911n);
  });
});

describe('runExclusive on SQLite (one process per file)', () => {
  let port: DbPort;
  beforeEach(() => {
    port = createSqlitePort(new Database(':memory:'));
  });
  afterEach(async () => {
    await port.close();
  });

  it('runs fn; a second concurrent run of the same name in this process is skipped, another name runs', async () => {
    const held = gate();
    const first = runExclusive(port, 'sweep', async () => {
      await held.promise;
      return 'first';
    });
    expect(await runExclusive(port, 'sweep', async () => 'second')).toEqual({ status: 'skipped' });
    expect(await runExclusive(port, 'other', async () => 'other')).toEqual({ status: 'ran', value: 'other', lockLost: false });
    held.open();
    expect(await first).toEqual({ status: 'ran', value: 'first', lockLost: false });
    expect(await runExclusive(port, 'sweep', async () => 'again')).toEqual({ status: 'ran', value: 'again', lockLost: false });
  });

  it('a run that throws rethrows and frees the name; SingleFlight around it shares the run in progress', async () => {
    await expect(runExclusive(port, 'sweep', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    let runs = 0;
    const flight = new SingleFlight(() => runExclusive(port, 'sweep', async () => ++runs));
    const [a, b] = await Promise.all([flight.run(), flight.run()]);
    expect(a).toBe(b);
    expect(runs).toBe(1);
  });
});

describePostgres('runExclusive across replicas (PostgreSQL session advisory lock)', () => {
  let db: FreshDatabase;
  let admin: PostgresPort;
  let a: PostgresPort;
  let b: PostgresPort;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_exclusive');
    admin = await openPostgresPort({ url: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    [a, b] = await Promise.all([0, 1].map(() => openPostgresPort({ url: db.url, poolSize: 3 }))) as [PostgresPort, PostgresPort];
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  /** Backends holding the advisory lock of `name` now. */
  async function holders(name: string): Promise<number[]> {
    const key = BigInt.asUintN(64, exclusiveLockKey(name));
    const rows = await admin.all<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND classid::bigint = ?::bigint AND objid::bigint = ?::bigint`,
      [String(key >> 32n), String(key & 0xffffffffn)],
    );
    return rows.map((r) => r.pid);
  }

  it('two replicas at once for the same name: exactly one runs, the other reports skipped without waiting', async () => {
    for (let round = 0; round < 10; round++) {
      let runs = 0;
      const work = async () => {
        runs++;
        await sleep(150);
        return round;
      };
      const started = performance.now();
      const results = await Promise.all([runExclusive(a, 'sla-monitor', work), runExclusive(b, 'sla-monitor', work)]);
      expect(runs).toBe(1);
      expect(results.filter((r) => r.status === 'ran')).toEqual([{ status: 'ran', value: round, lockLost: false }]);
      expect(results.filter((r) => r.status === 'skipped')).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(1_000);
    }
    expect(await holders('sla-monitor')).toEqual([]);
    // Once the run is over the other replica gets it.
    expect(await runExclusive(b, 'sla-monitor', async () => 'b')).toEqual({ status: 'ran', value: 'b', lockLost: false });
  });

  it('while one replica holds it, the other skips; different names run in parallel', async () => {
    const held = gate();
    let inside = 0;
    let maxInside = 0;
    const hold = async (tag: string) => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await held.promise;
      inside--;
      return tag;
    };
    const onA = runExclusive(a, 'override-lapse', () => hold('a'));
    const onB = runExclusive(b, 'retention', () => hold('b'));
    await until(() => inside === 2);
    expect(await holders('override-lapse')).toHaveLength(1);
    expect(await runExclusive(b, 'override-lapse', async () => 'never')).toEqual({ status: 'skipped' });
    expect(await runExclusive(a, 'retention', async () => 'never')).toEqual({ status: 'skipped' });
    held.open();
    expect(await Promise.all([onA, onB])).toEqual([
      { status: 'ran', value: 'a', lockLost: false },
      { status: 'ran', value: 'b', lockLost: false },
    ]);
    expect(maxInside).toBe(2);
  });

  it('a run that throws rethrows its error and releases the lock (the other replica runs next)', async () => {
    await expect(runExclusive(a, 'sweep', async () => Promise.reject(new Error('sweep failed')))).rejects.toThrow('sweep failed');
    expect(await holders('sweep')).toEqual([]);
    expect(await runExclusive(b, 'sweep', async () => 'b')).toEqual({ status: 'ran', value: 'b', lockLost: false });
  });

  it("a replica killed while holding it (its backend terminated) releases it: the other replica runs; the killed run is told", async () => {
    const held = gate();
    let aborted = false;
    const onA: Promise<ExclusiveResult<string>> = runExclusive(a, 'sweep', async ({ signal }) => {
      signal.addEventListener('abort', () => (aborted = true));
      await held.promise;
      return 'a';
    });
    await until(async () => (await holders('sweep')).length === 1);
    const [pid] = await holders('sweep');
    expect(await runExclusive(b, 'sweep', async () => 'b')).toEqual({ status: 'skipped' });
    expect(await admin.one('SELECT pg_terminate_backend(?::int) AS ok', [String(pid)])).toEqual({ ok: 1 });
    await until(async () => (await holders('sweep')).length === 0);
    expect(await runExclusive(b, 'sweep', async () => 'b')).toEqual({ status: 'ran', value: 'b', lockLost: false });
    await until(() => aborted);
    held.open();
    expect(await onA).toEqual({ status: 'ran', value: 'a', lockLost: true });
    // Replica A's pool recovers: its next run takes the lock on a new connection.
    expect(await runExclusive(a, 'sweep', async () => 'a2')).toEqual({ status: 'ran', value: 'a2', lockLost: false });
  });
});
