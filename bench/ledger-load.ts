/**
 * The write load of the ledger benchmark (bench/ledger.bench.ts), shared by its SQLite and PostgreSQL
 * measurements: `writers` concurrent loops appending realistic `decision` events to one or more
 * LedgerService instances (writer w uses ledger w mod n), for a fixed time and at most a fixed number of
 * appends, with per-append latency and per-batch statistics (entries per transaction, commit time, and
 * on PostgreSQL the wait for the chain head lock).
 */
import { randomBytes } from 'node:crypto';
import type { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { cpuStat } from './machine.js';

export const nowMs = () => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
export function decisionData(i: number): Record<string, unknown> {
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

/** What a counting repository records of its committed batches (one transaction each). */
export class BatchLog {
  /** Entries of each committed batch, in commit order. */
  readonly sizes: number[] = [];
  /** Seconds each batch transaction waited for the chain head row lock (PostgreSQL only). */
  readonly lockWaits: number[] = [];
  /** Total milliseconds inside the repository's batch call (the transaction, including its commit). */
  commitMs = 0;

  committed(entries: number, ms: number): void {
    this.sizes.push(entries);
    this.commitMs += ms;
  }

  mark(): { sizes: number; lockWaits: number; commitMs: number } {
    return { sizes: this.sizes.length, lockWaits: this.lockWaits.length, commitMs: this.commitMs };
  }
}

export interface LoadLimits {
  writers: number;
  warmupMs: number;
  durationMs: number;
  /** At most this many appends per window (the load stops at whichever comes first). */
  maxAppends: number;
  /** Give up when the writers have not all returned this long after the window closed. */
  stopTimeoutMs: number;
}

/**
 * `writers` loops appending until `ms` has passed or `maxAppends` were done; counts appends completed in
 * the window. Writer w appends to `ledgers[w % ledgers.length]`.
 */
export async function runWriters(
  ledgers: readonly LedgerService[],
  limits: Pick<LoadLimits, 'writers' | 'maxAppends' | 'stopTimeoutMs'>,
  ms: number,
  latencies?: number[],
): Promise<number> {
  let stop = false;
  let done = 0;
  const loop = async (w: number) => {
    const ledger = ledgers[w % ledgers.length]!;
    let i = w;
    while (!stop) {
      const t0 = latencies ? nowMs() : 0;
      await ledger.append('decision', decisionData(i));
      if (latencies) latencies.push(nowMs() - t0);
      if (++done >= limits.maxAppends) stop = true;
      i += limits.writers;
    }
  };
  const loops = Promise.all(Array.from({ length: limits.writers }, (_, w) => loop(w)));
  let timer: NodeJS.Timeout | undefined;
  const window = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    // A writer that fails ends the window at once, and its error is thrown (the others stop first).
    await Promise.race([window, loops]);
  } finally {
    clearTimeout(timer);
    stop = true;
  }
  let stuck: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    stuck = setTimeout(
      () => reject(new Error(`writers did not return within ${limits.stopTimeoutMs} ms after the window closed`)),
      limits.stopTimeoutMs,
    );
  });
  try {
    await Promise.race([loops, gaveUp]);
  } finally {
    clearTimeout(stuck);
  }
  return done;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface WriteResult {
  appends: number;
  seconds: number;
  perSecond: number;
  commits: number;
  meanBatch: number;
  p50Batch: number;
  maxBatch: number;
  /** Mean time inside one batch call (the transaction, including its fsync). */
  commitMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU time (user + system) over wall time in the window: near 100% means CPU-bound. */
  cpuPercent: number;
  /** The database server's CPU time over wall time (PostgreSQL; NaN for SQLite, which runs in-process). */
  serverCpuPercent: number;
  /**
   * Every process's CPU time over wall time, in % of one core (up to cores × 100%): what is left after
   * this process and the server is other work competing for the machine. NaN without /proc.
   */
  machineCpuPercent: number;
  /** Head lock waits of the window's batches (PostgreSQL): total and mean per batch, in ms. */
  lockWaitTotalMs: number;
  lockWaitMeanMs: number;
  lockWaitMaxMs: number;
}

/**
 * Warm up, then measure one window of the load over `ledgers`, whose repositories record into `logs`.
 * Every append resolved in the window must be an entry committed in the window.
 */
export async function measureLoad(
  name: string,
  ledgers: readonly LedgerService[],
  logs: readonly BatchLog[],
  limits: LoadLimits,
  /** Cumulative CPU seconds of the database server, when it runs in processes of its own. */
  serverCpuSeconds?: () => number | undefined,
): Promise<WriteResult> {
  await runWriters(ledgers, limits, limits.warmupMs);
  const marks = logs.map((l) => l.mark());
  const latencies: number[] = [];
  const server0 = serverCpuSeconds?.();
  const machine0 = cpuStat();
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const appends = await runWriters(ledgers, limits, limits.durationMs, latencies);
  const seconds = (nowMs() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = cpuStat();
  const server1 = serverCpuSeconds?.();
  const sizes = logs.flatMap((l, i) => l.sizes.slice(marks[i]!.sizes)).sort((x, y) => x - y);
  const waits = logs.flatMap((l, i) => l.lockWaits.slice(marks[i]!.lockWaits));
  const commitMs = logs.reduce((sum, l, i) => sum + l.commitMs - marks[i]!.commitMs, 0);
  const entries = sizes.reduce((sum, n) => sum + n, 0);
  if (entries !== appends) throw new Error(`${name}: ${appends} appends resolved but ${entries} entries committed`);
  const commits = sizes.length;
  const waitTotalS = waits.reduce((sum, s) => sum + s, 0);
  latencies.sort((x, y) => x - y);
  return {
    appends,
    seconds,
    perSecond: appends / seconds,
    commits,
    meanBatch: appends / Math.max(1, commits),
    p50Batch: percentile(sizes, 50),
    maxBatch: sizes.at(-1) ?? 0,
    commitMs: commitMs / Math.max(1, commits),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    serverCpuPercent: server0 !== undefined && server1 !== undefined ? ((server1 - server0) / seconds) * 100 : NaN,
    machineCpuPercent: machine0 && machine1 ? ((machine1.busyMs - machine0.busyMs) / 1000 / seconds) * 100 : NaN,
    lockWaitTotalMs: waitTotalS * 1000,
    lockWaitMeanMs: (waitTotalS * 1000) / Math.max(1, waits.length),
    lockWaitMaxMs: waits.reduce((max, s) => Math.max(max, s), 0) * 1000,
  };
}

// ---------------------------------------------------------------------------------------------------
// Formatting

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtRate = (n: number) => `${fmtInt(n)}/s`;
export const fmtRatio = (n: number) => `${n.toFixed(2)}×`;

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}
