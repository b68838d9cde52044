import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import {
  API_KEY_PREFIX,
  checkTotp,
  hashSecret,
  isWellFormedSecret,
  newBearerSecret,
  newRecoveryCodes,
  newTotpSecret,
  normalizeRecoveryCode,
  SESSION_TOKEN_PREFIX,
  totpCode,
  totpUri,
} from './credentials.js';

describe('bearer secrets', () => {
  it('have their prefix, 256 bits, and a stable hash that is not the secret', () => {
    const s = newBearerSecret(SESSION_TOKEN_PREFIX);
    const k = newBearerSecret(API_KEY_PREFIX);
    expect(s).toMatch(/^lxs_[A-Za-z0-9_-]{43}$/);
    expect(k).toMatch(/^lxk_[A-Za-z0-9_-]{43}$/);
    expect(isWellFormedSecret(s) && isWellFormedSecret(k)).toBe(true);
    expect(isWellFormedSecret('lxs_short')).toBe(false);
    expect(isWellFormedSecret(`${s} `)).toBe(false);
    expect(hashSecret(s)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(s)).toBe(hashSecret(s));
    // The stored form is the hex SHA-256 of the UTF-8 bytes (rows hashed before stay valid).
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashSecret('ÆØÅ-rß')).toBe(sha256Hex('ÆØÅ-rß'));
    expect(newBearerSecret(SESSION_TOKEN_PREFIX)).not.toBe(s);
  });
});

describe('recovery codes', () => {
  it('are ten distinct 80-bit codes that survive sloppy typing', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const c = codes[0]!;
    expect(normalizeRecoveryCode(` ${c.toLowerCase().replace(/-/g, ' ')} `)).toBe(normalizeRecoveryCode(c));
    expect(normalizeRecoveryCode('oooo-iiii-llll-0000')).toBe('0000111111110000');
  });
});

describe('TOTP', () => {
  const secret = newTotpSecret();
  const t0 = Date.parse('2026-11-25T10:00:00.000Z');

  it('accepts the current code and one step of drift either side, not two', () => {
    const code = totpCode(secret, t0);
    expect(checkTotp(secret, code, t0, null).valid).toBe(true);
    expect(checkTotp(secret, totpCode(secret, t0 - 30_000), t0, null).valid).toBe(true);
    expect(checkTotp(secret, totpCode(secret, t0 + 30_000), t0, null).valid).toBe(true);
    expect(checkTotp(secret, totpCode(secret, t0 - 90_000), t0, null).valid).toBe(false);
    expect(checkTotp(secret, totpCode(secret, t0 + 90_000), t0, null).valid).toBe(false);
  });

  it('refuses a code at or before the last accepted step (replay)', () => {
    const code = totpCode(secret, t0);
    const first = checkTotp(secret, code, t0, null);
    expect(first.valid).toBe(true);
    const step = first.valid ? first.step : -1;
    expect(step).toBe(Math.floor(t0 / 30_000));
    expect(checkTotp(secret, code, t0, step).valid).toBe(false);
    expect(checkTotp(secret, totpCode(secret, t0 + 30_000), t0 + 30_000, step).valid).toBe(true);
  });

  it('refuses malformed codes and another secret', () => {
    expect(checkTotp(secret, '12345', t0, null).valid).toBe(false);
    expect(checkTotp(secret, 'abcdef', t0, null).valid).toBe(false);
    expect(checkTotp(newTotpSecret(), totpCode(secret, t0), t0, null).valid).toBe(false);
  });

  it('builds an otpauth URI with issuer and label', () => {
    expect(totpUri(secret, 'alice', 'Lexecon')).toBe(`otpauth://totp/Lexecon:alice?secret=${secret}&issuer=Lexecon`);
  });
});
