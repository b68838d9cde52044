/**
 * The PostgreSQL part of the ledger benchmark (`npm run bench:ledger -- --backend postgres`): a throwaway
 * cluster started with the tests' harness (test/helpers/postgres-cluster.ts) but durable (fsync,
 * full_page_writes and synchronous_commit on), and "replicas" as the ledger replicas test simulates
 * them: LedgerService instances in this process, each on its own pool, appending to one database.
 * Sequencing happens in each batch transaction after the locked `ledger_head` row (PgLedgerRepo), so
 * the repository wrapper here sees every committed batch and the wait for that lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { StoredEntry } from '../src/modules/ledger/ledger.chain.js';
import { ledgerPortMigrations } from '../src/modules/ledger/ledger.migrations.js';
import { PgLedgerRepo } from '../src/modules/ledger/ledger.pg.repo.js';
import type { SequencedAppend } from '../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../src/modules/ledger/ledger.verify.js';
import { systemClock } from '../src/platform/clock.js';
import { migratePort } from '../src/platform/db/port-migrations.js';
import { openPostgresPort, type PostgresPort } from '../src/platform/db/postgres.driver.js';
import { adminQuery, findPostgresBinaries, startCluster, withDatabase, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { BatchLog, measureLoad, nowMs, type LoadLimits, type WriteResult } from './ledger-load.js';
import { processTreeCpuSeconds } from './machine.js';

const logger = pino({ level: 'silent' });

/** PgLedgerRepo counting and timing committed batches, and recording the head lock wait of each. */
class CountingPgRepo extends PgLedgerRepo {
  constructor(
    port: PostgresPort,
    readonly log: BatchLog,
  ) {
    super(port, { onHeadLockWait: (seconds) => log.lockWaits.push(seconds) });
  }

  override async appendSequenced(appends: readonly SequencedAppend[]): Promise<StoredEntry[][]> {
    const t0 = nowMs();
    const groups = await super.appendSequenced(appends);
    this.log.committed(
      groups.reduce((n, g) => n + g.length, 0),
      nowMs() - t0,
    );
    return groups;
  }
}

interface Replica {
  port: PostgresPort;
  ledger: LedgerService;
  log: BatchLog;
}

export interface PgMeasurement {
  result: WriteResult;
  /** Entries of the ledger after the run, verified whole (seqs contiguous, every link and hash right). */
  verifiedEntries: number;
}

export interface PgBench {
  /** e.g. "PostgreSQL 15.18 in /tmp/lexecon-pg-…" */
  description: string;
  /** `replicas` LedgerService instances, each with its own pool, on a database of their own. */
  measure(replicas: number): Promise<PgMeasurement>;
  /** Stop and remove the cluster (synchronous: also from an exit handler). Idempotent. */
  destroySync(): void;
}

export interface PgBenchOptions {
  /** Where the cluster's directory goes (the disk its fsyncs hit). */
  parentDir: string;
  /** Connections in each replica's pool. */
  poolSize: number;
  limits: LoadLimits;
}

export async function startPgBench(opts: PgBenchOptions): Promise<PgBench> {
  const lookup = findPostgresBinaries();
  if (!lookup.found) throw new Error(`--backend postgres: ${lookup.reason}`);
  const cluster: PostgresCluster = await startCluster(lookup.binaries, { durable: true, parentDir: opts.parentDir });
  let databases = 0;
  // The postmaster's pid is the first line of postmaster.pid; its children are the backends and workers.
  const serverCpuSeconds = () => {
    try {
      const pid = Number(fs.readFileSync(path.join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      return processTreeCpuSeconds(pid);
    } catch {
      return undefined;
    }
  };
  return {
    description: `PostgreSQL ${cluster.version} in ${cluster.dir} (fsync on, synchronous_commit on)`,
    destroySync: () => cluster.destroySync(),
    async measure(count: number): Promise<PgMeasurement> {
      const name = `lexecon_bench_${++databases}`;
      await adminQuery(cluster.url, `CREATE DATABASE ${name}`);
      const url = withDatabase(cluster.url, name);
      const replicas: Replica[] = [];
      try {
        for (let i = 0; i < count; i++) {
          const port = await openPostgresPort({ url, poolSize: opts.poolSize, applicationName: `lexecon-bench-${i}` });
          const log = new BatchLog();
          replicas.push({ port, log, ledger: new LedgerService({ repo: new CountingPgRepo(port, log), clock: systemClock, logger }) });
        }
        // Replicas starting together, as servers would: migrated once (advisory lock), one genesis.
        await Promise.all(replicas.map((r) => migratePort(r.port, ledgerPortMigrations)));
        await Promise.all(replicas.map((r) => r.ledger.start()));
        for (const r of replicas) {
          if (r.ledger.status.state !== 'ok') throw new Error(`ledger did not start: ${JSON.stringify(r.ledger.status)}`);
        }
        const result = await measureLoad(
          `postgres, ${count} replica(s)`,
          replicas.map((r) => r.ledger),
          replicas.map((r) => r.log),
          opts.limits,
          serverCpuSeconds,
        );
        for (const r of replicas) await r.ledger.drain();
        const report = await verifyLedger(new PgLedgerRepo(replicas[0]!.port));
        if (!report.valid) throw new Error(`the chain written by ${count} replica(s) does not verify: ${JSON.stringify(report)}`);
        return { result, verifiedEntries: report.entriesChecked };
      } finally {
        for (const r of replicas) {
          await r.ledger.close();
          await r.port.close();
        }
        await adminQuery(cluster.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    },
  };
}


