import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileModeError } from '../files.js';
import { nextNonce, SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  const box = SecretBox.fromKey(randomBytes(32));

  it('round-trips and never repeats a ciphertext', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'usr_1');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'usr_1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(a, 'usr_1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('opens values sealed before the nonce pool (the stored format is unchanged)', () => {
    // Sealed by the implementation of aba60e0 (randomBytes per nonce, Buffer.concat) with this key.
    const old = SecretBox.fromKey(Buffer.alloc(32, 7));
    const sealed = 'v1.YpK90Xze3pqp0C2X.eNnw4hD3XqQXjvi1giX1bdwmtK0.-VyKBhwbubJcaIizaQjOUQ';
    expect(old.open(sealed, 'capability_token:tok_01JH0000000000000000000000')).toBe('cap_example_token_é');
    const again = old.seal('cap_example_token_é', 'capability_token:tok_01JH0000000000000000000000');
    expect(again).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{27}\.[A-Za-z0-9_-]{22}$/);
    expect(old.open(again, 'capability_token:tok_01JH0000000000000000000000')).toBe('cap_example_token_é');
  });

  it('never hands out a nonce twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const n = nextNonce();
      expect(n.length).toBe(12);
      seen.add(n.toString('hex'));
    }
    expect(seen.size).toBe(5000);
    const ivs = new Set(Array.from({ length: 600 }, () => box.seal('x', 'c').split('.')[1]));
    expect(ivs.size).toBe(600);
  });

  it('round-trips empty, long and non-ASCII plaintexts', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'é東😀'.repeat(50), 'x'.repeat(5000)]) {
      const sealed = box.seal(text, 'ctx');
      expect(Buffer.from(sealed.split('.')[2]!, 'base64url').length).toBe(Buffer.byteLength(text));
      expect(box.open(sealed, 'ctx')).toBe(text);
    }
  });

  it('refuses another context, another key, tampering and garbage', () => {
    const sealed = box.seal('secret', 'usr_1');
    expect(() => box.open(sealed, 'usr_2')).toThrow();
    expect(() => SecretBox.fromKey(randomBytes(32)).open(sealed, 'usr_1')).toThrow();
    const parts = sealed.split('.');
    parts[2] = Buffer.from('SECRET').toString('base64url');
    expect(() => box.open(parts.join('.'), 'usr_1')).toThrow();
    expect(() => box.open('v1.a.b', 'usr_1')).toThrow(/not a sealed value/);
  });

  it('creates its key file once, mode 0600, and reuses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-box-'));
    const file = path.join(dir, 'keys', 'secret-box.key');
    const sealed = SecretBox.fromKeyFile(file).seal('x', 'c');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(SecretBox.fromKeyFile(file).open(sealed, 'c')).toBe('x');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('processes starting together on one keys directory (replicas) all get the one key, never a half-written file', async () => {
    const { spawn } = await import('node:child_process');
    for (let round = 0; round < 3; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-box-'));
      const file = path.join(dir, 'keys', 'secret-box.key');
      const script = `import { SecretBox } from ${JSON.stringify(path.resolve('src/platform/crypto/secret-box.ts'))};
        process.stdout.write(SecretBox.fromKeyFile(${JSON.stringify(file)}).mac('t', 'v'));`;
      const runs = await Promise.all(
        Array.from({ length: 6 }, () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => (out += String(d)));
            child.stderr.on('data', (d) => (err += String(d)));
            child.on('close', (code) => resolve({ code, out, err }));
          }),
        ),
      );
      for (const r of runs) expect(r.code, r.err).toBe(0);
      expect(new Set(runs.map((r) => r.out)).size).toBe(1);
      expect(SecretBox.fromKeyFile(file).mac('t', 'v')).toBe(runs[0]!.out);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['secret-box.key']);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('creates the key 0600 and its directory 0700 whatever the umask', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-box-'));
    const file = path.join(dir, 'keys', 'secret-box.key');
    const before = process.umask(0o000);
    try {
      SecretBox.fromKeyFile(file);
    } finally {
      process.umask(before);
    }
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(process.platform === 'win32')('refuses a key file or a keys directory that group or others can read, naming the chmod', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-box-'));
    const keys = path.join(dir, 'keys');
    const file = path.join(keys, 'secret-box.key');
    SecretBox.fromKeyFile(file);
    fs.chmodSync(file, 0o644);
    expect(() => SecretBox.fromKeyFile(file)).toThrow(FileModeError);
    expect(() => SecretBox.fromKeyFile(file)).toThrow(
      `secret box key file ${file} is accessible by group or others (mode 644); refusing to use it. Run: chmod 600 ${file}`,
    );
    fs.chmodSync(file, 0o600);
    fs.chmodSync(keys, 0o755);
    expect(() => SecretBox.fromKeyFile(file)).toThrow(`Run: chmod 700 ${keys}`);
    fs.chmodSync(keys, 0o700);
    expect(() => SecretBox.fromKeyFile(file)).not.toThrow();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
