import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { computeKid } from '../../platform/crypto/keys.js';
import {
  checkTokenClaims,
  claimsJcs,
  encodeToken,
  MAX_TOKEN_LENGTH,
  parseToken,
  plainlyValid,
  TOKEN_CLOCK_SKEW_S,
  TokenClaimsSchema,
  verifyTokenOffline,
  type ParsedToken,
  type TokenClaims,
} from './token.js';

function keyPair(): { publicKey: KeyObject; privateKey: KeyObject; kid: string; pem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey, privateKey, kid: computeKid(publicKey), pem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

const key = keyPair();
const other = keyPair();
const NOW = 1_795_000_000;

function claims(overrides: Partial<TokenClaims> = {}): TokenClaims {
  return {
    v: 1,
    jti: 'tok_01JH0000000000000000000000',
    kid: key.kid,
    iss: 'lexecon',
    sub: 'ai_agent:assistant',
    act: 'read:customer_profile',
    tool: 'crm',
    dec: 'dec_01JH0000000000000000000001',
    led: 'a'.repeat(64),
    iat: NOW,
    exp: NOW + 300,
    ...overrides,
  };
}

const signWith = (k: KeyObject) => (bytes: Buffer) => cryptoSign(null, bytes, k);
const mint = (c: TokenClaims = claims(), k: KeyObject = key.privateKey) => encodeToken(c, signWith(k));
const parsed = (token: string) => parseToken(token) as ParsedToken;

/** Re-encode a token with edited payload JSON text but the original signature. */
function withPayloadText(token: string, json: string): string {
  return `cap_${Buffer.from(json, 'utf8').toString('base64url')}_${token.slice(-86)}`;
}

/** Re-sign arbitrary payload JSON text (a key holder producing odd tokens). */
function signedPayloadText(json: string, k: KeyObject = key.privateKey): string {
  const input = `cap_${Buffer.from(json, 'utf8').toString('base64url')}`;
  return `${input}_${cryptoSign(null, Buffer.from(input), k).toString('base64url')}`;
}

describe('encodeToken / parseToken', () => {
  it('round-trips, with the exact layout cap_<base64url(JCS(claims))>_<86-char signature>', () => {
    const c = claims({ res: 'customer/42', cnd: ['redact:pii', 'max_rows:100'] });
    const token = mint(c);
    const payloadPart = Buffer.from(canonicalize(c), 'utf8').toString('base64url');
    expect(token.startsWith(`cap_${payloadPart}_`)).toBe(true);
    expect(token).toHaveLength(4 + payloadPart.length + 1 + 86);
    expect(token).not.toContain('=');
    const p = parsed(token);
    expect(p.payload).toEqual(c);
    expect(p.signingInput).toBe(`cap_${payloadPart}`);
    expect(p.signature).toHaveLength(64);
    expect(p.signature.toString('base64url')).toBe(token.slice(-86));
    // The signature is Ed25519 over the ASCII bytes of everything before the final `_`.
    expect(cryptoSign(null, Buffer.from(`cap_${payloadPart}`, 'ascii'), key.privateKey).equals(p.signature)).toBe(true);
  });

  it('the payload is JCS: sorted keys, no whitespace, optional claims omitted, and re-encodes identically', () => {
    const token = mint(claims({ res: undefined, cnd: undefined }));
    const json = Buffer.from(parsed(token).signingInput.slice(4), 'base64url').toString('utf8');
    expect(json).toBe(canonicalize(JSON.parse(json)));
    expect(json).not.toContain('res');
    expect(json).not.toContain('cnd');
    expect(Object.keys(JSON.parse(json))).toEqual(['act', 'dec', 'exp', 'iat', 'iss', 'jti', 'kid', 'led', 'sub', 'tool', 'v']);
    expect(json).toBe(
      `{"act":"read:customer_profile","dec":"dec_01JH0000000000000000000001","exp":${NOW + 300},"iat":${NOW},"iss":"lexecon","jti":"tok_01JH0000000000000000000000","kid":"${key.kid}","led":"${'a'.repeat(64)}","sub":"ai_agent:assistant","tool":"crm","v":1}`,
    );
    // Same claims in another key order → the same token (Ed25519 is deterministic).
    const reordered = Object.fromEntries(Object.entries(claims()).reverse()) as unknown as TokenClaims;
    expect(mint(reordered)).toBe(token);
  });

  it('splits at the last 86 characters even when the payload part and the signature contain `_`', () => {
    // Find claims whose payload base64url contains `_` and a signature that does too.
    let found: string | undefined;
    for (let i = 0; i < 2000 && !found; i++) {
      const t = mint(claims({ sub: `agent${'?'.repeat(i % 7)}>${i}` }));
      const payloadPart = t.slice(4, -87);
      if (payloadPart.includes('_') && t.slice(-86).includes('_')) found = t;
    }
    expect(found).toBeDefined();
    const p = parsed(found!);
    expect(p.signingInput).toBe(found!.slice(0, -87));
    expect(verifyTokenOffline(found, key.publicKey, { nowS: NOW }).reason).toBe('ok');
  });

  it('carries conditions in cnd', () => {
    const token = mint(claims({ cnd: ['redact:pii', 'max_rows:100'] }));
    const r = verifyTokenOffline(token, key.publicKey, { nowS: NOW });
    expect(r).toEqual({ valid: true, reason: 'ok', claims: expect.objectContaining({ cnd: ['redact:pii', 'max_rows:100'] }) });
  });

  it('refuses to mint claims with a lone surrogate, as canonicalize does', () => {
    expect(() => mint(claims({ sub: 'ai_agent:\uD800' }))).toThrow(/lone surrogate in string at \$\.sub/);
    expect(() => mint(claims({ cnd: ['ok', '\uDC00'] }))).toThrow(/lone surrogate in string at \$\.cnd\[1\]/);
    expect(() => canonicalize(claims({ cnd: ['ok', '\uDC00'] }))).toThrow(/lone surrogate in string at \$\.cnd\[1\]/);
  });

  it('refuses to mint invalid claims or a non-Ed25519-sized signature', () => {
    expect(() => mint(claims({ jti: 'nope' }))).toThrow(/invalid token claims: jti/);
    expect(() => mint(claims({ exp: NOW }))).toThrow(/exp must be after iat/);
    expect(() => mint({ ...claims(), extra: 1 } as TokenClaims)).toThrow(/invalid token claims/);
    expect(() => encodeToken(claims(), () => Buffer.alloc(63))).toThrow(/64 bytes/);
  });

  it('checks claims in plain code exactly as the schema does (the plain check never accepts what zod refuses)', () => {
    const variants: Array<Record<string, unknown>> = [
      {},
      { cnd: ['redact:pii'] },
      { cnd: [] },
      { res: 'db://x' },
      { res: undefined, cnd: undefined },
      { res: '' },
      { tool: '' },
      { sub: '' },
      { sub: 'x'.repeat(255) },
      { sub: 'x'.repeat(256) },
      { act: 'x'.repeat(512) },
      { act: 'x'.repeat(513) },
      { tool: 'x'.repeat(256) },
      { res: 'x'.repeat(2048) },
      { res: 'x'.repeat(2049) },
      { res: 7 },
      { cnd: Array.from({ length: 256 }, () => 'c') },
      { cnd: Array.from({ length: 257 }, () => 'c') },
      { cnd: ['x'.repeat(1024)] },
      { cnd: ['x'.repeat(1025)] },
      { cnd: [1] },
      { cnd: 'redact:pii' },
      { v: 2 },
      { v: '1' },
      { iss: 'acme' },
      { jti: 'nope' },
      { jti: 'dec_01JH0000000000000000000000' },
      { dec: 'tok_01JH0000000000000000000001' },
      { kid: 'ABCDEF0123456789' },
      { kid: 'abc' },
      { led: 'A'.repeat(64) },
      { led: 'a'.repeat(63) },
      { iat: -1 },
      { iat: NOW + 0.5 },
      { exp: NOW },
      { exp: NOW - 1 },
      { exp: Number.MAX_SAFE_INTEGER + 1 },
      { iat: '1' },
      { extra: 1 },
      { led: undefined },
      { sub: undefined },
    ];
    for (const v of variants) {
      const c = { ...claims(), ...v } as TokenClaims;
      const schema = TokenClaimsSchema.safeParse(c).success;
      expect({ v, plain: plainlyValid(c) }).toEqual({ v, plain: schema });
      if (schema) expect(claimsJcs(c)).toBe(canonicalize(c));
    }
  });

  it('mints tokens that parse and verify to the claims given (the server\'s claims, checked in plain code)', () => {
    const odd = { sub: 'ai_agent:é東😀"\\\n', act: 'a\u2028b', tool: 't\u0000', res: 'r"\t', cnd: ['', 'x"y', '\u007f😀'] };
    for (const extra of [{}, { res: 'db://customers/1' }, { cnd: ['redact:pii', 'max_rows:100'] }, { sub: 'ai_agent:é東😀' }, odd]) {
      const c = claims(extra);
      expect(plainlyValid(c)).toBe(true);
      expect(claimsJcs(c)).toBe(canonicalize(c));
      const token = mint(c);
      expect(parsed(token).payload).toEqual(c);
      expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW })).toEqual({ valid: true, reason: 'ok', claims: c });
    }
  });

  it.each<[string, (t: string) => unknown, RegExp]>([
    ['a number', () => 42, /not a string/],
    ['the wrong prefix', (t) => `cab_${t.slice(4)}`, /does not start with cap_/],
    ['a too short string', () => `cap_${'A'.repeat(86)}`, /too short/],
    ['no separator before the signature', (t) => `${t.slice(0, -87)}x${t.slice(-86)}`, /no _ before/],
    ['a non-base64url payload', (t) => `cap_${'*'}${t.slice(5)}`, /not base64url/],
    ['padding', (t) => `${t.slice(0, -87)}=_${t.slice(-86)}`, /not base64url/],
    ['a signature with spare bits set', (t) => `${t.slice(0, -1)}${t.endsWith('B') ? 'C' : 'B'}`, /signature is not canonical/],
    ['a non-JSON payload', (t) => withPayloadText(t, 'not json'), /not JSON/],
    ['invalid UTF-8', (t) => `cap_${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}_${t.slice(-86)}`, /not UTF-8/],
    ['v 2', (t) => withPayloadText(t, canonicalize({ ...claims(), v: 2 })), /v:/],
    ['another issuer', (t) => withPayloadText(t, canonicalize({ ...claims(), iss: 'acme' })), /iss:/],
    ['an unknown claim', (t) => withPayloadText(t, canonicalize({ ...claims(), admin: true })), /invalid claims/],
    ['a missing claim', (t) => withPayloadText(t, canonicalize({ ...claims(), led: undefined })), /led:/],
    ['cnd not a string list', (t) => withPayloadText(t, canonicalize({ ...claims(), cnd: [1] })), /cnd/],
    ['a fractional iat', (t) => withPayloadText(t, canonicalize({ ...claims(), iat: NOW + 0.5 })), /iat/],
    ['non-canonical JSON (whitespace)', (t) => withPayloadText(t, JSON.stringify(claims(), null, 1)), /not canonical JSON/],
    ['non-canonical JSON (key order)', (t) => withPayloadText(t, JSON.stringify(claims())), /not canonical JSON/],
  ])('parseToken rejects %s', (_name, make, detail) => {
    const bad = make(mint());
    const p = parseToken(bad);
    expect(p).toEqual({ error: expect.stringMatching(detail) });
    expect(verifyTokenOffline(bad, key.publicKey, { nowS: NOW })).toEqual({ valid: false, reason: 'malformed', detail: expect.stringMatching(detail) });
  });

  it('rejects non-canonical JSON even when properly signed by the key holder', () => {
    const token = signedPayloadText(JSON.stringify(claims(), null, 2));
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW }).reason).toBe('malformed');
    // Duplicate keys: JSON.parse keeps the last; canonical form differs from the bytes, so refused.
    const json = canonicalize(claims()).replace('"act":', '"act":"delete:everything","act":');
    expect(verifyTokenOffline(signedPayloadText(json), key.publicKey, { nowS: NOW }).reason).toBe('malformed');
  });

  it('rejects absurdly long input fast, before decoding', () => {
    const huge = `cap_${'A'.repeat(10 * 1024 * 1024)}_${'A'.repeat(86)}`;
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) expect(parseToken(huge)).toEqual({ error: `longer than ${MAX_TOKEN_LENGTH} characters` });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
    expect(verifyTokenOffline(huge, key.publicKey).reason).toBe('malformed');
    expect(() => mint(claims({ cnd: Array.from({ length: 200 }, (_, i) => `c${i}:${'x'.repeat(100)}`) }))).toThrow(/longer than/);
  });
});

describe('verifyTokenOffline', () => {
  const token = mint();

  it('accepts a valid token with a KeyObject, a PEM, a private KeyObject or a lookup by kid', () => {
    const ok = { valid: true, reason: 'ok', claims: claims() };
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW })).toEqual(ok);
    expect(verifyTokenOffline(token, key.pem, { nowS: NOW })).toEqual(ok);
    expect(verifyTokenOffline(token, key.privateKey, { nowS: NOW })).toEqual(ok);
    expect(verifyTokenOffline(token, (kid) => (kid === key.kid ? key.publicKey : undefined), { nowS: NOW })).toEqual(ok);
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW, action: 'read:customer_profile', tool: 'crm' })).toEqual(ok);
    // Default clock is now: a token minted now is valid.
    const nowS = Math.floor(Date.now() / 1000);
    expect(verifyTokenOffline(mint(claims({ iat: nowS, exp: nowS + 300 })), key.publicKey).valid).toBe(true);
  });

  it('bad_signature: a tampered payload byte, a tampered signature, a token forged with our kid by another key', () => {
    const tamperedPayload = withPayloadText(token, canonicalize(claims({ act: 'delete:customer_profile' })));
    expect(verifyTokenOffline(tamperedPayload, key.publicKey, { nowS: NOW })).toEqual({ valid: false, reason: 'bad_signature' });
    // Flip one decoded payload byte inside a string value (keeps JSON and claims valid).
    const p = parsed(token);
    const bytes = Buffer.from(p.signingInput.slice(4), 'base64url');
    const at = bytes.indexOf('assistant');
    bytes[at] = 'A'.charCodeAt(0);
    const flipped = `cap_${bytes.toString('base64url')}_${token.slice(-86)}`;
    expect(verifyTokenOffline(flipped, key.publicKey, { nowS: NOW }).reason).toBe('bad_signature');
    const sig = Buffer.from(p.signature);
    sig[10]! ^= 0x20;
    const tamperedSig = `${p.signingInput}_${sig.toString('base64url')}`;
    expect(verifyTokenOffline(tamperedSig, key.publicKey, { nowS: NOW }).reason).toBe('bad_signature');
    const forged = mint(claims(), other.privateKey); // claims say kid = our key
    expect(verifyTokenOffline(forged, key.publicKey, { nowS: NOW })).toEqual({ valid: false, reason: 'bad_signature' });
  });

  it('unknown_kid: a token of another key, a lookup that does not know the kid, a kid changed in the payload', () => {
    const theirs = mint(claims({ kid: other.kid }), other.privateKey);
    expect(verifyTokenOffline(theirs, key.publicKey, { nowS: NOW })).toEqual({ valid: false, reason: 'unknown_kid' });
    expect(verifyTokenOffline(theirs, key.pem, { nowS: NOW }).reason).toBe('unknown_kid');
    expect(verifyTokenOffline(token, () => undefined, { nowS: NOW }).reason).toBe('unknown_kid');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(verifyTokenOffline(token, () => rsa, { nowS: NOW }).reason).toBe('unknown_kid');
    const wrongKid = withPayloadText(token, canonicalize(claims({ kid: '0123456789abcdef' })));
    expect(verifyTokenOffline(wrongKid, key.publicKey, { nowS: NOW }).reason).toBe('unknown_kid');
    // With both keys known by kid, each verifies its own.
    const both = new Map([
      [key.kid, key.publicKey],
      [other.kid, other.publicKey],
    ]);
    expect(verifyTokenOffline(theirs, (kid) => both.get(kid), { nowS: NOW }).reason).toBe('ok');
  });

  it('a single key that is not Ed25519 is a programming error', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verifyTokenOffline(token, rsa, { nowS: NOW })).toThrow(TypeError);
    expect(() => verifyTokenOffline(token, 'not a pem', { nowS: NOW })).toThrow();
  });

  it('expiry: valid while now < exp; expired at exp; claims still reported once authentic', () => {
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW + 299 }).reason).toBe('ok');
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW + 300 })).toEqual({ valid: false, reason: 'expired', claims: claims() });
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW + 10_000 }).reason).toBe('expired');
  });

  it(`not_yet_valid: iat more than ${TOKEN_CLOCK_SKEW_S} s ahead of the verifier`, () => {
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW - 60 }).reason).toBe('ok');
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW - 61 })).toEqual({ valid: false, reason: 'not_yet_valid', claims: claims() });
  });

  it('action_mismatch and tool_mismatch: exact comparison with what is presented', () => {
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW, action: 'read:customer_profiles' }).reason).toBe('action_mismatch');
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW, action: 'READ:customer_profile' }).reason).toBe('action_mismatch');
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW, tool: 'crm2' })).toEqual({ valid: false, reason: 'tool_mismatch', claims: claims() });
    // Order: an expired token presented for another action is reported expired.
    expect(verifyTokenOffline(token, key.publicKey, { nowS: NOW + 300, action: 'x' }).reason).toBe('expired');
  });

  it('checkTokenClaims composes with parse + signature for the server (revocation in between)', () => {
    expect(checkTokenClaims(claims(), { nowS: NOW })).toBe('ok');
    expect(checkTokenClaims(claims(), { nowS: NOW + 300 })).toBe('expired');
  });
});
