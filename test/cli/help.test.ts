import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { lexeconAsync } from '../helpers/cli.js';

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`exit ${code}`);
  }
}

/** `lexecon <args>` in this process: its stdout and exit code (process.exit is intercepted). */
async function runInProcess(args: string[]): Promise<{ code: number | undefined; stdout: string }> {
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process, 'exit').mockImplementation((code?: number | string | null) => {
    throw new Exit(code === undefined || code === null ? undefined : Number(code));
  });
  try {
    await buildCli().parseAsync(['node', 'lexecon', ...args]);
    return { code: process.exitCode as number | undefined, stdout };
  } catch (err) {
    if (err instanceof Exit) return { code: err.code, stdout };
    throw err;
  } finally {
    write.mockRestore();
  }
}

/** Every registered command, by its path of names (`['keys', 'rotate']`). */
function allCommands(cmd: Command, prefix: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: [...prefix, c.name()], cmd: c }, ...allCommands(c, [...prefix, c.name()])]);
}

afterEach(() => vi.restoreAllMocks());

describe('lexecon --help', () => {
  const commands = allCommands(buildCli());

  it('registers the documented commands', () => {
    expect(commands.map((c) => c.path.join(' '))).toEqual(
      expect.arrayContaining([
        'verify-ledger',
        'migrate',
        'backup',
        'create-user',
        'load-policy',
        'validate-policy',
        'test-policy',
        'verify-token',
        'keys',
        'keys rotate',
        'keys list',
        'keys public',
        'retention-run',
        'export-evidence',
        'verify-export',
        'verify-receipt',
      ]),
    );
  });

  it.each(commands.map((c) => [c.path.join(' '), c] as const))('%s: a description, described options and arguments', (_, { cmd }) => {
    expect(cmd.description().length).toBeGreaterThan(20);
    for (const o of cmd.options) expect(o.description, `${o.flags} has no description`).toMatch(/\S{3}/);
    for (const a of cmd.registeredArguments) expect(a.description, `<${a.name()}> has no description`).toMatch(/\S{3}/);
  });

  it.each(commands.map((c) => [c.path.join(' ')] as const))('%s --help prints its usage and exits 0', async (name) => {
    const run = await runInProcess([...name.split(' '), '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: lexecon ${name} `));
  });

  it('the long-running commands can show progress on stderr and take --no-progress', () => {
    for (const name of ['verify-ledger', 'export-evidence', 'verify-export', 'retention-run', 'backup']) {
      const cmd = commands.find((c) => c.path.join(' ') === name)!.cmd;
      expect(cmd.options.map((o) => o.long), name).toContain('--no-progress');
      expect(cmd.description(), name).toMatch(/progress on stderr/i);
    }
  });

  it('verify-ledger takes --database-url (a PostgreSQL ledger), declared exclusive with --db, and says so in its help', async () => {
    const cmd = commands.find((c) => c.path.join(' ') === 'verify-ledger')!.cmd;
    const option = cmd.options.find((o) => o.long === '--database-url');
    expect(option?.flags).toBe('--database-url <url>');
    const both = await runInProcess(['verify-ledger', '--db', 'x.db', '--database-url', 'postgres://db.invalid/x']);
    expect(both.code).toBe(2);
    const run = await runInProcess(['verify-ledger', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--database-url <url>');
    expect(run.stdout).toContain('--db <path>');
  });

  const DATABASE_COMMANDS = ['verify-ledger', 'migrate', 'create-user', 'load-policy', 'retention-run', 'export-evidence', 'keys rotate', 'backup'];

  it('every command that opens the database takes --db and --database-url, declared exclusive, and its help says so', async () => {
    const withUrl = commands.filter((c) => c.cmd.options.some((o) => o.long === '--database-url')).map((c) => c.path.join(' '));
    expect(withUrl.sort()).toEqual([...DATABASE_COMMANDS].sort());
    // Commands with --db are exactly those: none opens the database without offering PostgreSQL.
    expect(commands.filter((c) => c.cmd.options.some((o) => o.long === '--db')).map((c) => c.path.join(' ')).sort()).toEqual([...DATABASE_COMMANDS].sort());
    for (const name of DATABASE_COMMANDS) {
      const cmd = commands.find((c) => c.path.join(' ') === name)!.cmd;
      const option = cmd.options.find((o) => o.long === '--database-url')!;
      expect(option.flags, name).toBe('--database-url <url>');
      expect((option as unknown as { conflictsWith: string[] }).conflictsWith, name).toEqual(['db']);
      expect(cmd.description(), name).toMatch(/--database-url/);
      const run = await runInProcess([...name.split(' '), '--help']);
      expect(run.stdout, name).toContain('--database-url <url>');
      expect(run.stdout, name).toMatch(/LEXECON_DATABASE_URL/);
    }
    const root = buildCli().description();
    expect(root).toContain('(verify-ledger, migrate, create-user, load-policy, export-evidence, retention-run, keys rotate) take --db <file> (SQLite) or --database-url <url> (PostgreSQL)');
    expect(root).toContain('LEXECON_DATABASE_URL when set');
    expect(root).toContain('backup copies SQLite files only (PostgreSQL: pg_dump)');
  });

  it('the real binary: --help lists every command with its summary and exits 0; --version prints the version', async () => {
    const [help, version] = await Promise.all([lexeconAsync(['--help']), lexeconAsync(['--version'])]);
    expect(help.code).toBe(0);
    for (const { path, cmd } of commands.filter((c) => c.path.length === 1)) {
      expect(help.stdout).toMatch(new RegExp(`^  ${path[0]}\\b.*\\s{2}${cmd.description().split(' ')[0]}`, 'm'));
    }
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  }, 30_000);
});
