/**
 * `POST /decide` HTTP benchmark. Not a test: it prints figures measured in this run, compared with a
 * baseline measured in the same run on the same machine.
 *
 *   lexecon  the real app (`buildAppWithServices`), listening on 127.0.0.1: durable ledger
 *            (LEXECON_DURABILITY=full, every commit fsynced before the answer), Ed25519-signed capability
 *            tokens, API-key authentication, the `policies/seed-example.json` policy, rate limit disabled,
 *            logs silent. Every request is a new decision (no request_id): policy evaluation, risk
 *            scoring, a `decision` ledger entry, the decision and token rows, committed (group commit)
 *            before the answer: `200 approved` with a `capability_token`.
 *   bare     Fastify 5 alone (same version, same silent pino logger) with fastify-type-provider-zod's
 *            validator and serializer compilers and one `POST /decide` route with the very same body
 *            schema (`DecideBodySchema`) and 200 response schema (`DecisionResponseSchema`), answering a
 *            constant response: the one the Lexecon server gave to the check request. No auth, no db.
 *
 * Both get identical requests (same body, same `Authorization` header) from autocannon: 32 connections,
 * a warm-up per server (discarded), then the measured time. Targets: lexecon req/s ÷ bare req/s ≥ 0.35;
 * lexecon p99 ÷ bare p99 ≤ 2; zero non-2xx responses (and zero errors and timeouts).
 *
 * Method. Each server runs in its own child process (this file with `--serve=lexecon|bare`, reporting
 * over IPC) and autocannon runs in this process, so load generation never shares a server's event loop;
 * only one server is loaded at a time (the other is idle). The measured time is split into rounds
 * (default 3) that alternate between the servers in ABBA order (bare, lexecon | lexecon, bare | …), so
 * that a drift of the machine (a shared VM, other work) hits both alike; the figures pool the rounds.
 * Each round's load starts 0.5 s before its measured window opens, on the same connections: after the
 * other server's round, and on fresh connections, the first requests were answered up to a few hundred
 * ms late, a cost of the interleaving (an idle V8 heap shrinks; 32 connections arrive at once), not of
 * steady load.
 * On a 2-core machine the load generator and the server each get about one core: the table shows both
 * processes' CPU use over the measured windows, the server's event-loop utilization and worst
 * event-loop delay, and the CPU used by other processes or taken by the hypervisor (steal), so a
 * baseline limited by the load generator (client CPU ≈ 100%: the ratio would look better than it is)
 * or a disturbed run is visible. req/s is completed responses ÷ measured seconds; p50/p99 are computed
 * here from every response's latency as autocannon reports it (sub-ms resolution; autocannon's own
 * histogram rounds to whole milliseconds). Lexecon's group commits over the windows (commits/s, mean
 * batch, mean time inside the commit transaction) come from its /metrics, read before and after each
 * window, next to the cost of one write+fsync in the data directory. After the run the Lexecon child
 * verifies the whole ledger and counts the stored decisions and tokens, which must match the approved
 * answers (plus at most one request per connection in flight when each load stretch ended).
 *
 * `--cpu-prof` starts the Lexecon child with `node --cpu-prof` and summarizes its main thread's profile
 * over the measured windows only (startup, key generation and warm-up excluded), src/ positions mapped
 * back through tsx's source maps: self time by area (src/ directory, npm package, node: internals;
 * native frames that V8 shows are attributed to the area that called them; time inside better-sqlite3's
 * C++ (SQLite, fsync) shows as self time of the JS function that called the statement), the top
 * functions by self time with the src/ functions they were called from, and the inclusive time of the
 * top src/ functions, each as a share of non-idle time and as µs per response. The profiler costs a few
 * percent: the req/s of a `--cpu-prof` run is not the one to quote.
 *
 * `--backend postgres`: see decide-pg.ts (the same app on PostgreSQL, one and two replicas, against SQLite).
 *
 * Usage: npm run bench:decide [-- --quick] [--duration=SECONDS] [--warmup=SECONDS] [--rounds=N]
 *                             [--connections=N] [--cpu-prof] [--cpu-prof-dir=PATH] [--rsa4096] [--dir=PATH]
 *   --quick         3 s measured, 1 s warm-up per server (instead of 10 s and 2 s)
 *   --rounds=N      split the measured time into N alternating rounds (default 3)
 *   --cpu-prof      profile the Lexecon server (the .cpuprofile is kept; open it in Chrome DevTools)
 *   --rsa4096       let the app generate its production RSA-4096 key at start (seconds); by default the
 *                   test-only override makes it RSA-2048. RSA is not on the /decide path (tokens are Ed25519).
 *   --dir=PATH      where the temporary data directory goes (its filesystem decides what fsync costs)
 * `npm run bench` runs this after the ledger and policy benchmarks, with the same arguments.
 * Env: LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH.
 * Exit code is 0 whether or not the targets are met (they are informational); non-zero only on a crash
 * (including a check request not answered `200 approved` with a token, or a ledger failing verification).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findSourceMap, SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { argValue, positiveNumber } from './options.js';
import { fsName, probeFsyncMicros } from './disk.js';
import { cpuStat, type CpuStat } from './machine.js';

export const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '..');

// ---------------------------------------------------------------------------------------------------
// Protocol between this process and the server children (IPC messages)

type ServerKind = 'lexecon' | 'bare';

/** CPU and event-loop snapshot of a server child, taken when the parent asks (start/end of the window). */
export interface Snapshot {
  /** process.hrtime in µs (CLOCK_MONOTONIC, the clock of the .cpuprofile timestamps). */
  hrUs: number;
  cpuUs: number;
  elu: { idle: number; active: number; utilization: number };
  /** Event-loop delay since the previous snapshot (ms): how long a ready callback waited at worst. */
  loopDelay: { maxMs: number };
}

export interface LexeconStats {
  ledgerValid: boolean;
  ledgerEntries: number;
  firstInvalid?: unknown;
  decisions: number;
  tokens: number;
}

type ToChild = { type: 'snapshot'; id: number } | { type: 'stop' } | { type: 'respond-with'; body: unknown };
type FromChild =
  | { type: 'ready'; port: number; token?: string; info?: string }
  | { type: 'configured' }
  | { type: 'snapshot'; id: number; snapshot: Snapshot }
  | { type: 'stopped'; stats?: LexeconStats };

// ---------------------------------------------------------------------------------------------------
// Options

if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run bench:decide [-- --quick] [--duration=SECONDS] [--warmup=SECONDS] [--rounds=N]\n' +
      '                            [--connections=N] [--cpu-prof] [--cpu-prof-dir=PATH] [--rsa4096] [--dir=PATH]\n' +
      '       npm run bench:decide -- --backend postgres [--quick] [--duration=SECONDS] [--rounds=N] [--connections=N]\n' +
      'env:   LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH',
  );
  process.exit(0);
}

const quick = process.argv.includes('--quick') || ['1', 'true', 'yes'].includes(process.env.LEXECON_BENCH_QUICK ?? '');
const cpuProfDir = argValue('cpu-prof-dir');
export const opts = {
  quick,
  connections: Math.floor(positiveNumber('connections', argValue('connections'), 32)),
  durationS: positiveNumber('duration', argValue('duration'), quick ? 3 : 10),
  warmupS: positiveNumber('warmup', argValue('warmup'), quick ? 1 : 2),
  rounds: Math.floor(positiveNumber('rounds', argValue('rounds'), 3)),
  cpuProf: process.argv.includes('--cpu-prof') || cpuProfDir !== undefined,
  cpuProfDir,
  rsa4096: process.argv.includes('--rsa4096'),
  baseDir: argValue('dir') ?? process.env.LEXECON_BENCH_DIR ?? os.tmpdir(),
};

const RPS_TARGET = 0.35;
/** Discarded load at the start of every round, on the connections then measured (see `segment`). */
export const REWARM_S = 0.5;
const P99_TARGET = 2;

/** The request every connection sends, to both servers. */
export const DECIDE_BODY = JSON.stringify({
  actor: 'ai_agent:bench',
  proposed_action: 'read_customer',
  tool: 'crm',
  data_classes: ['internal'],
  context: { session_id: 's1' },
});

// ---------------------------------------------------------------------------------------------------
// Server children

function send(message: FromChild): void {
  process.send!(message);
}

function onParentMessage(handler: (m: ToChild) => void | Promise<void>): void {
  process.on('message', (m) => {
    Promise.resolve(handler(m as ToChild)).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  });
  // The parent went away (crashed, Ctrl-C): do not linger.
  process.on('disconnect', () => process.exit(0));
}

const loopDelay = monitorEventLoopDelay({ resolution: 5 });

function snapshot(): Snapshot {
  const cpu = process.cpuUsage();
  const delay = { maxMs: loopDelay.max / 1e6 };
  loopDelay.reset();
  return {
    hrUs: Number(process.hrtime.bigint() / 1000n),
    cpuUs: cpu.user + cpu.system,
    elu: performance.eventLoopUtilization(),
    loopDelay: delay,
  };
}

/**
 * The source maps of the src/ modules this process loaded (tsx compiles each into a few long lines, so
 * the profile's positions mean nothing without them), keyed by file URL, for the parent's profile summary.
 */
function writeSourceMaps(file: string): void {
  const maps: Record<string, unknown> = {};
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.ts')) {
        const url = pathToFileURL(full).href;
        const map = findSourceMap(url);
        if (map) maps[url] = map.payload;
      }
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  fs.writeFileSync(file, JSON.stringify(maps));
}

async function serveLexecon(): Promise<void> {
  const dataDir = argValue('data-dir');
  if (dataDir === undefined) throw new Error('--serve=lexecon needs --data-dir');
  const [{ buildAppWithServices }, { loadConfig }] = await Promise.all([import('../src/app.js'), import('../src/config.js')]);
  // --backend postgres (decide-pg.ts): a database shared by the replicas, and their shared keys directory.
  const [databaseUrl, keysDir] = [argValue('database-url'), argValue('keys-dir')];
  const config = loadConfig({
    LEXECON_DATA_DIR: dataDir,
    LEXECON_RATE_LIMIT_RPM: '0',
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_DURABILITY: 'full',
    LEXECON_MFA_REQUIRED_ROLES: '',
    ...(databaseUrl ? { LEXECON_DATABASE_URL: databaseUrl } : {}),
    ...(keysDir ? { LEXECON_KEYS_DIR: keysDir } : {}),
  });
  const rsaBits = process.argv.includes('--rsa4096') ? undefined : 2048;
  const { app, services } = await buildAppWithServices(config, rsaBits ? { testOnlyRsaModulusLength: rsaBits } : {});
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8')) as unknown;
  await services.policies.load(policy, 'bench');
  const { secret } = await services.auth.createApiKey({ name: 'bench', actorPattern: 'ai_agent:*' }, 'system');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  loopDelay.enable();

  onParentMessage(async (m) => {
    if (m.type === 'snapshot') send({ type: 'snapshot', id: m.id, snapshot: snapshot() });
    if (m.type === 'stop') {
      const sourceMapsOut = argValue('source-maps-out');
      if (sourceMapsOut !== undefined) writeSourceMaps(sourceMapsOut);
      // No load any more: wait for the last commits, verify the whole chain, count what was written, close.
      await services.ledger.drain();
      const report = await services.ledger.verify();
      const count = async (table: string) => Number((await services.port.one<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n);
      const [decisions, tokens] = [await count('decisions'), await count('capability_tokens')];
      await app.close();
      const stats: LexeconStats = {
        ledgerValid: report.valid,
        ledgerEntries: report.entriesChecked,
        ...(report.firstInvalid ? { firstInvalid: report.firstInvalid } : {}),
        decisions,
        tokens,
      };
      process.send!({ type: 'stopped', stats } satisfies FromChild, () => process.exit(0));
    }
  });
  send({
    type: 'ready',
    port: address.port,
    token: secret,
    info: `RSA-PSS key ${rsaBits ? `${rsaBits}-bit (testOnlyRsaModulusLength)` : '4096-bit (production default)'}`,
  });
}

async function serveBare(): Promise<void> {
  const [{ default: Fastify }, { serializerCompiler, validatorCompiler }, { DecideBodySchema, DecisionResponseSchema }] =
    await Promise.all([
      import('fastify'),
      import('fastify-type-provider-zod'),
      import('../src/modules/decision/decision.schemas.js'),
    ]);
  let response: unknown;
  const app = Fastify({ logger: { level: 'silent' } });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.post('/decide', { schema: { body: DecideBodySchema, response: { 200: DecisionResponseSchema } } }, async () => response);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  loopDelay.enable();

  onParentMessage(async (m) => {
    if (m.type === 'respond-with') {
      response = m.body;
      send({ type: 'configured' });
    }
    if (m.type === 'snapshot') send({ type: 'snapshot', id: m.id, snapshot: snapshot() });
    if (m.type === 'stop') {
      await app.close();
      process.send!({ type: 'stopped' } satisfies FromChild, () => process.exit(0));
    }
  });
  send({ type: 'ready', port: address.port });
}

/** The parent's handle on a server child. */
export class ServerChild {
  private readonly waiters = new Map<string, (m: FromChild) => void>();
  private nextId = 0;
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly kind: ServerKind,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (raw) => {
      const m = raw as FromChild;
      const key = m.type === 'snapshot' ? `snapshot:${m.id}` : m.type;
      const waiter = this.waiters.get(key);
      if (waiter) {
        this.waiters.delete(key);
        waiter(m);
      }
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitError = new Error(`the ${kind} server exited (${signal ?? `exit code ${code}`})`);
        for (const [key, waiter] of this.waiters) {
          this.waiters.delete(key);
          waiter({ type: 'stopped' });
        }
        resolve();
      });
    });
  }

  static async start(
    kind: ServerKind,
    execArgv: string[],
    args: string[],
  ): Promise<{ child: ServerChild; ready: Extract<FromChild, { type: 'ready' }> }> {
    const proc = fork(SELF, [`--serve=${kind}`, ...args], {
      execArgv: [...execArgv, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new ServerChild(kind, proc);
    const ready = await child.expect('ready');
    if (ready.type !== 'ready') throw child.exitError ?? new Error(`the ${kind} server did not start`);
    return { child, ready };
  }

  private expect(key: string): Promise<FromChild> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve) => this.waiters.set(key, resolve));
  }

  tell(message: ToChild): void {
    this.proc.send(message);
  }

  /** The bare server: the response it answers every request with. */
  async respondWith(body: unknown): Promise<void> {
    const reply = this.expect('configured');
    this.tell({ type: 'respond-with', body });
    if ((await reply).type !== 'configured') throw this.exitError ?? new Error(`the ${this.kind} server did not answer`);
  }

  async snapshot(): Promise<Snapshot> {
    const id = this.nextId++;
    const reply = this.expect(`snapshot:${id}`);
    this.tell({ type: 'snapshot', id });
    const m = await reply;
    if (m.type !== 'snapshot') throw this.exitError ?? new Error(`the ${this.kind} server did not answer`);
    return m.snapshot;
  }

  /** Ask the child to close and report; resolves once it has exited. */
  async stop(): Promise<LexeconStats | undefined> {
    if (this.exitError) throw this.exitError;
    const reply = this.expect('stopped');
    this.tell({ type: 'stop' });
    const m = await reply;
    await this.exited;
    return m.type === 'stopped' ? m.stats : undefined;
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill();
  }
}

// ---------------------------------------------------------------------------------------------------
// Load generation

/** One measured stretch of load against one server. */
interface Segment {
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
interface LedgerActivity {
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

interface LoadResult {
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

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A running autocannon load: stop() ends it (within ~0.1 s); done resolves with its result. */
interface Load {
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
export async function cannon(port: number, token: string, seconds: number): Promise<autocannon.Result> {
  const load = startLoad(port, token);
  await sleep(seconds * 1000);
  load.stop();
  return load.done;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Load one server for REWARM_S + `seconds` on the same connections throughout, and measure only the
 * last `seconds`: the server sat idle while the other one was measured, and the first requests after
 * that (and on fresh connections) were answered up to a few hundred ms late.
 */
async function segment(server: ServerChild, port: number, token: string, seconds: number): Promise<Segment> {
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
  });
  try {
    await sleep(REWARM_S * 1000);
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

function combine(segments: Segment[]): LoadResult {
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
// CPU profile summary

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The area a script URL belongs to: a src/ directory, an npm package, a node: module, … */
function areaOfUrl(url: string): string {
  if (url.startsWith('node:')) {
    const rest = url.slice('node:'.length).replace(/^internal\//, '');
    const first = rest.split('/')[0]!;
    if (/^_?http|^_http/.test(first) || first === 'net' || first === 'stream_base_commons') return 'node:http/net';
    if (first === 'streams' || first === 'stream') return 'node:streams';
    return `node:${first.replace(/^_/, '')}`;
  }
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const rel = path.relative(REPO_ROOT, file);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    const dir = path.dirname(rel);
    return dir === '.' ? rel : dir;
  }
  return url === '' ? '(native)' : 'other';
}

function shortUrl(url: string): string {
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  const rel = path.relative(REPO_ROOT, file);
  return !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function summarizeProfile(
  file: string,
  windows: ReadonlyArray<{ startUs: number; endUs: number }>,
  responses: number,
  sourceMapsFile: string,
): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const sourceMaps = new Map<string, SourceMap>();
  if (fs.existsSync(sourceMapsFile)) {
    const payloads = JSON.parse(fs.readFileSync(sourceMapsFile, 'utf8')) as Record<string, SourceMapPayload>;
    for (const [url, payload] of Object.entries(payloads)) sourceMaps.set(url, new SourceMap(payload));
  }
  /** 1-based line in the original file (through the source map when there is one). */
  const lineOf = (f: CpuProfileNode['callFrame']): number => {
    const entry = sourceMaps.get(f.url)?.findEntry(f.lineNumber, f.columnNumber);
    return entry && 'originalLine' in entry ? entry.originalLine + 1 : f.lineNumber + 1;
  };
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Area and label of every node; a native frame (no URL) belongs to its nearest caller with a URL.
  const areaMemo = new Map<number, string>();
  const callerArea = (id: number): string => {
    let p = parent.get(id);
    while (p !== undefined) {
      const f = byId.get(p)!.callFrame;
      if (f.url !== '') return areaOfUrl(f.url);
      p = parent.get(p);
    }
    return '?';
  };
  const areaOf = (id: number): string => {
    let a = areaMemo.get(id);
    if (a === undefined) {
      const f = byId.get(id)!.callFrame;
      if (SPECIAL.has(f.functionName) && f.url === '') a = f.functionName;
      else if (f.url === '') a = `native via ${callerArea(id)}`;
      else a = areaOfUrl(f.url);
      areaMemo.set(id, a);
    }
    return a;
  };
  const labelMemo = new Map<number, string>();
  const labelOf = (id: number): string => {
    let label = labelMemo.get(id);
    if (label === undefined) {
      const f = byId.get(id)!.callFrame;
      const name = f.functionName || '(anonymous)';
      if (f.url === '') label = SPECIAL.has(name) ? name : `${name} (native, via ${callerArea(id)})`;
      else label = `${name} ${shortUrl(f.url)}:${lineOf(f)}`;
      labelMemo.set(id, label);
    }
    return label;
  };

  // Sample i lasts until sample i+1; keep the samples inside the measured windows.
  let inWindow = true;
  const times: number[] = new Array<number>(profile.samples.length);
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times[i] = t;
  }
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  if (!windows.some((w) => w.endUs >= first && w.startUs <= last)) {
    console.log('  NOTE: the measured windows do not overlap the profile clock; summarizing the whole profile');
    inWindow = false;
  }
  const self = new Map<number, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  const isSrc = (id: number): boolean => byId.get(id)!.callFrame.url !== '' && areaOf(id).startsWith('src');
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ts = times[i]!;
    if (inWindow && !windows.some((w) => ts >= w.startUs && ts <= w.endUs)) continue;
    const next = times[i + 1];
    const dt = next === undefined ? 0 : next - ts;
    const id = profile.samples[i]!;
    const fn = byId.get(id)!.callFrame.functionName;
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
    // Which src/ function the sampled frame was (nearest, strictly above it) called from.
    let caller: number | undefined = parent.get(id);
    while (caller !== undefined && !isSrc(caller)) caller = parent.get(caller);
    if (caller !== undefined) {
      const key = labelOf(id);
      const m = callers.get(key) ?? new Map<string, number>();
      m.set(labelOf(caller), (m.get(labelOf(caller)) ?? 0) + dt);
      callers.set(key, m);
    }
    // Inclusive time of src/ functions, each counted once per sample (recursion).
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      if (!isSrc(n)) continue;
      const key = labelOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  }
  if (total === 0) {
    console.log('  (no non-idle samples in the measured windows)');
    return;
  }
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    byArea.set(areaOf(id), (byArea.get(areaOf(id)) ?? 0) + us);
    byFunction.set(labelOf(id), (byFunction.get(labelOf(id)) ?? 0) + us);
  }
  const perRequest = (us: number) => `${(us / responses).toFixed(1)} µs`.padStart(9);
  const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`.padStart(6) + perRequest(us);
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

  const windowS = (idle + total) / 1e6;
  console.log(
    `  ${(total / 1e6).toFixed(2)} s of non-idle samples in the ${windowS.toFixed(2)} s measured ` +
      `(idle ${((idle / (idle + total)) * 100).toFixed(1)}%), ${(total / responses).toFixed(0)} µs per response`,
  );
  console.log('  each line: share of non-idle time, µs per response, what');
  console.log('  self time by area:');
  let shown = 0;
  for (const [area, us] of top(byArea, 25)) {
    if (us / total < 0.005) break;
    console.log(`    ${pct(us)}  ${area}`);
    shown += us;
  }
  if (total - shown > 0) console.log(`    ${pct(total - shown)}  (the other areas)`);
  console.log('  top functions by self time:');
  for (const [label, us] of top(byFunction, 15)) {
    const from = top(callers.get(label) ?? new Map<string, number>(), 2)
      .filter(([, c]) => c / total >= 0.002)
      .map(([c, cus]) => `${((cus / total) * 100).toFixed(1)}% ${c}`);
    console.log(`    ${pct(us)}  ${label}${from.length > 0 ? `\n${' '.repeat(23)}← ${from.join('; ')}` : ''}`);
  }
  console.log('  inclusive time of src/ functions (synchronous work under them):');
  for (const [label, us] of top(inclusive, 12)) console.log(`    ${pct(us)}  ${label}`);
}

// ---------------------------------------------------------------------------------------------------
// Report

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number) => n.toFixed(2);

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

function row(label: string, r: LoadResult): string[] {
  return [
    label,
    fmtInt(r.rps),
    fmtInt(r.responses),
    fmtMs(r.p50Ms),
    fmtMs(r.p99Ms),
    fmtInt(r.non2xx),
    fmtInt(r.errors),
    fmtInt(r.timeouts),
    `${r.serverCpu.toFixed(0)}%`,
    r.serverElu.toFixed(2),
    `${fmtMs(r.loopDelayMaxMs)} ms`,
    `${r.clientCpu.toFixed(0)}%`,
  ];
}

export const tempDirs: string[] = [];
export const children: ServerChild[] = [];

async function main(): Promise<void> {
  const started = performance.now();
  fs.mkdirSync(opts.baseDir, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(opts.baseDir, 'lexecon-bench-decide-'));
  tempDirs.push(dataDir);
  const profDir = opts.cpuProf ? path.resolve(opts.cpuProfDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-decide-prof-'))) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(`Lexecon POST /decide HTTP bench${opts.quick ? ' (quick)' : ''}`);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  const fsyncMicros = probeFsyncMicros(dataDir, 300);
  console.log(
    `  data directory in ${opts.baseDir} (${fsName(opts.baseDir)}, write+fsync 4 KiB ≈ ${fsyncMicros.toFixed(0)} µs); durability FULL`,
  );
  console.log(
    `  autocannon, ${opts.connections} connections; per server ${opts.warmupS} s warm-up (discarded) + ` +
      `${opts.durationS} s measured in ${opts.rounds} interleaved rounds; each server in its own child process`,
  );

  const sourceMapsFile = profDir ? path.join(profDir, `source-maps.json`) : undefined;
  const lexeconArgs = [
    `--data-dir=${dataDir}`,
    ...(opts.rsa4096 ? ['--rsa4096'] : []),
    ...(sourceMapsFile ? [`--source-maps-out=${sourceMapsFile}`] : []),
  ];
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const t0 = performance.now();
  const lex = await ServerChild.start('lexecon', profArgs, lexeconArgs);
  children.push(lex.child);
  const token = lex.ready.token!;
  console.log(`  lexecon server ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${lex.ready.info ?? ''}${profDir ? '; under --cpu-prof' : ''}`);

  // The check request: it must be approved with a token; its answer is what the bare server returns.
  const checkText = await checkDecide(lex.ready.port, token);
  console.log(`  check request: 200 approved with a capability token (${Buffer.byteLength(checkText)} B response)`);

  const bare = await ServerChild.start('bare', [], []);
  children.push(bare.child);
  await bare.child.respondWith(JSON.parse(checkText));
  const bareCheck = await fetch(`http://127.0.0.1:${bare.ready.port}/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: DECIDE_BODY,
  });
  const bareText = await bareCheck.text();
  if (bareCheck.status !== 200 || bareText !== checkText) {
    throw new Error(`the bare server did not answer like the Lexecon one: ${bareCheck.status} ${bareText}`);
  }
  console.log('');

  const servers = {
    bare: { child: bare.child, port: bare.ready.port, segments: [] as Segment[] },
    lexecon: { child: lex.child, port: lex.ready.port, segments: [] as Segment[] },
  };
  console.log(`warm-up: ${opts.warmupS} s bare, ${opts.warmupS} s lexecon; each round starts with ${REWARM_S} s of unmeasured load`);
  const warmupResponses = { bare: 0, lexecon: 0 };
  /** non-2xx answers, errors and timeouts during the (discarded) warm-ups: they must be 0 as well. */
  let warmupFailures = 0;
  for (const kind of ['bare', 'lexecon'] as const) {
    const r = await cannon(servers[kind].port, token, opts.warmupS);
    warmupResponses[kind] += r['2xx'];
    warmupFailures += r.non2xx + r.errors + r.timeouts;
  }
  const segmentS = opts.durationS / opts.rounds;
  for (let round = 0; round < opts.rounds; round++) {
    // ABBA order: a slow drift of the machine hits both alike.
    const order = round % 2 === 0 ? (['bare', 'lexecon'] as const) : (['lexecon', 'bare'] as const);
    const rps: Record<string, number> = {};
    for (const kind of order) {
      const sv = servers[kind];
      const seg = await segment(sv.child, sv.port, token, segmentS);
      sv.segments.push(seg);
      warmupResponses[kind] += seg.unmeasured2xx;
      warmupFailures += seg.unmeasuredNon2xx;
      rps[kind] = Object.values(seg.statusCodes).reduce((x, y) => x + y, 0) / seg.seconds;
    }
    console.log(
      `round ${round + 1}/${opts.rounds} (${segmentS.toFixed(1)} s each, ${order.join(' then ')}): bare ${fmtInt(rps['bare']!)} req/s, lexecon ${fmtInt(rps['lexecon']!)} req/s`,
    );
  }
  const b = combine(servers.bare.segments);
  const l = combine(servers.lexecon.segments);
  await bare.child.stop();
  const stats = await lex.child.stop();
  console.log('');

  console.log(
    table([
      ['server', 'req/s', 'responses', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'timeouts', 'server cpu', 'server elu', 'loop delay max', 'client cpu'],
      row('bare Fastify + zod', b),
      row('lexecon /decide (FULL)', l),
    ]),
  );
  for (const [label, r] of [['bare', b], ['lexecon', l]] as const) {
    const odd = Object.entries(r.statusCodes).filter(([code]) => !code.startsWith('2'));
    if (odd.length > 0) console.log(`  ${label} non-2xx status codes: ${odd.map(([c, n]) => `${c}×${n}`).join(', ')}`);
  }
  if (b.clientCpu > 90) {
    console.log('  NOTE: the load generator was near 100% CPU on the baseline: the bare req/s is a lower bound, the ratio flattering');
  }
  if (!Number.isNaN(l.otherCpu)) {
    console.log(
      `  other processes during the windows: ${b.otherCpu.toFixed(0)}% (bare), ${l.otherCpu.toFixed(0)}% (lexecon) ` +
        `of a core; hypervisor steal ${b.stealPct.toFixed(1)}%, ${l.stealPct.toFixed(1)}%`,
    );
    if (Math.max(b.otherCpu, l.otherCpu) > 20 || Math.max(b.stealPct, l.stealPct) > 5) {
      console.log('  NOTE: other work on this machine competed for the CPU: these figures are disturbed; run again when it is idle');
    }
  }
  if (l.ledger && l.ledger.commits > 0) {
    const g = l.ledger;
    console.log(
      `  lexecon group commits in the windows: ${fmtInt(g.commits / g.wallS)}/s, mean batch ${(g.entries / g.commits).toFixed(1)} ` +
        `entries, mean commit ${((g.commitS / g.commits) * 1000).toFixed(2)} ms (the transaction: inserts, token signing, fsync), ` +
        `${((g.commitS / g.wallS) * 100).toFixed(0)}% of the time`,
    );
  }
  if (stats) {
    // Every 2xx answer (check request, warm-up, measured) is one stored decision with its token; a few
    // more were made for requests still in flight when a load stretch ended (autocannon no longer
    // waited for their answers): at most one per connection and stretch.
    const answered = 1 + warmupResponses.lexecon + l.responses - l.non2xx;
    const unanswered = stats.decisions - answered;
    const ok =
      stats.ledgerValid && stats.tokens === stats.decisions && unanswered >= 0 && unanswered <= opts.connections * (1 + opts.rounds);
    console.log(
      `  ledger after the run: ${stats.ledgerValid ? 'valid' : `INVALID ${JSON.stringify(stats.firstInvalid)}`}, ` +
        `${fmtInt(stats.ledgerEntries)} entries verified; ${fmtInt(stats.decisions)} decisions and ` +
        `${fmtInt(stats.tokens)} tokens stored, for ${fmtInt(answered)} approved answers received + ` +
        `${fmtInt(unanswered)} in flight when a load stretch ended${ok ? '' : ' MISMATCH'}`,
    );
    if (!ok) throw new Error('the ledger or the stored decisions do not match the answers');
  }
  console.log('');

  const rpsRatio = l.rps / b.rps;
  const p99Ratio = l.p99Ms / b.p99Ms;
  const failures = l.non2xx + b.non2xx + l.errors + b.errors + l.timeouts + b.timeouts + warmupFailures;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  console.log(
    `req/s:   ${fmtInt(l.rps)} vs ${fmtInt(b.rps)} = ${rpsRatio.toFixed(3)} (target ≥ ${RPS_TARGET}) ${verdict(rpsRatio >= RPS_TARGET)}`,
  );
  console.log(
    `p99:     ${fmtMs(l.p99Ms)} ms vs ${fmtMs(b.p99Ms)} ms = ${p99Ratio.toFixed(2)}× (target ≤ ${P99_TARGET}×) ${verdict(p99Ratio <= P99_TARGET)}`,
  );
  console.log(`p50:     ${fmtMs(l.p50Ms)} ms vs ${fmtMs(b.p50Ms)} ms = ${(l.p50Ms / b.p50Ms).toFixed(2)}× (no target)`);
  console.log(
    `non-2xx: ${fmtInt(l.non2xx)} lexecon, ${fmtInt(b.non2xx)} bare; errors ${l.errors + b.errors}, ` +
      `timeouts ${l.timeouts + b.timeouts}; in the warm-ups ${warmupFailures} (target 0) ${verdict(failures === 0)}`,
  );

  if (profDir) {
    // Node names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main
    // thread (tsx's module loader runs in a worker thread that writes a profile of its own).
    const mainProfile = fs
      .readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(lex.child.proc.pid) && f.split('.')[4] === '0')
      .map((f) => path.join(profDir, f))[0];
    console.log('');
    if (mainProfile === undefined) {
      console.log(`CPU profile: no .cpuprofile written in ${profDir}`);
    } else {
      console.log(`CPU profile of the Lexecon server, measured windows only (${mainProfile}):`);
      summarizeProfile(mainProfile, l.windows, l.responses, sourceMapsFile!);
    }
  }
  console.log(`(total ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function cleanup(): void {
  for (const c of children.splice(0)) c.kill();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

const serve = argValue('serve');
if (serve === 'lexecon' || serve === 'bare') {
  (serve === 'lexecon' ? serveLexecon() : serveBare()).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else if (serve !== undefined) {
  console.error(`--serve must be lexecon or bare, got '${serve}'`);
  process.exit(2);
} else if (!['sqlite', 'postgres', undefined].includes(argValue('backend'))) {
  console.error(`--backend must be sqlite or postgres, got '${argValue('backend')}'`);
  process.exit(2);
} else {
  // Stop the servers and remove the data directory however the run ends.
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  process.stdout.on('error', () => process.exit(0));
  // --backend postgres: PostgreSQL with one and two replicas against SQLite, in decide-pg.ts.
  (argValue('backend') === 'postgres' ? import('./decide-pg.js').then((m) => m.mainPostgres()) : main()).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
    cleanup();
  });
}

/** The check request: `200 approved` with a capability token (its answer's text), or the run stops. */
export async function checkDecide(port: number, token: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: DECIDE_BODY,
  });
  const text = await res.text();
  const body = (() => {
    try {
      return JSON.parse(text) as { outcome?: unknown; capability_token?: unknown };
    } catch {
      return undefined;
    }
  })();
  if (res.status !== 200 || body?.outcome !== 'approved' || typeof body.capability_token !== 'string') {
    throw new Error(`the check request was not answered 200 approved with a capability token: ${res.status} ${text}`);
  }
  return text;
}
