import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/crypto/secret-box.js';
import type { Queryable } from '../../platform/db/port.js';
import { AppError } from '../../platform/errors.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { UserPrincipal } from './auth.guard.js';
import type { AuthRepo, UserRecord } from './auth.repo.js';
import { checkTotp, hashSecret, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, totpUri } from './credentials.js';
import { commitWithEntries, ledgerTx, Recompute, Unchanged } from './ledgered-write.js';
import type { LoginThrottle } from './login-throttle.js';

export const invalidMfaCode = () => new AppError(401, 'INVALID_MFA_CODE', 'The TOTP or recovery code is wrong, expired or already used');

export interface MfaDeps {
  repo: AuthRepo;
  events: EventSink;
  clock: Clock;
  secrets: SecretBox;
  /** Shown by authenticator apps next to the account. */
  totpIssuer: string;
  throttle: LoginThrottle;
  getUser(userId: string): Promise<UserRecord>;
  /** Throws 401 when the session or the user ended meanwhile (called inside the change's transaction, `q`). */
  assertStillSignedIn(principal: UserPrincipal, q: Queryable): Promise<void>;
  /** Re-check the user's password, counted toward the lockout (see AuthService). */
  reauthenticate(user: UserRecord, password: string): Promise<void>;
}

/** TOTP MFA: enrollment, second-factor checks (TOTP or recovery code), disabling. */
export class Mfa {
  constructor(private readonly deps: MfaDeps) {}

  private now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  /** Start TOTP enrollment: a new secret (kept sealed until confirmed) and its otpauth URI. */
  async enroll(principal: UserPrincipal): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.deps.getUser(principal.userId);
    if (user.mfaEnabled) throw new AppError(409, 'MFA_ALREADY_ENABLED', 'MFA is already enabled; disable it first to re-enrol');
    const secret = newTotpSecret();
    await this.deps.repo.patchUser(user.userId, { mfaPendingSecret: this.deps.secrets.seal(secret, user.userId) }, this.now());
    return { secret, otpauthUri: totpUri(secret, user.username, this.deps.totpIssuer) };
  }

  /** Confirm enrollment with a current code: MFA is on, and the one-time recovery codes are shown once. */
  async confirm(principal: UserPrincipal, code: string): Promise<string[]> {
    const user = await this.deps.getUser(principal.userId);
    if (user.mfaEnabled) throw new AppError(409, 'MFA_ALREADY_ENABLED', 'MFA is already enabled');
    if (user.mfaPendingSecret === null) {
      throw new AppError(409, 'MFA_NOT_ENROLLING', 'Start with POST /auth/mfa/enroll');
    }
    const check = checkTotp(this.deps.secrets.open(user.mfaPendingSecret, user.userId), code, this.deps.clock.now(), null);
    if (!check.valid) throw new AppError(400, 'INVALID_MFA_CODE', 'The code does not match the enrolled secret');
    const codes = newRecoveryCodes();
    const sealed = user.mfaPendingSecret;
    const at = this.now();
    await this.deps.events.append(
      'auth_mfa_enrolled',
      { user_id: user.userId, recovery_codes: codes.length },
      {
        withEntries: async (_entries, hookTx) => {
          const tx = ledgerTx(hookTx);
          // The session or the account may have ended while this request waited for the database.
          await this.deps.assertStillSignedIn(principal, tx);
          await this.deps.repo.enableMfa(tx, user.userId, sealed, check.step, codes.map((c) => hashSecret(normalizeRecoveryCode(c))), at);
        },
      },
    );
    return codes;
  }

  /**
   * Turn MFA off: needs the password (when the user has one) and a current code or a recovery code.
   * One attempt counts toward the username's lockout before either is checked; a wrong password or a
   * wrong code is a failure, like at login.
   */
  async disable(principal: UserPrincipal, input: { password?: string | undefined; code: string }): Promise<void> {
    const user = await this.deps.getUser(principal.userId);
    if (!user.mfaEnabled) throw new AppError(409, 'MFA_NOT_ENABLED', 'MFA is not enabled');
    if (user.passwordHash !== null) await this.deps.reauthenticate(user, input.password ?? '');
    else await this.deps.throttle.begin(user.usernameKey);
    if ((await this.checkSecondFactor(user, input.code.trim())) === null) {
      await this.deps.throttle.failed(user.usernameKey, user, 'invalid_mfa_code');
      throw invalidMfaCode();
    }
    const at = this.now();
    await this.deps.events.append(
      'auth_mfa_disabled',
      { user_id: user.userId, by: user.userId },
      {
        withEntries: async (_entries, hookTx) => {
          const tx = ledgerTx(hookTx);
          await this.deps.throttle.finish(tx, user.usernameKey);
          await this.deps.assertStillSignedIn(principal, tx);
          await this.deps.repo.disableMfa(tx, user.userId, at);
        },
      },
    );
  }

  /**
   * Check a TOTP code (replay-protected) or consume a recovery code; which one worked, or null. A used
   * recovery code and its `auth_recovery_code_used` entry commit together.
   */
  async checkSecondFactor(user: UserRecord, code: string): Promise<'totp' | 'recovery_code' | null> {
    if (/^\d{6}$/.test(code)) {
      const secret = this.deps.secrets.open(user.mfaSecret!, user.userId);
      const check = checkTotp(secret, code, this.deps.clock.now(), user.mfaLastStep);
      if (!check.valid) return null;
      return (await this.deps.repo.advanceMfaStep(user.userId, check.step)) ? 'totp' : null;
    }
    const codeHash = hashSecret(normalizeRecoveryCode(code));
    const at = this.now();
    try {
      await commitWithEntries(this.deps.events, async () => {
        const remaining = (await this.deps.repo.unusedRecoveryCodes(user.userId)) - 1;
        if (remaining < 0) throw new Unchanged();
        return {
          events: [{ eventType: 'auth_recovery_code_used', data: { user_id: user.userId, remaining } }],
          write: async (tx) => {
            if (!(await this.deps.repo.useRecoveryCode(tx, user.userId, codeHash, at))) throw new Unchanged();
            if ((await this.deps.repo.unusedRecoveryCodes(user.userId, tx)) !== remaining) throw new Recompute();
          },
        };
      });
    } catch (err) {
      if (err instanceof Unchanged) return null;
      throw err;
    }
    return 'recovery_code';
  }
}
