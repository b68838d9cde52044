/**
 * Capability tokens, the pure core (DESIGN §5): encoding, parsing and the offline verifier.
 *
 * ```
 * cap_<base64url(JCS(claims))>_<base64url(Ed25519 signature, 64 bytes = 86 chars)>
 * ```
 *
 * The signature covers the ASCII bytes of everything before the final `_` (`cap_` + payload part). The
 * payload part may itself contain `_` (base64url), so a token is split at its **last 86 characters**.
 *
 * Parsing is strict, so that one set of claims has exactly one token string: base64url without padding
 * and with zero spare bits, UTF-8 that decodes without errors, a payload that is exactly the RFC 8785
 * canonical form of the claims (no whitespace, sorted keys, no duplicates), no unknown claims, `v` 1,
 * `iss` `lexecon`, `exp > iat`. Anything longer than {@link MAX_TOKEN_LENGTH} is refused before any work.
 *
 * Validity window: valid while `iat - 60 s ≤ now < exp` (a token is expired at `now == exp`; an `iat`
 * more than {@link TOKEN_CLOCK_SKEW_S} seconds ahead of the verifier's clock is `not_yet_valid`).
 *
 * {@link verifyTokenOffline} needs nothing but the public key: agents and tools use it directly (also as
 * `lexecon verify-token`). The server's `POST /decide/verify` does the same and additionally checks
 * revocation; it can compose {@link parseToken}, {@link verifyTokenSignature} and {@link checkTokenClaims}.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalize, canonicalString } from '../../platform/crypto/canonical-json.js';
import { computeKid, KID_PATTERN } from '../../platform/crypto/keys.js';
import { idPattern } from '../../platform/ids.js';

export const TOKEN_PREFIX = 'cap_';
export const TOKEN_SIGNATURE_BYTES = 64;
/** base64url of 64 bytes, unpadded. */
export const TOKEN_SIGNATURE_CHARS = 86;
/** Longest token accepted (characters); checked before anything else. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** How far `iat` may lie ahead of the verifier's clock. */
export const TOKEN_CLOCK_SKEW_S = 60;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const unixSeconds = z.int().min(0);

export const TokenClaimsSchema = z
  .strictObject({
    v: z.literal(1),
    jti: z.string().regex(idPattern('tok')),
    kid: z.string().regex(KID_PATTERN),
    iss: z.literal('lexecon'),
    sub: z.string().min(1).max(255),
    act: z.string().min(1).max(512),
    tool: z.string().max(255),
    res: z.string().max(2048).optional(),
    cnd: z.array(z.string().max(1024)).max(256).optional(),
    dec: z.string().regex(idPattern('dec')),
    led: z.string().regex(/^[0-9a-f]{64}$/),
    iat: unixSeconds,
    exp: unixSeconds,
  })
  .refine((c) => c.exp > c.iat, { message: 'exp must be after iat', path: ['exp'] });

/** The claims of a capability token; `iat`/`exp` in Unix seconds. */
export interface TokenClaims {
  v: 1;
  jti: string;
  kid: string;
  iss: 'lexecon';
  /** The actor the decision was made for. */
  sub: string;
  /** The action approved. */
  act: string;
  tool: string;
  res?: string;
  /** Conditions (obligations) of a conditional approval. */
  cnd?: string[];
  /** The decision id. */
  dec: string;
  /** The entry_hash of the decision's ledger entry. */
  led: string;
  iat: number;
  exp: number;
}

export interface ParsedToken {
  /** `cap_` + payload part: the exact string whose ASCII bytes are signed. */
  signingInput: string;
  payload: TokenClaims;
  signature: Buffer;
}

export type TokenVerifyReason =
  | 'ok'
  | 'malformed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'action_mismatch'
  | 'tool_mismatch';

export const TOKEN_VERIFY_REASONS: readonly TokenVerifyReason[] = [
  'ok',
  'malformed',
  'unknown_kid',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'action_mismatch',
  'tool_mismatch',
];

export interface TokenVerifyResult {
  valid: boolean;
  reason: TokenVerifyReason;
  /** Present once the signature checked out (also for expired / mismatched tokens), never otherwise. */
  claims?: TokenClaims;
  /** What exactly is malformed (for `malformed` only). */
  detail?: string;
}

export interface TokenCheckOptions {
  /** The verifier's time in Unix seconds (default: now). */
  nowS?: number;
  /** When given, the token must be for exactly this action. */
  action?: string;
  /** When given, the token must be for exactly this tool. */
  tool?: string;
}

/** A token key: one Ed25519 public key (KeyObject or PEM), or a lookup by kid (several keys, rotation). */
export type TokenKeySource = KeyObject | string | ((kid: string) => KeyObject | undefined);

/**
 * Encode and sign a token. `claims` are validated (the same rules {@link parseToken} applies, checked in
 * plain code first: see {@link plainlyValid}) and
 * serialized as given with RFC 8785 (optional claims left `undefined` are omitted). `sign` must return
 * a 64-byte Ed25519 signature of its input, made by the key named in `claims.kid`.
 * Throws TypeError for invalid claims, a wrong signature size or a token over {@link MAX_TOKEN_LENGTH}.
 */
export function encodeToken(claims: TokenClaims, sign: (bytes: Buffer) => Buffer): string {
  // The claims a server mints pass the plain check; zod is the authority (and names the problem) otherwise.
  const plain = plainlyValid(claims);
  if (!plain) {
    const checked = TokenClaimsSchema.safeParse(claims);
    if (!checked.success) throw new TypeError(`invalid token claims: ${issueText(checked.error)}`);
  }
  const json = plain ? claimsJcs(claims) : canonicalize(claims);
  const signingInput = TOKEN_PREFIX + Buffer.from(json, 'utf8').toString('base64url');
  const signature = sign(Buffer.from(signingInput, 'ascii'));
  if (signature.length !== TOKEN_SIGNATURE_BYTES) {
    throw new TypeError(`a token signature has ${TOKEN_SIGNATURE_BYTES} bytes (Ed25519), got ${signature.length}`);
  }
  const token = `${signingInput}_${signature.toString('base64url')}`;
  if (token.length > MAX_TOKEN_LENGTH) throw new TypeError(`token longer than ${MAX_TOKEN_LENGTH} characters`);
  return token;
}

const CLAIM_NAMES = new Set(['v', 'jti', 'kid', 'iss', 'sub', 'act', 'tool', 'res', 'cnd', 'dec', 'led', 'iat', 'exp']);
const JTI_PATTERN = idPattern('tok');
const DEC_PATTERN = idPattern('dec');
const HASH_PATTERN = /^[0-9a-f]{64}$/;

const isString = (x: unknown, min: number, max: number): x is string =>
  typeof x === 'string' && x.length >= min && x.length <= max;
const isUnixSeconds = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * {@link TokenClaimsSchema}'s rules in plain code (mint is on every approved decision; the zod parse cost
 * more than the signature's JCS): true only for claims the schema accepts (a test holds the two to
 * agreement), false for anything else, which {@link encodeToken} then gives to the schema.
 */
export function plainlyValid(c: TokenClaims): boolean {
  for (const name of Object.keys(c)) if (!CLAIM_NAMES.has(name)) return false;
  if (c.v !== 1 || c.iss !== 'lexecon') return false;
  if (typeof c.jti !== 'string' || !JTI_PATTERN.test(c.jti)) return false;
  if (typeof c.kid !== 'string' || !KID_PATTERN.test(c.kid)) return false;
  if (typeof c.dec !== 'string' || !DEC_PATTERN.test(c.dec)) return false;
  if (typeof c.led !== 'string' || !HASH_PATTERN.test(c.led)) return false;
  if (!isString(c.sub, 1, 255) || !isString(c.act, 1, 512) || !isString(c.tool, 0, 255)) return false;
  if (c.res !== undefined && !isString(c.res, 0, 2048)) return false;
  if (c.cnd !== undefined) {
    if (!Array.isArray(c.cnd) || c.cnd.length > 256) return false;
    for (const x of c.cnd as unknown[]) if (!isString(x, 0, 1024)) return false;
  }
  return isUnixSeconds(c.iat) && isUnixSeconds(c.exp) && c.exp > c.iat;
}

/**
 * The RFC 8785 text of claims that {@link plainlyValid} accepts, written in the claims' sorted order
 * (act cnd dec exp iat iss jti kid led res sub tool v) without the generic walk; equal to
 * `canonicalize(claims)` (a test holds them to it). jti, kid, dec and led match ASCII patterns and need
 * no escaping; the other strings are escaped as canonicalize does (a lone surrogate throws).
 */
export function claimsJcs(c: TokenClaims): string {
  let out = '{"act":' + canonicalString(c.act, '$.act');
  if (c.cnd !== undefined) {
    out += ',"cnd":[';
    for (let i = 0; i < c.cnd.length; i++) out += (i === 0 ? '' : ',') + canonicalString(c.cnd[i]!, `$.cnd[${i}]`);
    out += ']';
  }
  out += `,"dec":"${c.dec}","exp":${c.exp},"iat":${c.iat},"iss":"lexecon","jti":"${c.jti}","kid":"${c.kid}","led":"${c.led}"`;
  if (c.res !== undefined) out += ',"res":' + canonicalString(c.res, '$.res');
  return out + ',"sub":' + canonicalString(c.sub, '$.sub') + ',"tool":' + canonicalString(c.tool, '$.tool') + ',"v":1}';
}

/** Split and decode a token without checking its signature. Never throws. */
export function parseToken(token: unknown): ParsedToken | { error: string } {
  if (typeof token !== 'string') return { error: 'not a string' };
  if (token.length > MAX_TOKEN_LENGTH) return { error: `longer than ${MAX_TOKEN_LENGTH} characters` };
  if (!token.startsWith(TOKEN_PREFIX)) return { error: `does not start with ${TOKEN_PREFIX}` };
  const sep = token.length - TOKEN_SIGNATURE_CHARS - 1;
  if (sep < TOKEN_PREFIX.length + 1) return { error: 'too short' };
  if (token[sep] !== '_') return { error: `no _ before the last ${TOKEN_SIGNATURE_CHARS} characters` };
  const payloadPart = token.slice(TOKEN_PREFIX.length, sep);
  const signaturePart = token.slice(sep + 1);
  if (!BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return { error: 'not base64url' };
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== TOKEN_SIGNATURE_BYTES || signature.toString('base64url') !== signaturePart) {
    return { error: 'signature is not canonical base64url of 64 bytes' };
  }
  const bytes = Buffer.from(payloadPart, 'base64url');
  if (bytes.toString('base64url') !== payloadPart) return { error: 'payload is not canonical base64url' };
  let json: string;
  try {
    json = UTF8.decode(bytes);
  } catch {
    return { error: 'payload is not UTF-8' };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { error: 'payload is not JSON' };
  }
  const parsed = TokenClaimsSchema.safeParse(raw);
  if (!parsed.success) return { error: `invalid claims: ${issueText(parsed.error)}` };
  let canonical: string;
  try {
    canonical = canonicalize(raw);
  } catch {
    return { error: 'payload is not canonical JSON (RFC 8785)' };
  }
  if (canonical !== json) return { error: 'payload is not canonical JSON (RFC 8785)' };
  return { signingInput: token.slice(0, sep), payload: parsed.data as TokenClaims, signature };
}

/** Whether the token's Ed25519 signature verifies with `publicKey`. */
export function verifyTokenSignature(parsed: ParsedToken, publicKey: KeyObject): boolean {
  try {
    return cryptoVerify(null, Buffer.from(parsed.signingInput, 'ascii'), publicKey, parsed.signature);
  } catch {
    return false;
  }
}

/** The time and match checks on authentic claims: `ok` or the first failing reason. */
export function checkTokenClaims(claims: TokenClaims, opts: TokenCheckOptions = {}): TokenVerifyReason {
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (claims.iat > now + TOKEN_CLOCK_SKEW_S) return 'not_yet_valid';
  if (now >= claims.exp) return 'expired';
  if (opts.action !== undefined && opts.action !== claims.act) return 'action_mismatch';
  if (opts.tool !== undefined && opts.tool !== claims.tool) return 'tool_mismatch';
  return 'ok';
}

/**
 * Verify a token offline: format, key id, Ed25519 signature, validity window, and (when given) the
 * action and tool presented. Needs nothing but the public key(s). Reasons are checked in this order:
 * malformed, unknown_kid, bad_signature, not_yet_valid, expired, action_mismatch, tool_mismatch.
 *
 * With a single key (KeyObject or PEM), a token whose `kid` is not that key's kid is `unknown_kid`.
 * Throws TypeError when a single key given is not an Ed25519 key (a PEM that does not parse throws too);
 * a lookup function returning a non-Ed25519 key counts as `unknown_kid`.
 */
export function verifyTokenOffline(token: unknown, publicKey: TokenKeySource, opts: TokenCheckOptions = {}): TokenVerifyResult {
  const parsed = parseToken(token);
  if ('error' in parsed) return { valid: false, reason: 'malformed', detail: parsed.error };
  const key = resolveKey(publicKey, parsed.payload.kid);
  if (!key) return { valid: false, reason: 'unknown_kid' };
  if (!verifyTokenSignature(parsed, key)) return { valid: false, reason: 'bad_signature' };
  const reason = checkTokenClaims(parsed.payload, opts);
  return { valid: reason === 'ok', reason, claims: parsed.payload };
}

// --- keys -------------------------------------------------------------------------------------------------

interface SingleKey {
  key: KeyObject;
  kid: string;
}

const byObject = new WeakMap<KeyObject, SingleKey>();
const byPem = new Map<string, SingleKey>();
const PEM_CACHE_SIZE = 32;

function singleKey(key: KeyObject): SingleKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public' || pub.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`a token key is an Ed25519 public key, not ${pub.asymmetricKeyType ?? pub.type}`);
  }
  return { key: pub, kid: computeKid(pub) };
}

function resolveKey(source: TokenKeySource, kid: string): KeyObject | undefined {
  if (typeof source === 'function') {
    const key = source(kid);
    return key !== undefined && key.asymmetricKeyType === 'ed25519' ? key : undefined;
  }
  let single: SingleKey | undefined;
  if (typeof source === 'string') {
    single = byPem.get(source);
    if (!single) {
      single = singleKey(createPublicKey(source));
      if (byPem.size >= PEM_CACHE_SIZE) byPem.clear();
      byPem.set(source, single);
    }
  } else {
    single = byObject.get(source);
    if (!single) {
      single = singleKey(source);
      byObject.set(source, single);
    }
  }
  return single.kid === kid ? single.key : undefined;
}

function issueText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '$'}: ${i.message}`).join('; ');
}
