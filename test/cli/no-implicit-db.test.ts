import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { GOOD_PASSWORD, tempDir } from '../helpers/build-test-app.js';
import { lexecon } from '../helpers/cli.js';

/** Every command (subcommands as `keys rotate`) that takes `--db`. */
function commandsWithDb(cmd: Command, prefix = ''): string[] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    const own = c.options.some((o) => o.long === '--db') ? [name] : [];
    return [...own, ...commandsWithDb(c, `${name} `)];
  });
}

/** The arguments (besides --db) that each command needs to get as far as opening the database. */
const ARGS: Record<string, string[]> = {
  'verify-ledger': ['--no-progress'],
  migrate: [],
  'create-user': ['--username', 'admin', '--role', 'admin'],
  'load-policy': ['--policy-file', 'policies/quick-start.json'],
  'keys rotate': [],
  'retention-run': [],
  'export-evidence': ['--from', '2026-01-01T00:00:00Z', '--to', '2026-02-01T00:00:00Z', '--no-progress'],
  backup: ['--out', 'OUT'],
};

describe('the CLI never creates a database implicitly', () => {
  it('every command with --db is covered here', () => {
    expect(commandsWithDb(buildCli()).sort()).toEqual(Object.keys(ARGS).sort());
  });

  it.each(Object.keys(ARGS))('%s, pointed at a data dir without a database, refuses naming the path and how to point elsewhere', (command) => {
    const dataDir = tempDir();
    const keysDir = path.join(tempDir(), 'keys');
    const args = ARGS[command]!.map((a) => (a === 'OUT' ? path.join(tempDir(), 'copy.db') : a));
    const r = lexecon(
      [...command.split(' '), ...args],
      { LEXECON_DATA_DIR: dataDir, LEXECON_KEYS_DIR: keysDir, LEXECON_RETENTION_DAYS: '365' },
      `${GOOD_PASSWORD}\n`,
    );
    const expected = path.resolve(dataDir, 'lexecon.db');
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).not.toContain('loaded and active');
    expect(r.stderr).toContain(`no Lexecon database at ${expected} (<LEXECON_DATA_DIR>/lexecon.db; LEXECON_DATA_DIR is ${path.resolve(dataDir)}, by default ./data)`);
    expect(r.stderr).toContain('--db <file>');
    expect(r.stderr).toContain('lexecon migrate --create');
    expect(fs.readdirSync(dataDir)).toEqual([]);
    expect(fs.existsSync(keysDir)).toBe(false);
  });

  it('LEXECON_DB_PATH pointing nowhere is named as the source', () => {
    const file = path.join(tempDir(), 'elsewhere.db');
    const r = lexecon(['load-policy', ...ARGS['load-policy']!], { LEXECON_DB_PATH: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no Lexecon database at ${file} (from LEXECON_DB_PATH)`);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a --db that does not exist is refused the same way (load-policy, verify-ledger, create-user), and nothing is created', () => {
    const dir = tempDir();
    const file = path.join(dir, 'sub', 'lexecon.db');
    for (const command of ['load-policy', 'verify-ledger', 'create-user']) {
      const r = lexecon([command, '--db', file, ...ARGS[command]!], {}, `${GOOD_PASSWORD}\n`);
      expect(r.code, command).toBe(2);
      expect(r.stderr, command).toContain(`no Lexecon database at ${file} (given with --db)`);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a file that is not a Lexecon database is refused by writing commands, not migrated into one', () => {
    const file = path.join(tempDir(), 'other.db');
    const other = openDatabase(file);
    other.exec('CREATE TABLE t (x)');
    other.close();
    const r = lexecon(['load-policy', '--db', file, ...ARGS['load-policy']!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a Lexecon database');
  });

  it('migrate --create is the one way to create a database on purpose; then the other commands use it', () => {
    const dataDir = tempDir();
    const env = { LEXECON_DATA_DIR: dataDir };
    const file = path.resolve(dataDir, 'lexecon.db');
    const created = lexecon(['migrate', '--create'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`created a new database ${path.join(dataDir, 'lexecon.db')}`);
    expect(fs.existsSync(file)).toBe(true);
    const loaded = lexecon(['load-policy', ...ARGS['load-policy']!], env);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/^policy quick-start loaded and active\n/);
    const verified = lexecon(['verify-ledger', '--no-progress'], env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ledger valid: \d+ entries/);
  });
});
