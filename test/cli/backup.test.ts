import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/connection.js';
import { buildTestApp, tempDir, type TestApp } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync } from '../helpers/cli.js';

const count = (file: string) => {
  const db = openDatabase(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM ledger_entries').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('lexecon backup', () => {
  let dir: string;
  let file: string;
  let t: TestApp;
  beforeAll(async () => {
    dir = tempDir();
    file = path.join(dir, 'lexecon.db');
    t = await buildTestApp({ db: openDatabase(file) });
    // Enough pages (several MB) that the copy takes many steps.
    const filler = 'x'.repeat(2000);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => t.services.ledger.append('decision', { n: i, filler })));
  }, 60_000);
  afterAll(async () => {
    await t.app.close();
  });

  it('copies the database of a running app that keeps writing, and the copy verifies', async () => {
    const before = count(file);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await t.services.ledger.append('decision', { during_backup: written++ });
      }
    })();
    const out = path.join(dir, 'backup.db');
    const r = await lexeconAsync(['backup', '--db', file, '--out', out]);
    writing = false;
    await writer;

    expect(r.stderr).toMatch(/backing up: [\d,]+\/[\d,]+ pages \(100%\)/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`backed up ${file} to ${out}`);
    expect(r.stdout).toMatch(/copy's ledger valid: \d+ entries/);
    expect(written).toBeGreaterThan(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(count(out)).toBeGreaterThanOrEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);

    const v = await lexeconAsync(['verify-ledger', '--db', out, '--no-progress']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^ledger valid: \d+ entries/);
  }, 60_000);

  it('refuses to overwrite a file without --force, and a database that does not exist', () => {
    const existing = path.join(dir, 'existing.db');
    fs.writeFileSync(existing, 'keep me');
    const r = lexecon(['backup', '--db', path.join(dir, 'lexecon.db'), '--out', existing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('exists (pass --force to replace it)');
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');

    const missing = lexecon(['backup', '--db', path.join(dir, 'nope.db'), '--out', path.join(dir, 'x.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no Lexecon database at');
  });
});
