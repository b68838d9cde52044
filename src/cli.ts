#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { registerBackupCommand } from './cli/backup.js';
import { registerMigrateToPostgresCommand } from './cli/migrate-to-postgres.js';
import { databaseTarget, databaseUrlOption, withPostgres, withPostgresReadOnly } from './cli/postgres.js';
import { progressReporter } from './cli/progress.js';
import { CliError, dbOption, EXIT_ERROR, EXIT_INVALID, openOrFail, writeJson } from './cli/support.js';
import { chooseDatabase, withLedger } from './cli/database.js';
import { allMigrations } from './migrations.js';
import { AuthRepo } from './modules/auth/auth.repo.js';
import { USERNAME_PATTERN } from './modules/auth/auth.schemas.js';
import { AuthService } from './modules/auth/auth.service.js';
import { argon2Hasher } from './modules/auth/password.js';
import { registerPolicyCommands } from './modules/policy/policy.cli.js';
import { registerTokenCommands } from './modules/tokens/tokens.cli.js';
import { registerRetentionCommands } from './modules/retention/retention.cli.js';
import { registerEvidenceCommands } from './modules/evidence/evidence.cli.js';
import { registerReceiptCommands } from './modules/transparency/receipt.cli.js';
import { registerGatewayCommand } from './gateway/gateway.cli.js';
import { HUMAN_ROLES, type HumanRole } from './modules/auth/roles.js';
import { systemClock } from './platform/clock.js';
import { SecretBox } from './platform/crypto/secret-box.js';
import { createIdFactory } from './platform/ids.js';
import { PgLedgerRepo } from './modules/ledger/ledger.pg.repo.js';
import { SqliteLedgerRepo, type LedgerRepo } from './modules/ledger/ledger.repo.js';
import { toVerifyReportDto } from './modules/ledger/ledger.schemas.js';
import { verifyLedger } from './modules/ledger/ledger.verify.js';
import { migrate, MigrationError, schemaVersion } from './platform/db/migrations.js';
import { migratePort } from './platform/db/port-migrations.js';
import { VERSION } from './platform/version.js';

interface VerifyLedgerOptions {
  db?: string;
  databaseUrl?: string;
  json?: boolean;
  progress?: boolean;
}

/** Verify one ledger store and print the report: the same words, JSON and exit codes whatever the backend. */
async function verifyAndReport(repo: LedgerRepo, opts: VerifyLedgerOptions): Promise<void> {
  const progress = opts.progress === false ? undefined : progressReporter('verifying ledger');
  const report = await verifyLedger(repo, { onProgress: progress?.update });
  progress?.end();
  if (opts.json) {
    writeJson(toVerifyReportDto(report));
  } else if (report.valid) {
    process.stdout.write(`ledger valid: ${report.entriesChecked} entries, head ${report.headHash}\n`);
  } else {
    const f = report.firstInvalid!;
    process.stdout.write(`ledger INVALID at seq ${f.seq} (${f.entryId}): ${f.code}: ${f.reason}\n`);
  }
  if (!report.valid) process.exitCode = EXIT_INVALID;
}

async function verifyLedgerCommand(opts: VerifyLedgerOptions): Promise<void> {
  const choice = chooseDatabase(opts);
  if (choice.kind === 'postgres') {
    // Read-only on PostgreSQL too: no migration, nothing created; the ledger's tables must be there.
    await withPostgresReadOnly(
      choice.url,
      { tables: ['ledger_entries', 'ledger_head'], what: 'the server creates them at its first start' },
      (port) => verifyAndReport(new PgLedgerRepo(port), opts),
    );
    return;
  }
  const file = choice.file;
  const db = openOrFail(file, { readonly: true, option: choice.option });
  try {
    if (schemaVersion(db) < 1) throw new CliError(`${file} is not a Lexecon database (no ledger table)`);
    await verifyAndReport(new SqliteLedgerRepo(db), opts);
  } finally {
    db.close();
  }
}

/** A refusal to migrate (a newer schema, a failed step) as the user's error, not a stack trace. */
function migrationFailure(err: unknown): unknown {
  return err instanceof MigrationError ? new CliError(err.message) : err;
}

async function migrateCommand(opts: { db?: string; databaseUrl?: string; create?: boolean }): Promise<void> {
  const choice = chooseDatabase(opts);
  if (choice.kind === 'postgres') {
    if (opts.create === true) {
      throw new CliError(
        `--create does not apply to PostgreSQL (${choice.from}): create the database with createdb or CREATE DATABASE, then lexecon migrate --database-url creates the schema in it`,
      );
    }
    const target = databaseTarget(choice.url);
    // migratePort takes the migration advisory lock for each step: safe next to replicas starting together.
    await withPostgres(choice.url, { readOnly: false }, async (port) => {
      const result = await migratePort(port, allMigrations).catch((err: unknown) => {
        throw migrationFailure(err);
      });
      process.stdout.write(migrationReport(target.redacted, result));
    });
    return;
  }
  const file = choice.file;
  const created = opts.create === true && !fs.existsSync(file);
  const db = openOrFail(file, { create: opts.create === true, option: choice.option });
  try {
    let result;
    try {
      result = migrate(db, allMigrations);
    } catch (err) {
      throw migrationFailure(err);
    }
    if (created) process.stdout.write(`created a new database ${file}\n`);
    process.stdout.write(migrationReport(file, result));
  } finally {
    db.close();
  }
}

function migrationReport(database: string, result: { from: number; to: number; applied: ReadonlyArray<{ version: number; name: string }> }): string {
  const names = result.applied.map((m) => `${m.version}_${m.name}`).join(', ');
  return result.applied.length === 0
    ? `database ${database} is up to date at schema version ${result.to}\n`
    : `database ${database} migrated from schema version ${result.from} to ${result.to} (${names})\n`;
}

/** The new user's password: from stdin (one line) when piped, else asked twice without echo. */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text.replace(/\r?\n$/, '');
  }
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new CliError('the passwords differ');
  return first;
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          cleanup();
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          cleanup();
          reject(new CliError('cancelled'));
          return;
        }
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    const cleanup = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}

async function createUserCommand(opts: {
  db?: string;
  databaseUrl?: string;
  username: string;
  role: HumanRole;
  email?: string;
  passwordStdin?: boolean;
}): Promise<void> {
  if (!USERNAME_PATTERN.test(opts.username)) {
    throw new CliError('--username must be 3–64 characters: letters, digits, `.`, `_`, `@`, `-`');
  }
  if (opts.email !== undefined && !z.email().safeParse(opts.email).success) throw new CliError('--email is not an email address');
  const password = await readPassword(opts.passwordStdin === true);
  await withLedger(opts, async (ledger, port) => {
    const auth = new AuthService({
      repo: new AuthRepo(port),
      events: ledger,
      clock: systemClock,
      ids: createIdFactory(systemClock),
      hasher: argon2Hasher(),
      // NOTE: creating a user seals nothing; the server's own key stays where it is.
      secrets: SecretBox.fromKey(randomBytes(32)),
      settings: { session: { idleS: 1, ttlS: 1 }, login: { maxFailures: 1, lockoutS: 1 }, mfaRequiredRoles: [], totpIssuer: 'Lexecon' },
    });
    const user = await auth.createUser({ username: opts.username, email: opts.email, password, role: opts.role }, 'system', 'cli');
    process.stdout.write(`created user ${user.username} (${user.userId}) with role ${user.role}\n`);
  });
}

export function buildCli(): Command {
  const program = new Command()
    .name('lexecon')
    .description('Lexecon governance engine: operate, back up and audit a Lexecon database (ledger verification, retention, evidence exports), manage users, policies and keys, verify capability tokens, evidence exports and decision receipts offline. The commands that open a database (verify-ledger, migrate, create-user, load-policy, export-evidence, retention-run, keys rotate) take --db <file> (SQLite) or --database-url <url> (PostgreSQL); with neither they use the server configuration, as the server does: LEXECON_DATABASE_URL when set, else LEXECON_DB_PATH or <LEXECON_DATA_DIR>/lexecon.db. backup copies SQLite files only (PostgreSQL: pg_dump). They open an existing database only: none creates one or its schema implicitly (lexecon migrate --create creates a SQLite file, lexecon migrate --database-url the schema in an existing PostgreSQL database, on purpose). Exit status: 0 success, 1 a negative finding (invalid ledger, policy, token or export; a failed test case), 2 an error.')
    .version(VERSION)
    // Usage errors exit 2, so that 1 keeps its one meaning: the ledger is invalid.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_ERROR));

  program
    .command('verify-ledger')
    .description(
      'Recompute every hash and link of the ledger, in the SQLite file (--db) or a PostgreSQL database (--database-url) (read-only: safe next to a running server; nothing is created or migrated). Progress on stderr. Exit 0 when valid, 1 when invalid (prints the first bad seq), 2 on error.',
    )
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .option('--json', 'print the verification report as JSON')
    .option('--no-progress', 'do not print progress on stderr')
    .action(verifyLedgerCommand);

  program
    .command('migrate')
    .description(
      'Upgrade the database schema (forward-only migrations; the server also runs them at start), in the SQLite file (--db; with --create create a new one) or a PostgreSQL database (--database-url: it must exist; an empty one gets the whole schema; under the migration advisory lock, safe next to replicas starting). A database written by a newer Lexecon is refused, never modified. Back the database up first (lexecon backup, or pg_dump). Exit 0 done, 2 error.',
    )
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .option('--create', 'create the SQLite database file (and its directory) when it does not exist: the only command that creates one; every other command opens an existing database only (not with PostgreSQL: create that database with createdb)')
    .action(migrateCommand);

  program
    .command('create-user')
    .description(
      'Create a user in the existing database (--db, or --database-url for PostgreSQL; the server creates its own at first start, lexecon migrate makes a new one), ledgered as user_created. The password is read from stdin when piped, else asked for twice; it must pass the password rule. Exit 0 created, 2 error (every password problem listed).',
    )
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .requiredOption('--username <name>', 'login name')
    .addOption(new Option('--role <role>', 'role').choices([...HUMAN_ROLES]).makeOptionMandatory())
    .option('--email <email>', 'email address (used to link an OIDC login)')
    .option('--password-stdin', 'read the password from stdin even on a terminal')
    .action(createUserCommand);

  registerPolicyCommands(program);
  registerTokenCommands(program);
  registerRetentionCommands(program);
  registerEvidenceCommands(program);
  registerReceiptCommands(program);
  registerBackupCommand(program);
  registerMigrateToPostgresCommand(program);
  registerGatewayCommand(program);
  return program;
}

/** Run only as the program (`node dist/cli.js`, the `lexecon` bin link, tsx), not when a test imports buildCli. */
function isMain(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const message = err instanceof CliError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`lexecon: ${message}\n`);
      process.exitCode = EXIT_ERROR;
    });
}
