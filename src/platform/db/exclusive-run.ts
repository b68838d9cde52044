import { createHash } from 'node:crypto';
import type { Exclusive } from '../exclusive.js';
import type { DbPort } from './port.js';
import { PostgresPort, type PgSession } from './postgres.driver.js';

/**
 * One runner at a time across replicas, for periodic work (the SLA monitor, the override lapse sweeper,
 * retention batches): `runExclusive(port, name, fn)` runs `fn` when no other run of `name` is in
 * progress anywhere, and otherwise SKIPS at once (`{ status: 'skipped' }`): the next tick of whichever
 * replica runs then does the work. It never waits for the other run.
 *
 * PostgreSQL: a SESSION advisory lock, `pg_try_advisory_lock(key)`, on one pooled connection held for
 * the whole run (not a transaction: `fn` runs its own transactions on other connections of the pool).
 * It is released by `pg_advisory_unlock` in a finally (a run that throws releases it too); if that
 * cannot be confirmed the connection is destroyed rather than pooled, and the lock dies with its
 * session — as it does when the replica is killed or its connection dropped: a crashed runner never
 * blocks the others. The connection's loss aborts `signal`, so `fn` can stop early: another replica may
 * take the lock from then on.
 *
 * SQLite: `fn` simply runs. A SQLite file is served by one server process (replicas need PostgreSQL;
 * SQLite over a network filesystem is unsafe), so the only other runners are this process's own calls,
 * which `runExclusive` refuses while `name` runs here (as PostgreSQL would), and a CLI command on the
 * same file. Every write transaction on the file takes its write lock (BEGIN IMMEDIATE), so writers of
 * one file are serialised whatever process they are in: a per-item write that re-checks the item's
 * state inside its write transaction (below) cannot act on an item another writer already handled.
 * Callers keep wrapping their sweep in `SingleFlight` (single-flight.ts), so that calls within a process
 * share the run in progress instead of reporting `skipped`.
 *
 * Neither lock makes a sweep correct on its own (a lock can be lost mid-run, and a run can be cut
 * short after some items): each sweep's per-item write is a conditional update (ARCHITECTURE.md
 * "Coordination across replicas"), so that two runs never act twice on one item; the lock only saves
 * the duplicate work.
 */

export type ExclusiveResult<T> = { status: 'ran'; value: T; lockLost: boolean } | { status: 'skipped' };

export interface ExclusiveRun {
  /** Aborts when the lock may have been lost (PostgreSQL: the lock connection dropped). */
  signal: AbortSignal;
}

/**
 * The advisory lock key of `name`: the first 8 bytes of SHA-256("lexecon:exclusive:" + name), read as
 * a signed big-endian 64-bit integer (PostgreSQL's bigint). Stable across processes, versions and
 * servers (unlike a server-side hash), so an operator can compute it; in `pg_locks` (locktype
 * 'advisory', objsubid 1) `classid` holds its high 32 bits and `objid` its low 32 bits, both unsigned.
 */
export function exclusiveLockKey(name: string): bigint {
  return createHash('sha256').update(`lexecon:exclusive:${name}`).digest().readBigInt64BE(0);
}

/** Names running in this process, per port (both dialects: a second local run is skipped without a round trip). */
const localRuns = new WeakMap<DbPort, Set<string>>();

/**
 * Run `fn` unless another run of `name` holds the lock (then `skipped`, at once). `fn`'s error is
 * rethrown after the lock is released; a database that cannot be reached to take the lock rejects
 * with the port's `DatabaseUnavailable` (the caller's timer logs it and tries at its next tick).
 */
export async function runExclusive<T>(
  port: DbPort,
  name: string,
  fn: (run: ExclusiveRun) => Promise<T>,
): Promise<ExclusiveResult<T>> {
  let running = localRuns.get(port);
  if (running === undefined) localRuns.set(port, (running = new Set()));
  if (running.has(name)) return { status: 'skipped' };
  running.add(name);
  try {
    if (port.dialect === 'sqlite') {
      return { status: 'ran', value: await fn({ signal: new AbortController().signal }), lockLost: false };
    }
    if (!(port instanceof PostgresPort)) throw new TypeError('runExclusive on PostgreSQL needs a PostgresPort');
    return await port.session((session) => underSessionLock(session, exclusiveLockKey(name), fn));
  } finally {
    running.delete(name);
  }
}

async function underSessionLock<T>(
  session: PgSession,
  key: bigint,
  fn: (run: ExclusiveRun) => Promise<T>,
): Promise<ExclusiveResult<T>> {
  const got = await session.one<{ locked: number }>('SELECT pg_try_advisory_lock(?::bigint) AS locked', [key.toString()]);
  if (got?.locked !== 1) return { status: 'skipped' };
  try {
    const value = await fn({ signal: session.signal });
    return { status: 'ran', value, lockLost: session.signal.aborted };
  } finally {
    await unlock(session, key);
  }
}

/** Release the lock; when that cannot be confirmed, the connection is destroyed (and the lock with it). */
async function unlock(session: PgSession, key: bigint): Promise<void> {
  if (session.signal.aborted) {
    session.discard();
    return;
  }
  try {
    const row = await session.one<{ unlocked: number }>('SELECT pg_advisory_unlock(?::bigint) AS unlocked', [key.toString()]);
    if (row?.unlocked !== 1) session.discard();
  } catch {
    session.discard();
  }
}

/** {@link Exclusive} on `port`. */
export function exclusiveOn(port: DbPort): Exclusive {
  return async (name, fn) => {
    const result = await runExclusive(port, name, () => fn());
    return result.status === 'ran' ? { ran: true, value: result.value } : { ran: false };
  };
}
