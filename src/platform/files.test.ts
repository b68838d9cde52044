import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertPrivateDir, assertPrivateFile, createPrivateFile, FileModeError, mkdirPrivate } from './files.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-files-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const mode = (f: string) => fs.statSync(f).mode & 0o777;

/** Run with a umask, restoring the previous one. */
function withUmask<T>(mask: number, work: () => T): T {
  const before = process.umask(mask);
  try {
    return work();
  } finally {
    process.umask(before);
  }
}

describe.skipIf(process.platform === 'win32')('private files and directories', () => {
  it('mkdirPrivate makes every directory it creates 0700 whatever the umask, and leaves existing ones alone', () => {
    const existing = path.join(root, 'existing');
    fs.mkdirSync(existing);
    fs.chmodSync(existing, 0o755);
    const deep = path.join(existing, 'a', 'b', 'c');
    withUmask(0o000, () => mkdirPrivate(deep));
    expect([mode(path.join(existing, 'a')), mode(path.join(existing, 'a', 'b')), mode(deep)]).toEqual([0o700, 0o700, 0o700]);
    expect(mode(existing)).toBe(0o755);
    // A umask that would leave the owner without write access does not either.
    const narrow = path.join(root, 'narrow');
    withUmask(0o277, () => mkdirPrivate(narrow));
    expect(mode(narrow)).toBe(0o700);
    mkdirPrivate(deep);
    expect(mode(deep)).toBe(0o700);
  });

  it('createPrivateFile creates 0600 once and never touches an existing file', () => {
    const file = path.join(root, 'f.db');
    expect(withUmask(0o000, () => createPrivateFile(file))).toBe(true);
    expect(mode(file)).toBe(0o600);
    fs.chmodSync(file, 0o640);
    expect(createPrivateFile(file)).toBe(false);
    expect(mode(file)).toBe(0o640);
  });

  it('the checks refuse any group or other bit by mode, naming the chmod, and take a custom error', () => {
    const file = path.join(root, 'secret');
    fs.writeFileSync(file, 'x');
    for (const m of [0o640, 0o604, 0o620, 0o601, 0o610]) {
      fs.chmodSync(file, m);
      expect(() => assertPrivateFile(file, 'secret file')).toThrow(FileModeError);
      expect(() => assertPrivateFile(file, 'secret file')).toThrow(`(mode ${m.toString(8)}); refusing to use it. Run: chmod 600 ${file}`);
    }
    fs.chmodSync(file, 0o600);
    expect(() => assertPrivateFile(file, 'secret file')).not.toThrow();
    fs.chmodSync(file, 0o400);
    expect(() => assertPrivateFile(file, 'secret file')).not.toThrow();

    const dir = path.join(root, 'keys');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o711);
    class Custom extends Error {}
    expect(() => assertPrivateDir(dir, 'keys directory', (m) => new Custom(m))).toThrow(Custom);
    expect(() => assertPrivateDir(dir, 'keys directory')).toThrow(`keys directory ${dir} is accessible by group or others (mode 711)`);
    fs.chmodSync(dir, 0o700);
    expect(() => assertPrivateDir(dir, 'keys directory')).not.toThrow();
  });
});
