import { hash, randomBytes } from 'node:crypto';
import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';

/** Session tokens: `lxs_` + 32 random bytes (base64url). Only their SHA-256 is stored. */
export const SESSION_TOKEN_PREFIX = 'lxs_';
/** Agent API keys: `lxk_` + 32 random bytes (base64url). Only their SHA-256 is stored. */
export const API_KEY_PREFIX = 'lxk_';

const SECRET_PATTERN = /^lx[sk]_[A-Za-z0-9_-]{43}$/;

/** A fresh bearer secret with the given prefix. */
export function newBearerSecret(prefix: typeof SESSION_TOKEN_PREFIX | typeof API_KEY_PREFIX): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Whether a presented bearer value has the shape of a Lexecon secret (checked before any lookup). */
export function isWellFormedSecret(value: string): boolean {
  return SECRET_PATTERN.test(value);
}

/**
 * The stored form of a bearer secret or recovery code. SHA-256 suffices: these are 256-bit (80-bit
 * for recovery codes) random values, not passwords, so there is nothing to brute-force from a list.
 */
export function hashSecret(secret: string): string {
  // The one-shot crypto.hash (the same hex SHA-256 of the UTF-8 bytes): every request hashes its bearer
  // secret, and it costs about half of a createHash object.
  return hash('sha256', secret, 'hex');
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `count` one-time recovery codes, 16 Crockford base32 characters (80 bits) as `XXXX-XXXX-XXXX-XXXX`. */
export function newRecoveryCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(16);
    const chars = Array.from(bytes, (b) => CROCKFORD[b & 31]!).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** A recovery code as typed by a person (any case, with or without dashes and spaces), normalized. */
export function normalizeRecoveryCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** What a TOTP check allows: one 30-second step either side, for clock drift. */
export const TOTP_PERIOD_S = 30;
export const TOTP_DRIFT_S = 30;

/** A new TOTP secret (160 bits, base32). */
export function newTotpSecret(): string {
  return generateSecret();
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secret: string, username: string, issuer: string): string {
  return generateURI({ issuer, label: username, secret });
}

/** The TOTP code for a moment (tests and tooling). */
export function totpCode(secret: string, atMs: number): string {
  return generateSync({ secret, epoch: Math.floor(atMs / 1000) });
}

export type TotpCheck = { valid: true; step: number } | { valid: false };

/**
 * Check a 6-digit TOTP code at `nowMs`, allowing one step of drift either way. Replay protection:
 * a code whose time step is not after `afterStep` (the last step accepted for this user) is refused.
 */
export function checkTotp(secret: string, code: string, nowMs: number, afterStep: number | null): TotpCheck {
  if (!/^\d{6}$/.test(code)) return { valid: false };
  const epoch = Math.floor(nowMs / 1000);
  const result = verifySync({
    secret,
    token: code,
    epoch,
    epochTolerance: TOTP_DRIFT_S,
    ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
  });
  // NOTE: otplib's result type is shared with HOTP, so the step is derived from the match's delta.
  return result.valid ? { valid: true, step: Math.floor(epoch / TOTP_PERIOD_S) + result.delta } : { valid: false };
}
