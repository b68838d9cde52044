/**
 * Ledger benchmark (DESIGN §3). Not a test: it prints figures measured in this run, each as a ratio
 * against a baseline measured in the same run on the same machine.
 *
 *   1. Group commit: 32 concurrent writers, synchronous=FULL, default maxBatchSize
 *      vs. the same writers with maxBatchSize 1 (one transaction, one WAL fsync per append). Target ≥ 5×.
 *   2. Verify: verifyLedger entries/s on a large ledger vs. raw SHA-256/s over the very same canonical
 *      preimages (built into an array first, then only hashed). Target ≥ 0.3.
 *
 * Usage: npm run bench [-- --quick] [--duration=3] [--entries=200000] [--writers=32] [--dir=PATH]
 * Env:   LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH (where the temporary databases go).
 * Exit code is 0 whether or not the targets are met (they are informational); non-zero only on a crash.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { allMigrations } from '../src/migrations.js';
import { systemClock } from '../src/platform/clock.js';
import { openDatabase, type Db, type Durability } from '../src/platform/db/connection.js';
import { migrate } from '../src/platform/db/migrations.js';
import { entryPreimage, type StoredEntry } from '../src/modules/ledger/ledger.chain.js';
import { SqliteLedgerRepo } from '../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../src/modules/ledger/ledger.verify.js';
import { argValue, positiveNumber } from './options.js';
import { fsName, probeFsyncMicros } from './disk.js';

// ---------------------------------------------------------------------------------------------------
// Options

if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run bench [-- --quick] [--duration=SECONDS] [--entries=N] [--writers=N] [--dir=PATH]\n' +
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
};

const GROUP_TARGET = 5;
const VERIFY_TARGET = 0.3;
const logger = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------
// Helpers

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtRate = (n: number) => `${fmtInt(n)}/s`;
const fmtRatio = (n: number) => `${n.toFixed(2)}×`;
const nowMs = () => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Random IDs and hashes come from a pre-generated pool so that the writers spend their time in the
// ledger, not in the random number generator.
const HEX_POOL = Array.from({ length: 4096 }, () => randomBytes(32).toString('hex'));
let hexCursor = 0;
function hex(bytes: number): string {
  const h = HEX_POOL[hexCursor++ & 4095]!;
  return bytes >= 32 ? h : h.slice(0, bytes * 2);
}

const OUTCOMES = ['allow', 'allow', 'allow', 'deny', 'escalate'] as const;
const ACTIONS = ['send_email', 'read_record', 'transfer_funds', 'delete_file', 'call_api'] as const;

/** A realistic small `decision` event payload: IDs and hashes only (DESIGN §3), ~300 bytes as JCS. */
function decisionData(i: number): Record<string, unknown> {
  return {
    decision_id: `dec_${hex(13)}`,
    request_id: `req_${hex(13)}`,
    actor: `agent:assistant-${i % 97}`,
    action: ACTIONS[i % ACTIONS.length],
    resource_hash: hex(32),
    policy_id: `pol_${(i % 7) + 1}`,
    policy_version_hash: 'c0ffee'.repeat(10) + 'beef',
    outcome: OUTCOMES[i % OUTCOMES.length],
    risk_score: (i * 37) % 100,
    rules_matched: (i % 5) + 1,
  };
}

interface Bench {
  dir: string;
  file: string;
  db: Db;
  repo: CountingRepo;
  ledger: LedgerService;
}

/** The SQLite repo, counting and timing committed batches (to report commits/s, batch size, commit time). */
class CountingRepo extends SqliteLedgerRepo {
  batches = 0;
  entries = 0;
  commitMs = 0;
  override async appendBatch(entries: readonly StoredEntry[]): Promise<void> {
    const t0 = nowMs();
    await super.appendBatch(entries);
    this.commitMs += nowMs() - t0;
    this.batches++;
    this.entries += entries.length;
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

interface WriteResult {
  appends: number;
  seconds: number;
  perSecond: number;
  commits: number;
  meanBatch: number;
  /** Mean time inside one appendBatch (the transaction, including its fsync). */
  commitMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU time (user + system) over wall time in the window: near 100% means CPU-bound. */
  cpuPercent: number;
}

/** `writers` loops appending until `ms` has passed; counts appends completed in the window. */
async function runWriters(b: Bench, writers: number, ms: number, latencies?: number[]): Promise<number> {
  let stop = false;
  let done = 0;
  const loop = async (w: number) => {
    let i = w;
    while (!stop) {
      const t0 = latencies ? nowMs() : 0;
      await b.ledger.append('decision', decisionData(i));
      if (latencies) latencies.push(nowMs() - t0);
      done++;
      i += writers;
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => loop(w));
  await sleep(ms);
  stop = true;
  await Promise.all(loops);
  return done;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measureWrites(name: string, maxBatchSize: number | undefined): Promise<WriteResult> {
  const b = await openBench(name, 'full', maxBatchSize);
  try {
    await runWriters(b, opts.writers, opts.warmupMs);
    const batches0 = b.repo.batches;
    const entries0 = b.repo.entries;
    const commitMs0 = b.repo.commitMs;
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    const appends = await runWriters(b, opts.writers, opts.durationMs, latencies);
    const seconds = (nowMs() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const commits = b.repo.batches - batches0;
    if (b.repo.entries - entries0 !== appends) {
      throw new Error(`${name}: ${appends} appends resolved but ${b.repo.entries - entries0} entries committed`);
    }
    latencies.sort((x, y) => x - y);
    return {
      appends,
      seconds,
      perSecond: appends / seconds,
      commits,
      meanBatch: appends / Math.max(1, commits),
      commitMs: (b.repo.commitMs - commitMs0) / Math.max(1, commits),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    };
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

/** Hash every preimage once; returns seconds. The XOR of a char keeps the work observable. */
function hashAll(preimages: readonly string[]): { seconds: number; check: number } {
  let check = 0;
  const t0 = nowMs();
  for (let i = 0; i < preimages.length; i++) {
    check ^= createHash('sha256').update(preimages[i]!).digest('hex').charCodeAt(i & 63);
  }
  return { seconds: (nowMs() - t0) / 1000, check };
}

interface VerifyResult {
  entries: number;
  meanPreimageBytes: number;
  verifyRuns: number[];
  hashRuns: number[];
  verifyPerSecond: number;
  hashPerSecond: number;
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

    // Warm-up both paths (JIT, page cache), then best of N, interleaved so drift hits both alike.
    hashAll(preimages.slice(0, 20_000));
    {
      const r = await verifyLedger(b.repo);
      if (!r.valid || r.entriesChecked !== total) throw new Error(`verify warm-up failed: ${JSON.stringify(r)}`);
    }
    const verifyRuns: number[] = [];
    const hashRuns: number[] = [];
    for (let run = 0; run < opts.verifyRuns; run++) {
      const t0 = nowMs();
      const r = await verifyLedger(b.repo);
      const s = (nowMs() - t0) / 1000;
      if (!r.valid || r.entriesChecked !== total) throw new Error(`verify failed: ${JSON.stringify(r)}`);
      verifyRuns.push(total / s);
      hashRuns.push(total / hashAll(preimages).seconds);
    }
    return {
      entries: total,
      meanPreimageBytes: bytes / total,
      verifyRuns,
      hashRuns,
      verifyPerSecond: Math.max(...verifyRuns),
      hashPerSecond: Math.max(...hashRuns),
    };
  } finally {
    await closeBench(b);
  }
}

// ---------------------------------------------------------------------------------------------------
// Report

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = nowMs();
  fs.mkdirSync(opts.baseDir, { recursive: true });
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const fsync = probeFsyncMicros(opts.baseDir, 500);
  console.log(`Lexecon ledger bench${opts.quick ? ' (quick)' : ''}`);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  const fsType = fsName(opts.baseDir);
  console.log(`  databases in ${opts.baseDir} (${fsType}); write+fsync 4 KiB ≈ ${fsync.toFixed(0)} µs`);
  if (fsType === 'tmpfs' || fsync < 20) {
    console.log('  NOTE: fsync is (nearly) free here, so the group-commit ratio says little; try --dir=<disk path>');
  }
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
      [
        'verifyLedger',
        fmtRate(verify.verifyPerSecond),
        fmtInt(verify.entries),
        '',
        '',
        '',
        '',
        '',
        '',
      ],
      [
        `raw sha256 (${Math.round(verify.meanPreimageBytes)} B preimages)`,
        fmtRate(verify.hashPerSecond),
        fmtInt(verify.entries),
        '',
        '',
        '',
        '',
        '',
        '',
      ],
    ]),
  );
  console.log(`  verify runs: ${verify.verifyRuns.map(fmtInt).join(', ')} entries/s`);
  console.log(`  sha256 runs: ${verify.hashRuns.map(fmtInt).join(', ')} hashes/s`);
  const paired = verify.verifyRuns.map((v, i) => (v / verify.hashRuns[i]!).toFixed(2));
  console.log(`  verify/sha256 per run (interleaved): ${paired.join(', ')}`);
  console.log('');
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'BELOW TARGET');
  console.log(
    `group commit: ${fmtRate(grouped.perSecond)} vs ${fmtRate(single.perSecond)} = ${fmtRatio(groupRatio)} (target ≥ ${GROUP_TARGET}×) ${verdict(groupRatio >= GROUP_TARGET)}`,
  );
  console.log(
    `verify:       ${fmtRate(verify.verifyPerSecond)} vs sha256 ${fmtRate(verify.hashPerSecond)} = ${verifyRatio.toFixed(2)} (target ≥ ${VERIFY_TARGET}) ${verdict(verifyRatio >= VERIFY_TARGET)}`,
  );
  console.log(`(total ${((nowMs() - started) / 1000).toFixed(1)} s)`);
}

function cleanup(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// Remove the temporary databases however the run ends: normally, on a crash, on Ctrl-C, on a closed pipe.
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
process.stdout.on('error', () => process.exit(0));

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
