/**
 * `npm run bench:decide -- --backend postgres` (issue 15): `POST /decide` on PostgreSQL with one and two
 * replicas, against SQLite, measured in the same run on the same machine. Not a test: it prints figures
 * and ratios; the goals are informational (exit code 0 whether or not they are met).
 *
 *   sqlite   the SQLite mode's Lexecon server (decide-server.ts `--serve=lexecon`): durable ledger
 *            (LEXECON_DURABILITY=full), its data directory on `--dir`.
 *   pg ×1    the same app with `LEXECON_DATABASE_URL` on a database of a throwaway DURABLE PostgreSQL
 *            cluster (test/helpers/postgres-cluster.ts `startCluster(…, { durable: true })`: fsync,
 *            full_page_writes and synchronous_commit on), cluster directory on `--dir` too.
 *   pg ×2    two such servers on another database of that cluster, sharing one keys directory (the
 *            replicas' shared secret mount); the load's connections are split between them (one
 *            autocannon instance per replica, started together, results summed).
 *
 * Goals: pg ×1 req/s ÷ sqlite req/s ≥ 0.5; pg ×2 ÷ pg ×1 ≥ 0.9. On a 2-core machine the second replica
 * mostly competes for the same cores (with PostgreSQL and the load generator): it shows that throughput
 * does not collapse and that group-commit batches still form when the replicas' batches queue for the
 * ledger head row lock. Every server runs in its own child process; the load runs in this one.
 *
 * Method, as the SQLite mode's: every server is warmed up (discarded), then the measured time is split
 * into rounds; each round loads the three configurations one after the other (order reversed every other
 * round, so a drift of the machine hits all alike), each stretch starting with REWARM_S of unmeasured
 * load. Per configuration: req/s, p50/p99 (from every response's latency), CPU of the Lexecon servers
 * (summed over replicas), of PostgreSQL (postmaster and backends) and of the load generator, in % of one
 * core, and the group commits from the servers' /metrics read before and after each window: commits/s,
 * mean batch, mean commit time, and the mean wait of a batch for the head row lock
 * (`lexecon_ledger_head_lock_wait_seconds`). After the run each configuration's ledger is verified (the
 * server's own check at stop; for PostgreSQL again from this process with PgLedgerRepo + verifyLedger),
 * and the stored decisions and tokens must match the approved answers received.
 *
 * `--against <ref>` (decide-against.ts): two configurations instead, **base pg ×1** (the ref's app, from a
 * temporary worktree, run by this tree's server child) and **current pg ×1**, each on its own database of
 * the cluster, same method; then current ÷ base for CPU µs per decision (the Lexecon server and PostgreSQL
 * together, so work moved into SQL still counts; the Lexecon share alone too), req/s, p50 and p99, with
 * the range round by round, and a REGRESSION line beyond 10 % (decide-report.ts `regressions`). The base
 * database's ledger is verified by its own server only (this tree's PgLedgerRepo may not read its schema).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PgLedgerRepo } from '../src/modules/ledger/ledger.pg.repo.js';
import { verifyLedger } from '../src/modules/ledger/ledger.verify.js';
import { openPostgresPort } from '../src/platform/db/postgres.driver.js';
import { adminQuery, findPostgresBinaries, startCluster, withDatabase, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { ServerChild, checkDecide, tempDirs, type LexeconStats } from './decide-child.js';
import { cannon, sleep, startLoad } from './decide-load.js';
import { measureWindow, summarize, windowFigures, type Replica, type Setup, type Summary } from './decide-pg-window.js';
import { describeCurrent, prepareBaseline, resolveRef } from './decide-against.js';
import { REWARM_S, opts } from './decide-options.js';
import { fmtInt, fmtMs, ratios, regressions, roundOrder, roundRatios, spread, table, type Ratios, type ServerFigures } from './decide-report.js';
import { fsName, probeFsyncMicros } from './disk.js';
import { processTreeCpuSeconds } from './machine.js';
import { splitConnections } from './options.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PG1_GOAL = 0.5;
const PG2_GOAL = 0.9;

/** PostgreSQL's own check of a database's ledger and counts, from this process (after its servers stopped). */
async function verifyPg(url: string): Promise<{ valid: boolean; entries: number; decisions: number; tokens: number }> {
  const port = await openPostgresPort({ url, poolSize: 1, applicationName: 'lexecon-bench-verify' });
  try {
    const report = await verifyLedger(new PgLedgerRepo(port));
    const count = async (t: string) => Number((await port.one<{ n: number }>(`SELECT count(*) AS n FROM ${t}`))!.n);
    return { valid: report.valid, entries: report.entriesChecked, decisions: await count('decisions'), tokens: await count('capability_tokens') };
  } finally {
    await port.close();
  }
}

let cluster: PostgresCluster | undefined;

export async function mainPostgres(): Promise<void> {
  const started = performance.now();
  process.on('exit', () => cluster?.destroySync());
  if (opts.against !== undefined) resolveRef(REPO_ROOT, opts.against); // a bad ref fails before anything starts
  if (opts.cpuProf) throw new Error('--cpu-prof is not supported with --backend postgres (profile the SQLite mode)');
  const lookup = findPostgresBinaries();
  if (!lookup.found) throw new Error(`--backend postgres: ${lookup.reason}`);
  fs.mkdirSync(opts.baseDir, { recursive: true });
  const baseDir = fs.mkdtempSync(path.join(opts.baseDir, 'lexecon-bench-decide-pg-'));
  tempDirs.push(baseDir);

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(`Lexecon POST /decide HTTP bench, --backend postgres${opts.quick ? ' (quick)' : ''}`);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  const fsyncMicros = probeFsyncMicros(baseDir, 300);
  console.log(
    `  SQLite data directory and PostgreSQL cluster in ${opts.baseDir} (${fsName(opts.baseDir)}, write+fsync 4 KiB ≈ ${fsyncMicros.toFixed(0)} µs)`,
  );
  cluster = await startCluster(lookup.binaries, { durable: true, parentDir: opts.baseDir });
  const pgCluster = cluster;
  console.log(`  PostgreSQL ${pgCluster.version} (throwaway cluster: fsync on, full_page_writes on, synchronous_commit on); SQLite durability FULL`);
  const pgCpu = () => {
    try {
      const pid = Number(fs.readFileSync(path.join(pgCluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      return processTreeCpuSeconds(pid) ?? NaN;
    } catch {
      return NaN;
    }
  };
  console.log(
    `  autocannon, ${opts.connections} connections per configuration (split between the replicas); per configuration ` +
      `${opts.warmupS} s warm-up (discarded) + ${opts.durationS} s measured in ${opts.rounds} interleaved rounds; every server in its own child process`,
  );

  const baseline = opts.against !== undefined ? await prepareBaseline(REPO_ROOT, opts.against, (l) => console.log(l)) : undefined;
  if (baseline) console.log(`  current: ${REPO_ROOT} at ${describeCurrent(REPO_ROOT)}`);

  const startServer = async (name: string, extra: string[]) => {
    const dataDir = path.join(baseDir, name);
    fs.mkdirSync(dataDir);
    const t0 = performance.now();
    const { child, ready } = await ServerChild.start('lexecon', [], [`--data-dir=${dataDir}`, ...extra], name);
    console.log(`  ${name} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { child, port: ready.port, token: ready.token! };
  };
  const database = async (name: string) => {
    await adminQuery(pgCluster.url, `CREATE DATABASE ${name}`);
    return withDatabase(pgCluster.url, name);
  };
  const setup = (label: string, servers: Array<Replica & { token: string }>, databaseUrl: string | undefined): Setup => ({
    label,
    replicas: servers.map(({ child, port }) => ({ child, port })),
    // The first replica's API key; the others read it from the shared database.
    token: servers[0]!.token,
    databaseUrl,
    windows: [],
    unmeasured2xx: 0,
    unmeasuredFailures: 0,
    verifyHere: !label.startsWith('base'),
  });

  let setups: Setup[];
  if (baseline) {
    // --against: one replica of the ref's app and one of this tree's, each on its own database.
    const urlBase = await database('lexecon_decide_base');
    const base = setup('base pg ×1', [await startServer('base', [`--database-url=${urlBase}`, `--app-root=${baseline.root}`])], urlBase);
    const urlCur = await database('lexecon_decide_current');
    const cur = setup('current pg ×1', [await startServer('current', [`--database-url=${urlCur}`])], urlCur);
    setups = [base, cur];
  } else {
    const sqlite = setup('sqlite', [await startServer('sqlite', [])], undefined);
    const url1 = await database('lexecon_decide_1');
    const pg1 = setup('pg ×1', [await startServer('pg1', [`--database-url=${url1}`])], url1);
    // Two replicas on one database and one keys directory, started one after the other (as a rollout would).
    const url2 = await database('lexecon_decide_2');
    const keys = [`--keys-dir=${path.join(baseDir, 'pg2-keys')}`, `--database-url=${url2}`];
    const pg2 = setup('pg ×2', [await startServer('pg2a', keys), await startServer('pg2b', keys)], url2);
    setups = [sqlite, pg1, pg2];
  }
  for (const s of setups) {
    for (const r of s.replicas) {
      await checkDecide(r.port, s.token);
      s.unmeasured2xx++;
    }
  }
  console.log('  check requests: 200 approved with a capability token, on every server');
  console.log('');

  console.log(`warm-up: ${opts.warmupS} s per configuration; each stretch starts with ${REWARM_S} s of unmeasured load`);
  for (const s of setups) {
    const split = splitConnections(opts.connections, s.replicas.length);
    const results = await Promise.all(
      s.replicas.map(async (r, i) => {
        // cannon() uses all the connections: for two replicas, each gets its share through startLoad.
        if (s.replicas.length === 1) return cannon(r.port, s.token, opts.warmupS);
        const load = startLoad(r.port, s.token, undefined, split[i]);
        await sleep(opts.warmupS * 1000);
        load.stop();
        return load.done;
      }),
    );
    for (const r of results) {
      s.unmeasured2xx += r['2xx'];
      s.unmeasuredFailures += r.non2xx + r.errors + r.timeouts;
    }
  }
  const windowS = opts.durationS / opts.rounds;
  for (const [round, order] of roundOrder(setups, opts.rounds).entries()) {
    const line: string[] = [];
    for (const s of order) {
      const w = await measureWindow(s, windowS, pgCpu);
      s.windows.push(w);
      line.push(`${s.label} ${fmtInt(Object.values(w.statusCodes).reduce((a, b) => a + b, 0) / w.seconds)} req/s`);
    }
    console.log(`round ${round + 1}/${opts.rounds} (${windowS.toFixed(1)} s each): ${line.join(', ')}`);
  }
  const results = setups.map((s) => summarize(s.windows));

  // Stop every server (the last replica of a database last: its check sees every replica's writes).
  const stats = new Map<Setup, LexeconStats | undefined>();
  for (const s of setups) {
    for (const r of [...s.replicas].reverse()) stats.set(s, await r.child.stop());
  }
  console.log('');

  const pct = (n: number) => (Number.isNaN(n) ? '-' : `${n.toFixed(0)}%`);
  console.log(
    table([
      ['configuration', 'req/s', 'responses', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'timeouts', 'lexecon cpu', 'µs/resp', 'postgres cpu', 'µs/resp', 'client cpu', 'commits/s', 'mean batch', 'mean commit ms', 'mean head-lock wait ms'],
      ...setups.map((s, i) => {
        const r = results[i]!;
        const g = r.ledger;
        return [
          s.label,
          fmtInt(r.rps),
          fmtInt(r.responses),
          fmtMs(r.p50Ms),
          fmtMs(r.p99Ms),
          fmtInt(r.non2xx),
          fmtInt(r.errors),
          fmtInt(r.timeouts),
          pct(r.serverCpu),
          fmtInt(r.lexeconUsPerResponse),
          s.databaseUrl ? pct(r.pgCpu) : '-',
          s.databaseUrl ? fmtInt(r.pgUsPerResponse) : '-',
          pct(r.clientCpu),
          fmtInt(g.commits / r.seconds),
          g.commits > 0 ? (g.entries / g.commits).toFixed(1) : '-',
          g.commits > 0 ? fmtMs((g.commitS / g.commits) * 1000) : '-',
          s.databaseUrl && g.lockWaits > 0 ? fmtMs((g.lockWaitS / g.lockWaits) * 1000) : '-',
        ];
      }),
    ]),
  );
  console.log(
    '  cpu columns: % of one core over the measured windows, and µs per response (lexecon: all replicas of the configuration; postgres: ' +
      'postmaster and backends); a commit is one group-commit batch transaction; head-lock wait: per batch, ' +
      'for the ledger head row (SELECT … FOR UPDATE), held by the other replica\'s batch',
  );
  if (!results.some((r) => Number.isNaN(r.otherCpu))) {
    console.log(
      `  other processes during the windows: ${results.map((r, i) => `${pct(r.otherCpu)} (${setups[i]!.label})`).join(', ')} of a core; ` +
        `hypervisor steal ${results.map((r) => `${r.stealPct.toFixed(1)}%`).join(', ')}`,
    );
    if (results.some((r) => r.otherCpu > 20 || r.stealPct > 5)) {
      console.log('  NOTE: other work on this machine competed for the CPU: these figures are disturbed; run again when it is idle');
    }
  }

  // Every 2xx answer is one stored decision with its token; a few more were made for requests in flight
  // when a load stretch ended: at most one per connection and stretch (warm-up, each round).
  let allOk = true;
  for (const [i, s] of setups.entries()) {
    const st = stats.get(s);
    const r = results[i]!;
    const pg = s.databaseUrl && s.verifyHere ? await verifyPg(s.databaseUrl) : undefined;
    const answered = s.unmeasured2xx + r.responses - r.non2xx;
    const decisions = pg?.decisions ?? st?.decisions ?? NaN;
    const tokens = pg?.tokens ?? st?.tokens ?? NaN;
    const unanswered = decisions - answered;
    const ok =
      st !== undefined &&
      st.ledgerValid &&
      (pg === undefined || (pg.valid && pg.decisions === st.decisions && pg.entries === st.ledgerEntries)) &&
      tokens === decisions &&
      unanswered >= 0 &&
      unanswered <= opts.connections * (1 + opts.rounds);
    allOk &&= ok;
    console.log(
      `  ${s.label} ledger after the run: ${st?.ledgerValid ? 'valid' : `INVALID ${JSON.stringify(st?.firstInvalid)}`} (server)` +
        `${pg ? `, ${pg.valid ? 'valid' : 'INVALID'} (PgLedgerRepo + verifyLedger from here)` : ''}, ${fmtInt(st?.ledgerEntries ?? NaN)} entries; ` +
        `${fmtInt(decisions)} decisions and ${fmtInt(tokens)} tokens stored, for ${fmtInt(answered)} approved answers + ` +
        `${fmtInt(unanswered)} in flight when a load stretch ended${ok ? '' : ' MISMATCH'}`,
    );
  }
  if (!allOk) throw new Error('a ledger or the stored decisions do not match the answers');
  console.log('');

  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  let regressed = false;
  if (baseline) {
    regressed = printAgainst(setups, results, baseline.title);
  } else {
    const [l, p1, p2] = results as [Summary, Summary, Summary];
    const r1 = p1.rps / l.rps;
    const r2 = p2.rps / p1.rps;
    console.log(`pg ×1 ÷ sqlite: ${fmtInt(p1.rps)} vs ${fmtInt(l.rps)} req/s = ${r1.toFixed(3)} (goal ≥ ${PG1_GOAL}) ${verdict(r1 >= PG1_GOAL)}`);
    console.log(`pg ×2 ÷ pg ×1:  ${fmtInt(p2.rps)} vs ${fmtInt(p1.rps)} req/s = ${r2.toFixed(3)} (goal ≥ ${PG2_GOAL}) ${verdict(r2 >= PG2_GOAL)}`);
  }
  const failures = setups.reduce((n, s, i) => n + s.unmeasuredFailures + results[i]!.non2xx + results[i]!.errors + results[i]!.timeouts, 0);
  console.log(`non-2xx, errors and timeouts, warm-ups included: ${fmtInt(failures)} (target 0) ${verdict(failures === 0)}`);
  console.log(`(total ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  cluster.destroySync();
  cluster = undefined;
  if (regressed && opts.failOnRegression) process.exitCode = 3;
}

/**
 * --against on PostgreSQL: current pg ×1 ÷ base pg ×1 (CPU per decision: the Lexecon server and
 * PostgreSQL together, work moved into SQL still counts), with the per-round range; true on a REGRESSION.
 */
function printAgainst(setups: Setup[], results: Summary[], title: string): boolean {
  const [base, cur] = results as [Summary, Summary];
  const fig = (r: Summary): ServerFigures => ({ rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuUsPerResponse: r.lexeconUsPerResponse + r.pgUsPerResponse });
  const r = ratios(fig(cur), fig(base));
  const perRound = roundRatios(setups[1]!.windows.map(windowFigures), setups[0]!.windows.map(windowFigures));
  const range = (f: keyof Ratios) => (perRound.length > 1 ? ` (rounds ${spread(perRound.map((x) => x[f]))})` : '');
  console.log(`current ÷ base (${title}), PostgreSQL, one replica each, ${opts.connections} connections:`);
  console.log(
    `  CPU µs/decision ${r.cpuPerResponse.toFixed(3)}${range('cpuPerResponse')} (Lexecon + PostgreSQL: ` +
      `${fmtInt(fig(cur).cpuUsPerResponse)} vs ${fmtInt(fig(base).cpuUsPerResponse)} µs; Lexecon alone ` +
      `${(cur.lexeconUsPerResponse / base.lexeconUsPerResponse).toFixed(3)}), req/s ${r.rps.toFixed(3)}${range('rps')}, ` +
      `p50 ${r.p50.toFixed(3)}${range('p50')}, p99 ${r.p99.toFixed(3)}${range('p99')}`,
  );
  const found = regressions(r);
  const key = { 'req/s': 'rps', 'CPU µs per decision': 'cpuPerResponse', p99: 'p99' } as const;
  for (const g of found) {
    console.log(
      `REGRESSION: current ÷ base ${g.figure} on PostgreSQL at ${opts.connections} connections = ${g.ratio.toFixed(3)} ` +
        `(${g.figure === 'req/s' ? '<' : '>'} ${g.limit.toFixed(2)}; rounds ${spread(perRound.map((x) => x[key[g.figure]]))})`,
    );
  }
  if (found.length === 0) console.log(`  no regression beyond 10% against base (req/s, CPU per decision, p99)`);
  else if (results.some((x) => x.otherCpu > 20 || x.stealPct > 5)) {
    console.log('  NOTE: other work competed for the CPU during this run (see above): the regression may be noise; run again on an idle machine');
  }
  return found.length > 0;
}
