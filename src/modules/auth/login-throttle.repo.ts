import { SerializationFailure } from '../../platform/db/errors.js';
import type { DbPort, Queryable } from '../../platform/db/port.js';

/** What counting a login attempt found (see {@link LoginThrottleRepo.reserveAttempt}). */
export type AttemptReservation =
  | { state: 'counted'; attempts: number }
  | { state: 'locked'; lockedUntil: string; newlyLocked: boolean };

export interface AttemptLimits {
  now: string;
  /** Windows that began at or before this are over. */
  windowFloor: string;
  maxFailures: number;
  /** The end of a lock set now. */
  lockUntil: string;
}

/**
 * Count the attempt in one statement: a first attempt inserts the name's record; otherwise, unless the
 * name is locked now (the WHERE: then nothing changes and no row comes back), a record whose window is
 * over starts a new window with this attempt, a record with `maxFailures` attempts counted gets the
 * lock (not counting this one), and any other record counts it (clearing a lock that has passed).
 * Every SET expression reads the row as it was before the statement (both dialects).
 *
 * On PostgreSQL `INSERT … ON CONFLICT DO UPDATE` is atomic against concurrent writers of the same row
 * (a second transaction waits for the first and updates the row the first committed), so concurrent
 * attempts on several replicas never lose a count. On SQLite the write transaction is exclusive.
 */
const COUNT_ATTEMPT = `
  INSERT INTO login_throttle (username_key, failures, window_started_at, locked_until) VALUES (?, 1, ?, NULL)
  ON CONFLICT (username_key) DO UPDATE SET
    failures = CASE
      WHEN login_throttle.window_started_at <= ? THEN 1
      WHEN login_throttle.failures >= ? THEN login_throttle.failures
      ELSE login_throttle.failures + 1 END,
    window_started_at = CASE
      WHEN login_throttle.window_started_at <= ? THEN excluded.window_started_at
      ELSE login_throttle.window_started_at END,
    locked_until = CASE
      WHEN login_throttle.window_started_at <= ? THEN NULL
      WHEN login_throttle.failures >= ? THEN ?
      ELSE NULL END
  WHERE login_throttle.locked_until IS NULL OR login_throttle.locked_until <= ?
  RETURNING failures, locked_until`;

/**
 * The login throttle's records (table `login_throttle`): attempts to prove a secret per login name,
 * whether or not such a user exists, and the name's lock. They live in the database, so the count and
 * the lock hold across every process and replica sharing it.
 */
export class LoginThrottleRepo {
  constructor(private readonly db: DbPort) {}

  /**
   * Count one attempt to prove a secret for a login name BEFORE the secret is verified, atomically (so
   * concurrent attempts, also from other processes or replicas sharing the database, all count).
   * Refused (`locked`) while the name is locked, or when `maxFailures` attempts of the current window
   * are counted already (then the name is locked now: `newlyLocked`). Records whose window and lock
   * have both passed are dropped on the way.
   */
  async reserveAttempt(usernameKey: string, l: AttemptLimits): Promise<AttemptReservation> {
    await this.dropExpired(l);
    return this.db.transaction(async (tx) => {
      const row = await tx.one<{ failures: number; locked_until: string | null }>(COUNT_ATTEMPT, [
        usernameKey,
        l.now,
        l.windowFloor,
        l.maxFailures,
        l.windowFloor,
        l.windowFloor,
        l.maxFailures,
        l.lockUntil,
        l.now,
      ]);
      if (row) {
        return row.locked_until === null
          ? { state: 'counted', attempts: row.failures }
          : { state: 'locked', lockedUntil: row.locked_until, newlyLocked: true };
      }
      // Locked now: the statement changed nothing (on PostgreSQL it still locked the row, so the lock
      // read here is the one that refused this attempt).
      const locked = await tx.one<{ locked_until: string }>('SELECT locked_until FROM login_throttle WHERE username_key = ?', [
        usernameKey,
      ]);
      return { state: 'locked', lockedUntil: locked!.locked_until, newlyLocked: false };
    });
  }

  /**
   * Housekeeping: drop the records of every name whose window and lock have both passed (names tried
   * once and never again, which an attacker can make many of). Its own statement, outside the attempt's
   * transaction: the attempt itself treats its name's expired record as a new window, so nothing
   * depends on this, and two replicas deleting the same rows in one transaction each could deadlock.
   */
  private async dropExpired(l: AttemptLimits): Promise<void> {
    try {
      await this.db.run('DELETE FROM login_throttle WHERE window_started_at <= ? AND (locked_until IS NULL OR locked_until <= ?)', [
        l.windowFloor,
        l.now,
      ]);
    } catch (err) {
      // A concurrent replica deleting the same rows: they are gone either way.
      if (!(err instanceof SerializationFailure)) throw err;
    }
  }

  /** Give back an attempt that proved nothing wrong (the right password still lacking its MFA code). */
  async releaseAttempt(usernameKey: string): Promise<void> {
    await this.db.run('UPDATE login_throttle SET failures = failures - 1 WHERE username_key = ? AND locked_until IS NULL AND failures > 0', [
      usernameKey,
    ]);
  }

  /** A counted attempt failed: lock the name when its window's attempts reached the limit. True when this call locked it. */
  async lockIfExhausted(usernameKey: string, l: AttemptLimits): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE login_throttle SET locked_until = ?
       WHERE username_key = ? AND failures >= ? AND (locked_until IS NULL OR locked_until <= ?)`,
      [l.lockUntil, usernameKey, l.maxFailures, l.now],
    );
    return changes === 1;
  }

  /**
   * A counted attempt succeeded (called in the transaction that commits what it grants): the end of the
   * lock when one was set meanwhile (by concurrent failures); otherwise the name's record is cleared and
   * undefined returned. One conditional DELETE, not a read then a delete: on PostgreSQL a lock another
   * replica commits meanwhile makes the DELETE skip the row (it re-checks the condition on the row it
   * waited for), and the lock is then read and wins.
   */
  async finishAttempt(tx: Queryable, usernameKey: string, now: string): Promise<string | undefined> {
    const { changes } = await tx.run('DELETE FROM login_throttle WHERE username_key = ? AND (locked_until IS NULL OR locked_until <= ?)', [
      usernameKey,
      now,
    ]);
    if (changes > 0) return undefined;
    const row = await tx.one<{ locked_until: string | null }>('SELECT locked_until FROM login_throttle WHERE username_key = ?', [usernameKey]);
    return row?.locked_until && row.locked_until > now ? row.locked_until : undefined;
  }
}
