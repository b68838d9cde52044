/**
 * Ledger benchmark (DESIGN §3). Not a test: it prints figures measured in this run, each as a ratio
 * against a baseline measured in the same run on the same machine.
 *
 *   1. Group commit: 32 concurrent writers, synchronous=FULL, default maxBatchSize
 *      vs. the same writers with maxBatchSize 1 (one transaction, one WAL fsync per append). Target ≥ 5×.
 *   2. Verify: verifyLedger entries/s on a large ledger vs. raw SHA-256/s in one thread over the very same
 *      canonical preimages (built into an array first, then only hashed). Target ≥ 0.5 (issue 16). The
 *      ledger is large enough for worker threads: the figure says how many threads verified, and the same
 *      verification in one thread is measured too. Also in CPU µs per entry (all threads), and against
 *      node's one-shot crypto.hash (no Hash object per preimage), a stricter baseline.
 *
 * With `--backend postgres` (issue 15, measured at the ledger level until the server runs on PostgreSQL),
 * instead, in a throwaway durable PostgreSQL cluster (bench/ledger-pg.ts), the same writers:
 *   1. SQLite group commit appends/s (the baseline, as in 1. above);
 *   2. PostgreSQL, one LedgerService ("replica", its own pool) ÷ SQLite. Target ≥ 0.5;
 *   3. PostgreSQL, two LedgerService instances on the same database, writers spread over both ÷ one
 *      replica. Target ≥ 0.9 (on 2 cores: throughput does not collapse, batches still form);
 * each with batch sizes (entries per transaction), the head-lock wait per batch and append latency.
 *
 * Usage: npm run bench [-- --quick] [--duration=3] [--entries=200000] [--writers=32] [--dir=PATH]
 *        npm run bench:ledger -- --backend postgres [--quick] [--duration=3] [--writers=32] [--pool=4]
 *          [--max-appends=1000000] [--dir=PATH]
 * Env:   LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH (where the temporary databases go).
 * Exit code is 0 whether or not the targets are met (they are informational); non-zero only on a crash.
 * Every measurement stops after its duration or its number of appends, whichever comes first; the whole
 * run gives up after a deadline; temporary databases and the cluster are removed however the run ends.
 */
import { createHash, hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { allMigrations } from '../src/migrations.js';
import { systemClock } from '../src/platform/clock.js';
import { openDatabase, type Db, type Durability } from '../src/platform/db/connection.js';
import { migrate } from '../src/platform/db/migrations.js';
import { entryPreimage, type StoredEntry } from '../src/modules/ledger/ledger.chain.js';
import { SqliteLedgerRepo, type SequencedAppend } from '../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { verifyLedger, type VerifyOptions } from '../src/modules/ledger/ledger.verify.js';
import { argValue, positiveNumber } from './options.js';
import { fsName, probeFsyncMicros } from './disk.js';
import { BatchLog, decisionData, fmtInt, fmtRate, fmtRatio, measureLoad, nowMs, table, type LoadLimits, type WriteResult } from './ledger-load.js';
import { startPgBench, type PgBench } from './ledger-pg.js';

// ---------------------------------------------------------------------------------------------------
// Options

if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run bench [-- --quick] [--duration=SECONDS] [--entries=N] [--writers=N] [--dir=PATH]\n' +
      '       npm run bench:ledger -- --backend postgres [--quick] [--duration=SECONDS] [--writers=N] [--pool=N]\n' +
      '         [--max-appends=N] [--dir=PATH]\n' +
      'env:   LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH',
  );
  process.exit(0);
}

const quick = process.argv.includes('--quick') || ['1', 'true', 'yes'].includes(process.env.LEXECON_BENCH_QUICK ?? '');
const opts = {
  quick,
  writers: Math.floor(positiveNumber('writers', argValue('writers'), 32)),
  durationMs: positiveNumber('duration', argValue('duration'), quick ? 1 : 3) * 1000,
  warmupMs: quick ? 300 : 1000,
  verifyEntries: Math.floor(positiveNumber('entries', argValue('entries'), quick ? 50_000 : 200_000)),
  verifyRuns: 3,
  baseDir: argValue('dir') ?? process.env.LEXECON_BENCH_DIR ?? os.tmpdir(),
  backend: argValue('backend') ?? 'sqlite',
  /** Connections in each PostgreSQL replica's pool. */
  poolSize: Math.floor(positiveNumber('pool', argValue('pool'), 4)),
  maxAppends: Math.floor(positiveNumber('max-appends', argValue('max-appends'), 1_000_000)),
};
if (opts.backend !== 'sqlite' && opts.backend !== 'postgres') {
  throw new Error(`--backend must be sqlite or postgres, got '${opts.backend}'`);
}
const loadLimits: LoadLimits = {
  writers: opts.writers,
  warmupMs: opts.warmupMs,
  durationMs: opts.durationMs,
  maxAppends: opts.maxAppends,
  stopTimeoutMs: 30_000,
};

const GROUP_TARGET = 5;
const VERIFY_TARGET = 0.5; // issue 16
const PG_ONE_REPLICA_TARGET = 0.5;
const PG_TWO_REPLICAS_TARGET = 0.9;
const logger = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------
// Helpers

interface Bench {
  dir: string;
  file: string;
  db: Db;
  repo: CountingRepo;
  ledger: LedgerService;
}

/** The SQLite repo, counting and timing committed batches (to report commits/s, batch size, commit time). */
/** Counts each committed batch: the service's sequenced batches (its group commit) and plain ones. */
class CountingRepo extends SqliteLedgerRepo {
  readonly log = new BatchLog();
  override async appendBatch(entries: readonly StoredEntry[]): Promise<void> {
    const t0 = nowMs();
    await super.appendBatch(entries);
    this.log.committed(entries.length, nowMs() - t0);
  }
  override async appendSequenced(appends: readonly SequencedAppend[]): Promise<StoredEntry[][]> {
    const t0 = nowMs();
    const groups = await super.appendSequenced(appends);
    this.log.committed(groups.reduce((n, g) => n + g.length, 0), nowMs() - t0);
    return groups;
  }
}

const tempDirs: string[] = [];

async function openBench(name: string, durability: Durability, maxBatchSize?: number): Promise<Bench> {
  const dir = fs.mkdtempSync(path.join(opts.baseDir, `lexecon-bench-${name}-`));
  tempDirs.push(dir);
  const file = path.join(dir, 'ledger.db');
  const db = openDatabase(file, { durability });
  migrate(db, allMigrations);
  const repo = new CountingRepo(db);
  const ledger = new LedgerService({
    repo,
    clock: systemClock,
    logger,
    ...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
  });
  await ledger.start();
  if (ledger.status.state !== 'ok') throw new Error(`ledger did not start: ${JSON.stringify(ledger.status)}`);
  return { dir, file, db, repo, ledger };
}

async function closeBench(b: Bench): Promise<void> {
  await b.ledger.close();
  b.db.close();
}

// ---------------------------------------------------------------------------------------------------
// 1. Group commit

/** One table row for a write measurement. */
/** A table row with a rate and a count only (the write columns left empty). */
function rateRow(label: string, perSecond: number, count: number): string[] {
  return [label, fmtRate(perSecond), fmtInt(count), '', '', '', '', '', ''];
}

function writeRow(label: string, r: WriteResult): string[] {
  return [
    label,
    fmtRate(r.perSecond),
    fmtInt(r.appends),
    fmtInt(r.commits),
    r.meanBatch.toFixed(1),
    r.commitMs.toFixed(2),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    `${r.cpuPercent.toFixed(0)}%`,
  ];
}

async function measureWrites(name: string, maxBatchSize: number | undefined): Promise<WriteResult> {
  const b = await openBench(name, 'full', maxBatchSize);
  try {
    return await measureLoad(name, [b.ledger], [b.repo.log], loadLimits);
  } finally {
    await closeBench(b);
  }
}

// ---------------------------------------------------------------------------------------------------
// 2. Verify throughput

type RawRow = [string, string, string, string, string];

async function buildVerifyLedger(entries: number): Promise<Bench> {
  // Built through the group-commit path; durability 'normal' only to make building quick.
  const b = await openBench('verify', 'normal');
  const chunk = 5000;
  for (let done = 0; done < entries; ) {
    const n = Math.min(chunk, entries - done);
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) appends.push(b.ledger.append('decision', decisionData(done + i)));
    await Promise.all(appends);
    done += n;
  }
  await b.ledger.drain();
  return b;
}

function readPreimages(db: Db): { preimages: string[]; bytes: number } {
  const rows = db
    .prepare('SELECT entry_id, event_type, timestamp, data, previous_hash FROM ledger_entries ORDER BY seq')
    .raw(true)
    .all() as RawRow[];
  const preimages = new Array<string>(rows.length);
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const p = entryPreimage({ entryId: r[0], eventType: r[1], timestamp: r[2], dataJson: r[3], previousHash: r[4] });
    preimages[i] = p;
    bytes += Buffer.byteLength(p);
  }
  return { preimages, bytes };
}

/** CPU microseconds (user + system, this process) spent by `f`. */
function cpuMicros<T>(f: () => T): { value: T; cpuUs: number } {
  const c0 = process.cpuUsage();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, cpuUs: c.user + c.system };
}

/**
 * Hash every preimage once; returns seconds and CPU µs. The XOR of a char keeps the work observable.
 * `oneShot`: node's crypto.hash (no Hash object per preimage; what verification uses) instead of
 * createHash().update().digest() (the baseline the target has always been measured against).
 */
function hashAll(preimages: readonly string[], oneShot = false): { seconds: number; cpuUs: number; check: number } {
  const t0 = nowMs();
  const { value: check, cpuUs } = cpuMicros(() => {
    let x = 0;
    for (let i = 0; i < preimages.length; i++) {
      const hex = oneShot ? hash('sha256', preimages[i]!, 'hex') : createHash('sha256').update(preimages[i]!).digest('hex');
      x ^= hex.charCodeAt(i & 63);
    }
    return x;
  });
  return { seconds: (nowMs() - t0) / 1000, cpuUs, check };
}

interface VerifyResult {
  entries: number;
  meanPreimageBytes: number;
  /** Threads verifyLedger used by default (worker threads, one segment each, when more than 1). */
  threads: number;
  verifyRuns: number[];
  /** verifyLedger in one thread (`threads: 1`). */
  singleRuns: number[];
  hashRuns: number[];
  verifyPerSecond: number;
  singlePerSecond: number;
  hashPerSecond: number;
  /** Best CPU µs per entry, all threads (less sensitive than rates to other processes on the machine). */
  verifyCpuUs: number;
  singleCpuUs: number;
  hashCpuUs: number;
  oneShotCpuUs: number;
}

async function measureVerify(): Promise<VerifyResult> {
  const tBuild = nowMs();
  const b = await buildVerifyLedger(opts.verifyEntries);
  const buildSeconds = (nowMs() - tBuild) / 1000;
  try {
    const total = opts.verifyEntries + 1; // + genesis
    process.stdout.write(`  built ${fmtInt(total)} entries in ${buildSeconds.toFixed(1)} s\n`);
    const { preimages, bytes } = readPreimages(b.db);
    if (preimages.length !== total) throw new Error(`expected ${total} preimages, read ${preimages.length}`);

    // Warm-up every path (JIT, page cache; the verification worker threads start here and are kept for
    // the measured runs, as a server keeps them between verifications), then best of N, interleaved so
    // drift hits all alike.
    hashAll(preimages.slice(0, 20_000));
    let threads = 1;
    for (const verifyOpts of [{}, { threads: 1 }]) {
      const r = await verifyLedger(b.repo, verifyOpts);
      if (!r.valid || r.entriesChecked !== total) throw new Error(`verify warm-up failed: ${JSON.stringify(r)}`);
      threads = Math.max(threads, r.threads ?? 1);
    }
    /** Seconds and CPU µs (all threads of the process) of one verification. */
    const timeVerify = async (verifyOpts: VerifyOptions) => {
      const t0 = nowMs();
      const c0 = process.cpuUsage();
      const r = await verifyLedger(b.repo, verifyOpts);
      const c = process.cpuUsage(c0);
      if (!r.valid || r.entriesChecked !== total) throw new Error(`verify failed: ${JSON.stringify(r)}`);
      return { seconds: (nowMs() - t0) / 1000, cpuUs: c.user + c.system };
    };
    const verifyRuns: number[] = [];
    const singleRuns: number[] = [];
    const hashRuns: number[] = [];
    const cpu = { verify: Infinity, single: Infinity, hash: Infinity, oneShot: Infinity };
    for (let run = 0; run < opts.verifyRuns; run++) {
      const v = await timeVerify({});
      verifyRuns.push(total / v.seconds);
      cpu.verify = Math.min(cpu.verify, v.cpuUs / total);
      const one = await timeVerify({ threads: 1 });
      singleRuns.push(total / one.seconds);
      cpu.single = Math.min(cpu.single, one.cpuUs / total);
      const h = hashAll(preimages);
      hashRuns.push(total / h.seconds);
      cpu.hash = Math.min(cpu.hash, h.cpuUs / total);
      cpu.oneShot = Math.min(cpu.oneShot, hashAll(preimages, true).cpuUs / total);
    }
    return {
      entries: total,
      meanPreimageBytes: bytes / total,
      threads,
      verifyRuns,
      singleRuns,
      hashRuns,
      verifyPerSecond: Math.max(...verifyRuns),
      singlePerSecond: Math.max(...singleRuns),
      hashPerSecond: Math.max(...hashRuns),
      verifyCpuUs: cpu.verify,
      singleCpuUs: cpu.single,
      hashCpuUs: cpu.hash,
      oneShotCpuUs: cpu.oneShot,
    };
  } finally {
    await closeBench(b);
  }
}

// ---------------------------------------------------------------------------------------------------
// Report

/** The machine and disk lines every run starts with. */
function printMachine(title: string): void {
  fs.mkdirSync(opts.baseDir, { recursive: true });
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const fsync = probeFsyncMicros(opts.baseDir, 500);
  console.log(title);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  const fsType = fsName(opts.baseDir);
  console.log(`  databases in ${opts.baseDir} (${fsType}); write+fsync 4 KiB ≈ ${fsync.toFixed(0)} µs`);
  if (fsType === 'tmpfs' || fsync < 20) {
    console.log('  NOTE: fsync is (nearly) free here, so the group-commit ratio says little; try --dir=<disk path>');
  }
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'BELOW TARGET');

async function main(): Promise<void> {
  const started = nowMs();
  printMachine(`Lexecon ledger bench${opts.quick ? ' (quick)' : ''}`);
  console.log(
    `  group commit: ${opts.writers} writers, synchronous=FULL, ${opts.warmupMs / 1000} s warm-up + ${opts.durationMs / 1000} s each`,
  );
  console.log('');

  console.log('[1/2] group commit');
  const grouped = await measureWrites('grouped', undefined);
  console.log(`  grouped (default maxBatchSize): ${fmtRate(grouped.perSecond)}`);
  const single = await measureWrites('single', 1);
  console.log(`  baseline (maxBatchSize 1):      ${fmtRate(single.perSecond)}`);
  const groupRatio = grouped.perSecond / single.perSecond;

  console.log(`[2/2] verify (${fmtInt(opts.verifyEntries)} appended entries, best of ${opts.verifyRuns})`);
  const verify = await measureVerify();
  const verifyRatio = verify.verifyPerSecond / verify.hashPerSecond;
  console.log('');

  console.log(
    table([
      ['measurement', 'rate', 'count', 'commits', 'mean batch', 'commit ms', 'p50 ms', 'p99 ms', 'cpu'],
      writeRow('append, group commit (FULL)', grouped),
      writeRow('append, maxBatchSize 1 (FULL)', single),
      rateRow(`verifyLedger, ${verify.threads} thread${verify.threads > 1 ? 's' : ''}`, verify.verifyPerSecond, verify.entries),
      rateRow('verifyLedger, 1 thread', verify.singlePerSecond, verify.entries),
      rateRow(`raw sha256 (${Math.round(verify.meanPreimageBytes)} B preimages)`, verify.hashPerSecond, verify.entries),
    ]),
  );
  const threadsLabel = `${verify.threads} thread${verify.threads > 1 ? 's' : ''} vs 1`;
  console.log(`  verify runs (${verify.threads} threads): ${verify.verifyRuns.map(fmtInt).join(', ')} entries/s`);
  console.log(`  verify runs (1 thread):  ${verify.singleRuns.map(fmtInt).join(', ')} entries/s`);
  console.log(`  sha256 runs (1 thread):  ${verify.hashRuns.map(fmtInt).join(', ')} hashes/s`);
  const paired = (runs: number[]) => runs.map((v, i) => (v / verify.hashRuns[i]!).toFixed(2)).join(', ');
  console.log(`  verify/sha256 per run (interleaved): ${threadsLabel}: ${paired(verify.verifyRuns)}; 1 vs 1: ${paired(verify.singleRuns)}`);
  console.log(
    `  CPU µs per entry (best, all threads): verify ${verify.verifyCpuUs.toFixed(2)} (${verify.threads} threads),` +
      ` ${verify.singleCpuUs.toFixed(2)} (1 thread); sha256 ${verify.hashCpuUs.toFixed(2)}` +
      ` (ratio to 1 thread ${(verify.hashCpuUs / verify.singleCpuUs).toFixed(2)}), one-shot crypto.hash ${verify.oneShotCpuUs.toFixed(2)}` +
      ` (ratio ${(verify.oneShotCpuUs / verify.singleCpuUs).toFixed(2)})`,
  );
  console.log('');
  console.log(
    `group commit: ${fmtRate(grouped.perSecond)} vs ${fmtRate(single.perSecond)} = ${fmtRatio(groupRatio)} (target ≥ ${GROUP_TARGET}×) ${verdict(groupRatio >= GROUP_TARGET)}`,
  );
  console.log(
    `verify:       ${fmtRate(verify.verifyPerSecond)} vs sha256 ${fmtRate(verify.hashPerSecond)} = ${verifyRatio.toFixed(2)}` +
      ` (${threadsLabel}; target ≥ ${VERIFY_TARGET}) ${verdict(verifyRatio >= VERIFY_TARGET)}`,
  );
  console.log(
    `verify, 1 thread: ${fmtRate(verify.singlePerSecond)} vs sha256 = ${(verify.singlePerSecond / verify.hashPerSecond).toFixed(2)} (1 vs 1)`,
  );
  console.log(`(total ${((nowMs() - started) / 1000).toFixed(1)} s)`);
}

// ---------------------------------------------------------------------------------------------------
// --backend postgres

let pgBench: PgBench | undefined;

/** One table row of the PostgreSQL comparison: batch sizes and head-lock waits too. */
function pgRow(label: string, r: WriteResult, withLockWait: boolean): string[] {
  return [
    label,
    fmtRate(r.perSecond),
    fmtInt(r.appends),
    fmtInt(r.commits),
    r.meanBatch.toFixed(1),
    String(r.p50Batch),
    String(r.maxBatch),
    r.commitMs.toFixed(2),
    withLockWait ? r.lockWaitTotalMs.toFixed(0) : '',
    withLockWait ? r.lockWaitMeanMs.toFixed(2) : '',
    withLockWait ? r.lockWaitMaxMs.toFixed(1) : '',
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    `${r.cpuPercent.toFixed(0)}%`,
    Number.isNaN(r.serverCpuPercent) ? '' : `${r.serverCpuPercent.toFixed(0)}%`,
    Number.isNaN(r.machineCpuPercent) ? '' : `${r.machineCpuPercent.toFixed(0)}%`,
  ];
}

async function mainPostgres(): Promise<void> {
  const started = nowMs();
  printMachine(`Lexecon ledger bench, --backend postgres${opts.quick ? ' (quick)' : ''}`);
  const load0 = os.loadavg();
  pgBench = await startPgBench({ parentDir: opts.baseDir, poolSize: opts.poolSize, limits: loadLimits });
  console.log(`  ${pgBench.description}`);
  console.log(
    `  ${opts.writers} writers, ${opts.warmupMs / 1000} s warm-up + ${opts.durationMs / 1000} s each (at most ${fmtInt(opts.maxAppends)} appends); ` +
      `pool ${opts.poolSize} per replica; load average before ${load0.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log('');

  console.log('[1/3] SQLite group commit (synchronous=FULL), the baseline');
  const sqlite = await measureWrites('grouped', undefined);
  console.log(`  ${fmtRate(sqlite.perSecond)}`);
  console.log(`[2/3] PostgreSQL, one replica (pool ${opts.poolSize})`);
  const one = await pgBench.measure(1);
  console.log(`  ${fmtRate(one.result.perSecond)} (chain of ${fmtInt(one.verifiedEntries)} entries verified)`);
  console.log(`[3/3] PostgreSQL, two replicas on one database (pool ${opts.poolSize} each), writers spread over both`);
  const two = await pgBench.measure(2);
  console.log(`  ${fmtRate(two.result.perSecond)} (chain of ${fmtInt(two.verifiedEntries)} entries verified)`);
  console.log('');

  console.log(
    table([
      [
        'measurement',
        'rate',
        'count',
        'commits',
        'mean batch',
        'p50 batch',
        'max batch',
        'commit ms',
        'lock wait ms',
        'per batch',
        'max',
        'p50 ms',
        'p99 ms',
        'cpu',
        'pg cpu',
        'machine',
      ],
      pgRow('SQLite group commit (FULL)', sqlite, false),
      pgRow('PostgreSQL, 1 replica', one.result, true),
      pgRow('PostgreSQL, 2 replicas', two.result, true),
    ]),
  );
  console.log(
    '  batch = entries per transaction; lock wait = time to lock the ledger_head row (BEGIN and FOR UPDATE, one round trip, included):',
  );
  console.log('  total over the window, mean and max per batch. cpu = this process, pg cpu = the PostgreSQL server,');
  console.log(
    `  machine = every process, in % of one core (${os.cpus().length} cores = ${os.cpus().length * 100}%): the rest is competing work`,
  );
  console.log(`  load average after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('');
  const oneRatio = one.result.perSecond / sqlite.perSecond;
  const twoRatio = two.result.perSecond / one.result.perSecond;
  console.log(
    `one replica:  ${fmtRate(one.result.perSecond)} vs SQLite ${fmtRate(sqlite.perSecond)} = ${oneRatio.toFixed(2)} (target ≥ ${PG_ONE_REPLICA_TARGET}) ${verdict(oneRatio >= PG_ONE_REPLICA_TARGET)}`,
  );
  console.log(
    `two replicas: ${fmtRate(two.result.perSecond)} vs one ${fmtRate(one.result.perSecond)} = ${twoRatio.toFixed(2)} (target ≥ ${PG_TWO_REPLICAS_TARGET}) ${verdict(twoRatio >= PG_TWO_REPLICAS_TARGET)}`,
  );
  console.log(`(total ${((nowMs() - started) / 1000).toFixed(1)} s)`);
}

function cleanup(): void {
  pgBench?.destroySync();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// Remove the temporary databases however the run ends: normally, on a crash, on Ctrl-C, on a closed pipe.
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
process.stdout.on('error', () => process.exit(0));

// A PostgreSQL run that hangs (a writer that never returns, a server that stops answering) gives up by
// itself: three measurements, a cluster to start and two chains to verify fit well inside this.
if (opts.backend === 'postgres') {
  const deadlineMs = 3 * (opts.warmupMs + opts.durationMs) + 180_000;
  setTimeout(() => {
    console.error(`ledger bench: gave up after ${Math.round(deadlineMs / 1000)} s`);
    process.exit(1);
  }, deadlineMs).unref();
}

(opts.backend === 'postgres' ? mainPostgres() : main())
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    // Stop the cluster now, not only at exit: idle pool sockets would otherwise keep the process alive.
    cleanup();
  });
