/**
 * `lexecon/verify`: verify a Lexecon capability token OFFLINE, with nothing but `node:crypto` and the
 * server's public key(s) (DESIGN §5). A tool imports this module alone: it pulls in no other Lexecon code
 * and no dependency.
 *
 * ```
 * cap_<base64url(JCS(claims))>_<base64url(Ed25519 signature, 64 bytes = 86 chars)>
 * ```
 *
 * The verdicts are the server's (`verifyTokenOffline`, and `POST /decide/verify` where they overlap):
 * parsing is strict so that one set of claims has exactly one token string (base64url without padding or
 * spare bits, UTF-8 without errors, the payload exactly the RFC 8785 form of the claims, no unknown claim,
 * the server's claim patterns and lengths), and the reasons come in the server's order: `malformed`,
 * `unknown_kid`, `bad_signature`, `not_yet_valid`, `expired`, `action_mismatch`, `tool_mismatch`.
 *
 * Offline verification cannot see REVOCATION (a revoked token, or one issued before an emergency stop,
 * verifies here until it expires): a tool that must honour revocation at once also asks
 * `POST /decide/verify` (`LexeconClient.verifyToken` in `lexecon/client`).
 *
 * This module imports only `node:crypto` and ./http.js (no import at all): a test holds it to that.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readCapped } from './http.js';

// ---------------------------------------------------------------- types

/** The claims of a capability token (DESIGN §5); `iat`/`exp` in Unix seconds. */
export interface CapabilityClaims {
  v: 1;
  /** The token id (`tok_…`). */
  jti: string;
  /** The signing key's id. */
  kid: string;
  iss: 'lexecon';
  /** The actor the decision was made for. */
  sub: string;
  /** The action approved. */
  act: string;
  tool: string;
  res?: string;
  /** Conditions (obligations) of a conditional approval, e.g. `redact:pii`, `max_rows:50`. */
  cnd?: string[];
  /** The decision id (`dec_…`). */
  dec: string;
  /** The entry_hash of the decision's ledger entry. */
  led: string;
  iat: number;
  exp: number;
}

/** Why a token is refused offline (the same names `POST /decide/verify` answers). */
export type TokenFailureReason =
  | 'malformed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'action_mismatch'
  | 'tool_mismatch';

export const TOKEN_FAILURE_REASONS: readonly TokenFailureReason[] = [
  'malformed',
  'unknown_kid',
  'bad_signature',
  'not_yet_valid',
  'expired',
  'action_mismatch',
  'tool_mismatch',
];

/**
 * The verdict. `claims` are present on a refusal only once the signature checked out (expired, not yet
 * valid, or for another action or tool): never for a forged or malformed token. `detail` says what exactly
 * is malformed.
 */
export type TokenVerdict =
  | { valid: true; claims: CapabilityClaims }
  | { valid: false; reason: TokenFailureReason; claims?: CapabilityClaims; detail?: string };

/** One key as `GET /api/governance/keys` serves it (`alg`, `status`… optional here). */
export interface PublicKeyRecord {
  kid: string;
  alg?: string;
  public_key_pem?: string;
  /** Instead of `public_key_pem`: the key itself. */
  key?: KeyObject;
  status?: string;
  created_at?: string;
  retired_at?: string;
}

/** A trusted public key: a KeyObject, a PEM string, or a record as the keys endpoint serves one. */
export type PublicKeyInput = KeyObject | string | PublicKeyRecord;

export interface VerifyOptions {
  /** The trusted keys: a map kid → key (e.g. from {@link publicKeysFrom}), or a list of keys. */
  publicKeys: ReadonlyMap<string, KeyObject> | readonly PublicKeyInput[];
  /** The action the tool is about to perform: the token must be for exactly this one (`act`). */
  action: string;
  /** The tool: the token must be for exactly this one (`tool`). */
  tool: string;
  /** The verifier's time: a Date or milliseconds since the epoch (default: now). */
  now?: Date | number;
  /** How far `iat` may lie ahead of the verifier's clock, in seconds (default 60, the server's). */
  clockSkewS?: number;
}

// ---------------------------------------------------------------- constants

/** Longest token accepted (characters); checked before anything else. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** How far `iat` may lie ahead of the verifier's clock by default (seconds). */
export const DEFAULT_CLOCK_SKEW_S = 60;
const PREFIX = 'cap_';
const SIGNATURE_BYTES = 64;
const SIGNATURE_CHARS = 86;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const KID = /^[0-9a-f]{16}$/;
const HASH = /^[0-9a-f]{64}$/;
const ULID_BODY = '[0-9A-HJKMNP-TV-Z]{26}';
const JTI = new RegExp(`^tok_${ULID_BODY}$`);
const DEC = new RegExp(`^dec_${ULID_BODY}$`);
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CLAIM_NAMES = new Set(['v', 'jti', 'kid', 'iss', 'sub', 'act', 'tool', 'res', 'cnd', 'dec', 'led', 'iat', 'exp']);

// ---------------------------------------------------------------- keys

/** kid = the first 16 hex characters of the SHA-256 of the key's SPKI DER (DESIGN §6). */
export function computeKid(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** The Ed25519 public key of a KeyObject or PEM, or a TypeError naming what it is instead. */
function ed25519Public(input: KeyObject | string): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'string' ? createPublicKey(input) : input.type === 'private' ? createPublicKey(input) : input;
  } catch (err) {
    throw new TypeError(`not a public key: ${(err as Error).message}`);
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`a token key is an Ed25519 public key, not ${key.asymmetricKeyType ?? key.type}`);
  }
  return key;
}

/** Most keys a keys answer may list (more is refused: the list is served by one server, a handful long). */
const MAX_KEYS = 1000;
const MAX_PEM_LENGTH = 16 * 1024;

/**
 * The Ed25519 keys of a `GET /api/governance/keys` answer (its parsed JSON), by kid. Keys of another
 * algorithm (the RSA evidence key) are skipped; so is any entry whose `kid` is not the one computed from
 * its key (a kid is never taken on trust) or whose PEM does not parse. Throws TypeError when the answer
 * is not `{keys: [...]}` at all.
 */
export function publicKeysFrom(keysResponse: unknown): Map<string, KeyObject> {
  const list = isObject(keysResponse) ? keysResponse.keys : undefined;
  if (!Array.isArray(list)) throw new TypeError('a keys answer is {"keys": [...]}');
  if (list.length > MAX_KEYS) throw new TypeError(`a keys answer lists at most ${MAX_KEYS} keys`);
  const out = new Map<string, KeyObject>();
  for (const entry of list as unknown[]) {
    if (!isObject(entry) || entry.alg !== 'Ed25519') continue;
    const { kid, public_key_pem: pem } = entry;
    if (typeof kid !== 'string' || typeof pem !== 'string' || pem.length > MAX_PEM_LENGTH) continue;
    let key: KeyObject;
    try {
      key = ed25519Public(pem);
    } catch {
      continue;
    }
    if (computeKid(key) === kid) out.set(kid, key);
  }
  return out;
}

/** The kid → key map of a caller's key list (a record's kid is checked against its key). */
function keyMapOf(inputs: readonly PublicKeyInput[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const input of inputs) {
    if (typeof input === 'string' || isKeyObject(input)) {
      const key = cachedKey(input);
      out.set(key.kid, key.key);
      continue;
    }
    if (!isObject(input) || typeof input.kid !== 'string') throw new TypeError('a key record has a kid');
    if (input.alg !== undefined && input.alg !== 'Ed25519') continue; // the RSA evidence key signs no token
    const source = input.key ?? input.public_key_pem;
    if (source === undefined) throw new TypeError(`key record ${input.kid} has neither public_key_pem nor key`);
    const key = cachedKey(source);
    if (key.kid !== input.kid) throw new TypeError(`key record ${input.kid}: its key's kid is ${key.kid}`);
    out.set(key.kid, key.key);
  }
  return out;
}

interface KnownKey {
  key: KeyObject;
  kid: string;
}
const byObject = new WeakMap<KeyObject, KnownKey>();
const byPem = new Map<string, KnownKey>();
const PEM_CACHE_SIZE = 32;

function cachedKey(input: KeyObject | string): KnownKey {
  if (typeof input === 'string') {
    let known = byPem.get(input);
    if (!known) {
      const key = ed25519Public(input);
      known = { key, kid: computeKid(key) };
      if (byPem.size >= PEM_CACHE_SIZE) byPem.clear();
      byPem.set(input, known);
    }
    return known;
  }
  let known = byObject.get(input);
  if (!known) {
    const key = ed25519Public(input);
    known = { key, kid: computeKid(key) };
    byObject.set(input, known);
  }
  return known;
}

// ---------------------------------------------------------------- parsing

export interface ParsedCapabilityToken {
  /** `cap_` + payload part: the exact string whose ASCII bytes are signed. */
  signingInput: string;
  claims: CapabilityClaims;
  signature: Buffer;
}

/** Split and decode a token strictly, without checking its signature. Never throws. */
export function parseCapabilityToken(token: unknown): ParsedCapabilityToken | { error: string } {
  if (typeof token !== 'string') return { error: 'not a string' };
  if (token.length > MAX_TOKEN_LENGTH) return { error: `longer than ${MAX_TOKEN_LENGTH} characters` };
  if (!token.startsWith(PREFIX)) return { error: `does not start with ${PREFIX}` };
  const sep = token.length - SIGNATURE_CHARS - 1; // the payload part may contain `_`: split at the last 86 chars
  if (sep < PREFIX.length + 1) return { error: 'too short' };
  if (token[sep] !== '_') return { error: `no _ before the last ${SIGNATURE_CHARS} characters` };
  const payloadPart = token.slice(PREFIX.length, sep);
  const signaturePart = token.slice(sep + 1);
  if (!BASE64URL.test(payloadPart) || !BASE64URL.test(signaturePart)) return { error: 'not base64url' };
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== SIGNATURE_BYTES || signature.toString('base64url') !== signaturePart) {
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
  const problem = claimsProblem(raw);
  if (problem !== undefined) return { error: `invalid claims: ${problem}` };
  const claims = raw as CapabilityClaims;
  const canonical = claimsJcs(claims);
  if (canonical !== json) return { error: 'payload is not canonical JSON (RFC 8785)' };
  return { signingInput: token.slice(0, sep), claims, signature };
}

const isString = (x: unknown, min: number, max: number): x is string => typeof x === 'string' && x.length >= min && x.length <= max;
const isUnixSeconds = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** The server's claim rules (TokenClaimsSchema) in plain code: the first problem, or undefined. */
function claimsProblem(c: unknown): string | undefined {
  if (!isObject(c)) return 'not an object';
  for (const name of Object.keys(c)) if (!CLAIM_NAMES.has(name)) return `unknown claim ${JSON.stringify(name.slice(0, 40))}`;
  if (c.v !== 1) return 'v must be 1';
  if (c.iss !== 'lexecon') return 'iss must be lexecon';
  if (typeof c.jti !== 'string' || !JTI.test(c.jti)) return 'jti';
  if (typeof c.kid !== 'string' || !KID.test(c.kid)) return 'kid';
  if (typeof c.dec !== 'string' || !DEC.test(c.dec)) return 'dec';
  if (typeof c.led !== 'string' || !HASH.test(c.led)) return 'led';
  if (!isString(c.sub, 1, 255)) return 'sub';
  if (!isString(c.act, 1, 512)) return 'act';
  if (!isString(c.tool, 0, 255)) return 'tool';
  if (c.res !== undefined && !isString(c.res, 0, 2048)) return 'res';
  if (c.cnd !== undefined) {
    if (!Array.isArray(c.cnd) || c.cnd.length > 256) return 'cnd';
    for (const x of c.cnd as unknown[]) if (!isString(x, 0, 1024)) return 'cnd';
  }
  if (!isUnixSeconds(c.iat)) return 'iat';
  if (!isUnixSeconds(c.exp)) return 'exp';
  if (c.exp <= c.iat) return 'exp must be after iat';
  return undefined;
}

/** A JSON string literal as RFC 8785 writes it, or undefined for a lone surrogate (not canonical JSON). */
function jcsString(s: string): string | undefined {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed() ? JSON.stringify(s) : undefined;
}

/** The RFC 8785 text of valid claims (keys in sorted order), or '' when a string holds a lone surrogate. */
function claimsJcs(c: CapabilityClaims): string {
  const strings: (string | undefined)[] = [jcsString(c.act), jcsString(c.sub), jcsString(c.tool)];
  if (c.res !== undefined) strings.push(jcsString(c.res));
  const cnd = c.cnd?.map(jcsString);
  if (strings.includes(undefined) || cnd?.includes(undefined)) return '';
  let out = `{"act":${strings[0]}`;
  if (cnd !== undefined) out += `,"cnd":[${cnd.join(',')}]`;
  out += `,"dec":"${c.dec}","exp":${c.exp},"iat":${c.iat},"iss":"lexecon","jti":"${c.jti}","kid":"${c.kid}","led":"${c.led}"`;
  if (c.res !== undefined) out += `,"res":${strings[3]}`;
  return `${out},"sub":${strings[1]},"tool":${strings[2]},"v":1}`;
}

// ---------------------------------------------------------------- verifying

/** Whether the token's Ed25519 signature verifies with `key`. */
function signatureValid(parsed: ParsedCapabilityToken, key: KeyObject): boolean {
  try {
    return cryptoVerify(null, Buffer.from(parsed.signingInput, 'ascii'), key, parsed.signature);
  } catch {
    return false;
  }
}

function nowSeconds(now: Date | number | undefined): number {
  const ms = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  if (!Number.isFinite(ms)) throw new TypeError('now must be a valid Date or a number of milliseconds');
  return Math.floor(ms / 1000);
}

/**
 * Verify a capability token offline: format, key id, Ed25519 signature, validity window
 * (`iat - clockSkewS ≤ now < exp`), exact action and tool. Never touches the network.
 *
 * Throws TypeError only for a caller's mistake (a key given that is not an Ed25519 public key, a record
 * whose kid does not match its key, an invalid `now`); a bad token is always a verdict.
 */
export function verifyCapabilityToken(token: string, opts: VerifyOptions): TokenVerdict {
  const skew = opts.clockSkewS ?? DEFAULT_CLOCK_SKEW_S;
  if (!Number.isFinite(skew) || skew < 0) throw new TypeError('clockSkewS must be a non-negative number');
  const nowS = nowSeconds(opts.now);
  const keys: ReadonlyMap<string, KeyObject> = Array.isArray(opts.publicKeys)
    ? keyMapOf(opts.publicKeys as readonly PublicKeyInput[])
    : (opts.publicKeys as ReadonlyMap<string, KeyObject>);
  const parsed = parseCapabilityToken(token);
  if ('error' in parsed) return { valid: false, reason: 'malformed', detail: parsed.error };
  return verdictFor(parsed, keys.get(parsed.claims.kid), opts, nowS, skew);
}

function verdictFor(
  parsed: ParsedCapabilityToken,
  key: KeyObject | undefined,
  expected: { action: string; tool: string },
  nowS: number,
  skew: number,
): TokenVerdict {
  if (!key || key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') return { valid: false, reason: 'unknown_kid' };
  if (!signatureValid(parsed, key)) return { valid: false, reason: 'bad_signature' };
  // Only now are the claims trustworthy.
  const claims = parsed.claims;
  if (claims.iat > nowS + skew) return { valid: false, reason: 'not_yet_valid', claims };
  if (nowS >= claims.exp) return { valid: false, reason: 'expired', claims };
  if (claims.act !== expected.action) return { valid: false, reason: 'action_mismatch', claims };
  if (claims.tool !== expected.tool) return { valid: false, reason: 'tool_mismatch', claims };
  return { valid: true, claims };
}

// ---------------------------------------------------------------- the key set

export interface KeySetOptions {
  /** The Lexecon server, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Per fetch of the keys (default 10 000 ms). */
  timeoutMs?: number;
  /**
   * At most one fetch per this interval caused by unknown kids (default 30 000 ms): a flood of forged
   * kids must not become a flood of fetches. {@link KeySet.refresh} called directly always fetches.
   */
  minRefreshIntervalMs?: number;
}

/** Largest keys answer read (bytes). */
const MAX_KEYS_BODY = 1024 * 1024;

/**
 * The server's public keys, fetched from `GET /api/governance/keys` (anonymous) on first use and cached.
 * Rotation aware: a kid it does not know causes ONE refresh (at most one per `minRefreshIntervalMs`),
 * then the answer. Concurrent lookups share one fetch.
 */
export class KeySet {
  readonly #url: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #minIntervalMs: number;
  #keys: Map<string, KeyObject> | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;
  #inFlight: Promise<void> | undefined;
  #fetches = 0;

  constructor(opts: KeySetOptions) {
    let base = opts.baseUrl;
    while (base.endsWith('/')) base = base.slice(0, -1);
    this.#url = new URL(`${base}/api/governance/keys`).href;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#minIntervalMs = opts.minRefreshIntervalMs ?? 30_000;
  }

  /** How many fetches of the keys this set has made (for tests and metrics). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /** The kids known now (empty before the first fetch). */
  get kids(): string[] {
    return [...(this.#keys?.keys() ?? [])];
  }

  /**
   * The key with this kid. Fetches the keys on first use; refreshes once for a kid it does not know
   * (unless it fetched less than `minRefreshIntervalMs` ago). Throws when the keys were never fetched
   * successfully (Lexecon unreachable: a caller must refuse); `undefined` for a kid the server does not list.
   */
  async get(kid: string): Promise<KeyObject | undefined> {
    const known = this.#keys?.get(kid);
    if (known) return known;
    if (this.#inFlight) {
      await this.#inFlight.catch(() => undefined);
    } else if (performance.now() - this.#lastAttempt >= this.#minIntervalMs) {
      await this.refresh().catch(() => undefined);
    }
    if (!this.#keys) throw new Error(`the Lexecon public keys could not be fetched: ${errorText(this.#lastError)}`);
    return this.#keys.get(kid);
  }

  /** Fetch the keys now (shares a fetch already under way). Throws when the fetch fails; the last keys stay. */
  refresh(): Promise<void> {
    if (!this.#inFlight) {
      this.#lastAttempt = performance.now();
      this.#fetches++;
      this.#inFlight = this.#load().finally(() => {
        this.#inFlight = undefined;
      });
    }
    return this.#inFlight;
  }

  async #load(): Promise<void> {
    try {
      const res = await this.#fetch(this.#url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.#timeoutMs) });
      const text = await readCapped(res, MAX_KEYS_BODY);
      if (!res.ok) throw new Error(`GET /api/governance/keys answered ${res.status}`);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error('GET /api/governance/keys answered something that is not JSON');
      }
      const keys = publicKeysFrom(json);
      if (keys.size === 0) throw new Error('GET /api/governance/keys lists no Ed25519 key');
      this.#keys = keys;
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = err;
      throw err;
    }
  }
}

/**
 * Verify a token with keys from a {@link KeySet}: an unknown kid causes one refresh (rate-limited by the
 * set), then the verdict. Rejects only when the keys were never fetched (fail closed: refuse the call).
 */
export async function verifyCapabilityTokenWithKeySet(
  token: string,
  keySet: KeySet,
  opts: { action: string; tool: string; now?: Date | number; clockSkewS?: number },
): Promise<TokenVerdict> {
  const skew = opts.clockSkewS ?? DEFAULT_CLOCK_SKEW_S;
  if (!Number.isFinite(skew) || skew < 0) throw new TypeError('clockSkewS must be a non-negative number');
  const nowS = nowSeconds(opts.now);
  const parsed = parseCapabilityToken(token);
  if ('error' in parsed) return { valid: false, reason: 'malformed', detail: parsed.error };
  return verdictFor(parsed, await keySet.get(parsed.claims.kid), opts, nowS, skew);
}

// ---------------------------------------------------------------- helpers

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isKeyObject(x: unknown): x is KeyObject {
  return isObject(x) && typeof (x as { export?: unknown }).export === 'function' && typeof (x as { type?: unknown }).type === 'string';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
