import { createHash, createPublicKey, generateKeyPairSync, verify as cryptoVerify, constants } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { computeKid, KeyManager, KeyStoreError, type KeyCreatedEvent } from './keys.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-keys-'));
  dirs.push(dir);
  return path.join(dir, 'keys');
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const clock = new ManualClock('2026-11-25T10:00:00.000Z');
/** Small RSA keys keep the suite fast; production is 4096. */
const open = (dir: string, extra: Partial<Parameters<typeof KeyManager.open>[1]> = {}) =>
  KeyManager.open(dir, { clock, testOnlyRsaModulusLength: 1024, ...extra });

const mode = (file: string) => fs.statSync(file).mode & 0o777;
const data = Buffer.from('the quick brown fox');

describe('KeyManager', () => {
  it('creates the directory 0700, an Ed25519 key (private 0600, PKCS#8; public SPKI) and a manifest; RSA only on first use', () => {
    const dir = tempDir();
    const created: KeyCreatedEvent[] = [];
    const keys = open(dir, { onKeyCreated: (e) => created.push(e) });
    expect(mode(dir)).toBe(0o700);
    const kid = keys.activeKid('Ed25519');
    expect(kid).toMatch(/^[0-9a-f]{16}$/);
    const priv = path.join(dir, `ed25519-${kid}.key.pem`);
    const pub = path.join(dir, `ed25519-${kid}.pub.pem`);
    expect(mode(priv)).toBe(0o600);
    const privText = fs.readFileSync(priv, 'utf8');
    expect(privText).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
    expect(fs.readFileSync(pub, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect(created).toEqual([{ kid, alg: 'Ed25519', created_at: '2026-11-25T10:00:00.000Z' }]);
    expect(keys.hasActive('RSA-PSS-SHA256')).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('rsa-'))).toEqual([]);

    const rsaKid = keys.activeKid('RSA-PSS-SHA256');
    expect(created.map((c) => c.kid)).toEqual([kid, rsaKid]);
    expect(mode(path.join(dir, `rsa-${rsaKid}.key.pem`))).toBe(0o600);
    expect(keys.publicKeys().map((k) => [k.kid, k.alg, k.status])).toEqual([
      [kid, 'Ed25519', 'active'],
      [rsaKid, 'RSA-PSS-SHA256', 'active'],
    ]);
    expect(fs.readdirSync(dir).some((f) => f.endsWith('.tmp') || f === 'manifest.lock')).toBe(false);
  });

  it('computes kid as the first 16 hex of SHA-256 of the SPKI DER (checked independently)', () => {
    const keys = open(tempDir());
    for (const alg of ['Ed25519', 'RSA-PSS-SHA256'] as const) {
      const kid = keys.activeKid(alg);
      const info = keys.publicKeys().find((k) => k.kid === kid)!;
      const der = createPublicKey(info.public_key_pem).export({ type: 'spki', format: 'der' });
      expect(createHash('sha256').update(der).digest('hex').slice(0, 16)).toBe(kid);
      expect(computeKid(keys.publicKeyObject(kid)!)).toBe(kid);
    }
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    expect(computeKid(privateKey)).toBe(computeKid(publicKey));
  });

  it('gives the same keys after reopening, and the manifest survives', () => {
    const dir = tempDir();
    const a = open(dir);
    const ed = a.activeKid('Ed25519');
    const rsa = a.activeKid('RSA-PSS-SHA256');
    const b = open(dir, { onKeyCreated: () => expect.fail('nothing to create') });
    expect(b.activeKid('Ed25519')).toBe(ed);
    expect(b.activeKid('RSA-PSS-SHA256')).toBe(rsa);
    expect(b.publicKeys()).toEqual(a.publicKeys());
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      version: 1,
      keys: [
        { kid: ed, alg: 'Ed25519', status: 'active', created_at: '2026-11-25T10:00:00.000Z' },
        { kid: rsa, alg: 'RSA-PSS-SHA256', status: 'active', created_at: '2026-11-25T10:00:00.000Z' },
      ],
    });
    // A signature made before reopening verifies after it.
    const { kid, signature } = a.sign('Ed25519', data);
    expect(b.verify(kid, data, signature)).toBe(true);
  });

  it('signs and verifies with both algorithms; tampered data or signature fails; unknown kid is false', () => {
    const keys = open(tempDir());
    for (const alg of ['Ed25519', 'RSA-PSS-SHA256'] as const) {
      const { kid, signature } = keys.sign(alg, data);
      expect(kid).toBe(keys.activeKid(alg));
      expect(keys.verify(kid, data, signature)).toBe(true);
      expect(keys.verify(kid, Buffer.from('the quick brown fox!'), signature)).toBe(false);
      const bad = Buffer.from(signature);
      bad[5]! ^= 0x01;
      expect(keys.verify(kid, data, bad)).toBe(false);
      // A byte short (the last one: an RSA signature whose first byte is 0 would still be the same number).
      expect(keys.verify(kid, data, signature.subarray(0, -1))).toBe(false);
      expect(keys.verify('0123456789abcdef', data, signature)).toBe(false);
    }
    const ed = keys.sign('Ed25519', data);
    expect(ed.signature).toHaveLength(64);
    expect(cryptoVerify(null, data, keys.publicKeyObject(ed.kid)!, ed.signature)).toBe(true);
    // RSA-PSS with SHA-256 and a 32-byte salt (PS256), verifiable by any RSA-PSS implementation.
    const rsa = keys.sign('RSA-PSS-SHA256', data);
    expect(rsa.signature).toHaveLength(128);
    expect(
      cryptoVerify('sha256', data, { key: keys.publicKeyObject(rsa.kid)!, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, rsa.signature),
    ).toBe(true);
    // RSA-PSS is randomized, Ed25519 deterministic.
    expect(keys.sign('RSA-PSS-SHA256', data).signature.equals(rsa.signature)).toBe(false);
    expect(keys.sign('Ed25519', data).signature.equals(ed.signature)).toBe(true);
    // A signature by one key does not verify under another.
    const other = open(tempDir());
    expect(keys.verify(ed.kid, data, other.sign('Ed25519', data).signature)).toBe(false);
  });

  it('signer: one per active key (not one per signature), a new one after a rotation', () => {
    const keys = open(tempDir());
    const first = keys.signer('Ed25519');
    expect(keys.signer('Ed25519')).toBe(first);
    clock.advance(60_000);
    keys.rotate('Ed25519');
    const next = keys.signer('Ed25519');
    expect(next).not.toBe(first);
    expect(next.kid).toBe(keys.activeKid('Ed25519'));
    expect(next.kid).not.toBe(first.kid);
    expect(keys.verify(next.kid, data, next.sign(data))).toBe(true);
  });

  it('rotation signs with the new key, keeps the old public key verifying, deletes the old private key', () => {
    const dir = tempDir();
    const keys = open(dir);
    const old = keys.sign('Ed25519', data);
    clock.advance(60_000);
    const rotation = keys.rotate('Ed25519');
    expect(rotation).toEqual({ kid: expect.stringMatching(/^[0-9a-f]{16}$/), alg: 'Ed25519', previous_kid: old.kid });
    expect(rotation.kid).not.toBe(old.kid);
    expect(keys.activeKid('Ed25519')).toBe(rotation.kid);
    const fresh = keys.sign('Ed25519', data);
    expect(fresh.kid).toBe(rotation.kid);
    expect(keys.verify(old.kid, data, old.signature)).toBe(true);
    expect(keys.verify(fresh.kid, data, fresh.signature)).toBe(true);
    expect(keys.verify(fresh.kid, data, old.signature)).toBe(false);
    expect(fs.existsSync(path.join(dir, `ed25519-${old.kid}.key.pem`))).toBe(false);
    expect(fs.existsSync(path.join(dir, `ed25519-${old.kid}.pub.pem`))).toBe(true);

    const listed = keys.publicKeys();
    expect(listed.map((k) => [k.kid, k.status])).toEqual([
      [old.kid, 'retired'],
      [rotation.kid, 'active'],
    ]);
    expect(listed[0]!.retired_at).toBe(new Date(clock.now()).toISOString());

    // Another process sees the same after reopening, and verifies the old signature.
    const reopened = open(dir);
    expect(reopened.publicKeys()).toEqual(listed);
    expect(reopened.verify(old.kid, data, old.signature)).toBe(true);

    // RSA rotation of a store without an RSA key: previous_kid null; then a real rotation.
    const first = keys.rotate('RSA-PSS-SHA256');
    expect(first.previous_kid).toBeNull();
    const second = keys.rotate('RSA-PSS-SHA256');
    expect(second.previous_kid).toBe(first.kid);
    expect(keys.activeKid('Ed25519')).toBe(rotation.kid);
  });

  it('picks up a rotation by another process on reload, and a rotation never loses keys written meanwhile', () => {
    const dir = tempDir();
    // Never re-checks the manifest by itself: only reload() picks the rotation up.
    const server = open(dir, { manifestCheckMs: Number.POSITIVE_INFINITY });
    const cli = open(dir);
    const r1 = cli.rotate('Ed25519');
    expect(server.activeKid('Ed25519')).toBe(r1.previous_kid); // still the loaded key
    expect(server.verify(r1.kid, data, cli.sign('Ed25519', data).signature)).toBe(false);
    server.reload();
    expect(server.activeKid('Ed25519')).toBe(r1.kid);
    // Rotating from a stale view re-reads the manifest under the lock first.
    const stale = open(dir);
    const r2 = cli.rotate('Ed25519');
    const r3 = stale.rotate('Ed25519');
    expect(r3.previous_kid).toBe(r2.kid);
    const all = open(dir).publicKeys();
    expect(all.map((k) => k.status)).toEqual(['retired', 'retired', 'retired', 'active']);
    expect(all.at(-1)!.kid).toBe(r3.kid);
  });

  it('replicas sharing one keys directory follow a rotation made by any of them (manifest checked every manifestCheckMs)', async () => {
    const dir = tempDir();
    const a = open(dir, { manifestCheckMs: 0 });
    const b = open(dir, { manifestCheckMs: 0 });
    const c = open(dir, { manifestCheckMs: 1000 });
    const before = a.activeKid('Ed25519');
    expect(b.activeKid('Ed25519')).toBe(before);
    const rotation = b.rotate('Ed25519');
    // A signs with the new key at once, lists it, and verifies what B signs with it.
    const signed = a.sign('Ed25519', data);
    expect(signed.kid).toBe(rotation.kid);
    expect(b.verify(signed.kid, data, signed.signature)).toBe(true);
    expect(a.publicKeys()).toEqual(b.publicKeys());
    expect(a.publicKeys().find((k) => k.kid === before)!.status).toBe('retired');
    // C checks at most every second: still the loaded key right after, the new one once the bound passed.
    expect(c.activeKid('Ed25519')).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect(c.activeKid('Ed25519')).toBe(rotation.kid);
    expect(c.publicKeys()).toEqual(b.publicKeys());
    // A manifest that cannot be read keeps the loaded keys (and is tried again later).
    const manifest = path.join(dir, 'manifest.json');
    const good = fs.readFileSync(manifest, 'utf8');
    fs.writeFileSync(manifest, '{ not json');
    expect(a.activeKid('Ed25519')).toBe(rotation.kid);
    fs.writeFileSync(manifest, good);
    expect(a.sign('Ed25519', data).kid).toBe(rotation.kid);
  });

  it('writes the manifest atomically and waits for a held lock', () => {
    const dir = tempDir();
    const keys = open(dir);
    const manifest = path.join(dir, 'manifest.json');
    const renameSpy = fs.renameSync;
    const seen: string[] = [];
    // The manifest is replaced by rename (never truncated in place).
    (fs as { renameSync: typeof fs.renameSync }).renameSync = (from, to) => {
      seen.push(`${path.basename(String(from)).replace(/\.\d+\.[0-9a-f]+\.tmp$/, '.*.tmp')} -> ${path.basename(String(to))}`);
      renameSpy(from, to);
    };
    try {
      keys.rotate('Ed25519');
    } finally {
      (fs as { renameSync: typeof fs.renameSync }).renameSync = renameSpy;
    }
    expect(seen).toEqual(['manifest.json.*.tmp -> manifest.json']);
    expect(JSON.parse(fs.readFileSync(manifest, 'utf8')).keys).toHaveLength(2);

    // A fresh lock held by someone else: the rotation waits; a stale one (> 30 s) is taken over.
    const lock = path.join(dir, 'manifest.lock');
    fs.writeFileSync(lock, '99999\n');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect(keys.rotate('Ed25519').previous_kid).toBeTruthy();
    expect(fs.existsSync(lock)).toBe(false);

    fs.writeFileSync(lock, '99999\n');
    const holder = spawn(process.execPath, ['-e', `setTimeout(() => require('fs').rmSync(${JSON.stringify(lock)}), 300)`]);
    const started = Date.now();
    const before = keys.activeKid('Ed25519');
    expect(keys.rotate('Ed25519').previous_kid).toBe(before);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    holder.kill();
  });

  it('refuses a private key file readable by group or others, and a keys directory that is not 0700', () => {
    const dir = tempDir();
    const kid = open(dir).activeKid('Ed25519');
    const priv = path.join(dir, `ed25519-${kid}.key.pem`);
    fs.chmodSync(priv, 0o640);
    expect(() => open(dir)).toThrow(KeyStoreError);
    expect(() => open(dir)).toThrow(/accessible by group or others \(mode 640\).*chmod 600/);
    fs.chmodSync(priv, 0o604);
    expect(() => open(dir)).toThrow(/mode 604/);
    fs.chmodSync(priv, 0o600);
    expect(open(dir).activeKid('Ed25519')).toBe(kid);
    fs.chmodSync(dir, 0o770);
    expect(() => open(dir)).toThrow(/accessible by group or others \(mode 770\)/);
    // Readable (not writable) by others is refused too: the directory lists the keys and holds secret-box.key.
    fs.chmodSync(dir, 0o755);
    expect(() => open(dir)).toThrow(KeyStoreError);
    expect(() => open(dir)).toThrow(`keys directory ${dir} is accessible by group or others (mode 755); refusing to use it. Run: chmod 700 ${dir}`);
    fs.chmodSync(dir, 0o700);
  });

  it('refuses a manifest that disagrees with the key files', () => {
    const dir = tempDir();
    const kid = open(dir).activeKid('Ed25519');
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    // A public key file replaced by another key: its kid no longer matches.
    const pub = path.join(dir, `ed25519-${kid}.pub.pem`);
    const original = fs.readFileSync(pub, 'utf8');
    fs.writeFileSync(pub, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(() => open(dir)).toThrow(/has kid [0-9a-f]{16}, but the manifest says/);
    fs.writeFileSync(pub, original);
    // Two active keys of one algorithm.
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, keys: [...manifest.keys, { ...manifest.keys[0], kid: 'ffffffffffffffff' }] }));
    expect(() => open(dir)).toThrow(/more than one active Ed25519 key/);
    fs.writeFileSync(manifestFile, '{"version":2,"keys":[]}');
    expect(() => open(dir)).toThrow(/not a keys manifest/);
  });

  it('opens read-only without creating anything (create: false)', () => {
    const dir = tempDir();
    expect(() => KeyManager.open(dir, { clock, create: false })).toThrow(/no keys directory/);
    fs.mkdirSync(dir, { mode: 0o700 });
    expect(() => KeyManager.open(dir, { clock, create: false })).toThrow(/no keys in/);
    const kid = open(dir).activeKid('Ed25519');
    const ro = KeyManager.open(dir, { clock, create: false });
    expect(ro.activeKid('Ed25519')).toBe(kid);
    expect(() => ro.activeKid('RSA-PSS-SHA256')).toThrow(/no active RSA-PSS-SHA256 key/);
  });

  it('prepares the RSA key off the event loop, once', async () => {
    const created: KeyCreatedEvent[] = [];
    const keys = open(tempDir(), { onKeyCreated: (e) => created.push(e) });
    const [a, b] = await Promise.all([keys.prepare('RSA-PSS-SHA256'), keys.prepare('RSA-PSS-SHA256')]);
    expect(a).toBe(b);
    expect(keys.activeKid('RSA-PSS-SHA256')).toBe(a);
    expect(await keys.prepare('RSA-PSS-SHA256')).toBe(a);
    expect(created.map((c) => c.alg)).toEqual(['Ed25519', 'RSA-PSS-SHA256']);
    expect(fs.readdirSync(keys.dir).filter((f) => f.startsWith('rsa-'))).toHaveLength(2);
  });

  it('allows a smaller RSA modulus only through the explicit test option (default 4096)', () => {
    expect(() => open(tempDir(), { testOnlyRsaModulusLength: 512 })).toThrow(RangeError);
    const keys = open(tempDir());
    const kid = keys.activeKid('RSA-PSS-SHA256');
    expect(keys.publicKeyObject(kid)!.asymmetricKeyDetails?.modulusLength).toBe(1024);
    // The default, without generating a 4096-bit key here (that takes seconds).
    expect(KeyManager.open(tempDir(), { clock }).rsaModulusLength).toBe(4096);
  });
});
