import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { KeyManager } from '../../src/platform/crypto/keys.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { allMigrations } from '../../src/migrations.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { encodeToken, type TokenClaims } from '../../src/modules/tokens/token.js';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import {
  formatVerifyResult,
  listKeysCommand,
  loadVerificationKeys,
  publicKeyCommand,
  rotateKeysCommand,
  verifyTokenCommand,
} from '../../src/modules/tokens/tokens.cli.js';
import { CliError } from '../../src/cli/support.js';
import { bearer, buildTestApp, createAgentKey, seedSession, tempDir } from '../helpers/build-test-app.js';
import { lexeconAsync as lexecon } from '../helpers/cli.js';


/** A new, migrated database file (as the server leaves it at its first start). */
function newDatabase(file: string): string {
  const db = openDatabase(file);
  migrate(db, allMigrations);
  db.close();
  return file;
}

/** Run a command function in this process; its stdout and the exit code it set (restored afterwards). */
async function capture(fn: () => unknown): Promise<{ exitCode: number | string | undefined; stdout: string }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await fn();
    return { exitCode: process.exitCode ?? undefined, stdout };
  } finally {
    process.exitCode = before;
    spy.mockRestore();
  }
}

const clock = new ManualClock(Date.now());
const ids = createIdFactory(clock);

/** A keys directory with an Ed25519 key, its public PEM written to a file, and a token minter. */
function setup() {
  const dir = tempDir();
  const keysDir = path.join(dir, 'keys');
  const keys = KeyManager.open(keysDir, { clock, testOnlyRsaModulusLength: 1024 });
  const pemFile = path.join(dir, 'key.pem');
  const kid = keys.activeKid('Ed25519');
  fs.writeFileSync(pemFile, keys.publicKeys().find((k) => k.kid === kid)!.public_key_pem);
  const mint = (over: Partial<TokenClaims> = {}) => {
    const signer = keys.signer('Ed25519');
    const iat = Math.floor(Date.now() / 1000);
    return encodeToken(
      {
        v: 1,
        jti: ids.next('tok'),
        kid: signer.kid,
        iss: 'lexecon',
        sub: 'ai_agent:assistant',
        act: 'read:customer_profile',
        tool: 'crm',
        cnd: ['redact:pii'],
        dec: ids.next('dec'),
        led: 'b'.repeat(64),
        iat,
        exp: iat + 300,
        ...over,
      },
      signer.sign,
    );
  };
  return { dir, keysDir, keys, pemFile, mint };
}

describe('lexecon verify-token', () => {
  it('exits 0 for a valid token, 1 with the reason for tampered, expired or mismatched ones', async () => {
    const { pemFile, mint } = setup();
    const token = mint();
    const [valid, tampered, expired, mismatch] = await Promise.all([
      lexecon(['verify-token', '--public-key', pemFile, '--action', 'read:customer_profile', '--tool', 'crm', '-'], `${token}\n`),
      lexecon(['verify-token', '--public-key', pemFile, `${mint({ act: 'delete:everything' }).slice(0, -87)}_${token.slice(-86)}`]),
      lexecon(['verify-token', '--public-key', pemFile, mint({ iat: 1_700_000_000, exp: 1_700_000_300 })]),
      lexecon(['verify-token', '--public-key', pemFile, '--json', '--action', 'write:customer_profile', token]),
    ]);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/^valid: token tok_\w+ \(kid [0-9a-f]{16}\) lets ai_agent:assistant read:customer_profile with crm, conditions redact:pii;/);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toBe('invalid: bad_signature\n');
    expect(expired.code).toBe(1);
    expect(expired.stdout).toBe('invalid: expired\n');
    expect(mismatch.code).toBe(1);
    expect(JSON.parse(mismatch.stdout)).toEqual({ valid: false, reason: 'action_mismatch', claims: expect.objectContaining({ act: 'read:customer_profile', cnd: ['redact:pii'] }) });
  });

  it('exits 2 for a missing or unusable key file', async () => {
    const { dir, pemFile, mint } = setup();
    const rsaPem = path.join(dir, 'rsa.pem');
    const keys = KeyManager.open(path.join(dir, 'keys'), { clock, testOnlyRsaModulusLength: 1024 });
    const rsaKid = keys.activeKid('RSA-PSS-SHA256');
    fs.writeFileSync(rsaPem, keys.publicKeys().find((k) => k.kid === rsaKid)!.public_key_pem);
    const [missing, rsa] = await Promise.all([
      lexecon(['verify-token', '--public-key', path.join(dir, 'none.pem'), mint()]),
      lexecon(['verify-token', '--public-key', rsaPem, mint()]),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read ${path.join(dir, 'none.pem')}`);
    expect(rsa.code).toBe(2);
    expect(rsa.stderr).toContain('holds a rsa key; capability tokens are signed with Ed25519');
    // In process: garbage is malformed (exit code 1).
    const garbage = await capture(() => verifyTokenCommand('cap_nonsense', { publicKey: pemFile }));
    expect(garbage).toEqual({ exitCode: 1, stdout: 'invalid: malformed (too short)\n' });
  });
});

describe('lexecon keys', () => {
  it('rotate creates a new kid (ledgered key_rotated), list shows both, old tokens verify with the published keys', async () => {
    const { dir, keysDir, keys, mint } = setup();
    const db = newDatabase(path.join(dir, 'lexecon.db'));
    const oldKid = keys.activeKid('Ed25519');
    const oldToken = mint();

    const rotated = await lexecon(['keys', 'rotate', '--keys-dir', keysDir, '--db', db]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKid = /new active key ([0-9a-f]{16})/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    expect(rotated.stdout).toContain(`${oldKid} retired`);

    const list = await lexecon(['keys', 'list', '--keys-dir', keysDir]);
    const listJson = await capture(() => listKeysCommand({ keysDir, json: true }));
    const pub = await capture(() => publicKeyCommand({ keysDir }));
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${oldKid} {2}Ed25519 +retired .*\\n${newKid} {2}Ed25519 +active `, 'm'));
    const published = JSON.parse(listJson.stdout) as { keys: Array<{ kid: string; status: string; public_key_pem: string }> };
    expect(published.keys.map((k) => [k.kid, k.status])).toEqual([
      [oldKid, 'retired'],
      [newKid, 'active'],
    ]);
    expect(pub.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pub.stdout).toBe(published.keys[1]!.public_key_pem);

    // The ledger holds the rotation.
    const conn = openDatabase(db, { readonly: true, fileMustExist: true });
    try {
      const rows = conn.prepare(`SELECT event_type, data FROM ledger_entries WHERE event_type LIKE 'key_%' ORDER BY seq`).all() as Array<{
        event_type: string;
        data: string;
      }>;
      expect(rows).toEqual([{ event_type: 'key_rotated', data: JSON.stringify({ alg: 'Ed25519', kid: newKid, previous_kid: oldKid }) }]);
    } finally {
      conn.close();
    }

    // The published key list verifies a token of the retired key and one of the new key.
    const keysJson = path.join(dir, 'keys.json');
    fs.writeFileSync(keysJson, listJson.stdout);
    keys.reload();
    const newToken = mint();
    const a = await lexecon(['verify-token', '--public-key', keysJson, oldToken]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(await capture(() => verifyTokenCommand(newToken, { publicKey: keysJson }))).toMatchObject({ exitCode: undefined, stdout: /^valid: / });
    expect(await capture(() => verifyTokenCommand(newToken, { publicKey: path.join(dir, 'key.pem') }))).toEqual({
      exitCode: 1,
      stdout: 'invalid: unknown_kid\n',
    });
  });

  it('rotate on an empty directory ledgers key_created too; list of a missing directory and a bad --alg are errors', async () => {
    const dir = tempDir();
    const keysDir = path.join(dir, 'keys');
    const db = newDatabase(path.join(dir, 'lexecon.db'));
    expect(() => listKeysCommand({ keysDir })).toThrow(/no keys directory/);
    expect(fs.existsSync(keysDir)).toBe(false);
    const rotated = await lexecon(['keys', 'rotate', '--alg', 'ed25519', '--keys-dir', keysDir, '--db', db]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const conn = openDatabase(db, { readonly: true, fileMustExist: true });
    try {
      const types = (conn.prepare(`SELECT event_type FROM ledger_entries ORDER BY seq`).all() as Array<{ event_type: string }>).map((r) => r.event_type);
      expect(types.filter((t) => t.startsWith('key_'))).toEqual(['key_created', 'key_rotated']);
    } finally {
      conn.close();
    }
    await expect(rotateKeysCommand({ alg: 'dsa', keysDir, db })).rejects.toThrow(CliError);
  });
});

describe('the pure parts', () => {
  it('loadVerificationKeys: a PEM, the published JSON, and errors as CliErrors', () => {
    const { keys } = setup();
    const list = keys.publicKeys();
    const ed = list.find((k) => k.alg === 'Ed25519')!;
    expect(typeof loadVerificationKeys(ed.public_key_pem)).toBe('object');
    const lookup = loadVerificationKeys(JSON.stringify({ keys: list }));
    expect(typeof lookup).toBe('function');
    expect((lookup as (kid: string) => unknown)(ed.kid)).toBeDefined();
    expect(() => loadVerificationKeys(JSON.stringify({ keys: [{ ...ed, kid: '0000000000000000' }] }))).toThrow(/says kid 0000000000000000/);
    expect(() => loadVerificationKeys('{')).toThrow(CliError);
    expect(() => loadVerificationKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(/not a PEM public key/);
    expect(() => loadVerificationKeys(JSON.stringify({ keys: [] }))).toThrow(/no Ed25519 key/);
  });

  it('formatVerifyResult', () => {
    expect(formatVerifyResult({ valid: false, reason: 'expired' })).toBe('invalid: expired');
    expect(formatVerifyResult({ valid: false, reason: 'malformed', detail: 'too short' })).toBe('invalid: malformed (too short)');
  });
});

describe('lexecon verify-token on tokens the server minted through POST /decide', () => {
  it('valid, tampered and expired, with nothing but the public key', async () => {
    const mintVia = async (clockAt: number) => {
      const t = await buildTestApp({ clock: new ManualClock(clockAt) });
      try {
        const lead = await seedSession(t, 'governance_lead');
        const agent = await createAgentKey(t);
        await t.app.inject({
          method: 'POST',
          url: '/policies/load',
          headers: bearer(lead),
          payload: { policy_id: 'p', terms: [{ id: 'a', type: 'actor', value: 'ai_agent:*' }, { id: 'read_customer', type: 'action' }], relations: [{ type: 'permits', source: 'a', target: 'read_customer' }] },
        });
        const d = (await t.app.inject({
          method: 'POST',
          url: '/decide',
          headers: bearer(agent.secret),
          payload: { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' },
        })).json();
        const keys = (await t.app.inject({ method: 'GET', url: '/api/governance/keys' })).json().keys;
        const pemFile = path.join(tempDir(), 'server-key.pem');
        fs.writeFileSync(pemFile, keys.find((k: { alg: string }) => k.alg === 'Ed25519').public_key_pem);
        return { token: d.capability_token as string, pemFile, decisionId: d.decision_id as string };
      } finally {
        await t.app.close();
      }
    };
    const fresh = await mintVia(Date.now());
    const old = await mintVia(Date.parse('2026-01-01T00:00:00.000Z'));
    // The same signature over claims that now grant another action.
    const claims = JSON.parse(Buffer.from(fresh.token.slice(4, -87), 'base64url').toString('utf8'));
    const forged = Buffer.from(canonicalize({ ...claims, act: 'delete_records' }), 'utf8').toString('base64url');
    const tampered = `cap_${forged}_${fresh.token.slice(-86)}`;
    const [ok, bad, expired] = await Promise.all([
      lexecon(['verify-token', '--public-key', fresh.pemFile, '--action', 'read_customer', '--json', fresh.token]),
      lexecon(['verify-token', '--public-key', fresh.pemFile, '--json', tampered]),
      lexecon(['verify-token', '--public-key', old.pemFile, '--json', old.token]),
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, reason: 'ok', claims: { dec: fresh.decisionId } });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, reason: 'bad_signature' });
    expect(expired.code).toBe(1);
    expect(JSON.parse(expired.stdout)).toMatchObject({ valid: false, reason: 'expired', claims: { dec: old.decisionId } });
  }, 60_000);
});
