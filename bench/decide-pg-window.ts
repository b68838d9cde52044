/**
 * The measurement of `npm run bench:decide -- --backend postgres` (decide-pg.ts): one measured window of
 * one configuration (all its replicas loaded together), the group-commit and head-lock counters from the
 * servers' /metrics, and the figures pooled over a configuration's windows.
 */
import { performance } from 'node:perf_hooks';
import type { ServerChild, Snapshot } from './decide-child.js';
import { sleep, startLoad } from './decide-load.js';
import { REWARM_S, opts } from './decide-options.js';
import { percentile, type ServerFigures } from './decide-report.js';
import { cpuStat, type CpuStat } from './machine.js';
import { splitConnections } from './options.js';

/** The ledger's group-commit and head-lock counters from one server's /metrics. */
export interface LedgerCounters {
  commits: number;
  entries: number;
  commitS: number;
  lockWaits: number;
  lockWaitS: number;
}

export const ZERO: LedgerCounters = { commits: 0, entries: 0, commitS: 0, lockWaits: 0, lockWaitS: 0 };

export async function ledgerCounters(port: number): Promise<LedgerCounters> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} in /metrics`);
    return Number(m[1]);
  };
  return {
    commits: value('lexecon_ledger_append_batch_size_count'),
    entries: value('lexecon_ledger_append_batch_size_sum'),
    commitS: value('lexecon_ledger_commit_duration_seconds_sum'),
    lockWaits: value('lexecon_ledger_head_lock_wait_seconds_count'),
    lockWaitS: value('lexecon_ledger_head_lock_wait_seconds_sum'),
  };
}

export const add = (a: LedgerCounters, b: LedgerCounters, sign = 1): LedgerCounters => ({
  commits: a.commits + sign * b.commits,
  entries: a.entries + sign * b.entries,
  commitS: a.commitS + sign * b.commitS,
  lockWaits: a.lockWaits + sign * b.lockWaits,
  lockWaitS: a.lockWaitS + sign * b.lockWaitS,
});

export interface Replica {
  child: ServerChild;
  port: number;
}

/** One measured configuration: its servers, its database (PostgreSQL), what was answered outside the windows. */
export interface Setup {
  label: string;
  replicas: Replica[];
  token: string;
  databaseUrl: string | undefined;
  windows: Window[];
  /** 2xx answers outside the measured windows (check requests, warm-up, re-warm, stop). */
  unmeasured2xx: number;
  /** non-2xx answers, errors and timeouts outside the windows. */
  unmeasuredFailures: number;
  /** Verify its ledger from this process too (not for the baseline commit's database: its schema is the ref's). */
  verifyHere: boolean;
}

/** One measured stretch of one configuration (all its replicas loaded together). */
export interface Window {
  seconds: number;
  statusCodes: Record<string, number>;
  latencies: number[];
  errors: number;
  timeouts: number;
  serverCpuUs: number;
  clientCpuUs: number;
  pgCpuS: number;
  ledger: LedgerCounters;
  machine: CpuStat | undefined;
}

export async function measureWindow(setup: Setup, seconds: number, pgCpu: () => number): Promise<Window> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let open = false;
  const split = splitConnections(opts.connections, setup.replicas.length);
  const loads = setup.replicas.map((r, i) =>
    startLoad(
      r.port,
      setup.token,
      (status, ms) => {
        if (open) {
          latencies.push(ms);
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        } else if (status >= 200 && status < 300) setup.unmeasured2xx++;
        else setup.unmeasuredFailures++;
      },
      split[i],
    ),
  );
  try {
    await sleep(REWARM_S * 1000);
    const look = () =>
      Promise.all([
        Promise.all(setup.replicas.map((r) => r.child.snapshot())),
        Promise.all(setup.replicas.map((r) => ledgerCounters(r.port))),
      ]);
    const [s0, c0] = await look();
    const cpu0 = process.cpuUsage();
    const stat0 = cpuStat();
    const pg0 = pgCpu();
    const t0 = performance.now();
    open = true;
    await sleep(seconds * 1000);
    open = false;
    const windowS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stat1 = cpuStat();
    const pg1 = pgCpu();
    const [s1, c1] = await look();
    for (const l of loads) l.stop();
    const results = await Promise.all(loads.map((l) => l.done));
    const cpuOf = (s: Snapshot[]) => s.reduce((n, x) => n + x.cpuUs, 0);
    return {
      seconds: windowS,
      statusCodes,
      latencies,
      errors: results.reduce((n, r) => n + r.errors, 0),
      timeouts: results.reduce((n, r) => n + r.timeouts, 0),
      serverCpuUs: cpuOf(s1) - cpuOf(s0),
      clientCpuUs: cpu.user + cpu.system,
      pgCpuS: pg1 - pg0,
      ledger: add(c1.reduce((a, b) => add(a, b), ZERO), c0.reduce((a, b) => add(a, b), ZERO), -1),
      machine:
        stat0 && stat1
          ? { busyMs: stat1.busyMs - stat0.busyMs, stealMs: stat1.stealMs - stat0.stealMs, totalMs: stat1.totalMs - stat0.totalMs }
          : undefined,
    };
  } finally {
    for (const l of loads) l.stop();
  }
}

export interface Summary {
  seconds: number;
  responses: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** % of one core over the windows. */
  serverCpu: number;
  pgCpu: number;
  clientCpu: number;
  otherCpu: number;
  stealPct: number;
  /** CPU µs per response over the windows: the Lexecon servers' (all replicas), PostgreSQL's. */
  lexeconUsPerResponse: number;
  pgUsPerResponse: number;
  ledger: LedgerCounters;
}

/** One window's figures (per-round ratios); CPU per response of the Lexecon servers and PostgreSQL together. */
export function windowFigures(w: Window): ServerFigures {
  const responses = Object.values(w.statusCodes).reduce((a, b) => a + b, 0);
  const sorted = Float64Array.from(w.latencies).sort();
  return {
    rps: responses / w.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cpuUsPerResponse: (w.serverCpuUs + w.pgCpuS * 1e6) / responses,
  };
}

export function summarize(windows: readonly Window[]): Summary {
  const s = { seconds: 0, responses: 0, non2xx: 0, errors: 0, timeouts: 0, serverUs: 0, clientUs: 0, pgS: 0, busyMs: 0, stealMs: 0, totalMs: 0 };
  let ledger = ZERO;
  const all: number[] = [];
  for (const w of windows) {
    s.seconds += w.seconds;
    s.errors += w.errors;
    s.timeouts += w.timeouts;
    for (const [code, n] of Object.entries(w.statusCodes)) {
      s.responses += n;
      if (!code.startsWith('2')) s.non2xx += n;
    }
    for (const ms of w.latencies) all.push(ms);
    s.serverUs += w.serverCpuUs;
    s.clientUs += w.clientCpuUs;
    s.pgS += w.pgCpuS;
    ledger = add(ledger, w.ledger);
    if (w.machine) {
      s.busyMs += w.machine.busyMs;
      s.stealMs += w.machine.stealMs;
      s.totalMs += w.machine.totalMs;
    }
  }
  const sorted = Float64Array.from(all).sort();
  const pct = (us: number) => (us / (s.seconds * 1e6)) * 100;
  return {
    seconds: s.seconds,
    responses: s.responses,
    rps: s.responses / s.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    non2xx: s.non2xx,
    errors: s.errors,
    timeouts: s.timeouts,
    serverCpu: pct(s.serverUs),
    pgCpu: pct(s.pgS * 1e6),
    clientCpu: pct(s.clientUs),
    otherCpu: s.totalMs > 0 ? Math.max(0, pct(s.busyMs * 1000 - s.serverUs - s.clientUs - s.pgS * 1e6)) : NaN,
    stealPct: s.totalMs > 0 ? (s.stealMs / s.totalMs) * 100 : NaN,
    lexeconUsPerResponse: s.serverUs / s.responses,
    pgUsPerResponse: (s.pgS * 1e6) / s.responses,
    ledger,
  };
}
