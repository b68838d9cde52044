/**
 * Attested requirements (DESIGN §4, `requires(X, T)`): a requirement term may declare
 * `metadata.attestation`; then only a signed attestation in the request's `context.attestations`
 * satisfies it, never the caller writing `context.T: true`. Pure: node:crypto only, no I/O, no clock
 * (the time is the caller's `at`), so the engine stays deterministic.
 *
 * `metadata.attestation` (validated when the policy loads; any other field is a problem):
 * - `issuer_public_key_pem`: the issuer's public key, PEM (SPKI); or `jwks`: an inline JWK Set
 *   `{"keys": [...]}` (public keys only, at most 16; nothing is ever fetched). Exactly one of the two.
 *   Key types: Ed25519 (alg `EdDSA`), EC P-256 (alg `ES256`), RSA ≥ 2048 bits (alg `RS256`).
 * - `claim`: the claim the attestation must carry (e.g. `"mfa_verified"`), see {@link carriesClaim}.
 * - `max_age_s`: how old (by `iat`) an attestation may be, 1 … 31,622,400 (366 days).
 * - `issuer` (optional): the attestation's `iss` must equal it.
 *
 * An attestation is a compact JWS (`header.payload.signature`, base64url) that satisfies the requirement
 * when ({@link verifyAttestation}): it is at most 8 KiB; its header's `alg` is the alg of the key type
 * (`none` and any other alg are refused), it has no `crit`; its signature verifies with one of the
 * issuer's keys (with a `kid`, the JWK of that `kid`); its payload is a JSON object whose `sub` equals
 * the request's actor, whose `exp` (seconds) lies after the decision time, whose `iat` (seconds) is at
 * most 60 s in the future and at most `max_age_s` in the past, whose `nbf` (if any) has passed, whose
 * `iss` matches `issuer` (if set), and which carries the claim. `context.attestations` holds at most 8
 * of them; one that verifies is enough.
 */
import { createPublicKey, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { PolicyTerm } from './policy.model.js';

export const ATTESTATION_LIMITS = {
  /** Attestations in one request's `context.attestations`. */
  perRequest: 8,
  /** Characters of one compact JWS. */
  maxLength: 8192,
  /** Keys in one `jwks`. */
  maxKeys: 16,
  /** Seconds an `iat` may lie in the future (clock skew between the issuer and us). */
  skewS: 60,
  /** The widest `max_age_s`: 366 days. */
  maxAgeS: 366 * 86_400,
} as const;

/** The JWS algs accepted, one per key type. */
export type AttestationAlg = 'EdDSA' | 'ES256' | 'RS256';

interface IssuerKey {
  key: KeyObject;
  alg: AttestationAlg;
  kid: string | null;
}

/** A parsed `metadata.attestation`. */
export interface AttestationSpec {
  keys: IssuerKey[];
  claim: string;
  maxAgeS: number;
  issuer: string | null;
}

/** A problem of a `metadata.attestation`, at a path relative to it (`['jwks', 'keys', 0, 'd']`). */
export interface SpecProblem {
  segs: Array<string | number>;
  message: string;
}

const SPEC_FIELDS = new Set(['issuer_public_key_pem', 'jwks', 'claim', 'max_age_s', 'issuer']);
const JWK_FIELDS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use', 'key_ops']);
const PRIVATE_JWK_FIELDS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
/** Registered JWT claims and our `claims` array: a requirement's claim cannot be one of them. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'claims']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The alg a public key verifies with, or a problem. */
function algOf(key: KeyObject): AttestationAlg | string {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'EdDSA';
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : 'an EC key must be on curve P-256 (ES256)';
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= 2048 ? 'RS256' : `an RSA key must have at least 2048 bits (has ${bits})`;
    }
    default:
      return `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (Ed25519, EC P-256 or RSA)`;
  }
}

const ALG_NAMES: ReadonlySet<string> = new Set(['EdDSA', 'ES256', 'RS256']);

function readPem(pem: unknown, out: SpecProblem[]): IssuerKey[] {
  if (typeof pem !== 'string') {
    out.push({ segs: ['issuer_public_key_pem'], message: 'must be a string (a PEM public key)' });
    return [];
  }
  if (pem.length > 16_384) {
    out.push({ segs: ['issuer_public_key_pem'], message: 'must be at most 16384 characters' });
    return [];
  }
  if (pem.includes('PRIVATE KEY')) {
    out.push({ segs: ['issuer_public_key_pem'], message: 'is a private key: give the issuer’s public key' });
    return [];
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    out.push({ segs: ['issuer_public_key_pem'], message: `is not a PEM public key (${(err as Error).message})` });
    return [];
  }
  const alg = algOf(key);
  if (!ALG_NAMES.has(alg)) {
    out.push({ segs: ['issuer_public_key_pem'], message: alg });
    return [];
  }
  return [{ key, alg: alg as AttestationAlg, kid: null }];
}

function readJwks(jwks: unknown, out: SpecProblem[]): IssuerKey[] {
  if (!isObject(jwks) || !Array.isArray(jwks['keys'])) {
    out.push({ segs: ['jwks'], message: 'must be a JWK Set: {"keys": [...]}' });
    return [];
  }
  for (const k of Object.keys(jwks)) if (k !== 'keys') out.push({ segs: ['jwks', k], message: 'is not a JWK Set field' });
  const list = jwks['keys'] as unknown[];
  if (list.length === 0 || list.length > ATTESTATION_LIMITS.maxKeys) {
    out.push({ segs: ['jwks', 'keys'], message: `must hold 1 to ${ATTESTATION_LIMITS.maxKeys} keys` });
    return [];
  }
  const keys: IssuerKey[] = [];
  const kids = new Set<string>();
  list.forEach((jwk, i) => {
    const at = (...segs: Array<string | number>) => ['jwks', 'keys', i, ...segs];
    if (!isObject(jwk)) {
      out.push({ segs: at(), message: 'must be a JWK object' });
      return;
    }
    let bad = false;
    for (const field of Object.keys(jwk)) {
      if (PRIVATE_JWK_FIELDS.has(field)) {
        out.push({ segs: at(field), message: 'is private key material: give public keys only' });
        bad = true;
      } else if (!JWK_FIELDS.has(field)) {
        out.push({ segs: at(field), message: `is not a supported JWK field (${[...JWK_FIELDS].join(', ')})` });
        bad = true;
      }
    }
    const kid = jwk['kid'];
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
      out.push({ segs: at('kid'), message: 'must be a string of 1 to 256 characters' });
      bad = true;
    } else if (typeof kid === 'string') {
      if (kids.has(kid)) {
        out.push({ segs: at('kid'), message: `duplicate kid ${JSON.stringify(kid)}` });
        bad = true;
      }
      kids.add(kid);
    }
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') {
      out.push({ segs: at('use'), message: 'must be "sig"' });
      bad = true;
    }
    if (bad) return;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch (err) {
      out.push({ segs: at(), message: `is not a valid public JWK (${(err as Error).message})` });
      return;
    }
    const alg = algOf(key);
    if (!ALG_NAMES.has(alg)) {
      out.push({ segs: at(), message: alg });
      return;
    }
    if (jwk['alg'] !== undefined && jwk['alg'] !== alg) {
      out.push({ segs: at('alg'), message: `must be ${JSON.stringify(alg)} for this key type` });
      return;
    }
    keys.push({ key, alg: alg as AttestationAlg, kid: typeof kid === 'string' ? kid : null });
  });
  return keys;
}

/**
 * Parse and check a `metadata.attestation` value: the spec, or every problem (paths relative to it).
 */
export function parseAttestationSpec(raw: unknown): { spec: AttestationSpec; problems: [] } | { spec: undefined; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  if (!isObject(raw)) {
    return {
      spec: undefined,
      problems: [{ segs: [], message: 'must be an object {issuer_public_key_pem | jwks, claim, max_age_s, issuer?}' }],
    };
  }
  for (const field of Object.keys(raw)) {
    if (!SPEC_FIELDS.has(field)) problems.push({ segs: [field], message: `is not an attestation field (${[...SPEC_FIELDS].join(', ')})` });
  }
  const hasPem = raw['issuer_public_key_pem'] !== undefined;
  const hasJwks = raw['jwks'] !== undefined;
  let keys: IssuerKey[] = [];
  if (hasPem === hasJwks) {
    problems.push({ segs: [], message: 'give exactly one of issuer_public_key_pem and jwks' });
  } else {
    keys = hasPem ? readPem(raw['issuer_public_key_pem'], problems) : readJwks(raw['jwks'], problems);
  }
  const claim = raw['claim'];
  if (typeof claim !== 'string' || claim.length === 0 || claim.length > 128) {
    problems.push({ segs: ['claim'], message: 'is required: a claim name of 1 to 128 characters' });
  } else if (RESERVED_CLAIMS.has(claim)) {
    problems.push({ segs: ['claim'], message: `${JSON.stringify(claim)} is a registered claim, not a requirement` });
  }
  const maxAge = raw['max_age_s'];
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 1 || maxAge > ATTESTATION_LIMITS.maxAgeS) {
    problems.push({ segs: ['max_age_s'], message: `is required: a whole number of seconds from 1 to ${ATTESTATION_LIMITS.maxAgeS}` });
  }
  const issuer = raw['issuer'];
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 512)) {
    problems.push({ segs: ['issuer'], message: 'must be a string of 1 to 512 characters' });
  }
  if (problems.length > 0) return { spec: undefined, problems };
  return {
    spec: { keys, claim: claim as string, maxAgeS: maxAge as number, issuer: typeof issuer === 'string' ? issuer : null },
    problems: [],
  };
}

/** What a term's metadata says: no attestation (self-asserted), a spec, or a broken spec (never satisfied). */
export type TermAttestation = { kind: 'none' } | { kind: 'spec'; spec: AttestationSpec } | { kind: 'invalid' };

const termSpecs = new WeakMap<PolicyTerm, TermAttestation>();

/** The attestation a requirement term declares, parsed once per term object. */
export function termAttestation(term: PolicyTerm | undefined): TermAttestation {
  if (term === undefined || term.implicit || term.metadata['attestation'] === undefined) return { kind: 'none' };
  let cached = termSpecs.get(term);
  if (cached === undefined) {
    const parsed = parseAttestationSpec(term.metadata['attestation']);
    cached = parsed.spec === undefined ? { kind: 'invalid' } : { kind: 'spec', spec: parsed.spec };
    termSpecs.set(term, cached);
  }
  return cached;
}

/** Whether a payload carries the claim: `"<claim>": true`, or `"claims": [..., "<claim>", ...]`. */
export function carriesClaim(payload: Record<string, unknown>, claim: string): boolean {
  if (Object.hasOwn(payload, claim) && payload[claim] === true) return true;
  const claims = payload['claims'];
  return Array.isArray(claims) && claims.includes(claim);
}

/** Strict base64url (no padding): decode or undefined. */
function b64url(part: string): Buffer | undefined {
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
    if (!ok) return undefined;
  }
  if (part.length % 4 === 1) return undefined;
  return Buffer.from(part, 'base64url');
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function signatureOk(alg: AttestationAlg, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    switch (alg) {
      case 'EdDSA':
        return signature.length === 64 && cryptoVerify(null, data, key, signature);
      case 'ES256':
        return signature.length === 64 && cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'RS256':
        return cryptoVerify('sha256', data, key, signature);
    }
  } catch {
    return false;
  }
}

export type AttestationCheck = { ok: true } | { ok: false; reason: string };

/**
 * Verify one compact JWS against a spec for `actor` at `at` (RFC 3339): the rules in this module's header.
 * Every failure says why, in words the caller can act on.
 */
export function verifyAttestation(jws: unknown, spec: AttestationSpec, actor: string, at: string): AttestationCheck {
  const fail = (reason: string): AttestationCheck => ({ ok: false, reason });
  if (typeof jws !== 'string') return fail('an attestation must be a compact JWS string');
  if (jws.length > ATTESTATION_LIMITS.maxLength) return fail(`an attestation is longer than ${ATTESTATION_LIMITS.maxLength} characters`);
  const dot1 = jws.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : jws.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 <= dot1 + 1 || dot2 === jws.length - 1 || jws.indexOf('.', dot2 + 1) >= 0) {
    return fail('an attestation must be a compact JWS: header.payload.signature');
  }
  const headerBytes = b64url(jws.slice(0, dot1));
  const payloadBytes = b64url(jws.slice(dot1 + 1, dot2));
  const signature = b64url(jws.slice(dot2 + 1));
  if (!headerBytes || !payloadBytes || !signature) return fail('an attestation is not base64url');
  const header = jsonObject(headerBytes);
  if (!header) return fail('the attestation header is not a JSON object');
  const alg = header['alg'];
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none') return fail('alg "none" is refused');
  if (header['crit'] !== undefined) return fail('the attestation header has "crit": not supported');
  const kid = header['kid'];
  const candidates = spec.keys.filter((k) => k.alg === alg && (typeof kid !== 'string' || k.kid === null || k.kid === kid));
  if (candidates.length === 0) {
    const algs = [...new Set(spec.keys.map((k) => k.alg))].join(', ');
    return fail(`alg ${JSON.stringify(alg)}${typeof kid === 'string' ? ` with kid ${JSON.stringify(kid)}` : ''} does not match the issuer's keys (${algs})`);
  }
  const data = Buffer.from(jws.slice(0, dot2), 'ascii');
  if (!candidates.some((k) => signatureOk(k.alg, k.key, data, signature))) return fail('the signature does not verify with the issuer’s key');

  const payload = jsonObject(payloadBytes);
  if (!payload) return fail('the attestation payload is not a JSON object');
  const now = Math.floor(Date.parse(at) / 1000);
  if (payload['sub'] !== actor) return fail('the attestation is not for this actor (sub)');
  const exp = payload['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('the attestation has no exp');
  if (exp <= now) return fail('the attestation has expired (exp)');
  const iat = payload['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('the attestation has no iat');
  if (iat > now + ATTESTATION_LIMITS.skewS) return fail('the attestation is issued in the future (iat)');
  if (now - iat > spec.maxAgeS) return fail(`the attestation is older than ${spec.maxAgeS} s (iat)`);
  const nbf = payload['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + ATTESTATION_LIMITS.skewS)) return fail('the attestation is not valid yet (nbf)');
  if (spec.issuer !== null && payload['iss'] !== spec.issuer) return fail('the attestation is from another issuer (iss)');
  if (!carriesClaim(payload, spec.claim)) return fail(`the attestation does not carry the claim ${JSON.stringify(spec.claim)}`);
  return { ok: true };
}

/** Why `context.attestations` is unusable as such (not an array of at most 8 strings of ≤ 8 KiB), or undefined. */
export function attestationsInputProblem(context: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (context === undefined || !Object.hasOwn(context, 'attestations')) return undefined;
  const list = context['attestations'];
  if (!Array.isArray(list)) return 'must be an array of compact JWS strings';
  if (list.length > ATTESTATION_LIMITS.perRequest) return `must hold at most ${ATTESTATION_LIMITS.perRequest} attestations`;
  for (const item of list) {
    if (typeof item !== 'string') return 'must be an array of compact JWS strings';
    if (item.length > ATTESTATION_LIMITS.maxLength) return `each attestation must be at most ${ATTESTATION_LIMITS.maxLength} characters`;
  }
  return undefined;
}

/** Results per request context (the engine evaluates a request twice: verify once). */
const checked = new WeakMap<object, Map<string, { satisfied: boolean; detail: string }>>();

/**
 * Whether the request's `context.attestations` satisfy an attested requirement: at least one verifies
 * (looked at: the first {@link ATTESTATION_LIMITS.perRequest}). `detail` says why not (the first
 * attestation's failure), or names what was accepted. Without `at` nothing verifies (fail closed).
 */
export function requirementAttested(
  term: PolicyTerm,
  spec: AttestationSpec,
  request: { actor: string; context?: Readonly<Record<string, unknown>> | undefined; at?: string | undefined },
): { satisfied: boolean; detail: string } {
  const context = request.context;
  const list = context !== undefined && Object.hasOwn(context, 'attestations') ? context['attestations'] : undefined;
  if (!Array.isArray(list) || list.length === 0) return { satisfied: false, detail: 'no attestation in context.attestations' };
  if (request.at === undefined) return { satisfied: false, detail: 'no evaluation time to check the attestation against' };
  const key = `${term.term_id}\u0000${request.actor}\u0000${request.at}`;
  let perContext = checked.get(context!);
  const hit = perContext?.get(key);
  if (hit !== undefined) return hit;
  let result: { satisfied: boolean; detail: string } | undefined;
  let firstFailure: string | undefined;
  for (const jws of list.slice(0, ATTESTATION_LIMITS.perRequest)) {
    const check = verifyAttestation(jws, spec, request.actor, request.at);
    if (check.ok) {
      result = { satisfied: true, detail: `a valid attestation carries the claim ${JSON.stringify(spec.claim)}` };
      break;
    }
    firstFailure ??= check.reason;
  }
  result ??= { satisfied: false, detail: firstFailure ?? 'no attestation verifies' };
  if (perContext === undefined) checked.set(context!, (perContext = new Map()));
  perContext.set(key, result);
  return result;
}
