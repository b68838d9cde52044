/**
 * `npm run bench:scale`: Lexecon on a large ledger (issue 16, "Scale"). Not a test: it prints figures
 * measured in this run against the targets, informational (exit code 0 whether or not they are
 * met; non-zero on a crash or a request not answered 200).
 *
 * 1. Set-up (scale-setup.ts): a data directory whose ledger holds N entries written through the real
 *    services (decisions, tokens, escalations), built once and reused (`--dir`, default
 *    `<tmpdir>/lexecon-scale-<N>`, keyed by N and the schema version).
 * 2. Cold start: the real server as a child process on that directory (`node --import tsx src/server.ts`,
 *    or `node dist/server.js` with `--dist` after `npm run build`), configured by its environment; the
 *    time from spawn to the first `200` from `/ready`, polled every 10 ms; best of 3 (target < 2 s).
 *    Then a traced start in process (`--serve=trace`): where the start-up time goes (module loading,
 *    configuration, storage open and migrations check, keys, ledger start with its tail check, the
 *    start-up sweeps, route registration, listen).
 * 3. Pages: as an auditor (logged in with POST /auth/login), 20 consecutive pages of 100 at the start,
 *    the middle and the end of `GET /ledger/entries` (cursor) and of `GET /decide` (no filter, `actor`,
 *    `outcome`, `since`+`until`): p50 and max of the server's own response time (Fastify's
 *    `responseTime`, from its log) and of the client's (127.0.0.1, keep-alive) (target < 5 ms each).
 * 4. Verify memory: `GET /ledger/verify` on the whole ledger while the server's RSS is sampled every
 *    50 ms: peak RSS − RSS before (constant memory: about the same at 100 k and 1 M entries).
 *
 * Usage: npm run bench:scale [-- --entries=N] [--dir=PATH] [--dist] [--skip=coldstart,pages,verify]
 *   --entries=N   ledger entries of the data set (default 1,000,000; building 1 M takes minutes)
 *   --dir=PATH    where the data set is kept (default <tmpdir>/lexecon-scale-<N>)
 *   --dist        run the compiled server (dist/server.js: `npm run build` first) instead of tsx
 *   --backend postgres  the same measurements on PostgreSQL (scale-pg.ts): a throwaway DURABLE cluster
 *                 (fsync on) and a throwaway data set (keys directory, marker) in a temp dir under --dir
 *                 (default <tmpdir>), both removed however the run ends (not reused: every run builds its
 *                 data set through the real path with LEXECON_DATABASE_URL, in-process services); the
 *                 servers spawned with LEXECON_DATABASE_URL and the builder's keys directory; then the
 *                 plans (EXPLAIN (ANALYZE, BUFFERS)) of the GET /decide page queries at the middle
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freePort } from './net.js';
import { argValue, positiveNumber } from './options.js';
import { ensureDataSet, readMarker, scaleEnv, type ScaleMarker } from './scale-setup.js';
import { startScalePg, type ScalePg } from './scale-pg.js';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '..');
const COLD_START_TARGET_MS = 2000;
const PAGE_TARGET_MS = 5;
/** Added to every server's environment: LEXECON_DATABASE_URL with `--backend postgres`. */
let backendEnv: Record<string, string> = {};

// ---------------------------------------------------------------------------------------------------
// Child processes


interface Server {
  proc: ChildProcess;
  port: number;
  /** Log lines (JSON) the server wrote so far. */
  lines: string[];
  spawnedAt: number;
}

function startServer(dataDir: string, port: number, opts: { dist: boolean; logLevel?: string }): Server {
  const args = opts.dist ? [path.join(REPO_ROOT, 'dist/server.js')] : ['--import', 'tsx', path.join(REPO_ROOT, 'src/server.ts')];
  const env = { ...process.env, ...scaleEnv(dataDir, { ...backendEnv, LEXECON_HOST: '127.0.0.1', LEXECON_PORT: String(port), LEXECON_LOG_LEVEL: opts.logLevel ?? 'info' }) };
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  let err = '';
  proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  proc.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) process.stderr.write(`server exited with ${code}: ${err}\n`);
  });
  return { proc, port, lines, spawnedAt };
}

async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => s.proc.once('exit', () => resolve()));
  s.proc.kill('SIGTERM');
  await exited;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(port: number, method: string, urlPath: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Spawn → first 200 from /ready (polled every 10 ms), in ms. */
async function timeColdStart(dataDir: string, dist: boolean): Promise<{ ms: number; cpuMs: number; server: Server }> {
  const port = await freePort();
  const server = startServer(dataDir, port, { dist });
  const deadline = performance.now() + 120_000;
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`the server exited (${server.proc.exitCode}) before /ready`);
    if (performance.now() > deadline) throw new Error('no 200 from /ready within 120 s');
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return { ms: performance.now() - server.spawnedAt, cpuMs: cpuMs(server.proc.pid!), server };
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------------------------------
// The traced start (child: `--serve=trace`): where the start-up time goes

async function serveTrace(): Promise<void> {
  const t0 = performance.now();
  const phases: Array<[string, number]> = [['process start → first line of this module (node, tsx)', t0]];
  const mark = (name: string, since: number) => phases.push([name, performance.now() - since]);
  let t = performance.now();
  const [{ buildAppWithServices }, { loadConfig }, { LedgerService }, { KeyManager }, { EscalationService }, { OverrideSweeper }, { RetentionService }] =
    await Promise.all([
      import('../src/app.js'),
      import('../src/config.js'),
      import('../src/modules/ledger/ledger.service.js'),
      import('../src/platform/crypto/keys.js'),
      import('../src/modules/escalation/escalation.service.js'),
      import('../src/modules/override/override.sweeper.js'),
      import('../src/modules/retention/retention.service.js'),
    ]);
  mark('import the app modules', t);
  const timed = <T extends object>(proto: T, method: keyof T & string, name: string) => {
    const original = proto[method] as unknown as (...a: unknown[]) => unknown;
    (proto as Record<string, unknown>)[method] = function (this: unknown, ...a: unknown[]) {
      const s = performance.now();
      const r = original.apply(this, a);
      if (r instanceof Promise) return r.finally(() => mark(name, s));
      mark(name, s);
      return r;
    };
  };
  timed(LedgerService.prototype, 'start', 'ledger start (guards, head, tail check)');
  timed(LedgerService.prototype, 'append', 'ledger append (system_startup, …)');
  timed(KeyManager, 'open', 'key manager open (load keys)');
  timed(EscalationService.prototype, 'sweep', 'escalation SLA sweep');
  timed(OverrideSweeper.prototype, 'start', 'override sweeper start (lapsed overrides)');
  timed(RetentionService.prototype, 'start', 'retention start');
  t = performance.now();
  const config = loadConfig();
  mark('load the configuration', t);
  t = performance.now();
  const { app } = await buildAppWithServices(config);
  mark('buildAppWithServices (everything above included)', t);
  t = performance.now();
  await app.listen({ host: '127.0.0.1', port: 0 });
  mark('listen (app.ready: plugins, routes compiled)', t);
  phases.push(['total since process start', performance.now()]);
  process.stdout.write(`${JSON.stringify({ trace: phases })}\n`);
  await app.close();
  process.exit(0);
}

async function traceStart(dataDir: string): Promise<Array<[string, number]>> {
  const env = { ...process.env, ...scaleEnv(dataDir, { ...backendEnv, LEXECON_LOG_LEVEL: 'silent' }) };
  const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve=trace'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const line = out.split('\n').find((l) => l.startsWith('{"trace"'));
  if (!line) throw new Error(`the traced start printed no trace: ${out}`);
  return (JSON.parse(line) as { trace: Array<[string, number]> }).trace;
}

// ---------------------------------------------------------------------------------------------------
// Pages

interface PageStats {
  name: string;
  serverP50: number;
  serverMax: number;
  clientP50: number;
  clientMax: number;
  /** The server process's CPU time (user + system, /proc) over the walk, per page. */
  cpuPerPage: number;
  pages: number;
}

/** CPU ms (user + system) of process `pid` so far, from /proc/<pid>/stat (USER_HZ 100: 10 ms ticks). */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Fastify's own response time per request id, from the server's log lines. */
function serverTimes(s: Server): Map<string, number> {
  const times = new Map<string, number>();
  for (const l of s.lines) {
    if (!l.includes('"responseTime"')) continue;
    const o = JSON.parse(l) as { reqId?: string; responseTime?: number };
    if (o.reqId && typeof o.responseTime === 'number') times.set(o.reqId, o.responseTime);
  }
  return times;
}

/** `count` consecutive pages from `firstUrl`, following next_cursor. */
async function walk(s: Server, auth: Record<string, string>, name: string, firstUrl: string, count = 20): Promise<PageStats> {
  const client: number[] = [];
  let url: string | null = firstUrl;
  let pages = 0;
  const cpuBefore = cpuMs(s.proc.pid!);
  while (url !== null && pages < count) {
    const r = await request(s.port, 'GET', url, auth);
    if (r.status !== 200) throw new Error(`${name}: GET ${url} answered ${r.status}: ${r.body}`);
    const body = JSON.parse(r.body) as { next_cursor: string | null; request_id?: string };
    client.push(r.ms);
    pages += 1;
    const base: string = url.replace(/([?&])cursor=[^&]*&?/, '$1').replace(/[?&]$/, '');
    url = body.next_cursor === null ? null : `${base}${base.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(body.next_cursor)}`;
  }
  const cpu = cpuMs(s.proc.pid!) - cpuBefore;
  // Let the log lines arrive, then match them: requests are sequential, so the last `pages` completions are ours.
  await new Promise((r) => setTimeout(r, 100));
  const times = [...serverTimes(s).values()].slice(-pages);
  return {
    name,
    pages,
    serverP50: percentile(times, 50),
    serverMax: Math.max(...times),
    clientP50: percentile(client, 50),
    clientMax: Math.max(...client),
    cpuPerPage: cpu / pages,
  };
}

type DecisionAt = { id: string; at: string; actor: string };
/** What the page walks start from: the ledger head, the decisions' count, the decision at a depth. */
interface Depths {
  head: number;
  decisions: number;
  at(depth: number): Promise<DecisionAt | undefined>;
  close(): Promise<void>;
}
const DECISION_AT = 'SELECT decision_id AS id, created_at AS at, actor FROM decisions ORDER BY decision_id DESC LIMIT 1 OFFSET ';

/** Depths read from the SQLite file (read-only). */
function sqliteDepths(dbPath: string): Depths {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  return {
    head: (db.prepare('SELECT max(seq) AS m FROM ledger_entries').get() as { m: number }).m,
    decisions: (db.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n,
    at: async (depth) => db.prepare(`${DECISION_AT}?`).get(Math.max(0, depth)) as DecisionAt | undefined,
    close: async () => void db.close(),
  };
}

/** Depths read from the PostgreSQL database. */
async function pgDepths(url: string): Promise<Depths> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const one = async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows[0] as T | undefined;
  return {
    head: Number((await one<{ m: string }>('SELECT max(seq) AS m FROM ledger_entries'))!.m),
    decisions: Number((await one<{ n: string }>('SELECT count(*) AS n FROM decisions'))!.n),
    at: (depth) => one<DecisionAt>(`${DECISION_AT}$1`, [Math.max(0, depth)]),
    close: () => client.end(),
  };
}

async function measurePages(s: Server, marker: ScaleMarker, depths: Depths): Promise<PageStats[]> {
  const login = await request(s.port, 'POST', '/auth/login', {}, { username: marker.auditor.username, password: marker.auditor.password });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.body}`);
  const auth = { authorization: `Bearer ${(JSON.parse(login.body) as { token: string }).token}` };
  // Cursors at depth, read from the database: what a client would have after walking so far.
  const { head, decisions } = depths;
  const mid = (await depths.at(Math.floor(decisions / 2)))!;
  const end = (await depths.at(decisions - 2001))!;
  const windowEnd = (await depths.at(Math.floor(decisions / 2) - 3000))!;
  const ledgerCursor = (seq: number) => Buffer.from(`s:${seq}`).toString('base64url');
  const out: PageStats[] = [];
  const L = '/ledger/entries?limit=100';
  out.push(await walk(s, auth, 'ledger start', L));
  out.push(await walk(s, auth, 'ledger middle', `${L}&cursor=${ledgerCursor(Math.floor(head / 2))}`));
  out.push(await walk(s, auth, 'ledger end', `${L}&cursor=${ledgerCursor(Math.max(0, head - 2001))}`));
  const D = '/decide?limit=100';
  out.push(await walk(s, auth, 'decide first pages', D));
  out.push(await walk(s, auth, 'decide middle', `${D}&cursor=${mid.id}`));
  out.push(await walk(s, auth, 'decide end', `${D}&cursor=${end.id}`));
  const actor = encodeURIComponent(mid.actor);
  out.push(await walk(s, auth, 'decide actor first', `${D}&actor=${actor}`));
  out.push(await walk(s, auth, 'decide actor middle', `${D}&actor=${actor}&cursor=${mid.id}`));
  out.push(await walk(s, auth, 'decide outcome=denied mid', `${D}&outcome=denied&cursor=${mid.id}`));
  out.push(await walk(s, auth, 'decide outcome=escalated', `${D}&outcome=escalated`));
  out.push(await walk(s, auth, 'decide outcome=escalated mid', `${D}&outcome=escalated&cursor=${mid.id}`));
  const since = encodeURIComponent(mid.at);
  const until = encodeURIComponent(windowEnd.at);
  out.push(await walk(s, auth, 'decide since+until (mid)', `${D}&since=${since}&until=${until}`));
  out.push(await walk(s, auth, 'decide since (mid)', `${D}&since=${since}`));
  out.push(await walk(s, auth, 'decide until (mid)', `${D}&until=${until}`));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Verify memory

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function measureVerify(s: Server, marker: ScaleMarker): Promise<{ beforeMiB: number; peakMiB: number; halves: readonly [number, number]; seconds: number; entries: number; valid: boolean }> {
  const login = await request(s.port, 'POST', '/auth/login', {}, { username: marker.auditor.username, password: marker.auditor.password });
  const auth = { authorization: `Bearer ${(JSON.parse(login.body) as { token: string }).token}` };
  await new Promise((r) => setTimeout(r, 500));
  const pid = s.proc.pid!;
  const before = rssKiB(pid);
  let peak = before;
  const samples: Array<[number, number]> = [];
  const started = performance.now();
  const sampler = setInterval(() => {
    const r = rssKiB(pid);
    samples.push([performance.now() - started, r]);
    if (r > peak) peak = r;
  }, 50);
  const r = await request(s.port, 'GET', '/ledger/verify', auth);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(pid));
  // Bounded memory: the second half of the run peaks no higher than the first (growth with N would).
  const half = (seconds * 1000) / 2;
  const peakOf = (xs: Array<[number, number]>) => Math.max(before, ...xs.map(([, kib]) => kib)) / 1024;
  const halves = [peakOf(samples.filter(([t]) => t < half)), peakOf(samples.filter(([t]) => t >= half))] as const;
  if (r.status !== 200) throw new Error(`verify answered ${r.status}: ${r.body}`);
  const report = JSON.parse(r.body) as { valid: boolean; entries_checked: number };
  return { beforeMiB: before / 1024, peakMiB: peak / 1024, halves, seconds, entries: report.entries_checked, valid: report.valid };
}

// ---------------------------------------------------------------------------------------------------

const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('usage: npm run bench:scale [-- --entries=N] [--dir=PATH] [--dist] [--skip=coldstart,pages,verify] [--backend sqlite|postgres]');
    return;
  }
  const entries = Math.floor(positiveNumber('entries', argValue('entries'), 1_000_000));
  const backend = argValue('backend') ?? 'sqlite';
  if (backend !== 'sqlite' && backend !== 'postgres') throw new Error(`--backend: sqlite or postgres, not ${backend}`);
  let dir = argValue('dir') ?? path.join(os.tmpdir(), `lexecon-scale-${entries}`);
  let pgBench: ScalePg | undefined;
  if (backend === 'postgres') {
    // A throwaway durable cluster and data set (keys, marker) under --dir, removed however the run ends.
    pgBench = await startScalePg(argValue('dir') ?? os.tmpdir());
    dir = pgBench.dataSetDir;
    backendEnv = { LEXECON_DATABASE_URL: pgBench.url };
    console.log(`backend: ${pgBench.description}`);
  }
  const dist = process.argv.includes('--dist');
  const skip = new Set((argValue('skip') ?? '').split(',').filter(Boolean));
  if (dist && !fs.existsSync(path.join(REPO_ROOT, 'dist/server.js'))) throw new Error('--dist: run `npm run build` first');
  console.log(`bench:scale: ${entries.toLocaleString('en')} ledger entries in ${dir} (server: ${dist ? 'node dist/server.js' : 'node --import tsx src/server.ts'})`);
  const marker = await ensureDataSet(dir, entries, (l) => console.log(l), backendEnv);
  console.log(`data set: ${marker.entries.toLocaleString('en')} entries, ${marker.decisions.toLocaleString('en')} decisions (built ${marker.builtAt} in ${marker.buildSeconds.toFixed(0)} s)`);
  const dataDir = path.join(dir, 'data');

  if (!skip.has('coldstart')) {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { ms: t, cpuMs: c, server } = await timeColdStart(dataDir, dist);
      times.push(t);
      cpu.push(c);
      await stopServer(server);
    }
    const best = Math.min(...times);
    console.log(`\ncold start (spawn → first 200 from /ready): best ${ms(best)} of ${times.map((t) => t.toFixed(0)).join(', ')} ms — target < ${COLD_START_TARGET_MS} ms: ${best < COLD_START_TARGET_MS ? 'met' : 'MISSED'}`);
    // CPU the server used until it was ready (/proc, 10 ms ticks): what a start costs, less sensitive to a loaded machine.
    console.log(`  server CPU until ready: ${cpu.map((c) => c.toFixed(0)).join(', ')} ms; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
    const trace = await traceStart(dataDir);
    console.log('where a start goes (tsx, traced in process; nested phases are inside the ones after them):');
    for (const [name, t] of trace) console.log(`  ${t.toFixed(1).padStart(8)} ms  ${name}`);
  }

  if (!skip.has('pages') || !skip.has('verify')) {
    const port = await freePort();
    const server = startServer(dataDir, port, { dist });
    try {
      for (;;) {
        const r = await request(port, 'GET', '/ready').catch(() => undefined);
        if (r?.status === 200) break;
        if (server.proc.exitCode !== null) throw new Error('the server exited before /ready');
        await new Promise((res) => setTimeout(res, 20));
      }
      if (!skip.has('pages')) {
        const depths = pgBench ? await pgDepths(pgBench.url) : sqliteDepths(path.join(dataDir, 'lexecon.db'));
        let stats: PageStats[];
        try {
          stats = await measurePages(server, readMarker(dir) ?? marker, depths);
        } finally {
          await depths.close();
        }
        console.log(`\npages of 100 (20 consecutive pages each; server = Fastify responseTime, client = 127.0.0.1 keep-alive, CPU = server process user+system per page, 10 ms ticks); target < ${PAGE_TARGET_MS} ms`);
        console.log(`  ${'walk'.padEnd(30)} ${'server p50'.padStart(11)} ${'server max'.padStart(11)} ${'client p50'.padStart(11)} ${'client max'.padStart(11)} ${'CPU/page'.padStart(9)}  pages`);
        for (const p of stats) {
          const flag = p.serverP50 < PAGE_TARGET_MS ? '' : '  MISSED';
          console.log(`  ${p.name.padEnd(30)} ${ms(p.serverP50).padStart(11)} ${ms(p.serverMax).padStart(11)} ${ms(p.clientP50).padStart(11)} ${ms(p.clientMax).padStart(11)} ${ms(p.cpuPerPage).padStart(9)}  ${String(p.pages).padStart(5)}${flag}`);
        }
      }
      if (pgBench && !skip.has('pages')) {
        console.log('\nPostgreSQL plans of the GET /decide page queries at the middle (EXPLAIN (ANALYZE, BUFFERS)):');
        for (const line of await pgBench.explainPages()) console.log(`  ${line}`);
      }
      if (!skip.has('verify')) {
        const v = await measureVerify(server, marker);
        console.log(
          `\nverify: ${v.entries.toLocaleString('en')} entries ${v.valid ? 'valid' : 'INVALID'} in ${v.seconds.toFixed(1)} s; server RSS before ${v.beforeMiB.toFixed(0)} MiB, peak ${v.peakMiB.toFixed(0)} MiB: peak − before ${(v.peakMiB - v.beforeMiB).toFixed(1)} MiB (sampled every 50 ms; peak in the first half of the run ${v.halves[0].toFixed(0)} MiB, in the second ${v.halves[1].toFixed(0)} MiB)`,
        );
      }
    } finally {
      await stopServer(server);
    }
  }
}

if (process.argv.includes('--serve=trace')) {
  serveTrace().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
