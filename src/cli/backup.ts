import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { SqliteLedgerRepo } from '../modules/ledger/ledger.repo.js';
import { verifyLedger } from '../modules/ledger/ledger.verify.js';
import { schemaVersion } from '../platform/db/migrations.js';
import { chooseDatabase } from './database.js';
import { databaseTarget } from './postgres.js';
import { CliError, dbOption, EXIT_INVALID, openOrFail } from './support.js';
import { progressReporter } from './progress.js';

/** Pages copied per step: about a hundred steps in all (a step holds a read transaction only while it copies). */
const stepPages = (total: number) => Math.max(100, Math.ceil(total / 100));
/** After this many restarts (another connection wrote between two steps), copy the rest in one step. */
const MAX_RESTARTS = 2;
const ALL_PAGES = 0x7fffffff;

export interface BackupResult {
  file: string;
  pages: number;
  restarts: number;
}

/**
 * Copy the database `source` to `out` with SQLite's online backup API (better-sqlite3's `db.backup`).
 * Safe while a server runs on `source`: in WAL mode a step is a read transaction, which never blocks
 * the server's writers. When the server writes between two steps SQLite restarts the copy; after
 * {@link MAX_RESTARTS} restarts the rest is copied in a single step, so a busy server cannot starve it.
 * The copy is written beside `out` and renamed into place (mode 0600) only when complete.
 */
export async function backupDatabase(
  source: string,
  out: string,
  onProgress?: (done: number, total: number) => void,
): Promise<BackupResult> {
  const db = openOrFail(source, { readonly: true });
  const partial = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.partial`);
  let restarts = 0;
  try {
    if (schemaVersion(db) < 1) throw new CliError(`${source} is not a Lexecon database (no ledger table)`);
    let lastRemaining = Number.POSITIVE_INFINITY;
    const result = await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        if (remainingPages > lastRemaining) restarts += 1;
        lastRemaining = remainingPages;
        onProgress?.(totalPages - remainingPages, totalPages);
        return restarts >= MAX_RESTARTS ? ALL_PAGES : stepPages(totalPages);
      },
    });
    onProgress?.(result.totalPages, result.totalPages);
    fs.chmodSync(partial, 0o600);
    fs.renameSync(partial, out);
    return { file: out, pages: result.totalPages, restarts };
  } catch (err) {
    fs.rmSync(partial, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(`backup of ${source} to ${out} failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

interface BackupOptions {
  out: string;
  db?: string;
  databaseUrl?: string;
  force?: boolean;
  verify: boolean;
  progress: boolean;
}

/**
 * A PostgreSQL database is not copied by Lexecon: `pg_dump --format=custom` already reads the whole
 * database in one snapshot (SETUP.md "PostgreSQL backups"). The command says how, and exits 2.
 */
function postgresBackupAdvice(url: string, from: string): CliError {
  const target = databaseTarget(url);
  return new CliError(
    `lexecon backup copies SQLite files only; the database (${from}) is PostgreSQL: ${target.redacted}.\n` +
      `  Back it up with pg_dump, which reads the whole database in one consistent snapshot while the replicas keep writing:\n` +
      `    pg_dump --format=custom --dbname=<url> --file=lexecon-$(date +%F).dump\n` +
      `  Restore with pg_restore into an empty database, then check the ledger there:\n` +
      `    pg_restore --exit-on-error --single-transaction --dbname=<new url> lexecon-….dump\n` +
      `    lexecon verify-ledger --database-url <new url>\n` +
      `  (SETUP.md, "PostgreSQL backups"; back up the keys directory with it.)`,
  );
}

async function backupCommand(opts: BackupOptions): Promise<void> {
  const choice = chooseDatabase(opts);
  if (choice.kind === 'postgres') throw postgresBackupAdvice(choice.url, choice.from);
  const source = choice.file;
  const out = path.resolve(opts.out);
  if (path.resolve(source) === out) throw new CliError('--out must differ from the database');
  if (fs.existsSync(out) && !opts.force) throw new CliError(`${out} exists (pass --force to replace it)`);
  if (!fs.existsSync(path.dirname(out))) throw new CliError(`the directory ${path.dirname(out)} does not exist`);

  const copying = opts.progress ? progressReporter('backing up', 'pages') : undefined;
  const result = await backupDatabase(source, out, copying?.update);
  copying?.end();
  const restarted = result.restarts > 0 ? `; restarted ${result.restarts} time(s) by concurrent writes` : '';
  process.stdout.write(`backed up ${source} to ${out} (${result.pages} pages${restarted})\n`);
  if (!opts.verify) return;

  // Read-write, though it only reads: closing the last connection removes the -wal and -shm files.
  const copy = openOrFail(out);
  try {
    const checking = opts.progress ? progressReporter('verifying the copy', 'entries') : undefined;
    const report = await verifyLedger(new SqliteLedgerRepo(copy), { onProgress: checking?.update });
    checking?.end();
    if (report.valid) {
      process.stdout.write(`copy's ledger valid: ${report.entriesChecked} entries, head ${report.headHash}\n`);
    } else {
      const f = report.firstInvalid!;
      process.stdout.write(`copy's ledger INVALID at seq ${f.seq} (${f.entryId}): ${f.code}: ${f.reason}\n`);
      process.exitCode = EXIT_INVALID;
    }
  } finally {
    copy.close();
  }
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      "Copy the SQLite database with SQLite's online backup API, safe while the server runs (WAL), then verify the copy's ledger. A PostgreSQL database (--database-url, or LEXECON_DATABASE_URL) is backed up with pg_dump --format=custom instead: the command says how and exits 2. Progress on stderr. Exit 0 done, 1 the copy's ledger is invalid, 2 error.",
    )
    .requiredOption('--out <file>', 'the backup file to write (mode 0600; refused if it exists unless --force)')
    .addOption(dbOption())
    .addOption(
      new Option(
        '--database-url <url>',
        'a PostgreSQL database: not copied by Lexecon; the command exits 2 and shows the pg_dump / pg_restore commands to use instead (SETUP.md)',
      ).conflicts('db'),
    )
    .option('--force', 'replace --out if it exists')
    .option('--no-verify', "do not verify the copy's ledger afterwards")
    .option('--no-progress', 'do not print progress on stderr')
    .action(backupCommand);
}
