/**
 * Load generation for `npm run bench:decide`: autocannon in the parent process against one server child
 * at a time, the measured windows (each after REWARM_S of unmeasured load on the same connections), and
 * the figures pooled over a server's windows (req/s, percentiles, CPU per response, ELU, group commits).
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { ServerChild, Snapshot } from './decide-child.js';
import { REWARM_S, opts } from './decide-options.js';
import { percentile, type ServerFigures } from './decide-report.js';
import { cpuStat, type CpuStat } from './machine.js';

/** The request every connection sends, to every server. */
export const DECIDE_BODY = JSON.stringify({
  actor: 'ai_agent:bench',
  proposed_action: 'read_customer',
  tool: 'crm',
  data_classes: ['internal'],
  context: { session_id: 's1' },
});

/** One measured stretch of load against one server. */
export interface Segment {
  /** Length of the measured window, seconds. */
  seconds: number;
  /** Responses completed in the window, by status code. */
  statusCodes: Record<string, number>;
  latencies: number[];
  /** Errors and timeouts of the whole load stretch (before and after the window included). */
  errors: number;
  timeouts: number;
  /** Answers outside the window (the re-warm before it, the stop after it): 2xx, and anything else. */
  unmeasured2xx: number;
  unmeasuredNon2xx: number;
  s0: Snapshot;
  s1: Snapshot;
  clientCpuUs: number;
  machine: CpuStat | undefined;
  /** Lexecon only: group-commit activity in the window, from its /metrics. */
  ledger: LedgerActivity | undefined;
}

/** Group commits of the Lexecon ledger: batches, entries, and seconds inside the commit transaction. */
export interface LedgerActivity {
  commits: number;
  entries: number;
  commitS: number;
}

/** The ledger's group-commit counters from Lexecon's /metrics (undefined when it cannot be read). */
async function ledgerCounters(port: number): Promise<LedgerActivity | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (!res.ok) return undefined;
    const text = await res.text();
    const value = (name: string): number => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      if (!m) throw new Error(`no ${name}`);
      return Number(m[1]);
    };
    return {
      commits: value('lexecon_ledger_append_batch_size_count'),
      entries: value('lexecon_ledger_append_batch_size_sum'),
      commitS: value('lexecon_ledger_commit_duration_seconds_sum'),
    };
  } catch {
    return undefined;
  }
}

export interface LoadResult {
  seconds: number;
  responses: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** CPU use over the measured windows, in % of one core. */
  serverCpu: number;
  /** Server process CPU (user + system) over the measured windows ÷ responses in them, µs. */
  cpuUsPerResponse: number;
  clientCpu: number;
  /** Event-loop utilization of the server over the windows. */
  serverElu: number;
  /** The server's worst event-loop delay over the windows, ms. */
  loopDelayMaxMs: number;
  /** CPU used by everything but the server and this process during the windows, % of one core; NaN off Linux. */
  otherCpu: number;
  /** Share of the machine's CPU time taken by the hypervisor (steal) during the windows; NaN off Linux. */
  stealPct: number;
  /** Lexecon: group commits in the windows (summed), with the windows' wall time. */
  ledger: (LedgerActivity & { wallS: number }) | undefined;
  /** The measured windows, on the server's process.hrtime clock (µs). */
  windows: Array<{ startUs: number; endUs: number }>;
}

/** A running autocannon load: stop() ends it (within ~0.1 s); done resolves with its result. */
export interface Load {
  stop(): void;
  done: Promise<autocannon.Result>;
}

export function startLoad(port: number, token: string, onResponse?: (status: number, ms: number) => void, connections = opts.connections): Load {
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/decide`,
        connections,
        // Stopped by the caller; autocannon only stops on its sample ticks, hence the short interval.
        duration: 24 * 3600,
        sampleInt: 100,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: DECIDE_BODY,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
  });
  done.catch(() => undefined); // the caller awaits it once the load is stopped
  return { stop: () => instance!.stop(), done };
}

/** Load a server for `seconds`, unmeasured (the warm-up). */
export async function cannon(port: number, token: string, seconds: number, connections = opts.connections): Promise<autocannon.Result> {
  const load = startLoad(port, token, undefined, connections);
  await sleep(seconds * 1000);
  load.stop();
  return load.done;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Load one server for `rewarmS` (default REWARM_S) + `seconds` on the same connections throughout, and measure only the
 * last `seconds`: the server sat idle while the other one was measured, and the first requests after
 * that (and on fresh connections) were answered up to a few hundred ms late.
 */
export async function segment(
  server: ServerChild,
  port: number,
  token: string,
  seconds: number,
  connections = opts.connections,
  rewarmS = REWARM_S,
): Promise<Segment> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let unmeasured2xx = 0;
  let unmeasuredNon2xx = 0;
  let open = false;
  const load = startLoad(port, token, (status, ms) => {
    if (open) {
      latencies.push(ms);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    } else if (status >= 200 && status < 300) unmeasured2xx++;
    else unmeasuredNon2xx++;
  }, connections);
  try {
    await sleep(rewarmS * 1000);
    const [s0, ledger0] = await Promise.all([
      server.snapshot(),
      server.kind === 'lexecon' ? ledgerCounters(port) : Promise.resolve(undefined),
    ]);
    const cpu0 = process.cpuUsage();
    const stat0 = cpuStat();
    const t0 = performance.now();
    open = true;
    await sleep(seconds * 1000);
    open = false;
    const windowS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stat1 = cpuStat();
    const [s1, ledger1] = await Promise.all([
      server.snapshot(),
      server.kind === 'lexecon' ? ledgerCounters(port) : Promise.resolve(undefined),
    ]);
    load.stop();
    const result = await load.done;
    const ledger =
      ledger0 && ledger1
        ? { commits: ledger1.commits - ledger0.commits, entries: ledger1.entries - ledger0.entries, commitS: ledger1.commitS - ledger0.commitS }
        : undefined;
    const machine =
      stat0 && stat1
        ? { busyMs: stat1.busyMs - stat0.busyMs, stealMs: stat1.stealMs - stat0.stealMs, totalMs: stat1.totalMs - stat0.totalMs }
        : undefined;
    return {
      seconds: windowS,
      statusCodes,
      latencies,
      errors: result.errors,
      timeouts: result.timeouts,
      unmeasured2xx,
      unmeasuredNon2xx,
      s0,
      s1,
      clientCpuUs: cpu.user + cpu.system,
      machine,
      ledger,
    };
  } finally {
    load.stop();
  }
}

/** One segment's own figures (one server, one round): for the per-round spread of the ratios. */
export function segmentFigures(seg: Segment): ServerFigures {
  const responses = Object.values(seg.statusCodes).reduce((a, b) => a + b, 0);
  const sorted = Float64Array.from(seg.latencies).sort();
  return {
    rps: responses / seg.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cpuUsPerResponse: (seg.s1.cpuUs - seg.s0.cpuUs) / responses,
  };
}

export function combine(segments: Segment[]): LoadResult {
  let seconds = 0;
  let responses = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let wallUs = 0;
  let serverCpuUs = 0;
  let clientCpuUs = 0;
  let eluActive = 0;
  let eluIdle = 0;
  let loopDelayMaxMs = 0;
  let machineBusyMs = 0;
  let stealMs = 0;
  let machineTotalMs = 0;
  const statusCodes: Record<string, number> = {};
  const all: number[] = [];
  let ledger: (LedgerActivity & { wallS: number }) | undefined;
  for (const seg of segments) {
    const { latencies, s0, s1, clientCpuUs: c, machine: m, ledger: g } = seg;
    if (g) {
      ledger ??= { commits: 0, entries: 0, commitS: 0, wallS: 0 };
      ledger.commits += g.commits;
      ledger.entries += g.entries;
      ledger.commitS += g.commitS;
      ledger.wallS += (s1.hrUs - s0.hrUs) / 1e6;
    }
    seconds += seg.seconds;
    errors += seg.errors;
    timeouts += seg.timeouts;
    for (const [code, n] of Object.entries(seg.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + n;
      responses += n;
      if (!code.startsWith('2')) non2xx += n;
    }
    for (const ms of latencies) all.push(ms);
    wallUs += s1.hrUs - s0.hrUs;
    serverCpuUs += s1.cpuUs - s0.cpuUs;
    clientCpuUs += c;
    const elu = performance.eventLoopUtilization(s1.elu, s0.elu);
    eluActive += elu.active;
    eluIdle += elu.idle;
    loopDelayMaxMs = Math.max(loopDelayMaxMs, s1.loopDelay.maxMs);
    if (m) {
      machineBusyMs += m.busyMs;
      stealMs += m.stealMs;
      machineTotalMs += m.totalMs;
    }
  }
  const sorted = Float64Array.from(all).sort();
  return {
    seconds,
    responses,
    rps: responses / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    non2xx,
    statusCodes,
    errors,
    timeouts,
    serverCpu: (serverCpuUs / wallUs) * 100,
    cpuUsPerResponse: serverCpuUs / responses,
    clientCpu: (clientCpuUs / wallUs) * 100,
    serverElu: eluActive / (eluActive + eluIdle),
    loopDelayMaxMs,
    otherCpu: machineTotalMs > 0 ? Math.max(0, ((machineBusyMs * 1000 - serverCpuUs - clientCpuUs) / wallUs) * 100) : NaN,
    stealPct: machineTotalMs > 0 ? (stealMs / machineTotalMs) * 100 : NaN,
    ledger,
    windows: segments.map((x) => ({ startUs: x.s0.hrUs, endUs: x.s1.hrUs })),
  };
}

// ---------------------------------------------------------------------------------------------------
