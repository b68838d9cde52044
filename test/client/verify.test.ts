/**
 * lexecon/verify with real tokens from a real server: every reason, agreement with the server's own
 * verifiers (verifyTokenOffline and POST /decide/verify), key rotation through a KeySet (one refresh on
 * the new kid) and a flood of forged kids (at most one fetch per interval).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LexeconClient } from 'lexecon/client';
import {
  computeKid,
  KeySet,
  publicKeysFrom,
  verifyCapabilityToken,
  verifyCapabilityTokenWithKeySet,
  type CapabilityClaims,
  type TokenVerdict,
} from 'lexecon/verify';
import { verifyTokenOffline } from '../../src/modules/tokens/token.js';
import { ACTOR, startServer, type LiveServer } from './server.js';

let s: LiveServer;
let client: LexeconClient;
let keys: Map<string, KeyObject>;
let token: string;
let claims: CapabilityClaims;
const expected = { action: 'read_order', tool: 'crm' };

beforeAll(async () => {
  s = await startServer();
  client = new LexeconClient({ baseUrl: s.baseUrl, apiKey: s.apiKey });
  keys = publicKeysFrom(await client.keys());
  const d = await client.decide({ actor: ACTOR, proposed_action: 'read_order', tool: 'crm' });
  token = d.capability_token!;
  const v = verifyCapabilityToken(token, { publicKeys: keys, ...expected });
  if (!v.valid) throw new Error(`setup: ${v.reason}`);
  claims = v.claims;
});
afterAll(() => s.close());

const reason = (v: TokenVerdict) => (v.valid ? 'ok' : v.reason);

/** A token with these claims signed by `key` (a forger's own key, or none of the server's). */
function forge(c: Record<string, unknown>, key: KeyObject): string {
  const json = JSON.stringify(Object.fromEntries(Object.keys(c).sort().map((k) => [k, c[k]])));
  const input = `cap_${Buffer.from(json).toString('base64url')}`;
  return `${input}_${sign(null, Buffer.from(input, 'ascii'), key).toString('base64url')}`;
}

describe('verifyCapabilityToken: every verdict', () => {
  it('valid: the claims of the decision', () => {
    const v = verifyCapabilityToken(token, { publicKeys: keys, ...expected });
    expect(v).toEqual({ valid: true, claims: expect.objectContaining({ act: 'read_order', tool: 'crm', sub: ACTOR, iss: 'lexecon', v: 1 }) });
  });

  it('the keys as the endpoint lists them, as PEM or as KeyObjects', async () => {
    const listed = (await client.keys()).keys;
    expect(reason(verifyCapabilityToken(token, { publicKeys: listed, ...expected }))).toBe('ok');
    const pems = listed.filter((k) => k.alg === 'Ed25519').map((k) => k.public_key_pem);
    expect(reason(verifyCapabilityToken(token, { publicKeys: pems, ...expected }))).toBe('ok');
    expect(reason(verifyCapabilityToken(token, { publicKeys: [...keys.values()], ...expected }))).toBe('ok');
  });

  it('malformed, with what is wrong', () => {
    for (const bad of ['', 'cap_', 'tok_abc', `${token}A`, token.replace('cap_', 'cap_A'), 'x'.repeat(20_000), `${token.slice(0, 10)}=${token.slice(11)}`]) {
      const v = verifyCapabilityToken(bad, { publicKeys: keys, ...expected });
      expect(v).toMatchObject({ valid: false, reason: 'malformed' });
      expect(v).not.toHaveProperty('claims');
    }
    // Signed by the right key but not the canonical form (whitespace), or with a claim too many.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const own = { ...claims, kid: computeKid(publicKey) };
    const spaced = `cap_${Buffer.from(JSON.stringify(own, null, 1)).toString('base64url')}`;
    const spacedToken = `${spaced}_${sign(null, Buffer.from(spaced), privateKey).toString('base64url')}`;
    expect(verifyCapabilityToken(spacedToken, { publicKeys: [publicKey], ...expected })).toMatchObject({ reason: 'malformed', detail: expect.stringMatching(/canonical/) });
    expect(reason(verifyCapabilityToken(forge({ ...own, extra: 1 }, privateKey), { publicKeys: [publicKey], ...expected }))).toBe('malformed');
    expect(reason(verifyCapabilityToken(forge(own, privateKey), { publicKeys: [publicKey], ...expected }))).toBe('ok');
  });

  it('unknown_kid: a kid the verifier does not trust', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    expect(reason(verifyCapabilityToken(token, { publicKeys: [publicKey], ...expected }))).toBe('unknown_kid');
    const forged = forge({ ...claims, kid: computeKid(publicKey) }, privateKey);
    expect(reason(verifyCapabilityToken(forged, { publicKeys: keys, ...expected }))).toBe('unknown_kid');
  });

  it('bad_signature: the server’s kid, a forger’s signature; or a byte of the signature changed', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = forge({ ...claims, act: 'delete_records' }, privateKey);
    expect(verifyCapabilityToken(forged, { publicKeys: keys, action: 'delete_records', tool: 'crm' })).toEqual({ valid: false, reason: 'bad_signature' });
    const i = token.length - 40;
    const flipped = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    expect(reason(verifyCapabilityToken(flipped, { publicKeys: keys, ...expected }))).toBe('bad_signature');
  });

  it('expired at exp, not_yet_valid beyond the clock skew (the claims shown: the signature checked out)', () => {
    const at = (s: number) => verifyCapabilityToken(token, { publicKeys: keys, ...expected, now: s * 1000 });
    expect(reason(at(claims.exp - 1))).toBe('ok');
    expect(at(claims.exp)).toMatchObject({ valid: false, reason: 'expired', claims: { jti: claims.jti } });
    expect(reason(at(claims.iat - 60))).toBe('ok');
    expect(reason(at(claims.iat - 61))).toBe('not_yet_valid');
    expect(reason(verifyCapabilityToken(token, { publicKeys: keys, ...expected, now: new Date((claims.iat - 61) * 1000), clockSkewS: 120 }))).toBe('ok');
  });

  it('action_mismatch, tool_mismatch', () => {
    expect(verifyCapabilityToken(token, { publicKeys: keys, action: 'delete_records', tool: 'crm' })).toMatchObject({ reason: 'action_mismatch', claims: { act: 'read_order' } });
    expect(reason(verifyCapabilityToken(token, { publicKeys: keys, action: 'read_order', tool: 'billing' }))).toBe('tool_mismatch');
  });

  it('agrees with the server’s verifyTokenOffline on every one-character change of the token', () => {
    const [kid, key] = [...keys][0]!;
    expect(kid).toBe(claims.kid);
    const alphabet = 'Aa0_-=';
    let checked = 0;
    for (let i = 0; i < token.length; i += 3) {
      for (const ch of alphabet) {
        if (token[i] === ch) continue;
        const mutated = token.slice(0, i) + ch + token.slice(i + 1);
        const ours = verifyCapabilityToken(mutated, { publicKeys: keys, ...expected });
        const server = verifyTokenOffline(mutated, key, expected);
        expect(reason(ours), `${i}:${ch}`).toBe(server.reason);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('agrees with POST /decide/verify where the reasons overlap', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const cases: [string, string, string][] = [
      [token, 'read_order', 'crm'],
      [token, 'delete_records', 'crm'],
      [token, 'read_order', 'billing'],
      ['cap_garbage', 'read_order', 'crm'],
      [forge({ ...claims }, privateKey), 'read_order', 'crm'],
    ];
    for (const [tok, action, tool] of cases) {
      const online = await client.verifyToken(tok, { action, tool });
      expect(reason(verifyCapabilityToken(tok, { publicKeys: keys, action, tool }))).toBe(online.reason);
    }
  });

  it('a caller’s mistake throws: a non-Ed25519 key, a record whose kid is not its key’s', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => verifyCapabilityToken(token, { publicKeys: [rsa], ...expected })).toThrow(TypeError);
    const pem = [...keys.values()][0]!.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => verifyCapabilityToken(token, { publicKeys: [{ kid: '0000000000000000', public_key_pem: pem }], ...expected })).toThrow(/kid/);
  });
});

describe('publicKeysFrom', () => {
  it('keeps Ed25519 keys whose kid is their own, skips the RSA key and lying kids', async () => {
    const listed = await client.keys();
    expect(listed.keys.some((k) => k.alg === 'RSA-PSS-SHA256')).toBe(true);
    const map = publicKeysFrom(listed);
    expect([...map.keys()]).toEqual(listed.keys.filter((k) => k.alg === 'Ed25519').map((k) => k.kid));
    const lying = { keys: listed.keys.map((k) => ({ ...k, kid: 'ffffffffffffffff' })) };
    expect(publicKeysFrom(lying).size).toBe(0);
    expect(() => publicKeysFrom({ nope: [] })).toThrow(TypeError);
    expect(() => publicKeysFrom(null)).toThrow(TypeError);
  });
});

describe('KeySet: rotation and forged kids', () => {
  it('fetches once, refreshes once for the rotated key, keeps verifying tokens of the retired key', async () => {
    const set = new KeySet({ baseUrl: s.baseUrl, minRefreshIntervalMs: 0 });
    expect(reason(await verifyCapabilityTokenWithKeySet(token, set, expected))).toBe('ok');
    expect(set.fetchCount).toBe(1);
    expect(reason(await verifyCapabilityTokenWithKeySet(token, set, expected))).toBe('ok');
    expect(set.fetchCount).toBe(1); // cached

    const rotation = s.t.services.keys.rotate('Ed25519');
    expect(rotation.previous_kid).toBe(claims.kid);
    const d = await client.decide({ actor: ACTOR, proposed_action: 'read_order', tool: 'crm' });
    const fresh = verifyCapabilityToken(d.capability_token!, { publicKeys: await client.keys().then(publicKeysFrom), ...expected });
    expect(fresh).toMatchObject({ valid: true, claims: { kid: rotation.kid } });

    // The old map does not know the new kid; the key set refreshes once and then does.
    expect(reason(verifyCapabilityToken(d.capability_token!, { publicKeys: keys, ...expected }))).toBe('unknown_kid');
    expect(reason(await verifyCapabilityTokenWithKeySet(d.capability_token!, set, expected))).toBe('ok');
    expect(set.fetchCount).toBe(2);
    expect(reason(await verifyCapabilityTokenWithKeySet(token, set, expected))).toBe('ok'); // retired, still listed
    expect(set.fetchCount).toBe(2);
  });

  it('a flood of forged kids makes at most one fetch per interval', async () => {
    let fetches = 0;
    const counting: typeof fetch = (input, init) => {
      fetches++;
      return fetch(input, init);
    };
    const set = new KeySet({ baseUrl: s.baseUrl, fetch: counting, minRefreshIntervalMs: 400 });
    const flood = () =>
      Promise.all(
        Array.from({ length: 100 }, () => {
          const { publicKey, privateKey } = generateKeyPairSync('ed25519');
          return verifyCapabilityTokenWithKeySet(forge({ ...claims, kid: computeKid(publicKey) }, privateKey), set, expected);
        }),
      );
    const first = await flood();
    expect(first.every((v) => reason(v) === 'unknown_kid')).toBe(true);
    expect(fetches).toBe(1); // the first load, shared by all
    await flood();
    expect(fetches).toBe(1); // inside the interval: none
    await new Promise((r) => setTimeout(r, 450));
    await flood();
    expect(fetches).toBe(2); // one per interval
    expect(set.fetchCount).toBe(fetches);
  });

  it('Lexecon unreachable before any fetch: it throws (a tool must refuse), never a valid verdict', async () => {
    const set = new KeySet({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2_000 });
    await expect(verifyCapabilityTokenWithKeySet(token, set, expected)).rejects.toThrow(/could not be fetched/);
  });
});
