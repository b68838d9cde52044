import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { Queryable } from '../../platform/db/port.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { AuthRepo, UserRecord } from './auth.repo.js';
import type { AttemptLimits } from './login-throttle.repo.js';

export interface LoginThrottleDeps {
  /** The throttle's records (`repo.throttle`) and the user a locked name belongs to. */
  repo: Pick<AuthRepo, 'throttle' | 'userByUsernameKey'>;
  events: EventSink;
  clock: Clock;
  settings: { maxFailures: number; lockoutS: number };
  /** The keyed pseudonym of a login name that the ledger shows (never the name, never its plain hash). */
  nameMac: (usernameKey: string) => string;
}

/**
 * Lockout of a login name after `maxFailures` failed attempts to prove a human's secret (password at
 * login or re-authentication, TOTP or recovery code at login or at MFA disable) within `lockoutS`.
 *
 * Every attempt is counted in the database BEFORE its secret is verified ({@link begin}): verification
 * (argon2) is asynchronous, so counting afterwards lets any number of concurrent guesses through. The
 * attempt over the limit is refused with 423 and locks the name; a failure ({@link failed}) locks the
 * name once the counted attempts reach the limit; a success ({@link finish}, inside the transaction
 * that opens the session or commits the change) re-checks the lock, which concurrent failures may have
 * set while it was verifying, and only then clears the count.
 *
 * NOTE: the counter and the lock are written at once, not in the ledger transaction of the
 * `auth_login_failed`/`auth_lockout` entries: they must hold even while the ledger refuses writes
 * (failing closed), and they are bookkeeping of the control, not a governance state change.
 */
export class LoginThrottle {
  constructor(private readonly deps: LoginThrottleDeps) {}

  private limits(): AttemptLimits {
    const nowMs = this.deps.clock.now();
    const { lockoutS, maxFailures } = this.deps.settings;
    return {
      now: new Date(nowMs).toISOString(),
      windowFloor: new Date(nowMs - lockoutS * 1000).toISOString(),
      maxFailures,
      lockUntil: new Date(nowMs + lockoutS * 1000).toISOString(),
    };
  }

  /** Count an attempt for a name before its secret is checked; 423 while (or by now) it is locked. */
  async begin(usernameKey: string): Promise<void> {
    const limits = this.limits();
    const reservation = await this.deps.repo.throttle.reserveAttempt(usernameKey, limits);
    if (reservation.state === 'counted') return;
    if (reservation.newlyLocked) {
      const user = await this.deps.repo.userByUsernameKey(usernameKey);
      await this.deps.events.append('auth_lockout', {
        ...this.who(usernameKey, user),
        failures: limits.maxFailures,
        locked_until: reservation.lockedUntil,
      });
    }
    throw this.locked(reservation.lockedUntil);
  }

  /** Give back a counted attempt that proved nothing wrong (the right password, MFA code still to come). */
  release(usernameKey: string): Promise<void> {
    return this.deps.repo.throttle.releaseAttempt(usernameKey);
  }

  /** A counted attempt failed: ledger it, and lock the name when the attempts reached the limit. */
  async failed(usernameKey: string, user: UserRecord | undefined, reason: string): Promise<void> {
    const limits = this.limits();
    const newlyLocked = await this.deps.repo.throttle.lockIfExhausted(usernameKey, limits);
    const who = this.who(usernameKey, user);
    await this.deps.events.appendAll([
      { eventType: 'auth_login_failed', data: { ...who, reason } },
      ...(newlyLocked
        ? [{ eventType: 'auth_lockout', data: { ...who, failures: limits.maxFailures, locked_until: limits.lockUntil } }]
        : []),
    ]);
  }

  /**
   * A counted attempt succeeded. In `tx`, the transaction (the `withEntries` hook) that commits what the
   * success grants: throws 423 (and so commits nothing) when the name got locked meanwhile, else clears
   * its count.
   */
  async finish(tx: Queryable, usernameKey: string): Promise<void> {
    const lockedUntil = await this.deps.repo.throttle.finishAttempt(tx, usernameKey, new Date(this.deps.clock.now()).toISOString());
    if (lockedUntil !== undefined) throw this.locked(lockedUntil);
  }

  private who(usernameKey: string, user: UserRecord | undefined) {
    return { username_hmac: this.deps.nameMac(usernameKey), user_id: user?.userId ?? null };
  }

  locked(lockedUntil: string): AppError {
    const retryAfter = Math.max(1, Math.ceil((Date.parse(lockedUntil) - this.deps.clock.now()) / 1000));
    return new AppError(
      423,
      'ACCOUNT_LOCKED',
      `Too many failed logins: try again in ${retryAfter} s`,
      { retry_after_s: retryAfter, locked_until: lockedUntil },
      { 'retry-after': String(retryAfter) },
    );
  }
}
