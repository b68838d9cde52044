import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { SqliteLedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import pino from 'pino';
import { buildTestApp, dropLedgerGuards, GOOD_PASSWORD, tempDir } from '../helpers/build-test-app.js';
import { lexecon } from '../helpers/cli.js';



/** A ledger database file with `appends` entries after genesis. */
async function makeLedger(file: string, appends: number): Promise<void> {
  const db = openDatabase(file);
  migrate(db, allMigrations);
  const ledger = new LedgerService({
    repo: new SqliteLedgerRepo(db),
    clock: new ManualClock(),
    logger: pino({ level: 'silent' }),
  });
  await ledger.start();
  await Promise.all(Array.from({ length: appends }, (_, i) => ledger.append('decision', { n: i })));
  await ledger.close();
  db.close();
}

describe('lexecon CLI', () => {
  let dir: string;
  let good: string;
  beforeAll(async () => {
    dir = tempDir();
    good = path.join(dir, 'good.db');
    await makeLedger(good, 5000);
  });

  it('verify-ledger exits 0 on a valid ledger and reports progress on stderr', () => {
    const r = lexecon(['verify-ledger', '--db', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ledger valid: 5001 entries, head [0-9a-f]{64}\n$/);
    expect(r.stderr).toContain('verifying ledger: 5,001/5,001 entries (100%)');
  });

  it('verify-ledger --json prints the report', () => {
    const r = lexecon(['verify-ledger', '--db', good, '--json', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, entries_checked: 5001, head_seq: 5000 });
  });

  it('verify-ledger reads LEXECON_DB_PATH when --db is not given', () => {
    const r = lexecon(['verify-ledger', '--no-progress'], { LEXECON_DB_PATH: good });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ledger valid: 5001 entries');
  });

  it('verify-ledger exits 1 with the first bad seq on a tampered ledger', async () => {
    const bad = path.join(dir, 'bad.db');
    await makeLedger(bad, 100);
    const db = openDatabase(bad);
    dropLedgerGuards(db);
    db.exec(`UPDATE ledger_entries SET data = '{"n":999}' WHERE seq = 42`);
    db.close();
    const r = lexecon(['verify-ledger', '--db', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ledger INVALID at seq 42 \(entry_42\): hash_mismatch: /);
  });

  it('verify-ledger exits 2 on errors: missing file, not a Lexecon database, bad usage', () => {
    const missing = lexecon(['verify-ledger', '--db', path.join(dir, 'missing.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no Lexecon database at');

    const empty = path.join(dir, 'empty.db');
    openDatabase(empty).close();
    const notLexecon = lexecon(['verify-ledger', '--db', empty]);
    expect(notLexecon.code).toBe(2);
    expect(notLexecon.stderr).toContain('not a Lexecon database');

    expect(lexecon(['verify-ledger', '--bogus']).code).toBe(2);
    expect(lexecon(['no-such-command']).code).toBe(2);
  });

  it('migrate --create creates, migrate keeps the schema (and never creates without --create), and reports configuration problems', () => {
    const file = path.join(dir, 'sub', 'new.db');
    const refused = lexecon(['migrate', '--db', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`no Lexecon database at ${file}`);
    expect(fs.existsSync(file)).toBe(false);
    const first = lexecon(['migrate', '--create', '--db', file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`created a new database ${file}`);
    expect(first.stdout).toContain(`migrated from schema version 0 to ${allMigrations.length}`);
    const second = lexecon(['migrate', '--db', file]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('is up to date');
    const db = openDatabase(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(allMigrations.length);
    db.close();

    const badEnv = lexecon(['migrate'], { LEXECON_PORT: 'eighty', LEXECON_DURABILITY: 'sometimes' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('LEXECON_PORT');
    expect(badEnv.stderr).toContain('LEXECON_DURABILITY');
  });

  it('prints help for every command', () => {
    const help = lexecon(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('verify-ledger');
    expect(help.stdout).toContain('migrate');
    expect(lexecon(['verify-ledger', '--help']).stdout).toContain('--db <path>');
  });
});

/** A new, migrated database file (as the server leaves it at its first start). */
function newDatabase(): string {
  const file = path.join(tempDir(), 'users.db');
  const db = openDatabase(file);
  migrate(db, allMigrations);
  db.close();
  return file;
}

describe('lexecon create-user', () => {
  it('creates a user with a piped password, ledgered, who can then log in to the server', async () => {
    const file = newDatabase();
    const r = lexecon(['create-user', '--db', file, '--username', 'ops.lead', '--role', 'operator', '--email', 'ops@example.com'], {}, `${GOOD_PASSWORD}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created user ops\.lead \(usr_[0-9A-HJKMNP-TV-Z]{26}\) with role operator\n$/);

    const t = await buildTestApp({ db: openDatabase(file) });
    try {
      const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'ops.lead', password: GOOD_PASSWORD } });
      expect(login.statusCode).toBe(200);
      expect(login.json().user).toMatchObject({ username: 'ops.lead', role: 'operator' });
      const created = await t.services.ledger.listEntries({ eventType: 'user_created', limit: 10 });
      expect(created.map((e) => JSON.parse(e.dataJson))).toEqual([
        { user_id: login.json().user.user_id, role: 'operator', by: 'system', via: 'cli' },
      ]);
      expect(created.map((e) => e.dataJson).join('')).not.toContain(GOOD_PASSWORD);
      expect((await t.services.ledger.verify()).valid).toBe(true);
    } finally {
      await t.app.close();
    }
  });

  it('refuses a weak password listing every problem, a taken name and an unknown role (exit 2)', () => {
    const file = newDatabase();
    const weak = lexecon(['create-user', '--db', file, '--username', 'alice', '--role', 'auditor'], {}, 'alice\n');
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('at least 12 characters');
    expect(weak.stderr).toContain('must not contain the username');

    expect(lexecon(['create-user', '--db', file, '--username', 'alice', '--role', 'auditor'], {}, GOOD_PASSWORD).code).toBe(0);
    const taken = lexecon(['create-user', '--db', file, '--username', 'ALICE', '--role', 'auditor'], {}, GOOD_PASSWORD);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('already exists');

    const role = lexecon(['create-user', '--db', file, '--username', 'bob', '--role', 'agent'], {}, GOOD_PASSWORD);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/Allowed choices are admin, governance_lead/);
  });
});
