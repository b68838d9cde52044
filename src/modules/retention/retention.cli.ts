import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { CliError, dbOption, writeJson } from '../../cli/support.js';
import { withLedger } from '../../cli/database.js';
import { databaseUrlOption } from '../../cli/postgres.js';
import { ConfigError, loadConfig } from '../../config.js';
import { systemClock } from '../../platform/clock.js';
import { exclusiveOn } from '../../platform/db/exclusive-run.js';
import { createIdFactory } from '../../platform/ids.js';
import { ExportFiles } from '../evidence/evidence.files.js';
import { RetentionRepo } from './retention.repo.js';
import { toRunDto } from './retention.schemas.js';
import { RetentionService } from './retention.service.js';

interface RetentionRunOptions {
  db?: string;
  databaseUrl?: string;
  batchSize: string;
  json?: boolean;
  progress: boolean;
}

async function retentionRunCommand(opts: RetentionRunOptions): Promise<void> {
  // The server's configuration, so the CLI can never purge below the LEXECON_RETENTION_DAYS floor.
  let retentionDays: number;
  let exportsDir: string;
  try {
    const config = loadConfig();
    retentionDays = config.retentionDays;
    exportsDir = path.join(config.dataDir, 'exports');
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const batchSize = Number(opts.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new CliError('--batch-size must be an integer from 1 to 100000');
  }
  await withLedger(opts, async (ledger, port) => {
    const retention = new RetentionService({
      repo: new RetentionRepo(port),
      ledger,
      clock: systemClock,
      ids: createIdFactory(systemClock),
      logger: pino({ level: 'silent' }),
      settings: { retentionDays, intervalS: 0, batchSize },
      exportPackages: new ExportFiles(exportsDir),
      // As the server's: on PostgreSQL one run at a time across the replicas and this command.
      exclusive: exclusiveOn(port),
    });
    const run = await retention.run({
      trigger: 'cli',
      requestedBy: null,
      onProgress: ({ batches, purged }) => {
        if (opts.progress && batches > 1) process.stderr.write(`retention: ${purged} payloads purged (${batches} batches)\n`);
      },
    });
    if (opts.json) {
      writeJson(toRunDto(run), 2);
      return;
    }
    process.stdout.write(
      [
        `retention run ${run.runId} (ledger seq ${run.ledgerSeq})`,
        `  retention ${run.retentionDays} days: cutoff ${run.cutoff}`,
        `  purged ${run.purged} decision payloads in ${run.batches} batch(es); ${run.held} kept under legal holds`,
        `  purged ${run.sessionsPurged} expired sessions`,
        '',
      ].join('\n'),
    );
  });
}

export function registerRetentionCommands(program: Command): void {
  program
    .command('retention-run')
    .description(
      'Run the retention job on the database (--db, or --database-url for PostgreSQL: one run at a time across replicas): delete raw decision payloads older than LEXECON_RETENTION_DAYS that no active legal hold covers, expired sessions, and the stored packages (under <LEXECON_DATA_DIR>/exports) of evidence exports older than LEXECON_RETENTION_DAYS that no active hold covers. Never ledger entries, decisions or export records. Ledgered as retention_run. Progress on stderr (payloads purged per batch). Exit 0 done, 2 error.',
    )
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .option('--batch-size <n>', 'payloads deleted per transaction', '500')
    .option('--json', 'print the run as JSON')
    .option('--no-progress', 'do not print progress on stderr')
    .action(retentionRunCommand);
}
