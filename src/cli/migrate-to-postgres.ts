import type { Command } from 'commander';
import { allMigrations } from '../migrations.js';
import { PgLedgerRepo } from '../modules/ledger/ledger.pg.repo.js';
import { SqliteLedgerRepo } from '../modules/ledger/ledger.repo.js';
import { verifyLedger } from '../modules/ledger/ledger.verify.js';
import { schemaVersion } from '../platform/db/migrations.js';
import { migratePort, portSchemaVersion } from '../platform/db/port-migrations.js';
import { withPostgres } from './postgres.js';
import { progressReporter } from './progress.js';
import { copyRows, countRows, SchemaMismatch, type TableCopy } from './sqlite-to-postgres.js';
import { CliError, openOrFail, writeJson } from './support.js';

interface MigrateToPostgresOptions {
  from: string;
  to: string;
  json?: boolean;
  progress?: boolean;
}

/**
 * `lexecon migrate-to-postgres --from ./data/lexecon.db --to postgres://…`: copy a SQLite database into
 * an EMPTY PostgreSQL database and prove the copy. In order:
 *  1. the source is opened read-only; it must be at this build's schema version (`lexecon migrate`
 *     first) and its ledger must verify (a broken chain is not carried over silently);
 *  2. the target must hold no Lexecon data: an empty database is migrated to the same version; one
 *     already migrated must have no ledger entry;
 *  3. every row is copied in ONE transaction (nothing is left half-copied);
 *  4. proof: the target's ledger verifies from genesis, with the same number of entries and the same
 *     head hash as the source, and every table holds as many rows as in the source.
 * Stop the server before (the source must not change during the copy): the copy is checked against
 * the source as it was when the copy began. Exit 0 copied and proven, 1 the proof failed, 2 error.
 */
export async function migrateToPostgresCommand(opts: MigrateToPostgresOptions): Promise<void> {
  const db = openOrFail(opts.from, { readonly: true, option: opts.from });
  try {
    const version = schemaVersion(db);
    if (version !== allMigrations.length) {
      throw new CliError(
        `${opts.from} is at schema version ${version}, this build at ${allMigrations.length}: ${version < allMigrations.length ? `run lexecon migrate --db ${opts.from} first` : 'upgrade Lexecon first'}`,
      );
    }
    const progress = opts.progress === false ? undefined : progressReporter('verifying source ledger');
    const source = await verifyLedger(new SqliteLedgerRepo(db), { onProgress: progress?.update });
    progress?.end();
    if (!source.valid) {
      const f = source.firstInvalid!;
      throw new CliError(`the source ledger does not verify (seq ${f.seq}: ${f.code}: ${f.reason}); nothing was copied`);
    }
    await withPostgres(opts.to, { readOnly: false }, async (port) => {
      const targetVersion = await portSchemaVersion(port);
      if (targetVersion === 0) {
        await migratePort(port, allMigrations);
      } else if (targetVersion !== allMigrations.length) {
        throw new CliError(`the target database is at schema version ${targetVersion}, not empty and not at ${allMigrations.length}: use an empty database`);
      } else {
        const entries = await port.one<{ n: number }>('SELECT count(*) AS n FROM ledger_entries');
        if ((entries?.n ?? 0) > 0) throw new CliError('the target database already holds a ledger: migrate-to-postgres copies into an empty database only');
      }
      const copying = opts.progress === false ? undefined : progressReporter('copying', 'rows');
      let copied: TableCopy[];
      try {
        copied = await port.transaction((tx) =>
          copyRows(db, tx, (p) => copying?.update(p.done, p.total)),
        );
      } catch (err) {
        if (err instanceof SchemaMismatch) throw new CliError(`${err.message}; nothing was copied`);
        throw err;
      } finally {
        copying?.end();
      }
      const verifying = opts.progress === false ? undefined : progressReporter('verifying target ledger');
      const target = await verifyLedger(new PgLedgerRepo(port), { onProgress: verifying?.update });
      verifying?.end();
      const counts = await countRows(port, copied.map((c) => c.table));
      const problems: string[] = [];
      if (!target.valid) problems.push(`the copied ledger does not verify: ${target.firstInvalid?.reason ?? ''}`);
      if (target.headHash !== source.headHash) problems.push(`head hash ${target.headHash} differs from the source's ${source.headHash}`);
      if (target.entriesChecked !== source.entriesChecked) problems.push(`${target.entriesChecked} entries instead of ${source.entriesChecked}`);
      for (const c of copied) {
        if (counts.get(c.table) !== c.rows) problems.push(`table ${c.table}: ${counts.get(c.table)} rows instead of ${c.rows}`);
      }
      const report = {
        valid: problems.length === 0,
        entries: target.entriesChecked,
        head_hash: target.headHash,
        source_head_hash: source.headHash,
        tables: copied.map((c) => ({ table: c.table, rows: c.rows })),
        problems,
      };
      if (opts.json) {
        writeJson(report);
      } else if (report.valid) {
        const rows = copied.reduce((n, c) => n + c.rows, 0);
        process.stdout.write(
          `copied ${rows} rows in ${copied.length} tables; the PostgreSQL ledger verifies: ${report.entries} entries, head ${report.head_hash} (the same as the SQLite source)\n`,
        );
      } else {
        process.stdout.write(`copy NOT proven: ${problems.join('; ')}\n`);
      }
      if (!report.valid) process.exitCode = 1;
    });
  } finally {
    db.close();
  }
}

export function registerMigrateToPostgresCommand(program: Command): void {
  program
    .command('migrate-to-postgres')
    .description(
      'Copy a SQLite database into an empty PostgreSQL database (migrated to the same schema first) in one transaction, then prove it: the PostgreSQL ledger verifies with the same entries and head hash, and every table has as many rows. Stop the server first. Exit 0 copied and proven, 1 the proof failed, 2 error (nothing copied).',
    )
    .requiredOption('--from <file>', 'the SQLite database file (read-only)')
    .requiredOption('--to <url>', 'an empty PostgreSQL database: postgres://user:password@host:port/database')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'do not print progress on stderr')
    .action(migrateToPostgresCommand);
}
