import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FAST_HASHER, tempDir } from '../helpers/build-test-app.js';

/**
 * Issue 14 C7: what the server creates is private to its user (data dir 0700, database and its
 * -wal/-shm 0600), and a start with secrets others can read is refused with the chmod to run. Checks are
 * by mode bits, so they hold when the tests run as root.
 */
const mode = (f: string) => fs.statSync(f).mode & 0o777;

function config(dataDir: string) {
  return loadConfig({ LEXECON_DATA_DIR: dataDir, LEXECON_LOG_LEVEL: 'silent', LEXECON_RATE_LIMIT_RPM: '0' });
}

const start = (dataDir: string) => buildApp(config(dataDir), { passwordHasher: FAST_HASHER, testOnlyRsaModulusLength: 1024 });

describe.skipIf(process.platform === 'win32')('file modes at start', () => {
  it('creates a fresh data dir 0700, the database and its -wal/-shm 0600, the keys 0700/0600, whatever the umask', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const before = process.umask(0o000);
    let app;
    try {
      app = await start(dataDir);
    } finally {
      process.umask(before);
    }
    try {
      expect(mode(dataDir)).toBe(0o700);
      const db = path.join(dataDir, 'lexecon.db');
      expect(mode(db)).toBe(0o600);
      expect(mode(`${db}-wal`)).toBe(0o600);
      expect(mode(`${db}-shm`)).toBe(0o600);
      const keys = path.join(dataDir, 'keys');
      expect(mode(keys)).toBe(0o700);
      expect(mode(path.join(keys, 'secret-box.key'))).toBe(0o600);
      for (const f of fs.readdirSync(keys).filter((n) => n.endsWith('.key.pem'))) expect(mode(path.join(keys, f))).toBe(0o600);
    } finally {
      await app.close();
    }
  });

  it('refuses to start with a secret-box.key readable by others (0644), naming the file and the chmod', async () => {
    const dataDir = tempDir();
    await (await start(dataDir)).close();
    const file = path.join(dataDir, 'keys', 'secret-box.key');
    fs.chmodSync(file, 0o644);
    await expect(start(dataDir)).rejects.toThrow(
      `secret box key file ${file} is accessible by group or others (mode 644); refusing to use it. Run: chmod 600 ${file}`,
    );
    fs.chmodSync(file, 0o600);
    await (await start(dataDir)).close();
  });

  it('refuses to start with a keys directory readable by others (0755), naming the directory and the chmod', async () => {
    const dataDir = tempDir();
    await (await start(dataDir)).close();
    const keys = path.join(dataDir, 'keys');
    fs.chmodSync(keys, 0o755);
    await expect(start(dataDir)).rejects.toThrow(
      `keys directory ${keys} is accessible by group or others (mode 755); refusing to use it. Run: chmod 700 ${keys}`,
    );
    fs.chmodSync(keys, 0o700);
    await (await start(dataDir)).close();
  });

  it('a refused start writes no ledger entry', async () => {
    const dataDir = tempDir();
    await (await start(dataDir)).close();
    const dbFile = path.join(dataDir, 'lexecon.db');
    const { openDatabase } = await import('../../src/platform/db/connection.js');
    const count = () => {
      const db = openDatabase(dbFile, { readonly: true });
      try {
        return db.prepare('SELECT count(*) FROM ledger_entries').pluck().get();
      } finally {
        db.close();
      }
    };
    const entries = count();
    fs.chmodSync(path.join(dataDir, 'keys', 'secret-box.key'), 0o640);
    await expect(start(dataDir)).rejects.toThrow(/chmod 600/);
    expect(count()).toBe(entries);
  });
});
