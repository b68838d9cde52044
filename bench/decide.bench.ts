/**
 * `POST /decide` HTTP benchmark. Not a test: it prints figures measured in this run, compared with
 * baselines measured in the same run on the same machine.
 *
 *   current  this tree's app (`buildAppWithServices`), listening on 127.0.0.1: durable ledger
 *            (LEXECON_DURABILITY=full, every commit fsynced before the answer), Ed25519-signed capability
 *            tokens, API-key authentication, the `policies/seed-example.json` policy, rate limit disabled,
 *            logs silent. Every request is a new decision (no request_id): policy evaluation, risk
 *            scoring, a `decision` ledger entry, the decision and token rows, committed (group commit)
 *            before the answer: `200 approved` with a `capability_token`.
 *   base     with `--against <ref>` only: the same, with the application code of commit <ref>, checked
 *            out in a temporary git worktree (decide-against.ts). The server child is this tree's
 *            (decide-server.ts, the measuring instrument); only the imported app differs.
 *   bare     Fastify 5 alone (same version, same silent pino logger) with fastify-type-provider-zod's
 *            validator and serializer compilers and one `POST /decide` route with the very same body
 *            schema (`DecideBodySchema`) and 200 response schema (`DecisionResponseSchema`), answering a
 *            constant response: the one the current server gave to the check request. No auth, no db.
 *
 * All get identical requests (same body, same `Authorization` header) from autocannon, in two phases:
 * `--connections` (default 32: throughput, p50, p99, against the issue's goals: current req/s ÷ bare
 * ≥ 0.4, p99 ÷ bare ≤ 2.5) and 1 connection (p50, p99: the latency floor; goal p50 < 0.5 ms on SQLite
 * FULL, printed next to the measured write+fsync cost and the group commit's time). With `--against`:
 * current ÷ base for CPU µs per decision (goal ≤ 0.5), req/s, p50 and p99; a regression of more than 10 %
 * at 32 connections (req/s ratio < 0.9, CPU per decision or p99 ratio > 1.1) prints a REGRESSION line.
 *
 * Method. Each server runs in its own child process (decide-server.ts, reporting over IPC) and
 * autocannon runs in this process, so load generation never shares a server's event loop; only one
 * server is loaded at a time (the others are idle). After a warm-up per server (discarded), each phase's
 * measured time is split into rounds (default 4) that alternate the servers' order, ABBA generalised
 * (base, bare, current | current, bare, base | bare, current, base | …: decide-report.ts roundOrder), so
 * that a drift of the machine (a shared VM, other work) hits all alike; the figures pool the rounds. Each stretch's load
 * starts REWARM_S before its measured window opens, on the same connections: after another server's
 * round, and on fresh connections, the first requests were answered up to a few hundred ms late, a cost
 * of the interleaving (an idle V8 heap shrinks; 32 connections arrive at once), not of steady load.
 * On a 2-core machine the load generator and the server each get about one core: the tables show both
 * processes' CPU use over the measured windows, the server's CPU µs per response (server process CPU
 * over the windows ÷ responses in them: less sensitive to contention than req/s), its event-loop
 * utilization and worst event-loop delay, and the CPU used by other processes or taken by the hypervisor
 * (steal), so a baseline limited by the load generator (client CPU ≈ 100%: the ratio would look better
 * than it is) or a disturbed run is visible. req/s is completed responses ÷ measured seconds; p50/p99
 * are computed here from every response's latency as autocannon reports it (sub-ms resolution). The
 * Lexecon servers' group commits over the windows (commits/s, mean batch, mean time inside the commit
 * transaction) come from their /metrics, read before and after each window. After the run each Lexecon
 * child verifies its whole ledger and counts the stored decisions and tokens, which must match the
 * approved answers (plus at most one request per connection in flight when each load stretch ended).
 *
 * `--cpu-prof` starts the current server with `node --cpu-prof` and summarizes its main thread's profile
 * over the measured windows of the first phase (decide-profile.ts). The profiler costs CPU: the req/s of
 * a `--cpu-prof` run is not the one to quote, and with `--against` it handicaps current against base (in
 * one busy quick run of the same code on both sides, current's CPU per decision came out 1.4× base's).
 *
 * `--backend postgres`: see decide-pg.ts (the same app on PostgreSQL, one and two replicas, against
 * SQLite); `--against` is not supported there.
 *
 * Usage: npm run bench:decide [-- --against REF] [--fail-on-regression] [--quick] [--duration=SECONDS]
 *                             [--floor-duration=SECONDS] [--warmup=SECONDS] [--rounds=N] [--connections=N]
 *                             [--cpu-prof] [--cpu-prof-dir=PATH] [--rsa4096] [--dir=PATH]
 *   --against REF   also measure commit REF (a branch, tag, sha: `--against main`, `--against HEAD~3`)
 *   --fail-on-regression  exit code 3 when a REGRESSION line is printed (default: exit code 0)
 *   --quick         3 s measured at 32 connections and 1.5 s at 1, 1 s warm-up, per server (10, 5 and 2 s)
 *   --rounds=N      split each phase's measured time into N alternating rounds (default 4)
 *   --cpu-prof      profile the current server (the .cpuprofile is kept; open it in Chrome DevTools)
 *   --rsa4096       let the app generate its production RSA-4096 key at start (seconds); by default the
 *                   test-only override makes it RSA-2048. RSA is not on the /decide path (tokens are Ed25519).
 *   --dir=PATH      where the temporary data directories go (its filesystem decides what fsync costs)
 * `npm run bench` runs this after the ledger and policy benchmarks, with the same arguments.
 * Env: LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH.
 * Exit code 0 whether or not the goals are met (they are informational), 3 on a regression with
 * `--fail-on-regression`, other non-zero codes on a crash (including a check request not answered
 * `200 approved` with a token, a ledger failing verification, or a ref the bench cannot run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describeCurrent, prepareBaseline, resolveRef, type Baseline } from './decide-against.js';
import { ServerChild, checkDecide, cleanup, tempDirs, type LexeconStats } from './decide-child.js';
import { DECIDE_BODY, cannon, combine, segment, segmentFigures, type LoadResult, type Segment } from './decide-load.js';
import { BenchError, REWARM_FLOOR_S, REWARM_S, opts } from './decide-options.js';
import { findMainProfile, summarizeProfile } from './decide-profile.js';
import {
  GOALS,
  against,
  fmtInt,
  fmtMs,
  ratios,
  regressions,
  roundOrder,
  roundRatios,
  spread,
  table,
  verdict,
  type Ratios,
  type ServerFigures,
} from './decide-report.js';
import { fsName, probeFsyncMicros } from './disk.js';
import { argValue } from './options.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Label = 'bare' | 'base' | 'current';
type Phase = 'load' | 'floor';

interface Server {
  label: Label;
  /** What it runs, for the tables. */
  title: string;
  child: ServerChild;
  port: number;
  segments: Record<Phase, Segment[]>;
  /** 2xx answers outside the measured windows (check request, warm-up, re-warm, stop). */
  unmeasured2xx: number;
  /** non-2xx answers, errors and timeouts outside the windows (they must be 0 as well). */
  unmeasuredFailures: number;
}

interface PhaseResult {
  phase: Phase;
  connections: number;
  results: Map<Label, LoadResult>;
  /** Each server's figures round by round (for the spread of the per-round ratios). */
  rounds: Map<Label, ServerFigures[]>;
}

function row(s: Server, r: LoadResult): string[] {
  return [
    s.title,
    fmtInt(r.rps),
    fmtInt(r.responses),
    fmtMs(r.p50Ms),
    fmtMs(r.p99Ms),
    fmtInt(r.cpuUsPerResponse),
    `${r.serverCpu.toFixed(0)}%`,
    r.serverElu.toFixed(2),
    `${fmtMs(r.loopDelayMaxMs)} ms`,
    fmtInt(r.non2xx),
    fmtInt(r.errors),
    fmtInt(r.timeouts),
    `${r.clientCpu.toFixed(0)}%`,
  ];
}

const HEADER = ['server', 'req/s', 'responses', 'p50 ms', 'p99 ms', 'cpu µs/resp', 'server cpu', 'server elu', 'loop delay max', 'non-2xx', 'errors', 'timeouts', 'client cpu'];

/** Start a Lexecon server child (current or base) on its own data directory. */
async function startLexecon(label: 'base' | 'current', dataRoot: string, appRoot: string | undefined, profArgs: string[], extra: string[]) {
  const dataDir = path.join(dataRoot, label);
  fs.mkdirSync(dataDir);
  const t0 = performance.now();
  const args = [`--data-dir=${dataDir}`, ...(appRoot ? [`--app-root=${appRoot}`] : []), ...(opts.rsa4096 ? ['--rsa4096'] : []), ...extra];
  const started = await ServerChild.start('lexecon', profArgs, args, label);
  return { ...started, seconds: (performance.now() - t0) / 1000 };
}

/** Measure one phase: every server, rounds in generalised ABBA order, `seconds` per server in total. */
async function runPhase(
  servers: Server[],
  phase: Phase,
  connections: number,
  seconds: number,
  tokenOf: (s: Server) => string,
): Promise<PhaseResult> {
  const segmentS = seconds / opts.rounds;
  const orders = roundOrder(servers, opts.rounds);
  for (const [i, order] of orders.entries()) {
    const rps: string[] = [];
    for (const sv of order) {
      const seg = await segment(sv.child, sv.port, tokenOf(sv), segmentS, connections, connections === 1 ? REWARM_FLOOR_S : REWARM_S);
      sv.segments[phase].push(seg);
      sv.unmeasured2xx += seg.unmeasured2xx;
      sv.unmeasuredFailures += seg.unmeasuredNon2xx;
      rps.push(`${sv.label} ${fmtInt(Object.values(seg.statusCodes).reduce((x, y) => x + y, 0) / seg.seconds)}`);
    }
    console.log(`  round ${i + 1}/${opts.rounds} (${segmentS.toFixed(2)} s each): ${rps.join(', ')} req/s`);
  }
  return {
    phase,
    connections,
    results: new Map(servers.map((s) => [s.label, combine(s.segments[phase])])),
    rounds: new Map(servers.map((s) => [s.label, s.segments[phase].map(segmentFigures)])),
  };
}

function printPhase(loaded: Server[], p: PhaseResult): void {
  const rank: Record<Label, number> = { bare: 0, base: 1, current: 2 };
  const servers = [...loaded].sort((a, b) => rank[a.label] - rank[b.label]);
  console.log(`${p.connections} connection${p.connections === 1 ? '' : 's'}:`);
  console.log(table([HEADER, ...servers.map((s) => row(s, p.results.get(s.label)!))]));
  for (const s of servers) {
    const r = p.results.get(s.label)!;
    const odd = Object.entries(r.statusCodes).filter(([code]) => !code.startsWith('2'));
    if (odd.length > 0) console.log(`  ${s.label} non-2xx status codes: ${odd.map(([c, n]) => `${c}×${n}`).join(', ')}`);
  }
  const bare = p.results.get('bare')!;
  if (bare.clientCpu > 90) {
    console.log('  NOTE: the load generator was near 100% CPU on the bare server: the bare req/s is a lower bound, the ratios flattering');
  }
  const all = servers.map((s) => p.results.get(s.label)!);
  if (!all.some((r) => Number.isNaN(r.otherCpu))) {
    console.log(
      `  other processes during the windows: ${servers.map((s, i) => `${all[i]!.otherCpu.toFixed(0)}% (${s.label})`).join(', ')} of a core; ` +
        `hypervisor steal ${all.map((r) => `${r.stealPct.toFixed(1)}%`).join(', ')}`,
    );
    if (all.some((r) => r.otherCpu > 20 || r.stealPct > 5)) {
      console.log('  NOTE: other work on this machine competed for the CPU: these figures are disturbed; run again when it is idle');
    }
  }
  for (const s of servers) {
    const g = p.results.get(s.label)!.ledger;
    if (!g || g.commits === 0) continue;
    console.log(
      `  ${s.label} group commits: ${fmtInt(g.commits / g.wallS)}/s, mean batch ${(g.entries / g.commits).toFixed(1)} entries, ` +
        `mean commit ${fmtMs((g.commitS / g.commits) * 1000)} ms (the transaction: inserts, fsync…), ${((g.commitS / g.wallS) * 100).toFixed(0)}% of the time`,
    );
  }
}

/** The ledger and stored rows of a Lexecon server after the run must match its approved answers. */
function checkStats(s: Server, stats: LexeconStats | undefined, phases: PhaseResult[]): void {
  if (!stats) throw new Error(`the ${s.label} server reported no ledger check`);
  const measured = phases.reduce((n, p) => n + p.results.get(s.label)!.responses - p.results.get(s.label)!.non2xx, 0);
  const answered = s.unmeasured2xx + measured;
  const unanswered = stats.decisions - answered;
  // At most one request per connection in flight when a load stretch ended: warm-up and every segment.
  const maxInFlight = opts.connections * (1 + opts.rounds) + opts.rounds;
  const ok = stats.ledgerValid && stats.tokens === stats.decisions && unanswered >= 0 && unanswered <= maxInFlight;
  console.log(
    `  ${s.label} ledger after the run: ${stats.ledgerValid ? 'valid' : `INVALID ${JSON.stringify(stats.firstInvalid)}`}, ` +
      `${fmtInt(stats.ledgerEntries)} entries verified; ${fmtInt(stats.decisions)} decisions and ` +
      `${fmtInt(stats.tokens)} tokens stored, for ${fmtInt(answered)} approved answers received + ` +
      `${fmtInt(unanswered)} in flight when a load stretch ended${ok ? '' : ' MISMATCH'}`,
  );
  if (!ok) throw new Error(`the ${s.label} server's ledger or stored decisions do not match its answers`);
}

const figures = (r: LoadResult) => ({ rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuUsPerResponse: r.cpuUsPerResponse });

function printRatioLine(name: string, r: Ratios, perRound: Ratios[]): void {
  const range = (f: keyof Ratios) => (perRound.length > 1 ? ` (rounds ${spread(perRound.map((x) => x[f]))})` : '');
  console.log(
    `  ${name.padEnd(16)} CPU µs/decision ${r.cpuPerResponse.toFixed(3)}${range('cpuPerResponse')}, req/s ${r.rps.toFixed(3)}${range('rps')}, ` +
      `p50 ${r.p50.toFixed(3)}${range('p50')}, p99 ${r.p99.toFixed(3)}${range('p99')}`,
  );
}

/** The ratios against the goals and the regression check; true when a REGRESSION line was printed. */
function printRatios(load: PhaseResult, floor: PhaseResult, baseline: Baseline | undefined, fsyncMicros: number): boolean {
  const cur = (p: PhaseResult) => p.results.get('current')!;
  const bare = (p: PhaseResult) => p.results.get('bare')!;
  const base = (p: PhaseResult) => p.results.get('base');
  const n = load.connections;
  let regressed = false;

  console.log(`vs bare at ${n} connections:`);
  const rows: Array<[string, LoadResult]> = [['current', cur(load)]];
  if (base(load)) rows.push(['base', base(load)!]);
  for (const [name, r] of rows) {
    console.log(
      `  ${name.padEnd(8)} req/s ${fmtInt(r.rps)} vs ${fmtInt(bare(load).rps)} = ${against(r.rps / bare(load).rps, { atLeast: GOALS.rpsVsBare })}; ` +
        `p99 ${fmtMs(r.p99Ms)} ms vs ${fmtMs(bare(load).p99Ms)} ms = ${against(r.p99Ms / bare(load).p99Ms, { atMost: GOALS.p99VsBare }, 2, '×')}`,
    );
  }

  const f = cur(floor);
  console.log(`latency floor (1 connection, SQLite synchronous=FULL):`);
  for (const [name, r] of [['current', f], ...(base(floor) ? [['base', base(floor)!] as const] : [])] as Array<[string, LoadResult]>) {
    console.log(
      `  ${name.padEnd(8)} p50 ${fmtMs(r.p50Ms)} ms (goal < ${GOALS.floorP50Ms} ms) ${verdict(r.p50Ms < GOALS.floorP50Ms)}; p99 ${fmtMs(r.p99Ms)} ms; ` +
        `${fmtInt(r.cpuUsPerResponse)} µs CPU per response`,
    );
  }
  const share = (us: number) => `${((us / 1000 / f.p50Ms) * 100).toFixed(0)}% of current's p50`;
  let floorLine = `  write+fsync of 4 KiB in the data directory ≈ ${fmtInt(fsyncMicros)} µs (${share(fsyncMicros)})`;
  const g = f.ledger;
  if (g && g.commits > 0) {
    const commitUs = (g.commitS / g.commits) * 1e6;
    floorLine += `; current's group commits at 1 connection: mean batch ${(g.entries / g.commits).toFixed(2)}, mean commit ${fmtInt(commitUs)} µs (${share(commitUs)}, fsync included)`;
  }
  console.log(floorLine);
  console.log(`  bare p50 ${fmtMs(bare(floor).p50Ms)} ms (HTTP, loopback and the load generator: ${((bare(floor).p50Ms / f.p50Ms) * 100).toFixed(0)}% of current's p50)`);

  if (baseline && base(load) && base(floor)) {
    console.log(`current ÷ base (${baseline.title}):`);
    const rl = ratios(figures(cur(load)), figures(base(load)!));
    const rf = ratios(figures(cur(floor)), figures(base(floor)!));
    const perRound = (p: PhaseResult) => roundRatios(p.rounds.get('current')!, p.rounds.get('base')!);
    printRatioLine(`${n} connections`, rl, perRound(load));
    printRatioLine('1 connection', rf, perRound(floor));
    console.log('  (pooled over the rounds; in brackets the range of the ratio round by round: the noise of this run)');
    console.log(
      `  CPU per decision: ${fmtInt(cur(load).cpuUsPerResponse)} vs ${fmtInt(base(load)!.cpuUsPerResponse)} µs at ${n} connections = ` +
        against(rl.cpuPerResponse, { atMost: GOALS.cpuVsBase }),
    );
    if (opts.cpuProf) {
      console.log('  NOTE: --cpu-prof: current runs under the profiler, base does not: these ratios are biased against current; quote the ratios of a run without --cpu-prof');
    }
    const found = regressions(rl);
    const key = { 'req/s': 'rps', 'CPU µs per decision': 'cpuPerResponse', p99: 'p99' } as const;
    for (const r of found) {
      console.log(
        `REGRESSION: current ÷ base ${r.figure} at ${n} connections = ${r.ratio.toFixed(3)} (${r.figure === 'req/s' ? '<' : '>'} ${r.limit.toFixed(2)}; ` +
          `rounds ${spread(perRound(load).map((x) => x[key[r.figure]]))})`,
      );
    }
    if (found.length === 0) console.log(`  no regression beyond 10% against base at ${n} connections (req/s, CPU per decision, p99)`);
    regressed = found.length > 0;
    const disturbed = [...load.results.values()].some((r) => r.otherCpu > 20 || r.stealPct > 5);
    if (regressed && disturbed) {
      console.log('  NOTE: other work competed for the CPU during this run (see above): the regression may be noise; run again on an idle machine');
    }
  }
  return regressed;
}

/** The servers of the run, started and checked: each answers the check request as it must. */
interface Started {
  servers: Server[];
  /** The API key each is loaded with (base has its own; the bare server ignores the header). */
  tokenOf: (s: Server) => string;
  current: ServerChild;
}

async function startServers(dataRoot: string, baseline: Baseline | undefined, profDir: string | undefined, sourceMapsFile: string | undefined): Promise<Started> {
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  // Started together (module loading and key generation wait on each other's I/O; the run is shorter).
  const [current, base, bare] = await Promise.all([
    startLexecon('current', dataRoot, undefined, profArgs, sourceMapsFile ? [`--source-maps-out=${sourceMapsFile}`] : []),
    baseline ? startLexecon('base', dataRoot, baseline.root, [], []) : undefined,
    ServerChild.start('bare', [], [], 'bare'),
  ]);
  console.log(`  current server ready in ${current.seconds.toFixed(1)} s; ${current.ready.info ?? ''}${profDir ? '; under --cpu-prof' : ''}`);
  if (base) console.log(`  base server ready in ${base.seconds.toFixed(1)} s (app of ${baseline!.sha.slice(0, 12)}, this tree's server child)`);

  // The check requests: approved with a token; current's answer is what the bare server returns.
  const token = current.ready.token!;
  const checkText = await checkDecide(current.ready.port, token, 'current');
  const baseToken = base?.ready.token;
  if (base) await checkDecide(base.ready.port, baseToken!, 'base');
  console.log(`  check requests: 200 approved with a capability token (current: ${Buffer.byteLength(checkText)} B response)`);
  await bare.child.respondWith(JSON.parse(checkText));
  const bareCheck = await fetch(`http://127.0.0.1:${bare.ready.port}/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: DECIDE_BODY,
  });
  const bareText = await bareCheck.text();
  if (bareCheck.status !== 200 || bareText !== checkText) {
    throw new Error(`the bare server did not answer like the current one: ${bareCheck.status} ${bareText}`);
  }

  const server = (label: Label, title: string, s: { child: ServerChild; ready: { port: number } }): Server => ({
    label,
    title,
    child: s.child,
    port: s.ready.port,
    segments: { load: [], floor: [] },
    unmeasured2xx: label === 'bare' ? 0 : 1, // the check request
    unmeasuredFailures: 0,
  });
  // Base and current at the ends, bare between them: the two compared servers get mirrored positions
  // (roundOrder: base, bare, current | current, bare, base | …).
  const servers = [
    ...(base ? [server('base', `base ${baseline!.sha.slice(0, 7)} (FULL)`, base)] : []),
    server('bare', 'bare Fastify + zod', bare),
    server('current', 'current (FULL)', current),
  ];
  return { servers, tokenOf: (s) => (s.label === 'base' ? baseToken! : token), current: current.child };
}

/** Warm up every server, run both phases, stop the servers: the phases' results and the ledger checks. */
async function measure({ servers, tokenOf }: Started): Promise<{ phases: PhaseResult[]; stats: Map<Label, LexeconStats | undefined> }> {
  console.log(`warm-up: ${opts.warmupS} s per server; every measured stretch starts with ${REWARM_S} s of unmeasured load (${REWARM_FLOOR_S} s at 1 connection)`);
  for (const s of servers) {
    const r = await cannon(s.port, tokenOf(s), opts.warmupS);
    s.unmeasured2xx += r['2xx'];
    s.unmeasuredFailures += r.non2xx + r.errors + r.timeouts;
  }
  const phases: PhaseResult[] = [];
  for (const [phase, connections, seconds] of [
    ['load', opts.connections, opts.durationS],
    ['floor', 1, opts.floorDurationS],
  ] as const) {
    console.log(`${connections} connection${connections === 1 ? '' : 's'}, ${seconds} s per server:`);
    phases.push(await runPhase(servers, phase, connections, seconds, tokenOf));
  }
  const stats = new Map<Label, LexeconStats | undefined>();
  for (const s of servers) stats.set(s.label, await s.child.stop());
  return { phases, stats };
}

async function main(): Promise<void> {
  const started = performance.now();
  if (opts.against !== undefined) resolveRef(REPO_ROOT, opts.against); // a bad ref fails before anything starts
  fs.mkdirSync(opts.baseDir, { recursive: true });
  const dataRoot = fs.mkdtempSync(path.join(opts.baseDir, 'lexecon-bench-decide-'));
  tempDirs.push(dataRoot);
  const profDir = opts.cpuProf ? path.resolve(opts.cpuProfDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-decide-prof-'))) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });
  const sourceMapsFile = profDir ? path.join(profDir, `source-maps.json`) : undefined;

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(`Lexecon POST /decide HTTP bench${opts.quick ? ' (quick)' : ''}`);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  const fsyncMicros = probeFsyncMicros(dataRoot, 300);
  console.log(
    `  data directories in ${opts.baseDir} (${fsName(opts.baseDir)}, write+fsync 4 KiB ≈ ${fsyncMicros.toFixed(0)} µs); durability FULL`,
  );
  console.log(
    `  autocannon; per server ${opts.warmupS} s warm-up (discarded), then ${opts.durationS} s measured at ${opts.connections} connections ` +
      `and ${opts.floorDurationS} s at 1, each in ${opts.rounds} interleaved rounds; each server in its own child process`,
  );
  console.log(`  current: ${REPO_ROOT} at ${describeCurrent(REPO_ROOT)}`);
  const baseline = opts.against !== undefined ? await prepareBaseline(REPO_ROOT, opts.against, (l) => console.log(l)) : undefined;
  const run = await startServers(dataRoot, baseline, profDir, sourceMapsFile);
  console.log('');
  const { phases, stats } = await measure(run);
  console.log('');

  const servers = run.servers;
  for (const p of phases) {
    printPhase(servers, p);
    console.log('');
  }
  for (const s of servers) if (s.label !== 'bare') checkStats(s, stats.get(s.label), phases);
  console.log('');
  const [load, floor] = phases as [PhaseResult, PhaseResult];
  const regressed = printRatios(load, floor, baseline, fsyncMicros);
  const failures = servers.reduce(
    (n, s) => n + s.unmeasuredFailures + phases.reduce((m, p) => m + p.results.get(s.label)!.non2xx + p.results.get(s.label)!.errors + p.results.get(s.label)!.timeouts, 0),
    0,
  );
  console.log(`non-2xx, errors and timeouts, warm-ups included: ${fmtInt(failures)} (target 0) ${verdict(failures === 0)}`);

  if (profDir) {
    const mainProfile = findMainProfile(profDir, run.current.proc.pid);
    console.log('');
    if (mainProfile === undefined) {
      console.log(`CPU profile: no .cpuprofile written in ${profDir}`);
    } else {
      const l = load.results.get('current')!;
      console.log(`CPU profile of the current server, measured windows at ${load.connections} connections only (${mainProfile}):`);
      summarizeProfile(mainProfile, l.windows, l.responses, sourceMapsFile!);
    }
  }
  console.log(`(total ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  if (regressed && opts.failOnRegression) process.exitCode = 3;
}

if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run bench:decide [-- --against REF] [--fail-on-regression] [--quick] [--duration=SECONDS]\n' +
      '                            [--floor-duration=SECONDS] [--warmup=SECONDS] [--rounds=N] [--connections=N]\n' +
      '                            [--cpu-prof] [--cpu-prof-dir=PATH] [--rsa4096] [--dir=PATH]\n' +
      '       npm run bench:decide -- --backend postgres [--quick] [--duration=SECONDS] [--rounds=N] [--connections=N]\n' +
      'env:   LEXECON_BENCH_QUICK=1, LEXECON_BENCH_DIR=PATH',
  );
  process.exit(0);
}
const backend = argValue('backend') ?? 'sqlite';
if (!['sqlite', 'postgres'].includes(backend)) {
  console.error(`--backend must be sqlite or postgres, got '${backend}'`);
  process.exit(2);
}
if (process.argv.includes('--against') && opts.against === undefined) {
  console.error('--against needs a git ref: --against <branch|tag|commit>');
  process.exit(2);
}
// Stop the servers, remove the data directories and the baseline worktree however the run ends.
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
process.stdout.on('error', () => process.exit(0));
// --backend postgres: PostgreSQL with one and two replicas against SQLite, in decide-pg.ts.
(backend === 'postgres' ? import('./decide-pg.js').then((m) => m.mainPostgres()) : main()).catch((err: unknown) => {
  // A BenchError is a clear message (a bad ref, an app the bench cannot run); anything else, with its stack.
  console.error(err instanceof BenchError ? `error: ${err.message}` : err);
  process.exitCode = 1;
  cleanup();
});
