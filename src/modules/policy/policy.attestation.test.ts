import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attestationsInputProblem, parseAttestationSpec, verifyAttestation, type AttestationSpec } from './policy.attestation.js';
import { compilePolicy } from './policy.compile.js';
import { evaluate, evaluateNaive } from './policy.engine.js';
import { allWarnings, loadPolicyDocument } from './policy.loader.js';
import type { EvaluationRequest } from './policy.model.js';

const AT = '2026-11-25T10:00:00.000Z';
const NOW = Date.parse(AT) / 1000;
const ACTOR = 'ai_agent:payments';

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherEd = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A compact JWS signed with `key` (alg as the header says; the signature as that alg makes it). */
function jws(alg: string, key: KeyObject, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(payload)}`;
  const data = Buffer.from(input);
  const sig =
    alg === 'ES256'
      ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
      : alg === 'RS256'
        ? sign('sha256', data, key)
        : sign(null, data, key);
  return `${input}.${sig.toString('base64url')}`;
}

const good = (extra: Record<string, unknown> = {}) => ({ sub: ACTOR, iat: NOW - 60, exp: NOW + 300, mfa_verified: true, ...extra });

function spec(raw: Record<string, unknown>): AttestationSpec {
  const parsed = parseAttestationSpec({ claim: 'mfa_verified', max_age_s: 600, ...raw });
  if (parsed.spec === undefined) throw new Error(JSON.stringify(parsed.problems));
  return parsed.spec;
}

describe('verifyAttestation', () => {
  const edSpec = spec({ issuer_public_key_pem: pem(ed.publicKey) });
  const check = (token: unknown, s = edSpec, actor = ACTOR) => verifyAttestation(token, s, actor, AT);

  it('accepts a valid EdDSA, ES256 and RS256 attestation (claim true, or in a claims array)', () => {
    expect(check(jws('EdDSA', ed.privateKey, good()))).toEqual({ ok: true });
    expect(check(jws('EdDSA', ed.privateKey, good({ mfa_verified: undefined, claims: ['x', 'mfa_verified'] })))).toEqual({ ok: true });
    expect(check(jws('ES256', ec.privateKey, good()), spec({ issuer_public_key_pem: pem(ec.publicKey) }))).toEqual({ ok: true });
    expect(check(jws('RS256', rsa.privateKey, good()), spec({ issuer_public_key_pem: pem(rsa.publicKey) }))).toEqual({ ok: true });
    const jwks = { keys: [{ ...otherEd.publicKey.export({ format: 'jwk' }), kid: 'old' }, { ...ed.publicKey.export({ format: 'jwk' }), kid: 'k1' }] };
    expect(check(jws('EdDSA', ed.privateKey, good(), { kid: 'k1' }), spec({ jwks }))).toEqual({ ok: true });
    expect(check(jws('EdDSA', ed.privateKey, good(), { kid: 'old' }), spec({ jwks })).ok).toBe(false);
  });
  it('refuses a wrong key, a tampered payload or signature', () => {
    expect(check(jws('EdDSA', otherEd.privateKey, good()))).toEqual({ ok: false, reason: 'the signature does not verify with the issuer’s key' });
    const token = jws('EdDSA', ed.privateKey, good());
    const [h, , s] = token.split('.');
    expect(check(`${h}.${b64(good({ sub: 'ai_agent:other' }))}.${s}`).ok).toBe(false);
    expect(check(`${h}.${b64(good({ exp: NOW + 99_999 }))}.${s}`)).toEqual({ ok: false, reason: 'the signature does not verify with the issuer’s key' });
    const flipped = s!.slice(0, 10) + (s![10] === 'A' ? 'B' : 'A') + s!.slice(11);
    expect(check(`${h}.${token.split('.')[1]}.${flipped}`).ok).toBe(false);
  });
  it('refuses expired, too old, from the future, wrong claim, wrong sub, wrong issuer', () => {
    expect(check(jws('EdDSA', ed.privateKey, good({ exp: NOW })))).toEqual({ ok: false, reason: 'the attestation has expired (exp)' });
    expect(check(jws('EdDSA', ed.privateKey, good({ exp: undefined })))).toEqual({ ok: false, reason: 'the attestation has no exp' });
    expect(check(jws('EdDSA', ed.privateKey, good({ iat: NOW - 601 })))).toEqual({ ok: false, reason: 'the attestation is older than 600 s (iat)' });
    expect(check(jws('EdDSA', ed.privateKey, good({ iat: NOW - 600 })))).toEqual({ ok: true });
    expect(check(jws('EdDSA', ed.privateKey, good({ iat: NOW + 61 })))).toEqual({ ok: false, reason: 'the attestation is issued in the future (iat)' });
    expect(check(jws('EdDSA', ed.privateKey, good({ mfa_verified: 'true' })))).toEqual({
      ok: false,
      reason: 'the attestation does not carry the claim "mfa_verified"',
    });
    expect(check(jws('EdDSA', ed.privateKey, good({ mfa_verified: undefined, other: true }))).ok).toBe(false);
    expect(check(jws('EdDSA', ed.privateKey, good()), edSpec, 'ai_agent:other')).toEqual({ ok: false, reason: 'the attestation is not for this actor (sub)' });
    const withIssuer = spec({ issuer_public_key_pem: pem(ed.publicKey), issuer: 'https://idp.example' });
    expect(check(jws('EdDSA', ed.privateKey, good()), withIssuer)).toEqual({ ok: false, reason: 'the attestation is from another issuer (iss)' });
    expect(check(jws('EdDSA', ed.privateKey, good({ iss: 'https://idp.example' })), withIssuer)).toEqual({ ok: true });
  });
  it('refuses alg none, an alg that does not match the key type, crit, and what is not a compact JWS', () => {
    const unsigned = `${b64({ alg: 'none' })}.${b64(good())}.`;
    expect(check(unsigned).ok).toBe(false);
    expect(check(`${b64({ alg: 'none' })}.${b64(good())}.${b64('x')}`)).toEqual({ ok: false, reason: 'alg "none" is refused' });
    expect(check(`${b64({ alg: 'NONE' })}.${b64(good())}.${b64('x')}`)).toEqual({ ok: false, reason: 'alg "none" is refused' });
    // An ES256 signature presented to an Ed25519 issuer, and an HS256 "signature" keyed with the public key.
    expect(check(jws('ES256', ec.privateKey, good())).ok).toBe(false);
    expect(check(`${b64({ alg: 'HS256' })}.${b64(good())}.${b64('mac')}`).ok).toBe(false);
    expect(check(jws('EdDSA', ed.privateKey, good(), { crit: ['exp'] })).ok).toBe(false);
    for (const bad of [42, '', 'a.b', 'a.b.c.d', 'a b.c.d', `${'a'.repeat(9000)}.b.c`]) expect(check(bad).ok).toBe(false);
  });
});

describe('parseAttestationSpec (load-time validation)', () => {
  const problems = (raw: unknown) => parseAttestationSpec(raw).problems.map((p) => `${p.segs.join('.')}: ${p.message}`);
  it('lists every problem', () => {
    expect(problems({ issuer_public_key_pem: 'not a pem', claim: '', max_age_s: 0, extra: 1 })).toEqual([
      'extra: is not an attestation field (issuer_public_key_pem, jwks, claim, max_age_s, issuer)',
      expect.stringMatching(/^issuer_public_key_pem: is not a PEM public key/),
      'claim: is required: a claim name of 1 to 128 characters',
      'max_age_s: is required: a whole number of seconds from 1 to 31622400',
    ]);
    expect(problems({ claim: 'c', max_age_s: 60 })).toEqual([': give exactly one of issuer_public_key_pem and jwks']);
    const priv = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(problems({ issuer_public_key_pem: priv, claim: 'c', max_age_s: 60 })).toEqual([
      'issuer_public_key_pem: is a private key: give the issuer’s public key',
    ]);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(problems({ issuer_public_key_pem: pem(weak), claim: 'c', max_age_s: 60 })).toEqual([
      'issuer_public_key_pem: an RSA key must have at least 2048 bits (has 1024)',
    ]);
    const jwk = ed.privateKey.export({ format: 'jwk' });
    expect(problems({ jwks: { keys: [jwk] }, claim: 'sub', max_age_s: 60 })).toEqual([
      'jwks.keys.0.d: is private key material: give public keys only',
      'claim: "sub" is a registered claim, not a requirement',
    ]);
  });
});

describe('attested requirements in the engine and the loader', () => {
  const document = (attestation?: Record<string, unknown>) => ({
    policy_id: 'pay',
    mode: 'permissive',
    terms: [
      { id: 'pay', type: 'action' },
      { id: 'mfa', type: 'context', value: 'mfa_verified', ...(attestation ? { metadata: { attestation } } : {}) },
      { id: 'ticket', type: 'context' },
    ],
    relations: [
      { id: 'needs-mfa', type: 'requires', source: 'pay', target: 'mfa' },
      { id: 'needs-ticket', type: 'requires', source: 'pay', target: 'ticket' },
      { id: 'needs-human', type: 'requires', source: 'pay', target: 'human_approval' },
    ],
  });
  const ATTESTED = { issuer_public_key_pem: pem(ed.publicKey), claim: 'mfa_verified', max_age_s: 600 };

  it('warns about each self-asserted requirement, never about human_approval or an attested one', () => {
    const plain = loadPolicyDocument(document());
    if (!plain.ok) throw new Error('should load');
    expect(plain.selfAsserted.map((w) => w.path)).toEqual(['$.relations[0].target', '$.relations[1].target']);
    expect(plain.selfAsserted[0]!.message).toBe(
      'requirement "mfa_verified" is self-asserted: any caller meets it by sending context.mfa_verified = true; give term "mfa" a metadata.attestation to require a signed attestation',
    );
    expect(allWarnings(plain)).toEqual([...plain.warnings, ...plain.selfAsserted]);
    const attested = loadPolicyDocument(document(ATTESTED));
    if (!attested.ok) throw new Error('should load');
    expect(attested.selfAsserted.map((w) => w.path)).toEqual(['$.relations[1].target']);
  });
  it('a policy without attestations keeps its meaning (self-asserted as before)', () => {
    const plain = loadPolicyDocument(document());
    if (!plain.ok) throw new Error('should load');
    const p = compilePolicy(plain.policy);
    const r = evaluate(p, { actor: ACTOR, action: 'pay', context: { mfa_verified: true, ticket: true } });
    expect(r.matched.filter((m) => m.relation_type === 'requires').map((m) => m.effect)).toEqual([
      'requires_human_approval',
      'requirement_satisfied',
      'requirement_satisfied',
    ]);
  });
  it('an attested requirement is met only by a valid attestation: context.T = true is no longer enough', () => {
    const loaded = loadPolicyDocument(document(ATTESTED));
    if (!loaded.ok) throw new Error('should load');
    const effect = (request: EvaluationRequest) => {
      const r = evaluate(compilePolicy(loaded.policy), request);
      expect(evaluateNaive(loaded.policy, request)).toStrictEqual(r);
      return { effect: r.matched.find((m) => m.relation_id === 'needs-mfa')!.effect, reason: r.reason, outcome: r.outcome };
    };
    const base = { actor: ACTOR, action: 'pay', at: AT };
    const claimed = effect({ ...base, context: { mfa_verified: true, ticket: true } });
    expect(claimed.effect).toBe('requirement_unsatisfied');
    expect(claimed.outcome).toBe('denied');
    expect(claimed.reason).toBe(
      'denied: requirement "mfa_verified" of relation "needs-mfa" is not met (it needs a signed attestation in context.attestations: no attestation in context.attestations)',
    );
    const token = jws('EdDSA', ed.privateKey, good());
    expect(effect({ ...base, context: { ticket: true, attestations: [token] } }).effect).toBe('requirement_satisfied');
    // human_approval still escalates: an attestation never stands in for a human.
    expect(effect({ ...base, context: { ticket: true, attestations: [token] } }).outcome).toBe('escalated');
    expect(effect({ ...base, context: { attestations: ['junk', token] } }).effect).toBe('requirement_satisfied');
    expect(effect({ ...base, actor: 'ai_agent:other', context: { attestations: [token] } }).effect).toBe('requirement_unsatisfied');
    // Without an evaluation time nothing verifies (fail closed).
    expect(effect({ actor: ACTOR, action: 'pay', context: { attestations: [token] } }).effect).toBe('requirement_unsatisfied');
    const forged = jws('EdDSA', otherEd.privateKey, good());
    expect(effect({ ...base, context: { attestations: [forged] } }).reason).toContain('the signature does not verify');
  });
  it('bad attestation metadata, or one on human_approval, rejects the policy with every problem', () => {
    const bad = loadPolicyDocument(document({ issuer_public_key_pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', claim: 'mfa_verified', max_age_s: 600, foo: 1 }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.map((p) => p.path)).toEqual([
        '$.terms[1].metadata.attestation.foo',
        '$.terms[1].metadata.attestation.issuer_public_key_pem',
      ]);
    }
    const onHuman = loadPolicyDocument({
      policy_id: 'h',
      terms: [{ id: 'human_approval', type: 'context', metadata: { attestation: ATTESTED } }],
      relations: [{ type: 'requires', source: 'x', target: 'human_approval' }],
    });
    expect(onHuman.ok).toBe(false);
    if (!onHuman.ok) expect(onHuman.problems[0]!.message).toContain('human_approval is met by a human only');
  });
  it('attestationsInputProblem bounds the work: at most 8, each at most 8 KiB, strings only', () => {
    expect(attestationsInputProblem(undefined)).toBeUndefined();
    expect(attestationsInputProblem({ attestations: ['a'] })).toBeUndefined();
    expect(attestationsInputProblem({ attestations: 'a' })).toBe('must be an array of compact JWS strings');
    expect(attestationsInputProblem({ attestations: Array(9).fill('a') })).toBe('must hold at most 8 attestations');
    expect(attestationsInputProblem({ attestations: ['a'.repeat(8193)] })).toBe('each attestation must be at most 8192 characters');
    expect(attestationsInputProblem({ attestations: [1] })).toBe('must be an array of compact JWS strings');
  });
});
