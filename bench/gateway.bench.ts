/**
 * `npm run bench:gateway`: what the MCP governance gateway (`lexecon mcp-gateway`) adds to a tool call.
 *
 * One run, three paths to the same trivial tool (`ping` on bench/gateway-upstream.ts), measured in
 * alternating order (round r runs them forwards, round r+1 backwards) so that drift of the machine hits
 * all three alike:
 *   - direct:   an MCP client → the upstream (stdio);
 *   - gateway:  an MCP client → `lexecon mcp-gateway` (stdio) → POST /decide on a real Lexecon server
 *               (SQLite, synchronous=FULL: every approval is durable before the answer) → the upstream;
 *   - decide:   the same POST /decide the gateway sends, through `LexeconClient` (the SDK the gateway uses).
 * Reported per concurrency (calls in flight on one MCP connection): calls/s and p50/p99 of each path;
 * the throughput ratio gateway ÷ direct; the latency the gateway adds (gateway − direct) and its ratio
 * to a bare /decide call. Target (issue 17): added p50 ÷ /decide p50 ≤ 1.3 — the gateway adds no more
 * than the decision round trip it must make.
 *
 * Options: --calls N per measured stretch (default 1000; --quick 300), --rounds R (default 4; --quick 2),
 * --concurrency a,b (default 1,8), --warmup N (default 200; --quick 100).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LexeconClient } from '../src/client/index.js';
import { fmtInt, fmtMs, percentile, spread, table, verdict } from './decide-report.js';
import { freePort } from './net.js';
import { argValue, positiveNumber } from './options.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const CALLS = positiveNumber('calls', argValue('calls'), quick ? 300 : 1000);
const ROUNDS = positiveNumber('rounds', argValue('rounds'), quick ? 2 : 4);
const WARMUP = positiveNumber('warmup', argValue('warmup'), quick ? 100 : 200);
const CONCURRENCY = (argValue('concurrency') ?? '1,8').split(',').map((c) => positiveNumber('concurrency', c, 1));
const GOAL_ADDED_RATIO = 1.3;
const ADMIN_PASSWORD = 'violet-harbour-42-trombone';
const ACTOR = 'ai_agent:bench';

const BENCH_POLICY = {
  policy_id: 'bench-gateway',
  mode: 'strict',
  terms: [
    { id: 'agents', type: 'actor', value: 'ai_agent:*' },
    { id: 'ping', type: 'action', value: 'bench.ping' },
  ],
  relations: [{ type: 'permits', source: 'agents', target: 'ping' }],
};

const tsx = (file: string, ...args: string[]) => ['--import', 'tsx', path.join(ROOT, file), ...args];

/** The Lexecon server process (SQLite in a temporary directory, default durability). */
async function startLexecon(dataDir: string): Promise<{ child: ChildProcessWithoutNullStreams; baseUrl: string }> {
  const port = await freePort(); // the server logs at warn: it would not print a port it chose itself
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, tsx('src/server.ts'), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LEXECON_PORT: String(port),
      LEXECON_DATA_DIR: dataDir,
      LEXECON_LOG_LEVEL: 'warn',
      LEXECON_BOOTSTRAP_ADMIN: `root:${ADMIN_PASSWORD}`,
      LEXECON_MFA_REQUIRED_ROLES: '',
      LEXECON_RATE_LIMIT_RPM: '0',
    },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const started = Date.now();
  for (;;) {
    const ready = await fetch(`${baseUrl}/ready`).then((r) => r.ok, () => false);
    if (ready) return { child, baseUrl };
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`the Lexecon server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


async function api(baseUrl: string, method: string, url: string, token: string | undefined, body?: unknown): Promise<any> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** An admin session, the policy that approves bench.ping, and an agent key for ai_agent:*. */
async function setUp(baseUrl: string): Promise<string> {
  const { token } = await api(baseUrl, 'POST', '/auth/login', undefined, { username: 'root', password: ADMIN_PASSWORD });
  await api(baseUrl, 'POST', '/policies/load', token, BENCH_POLICY);
  const key = await api(baseUrl, 'POST', '/auth/api-keys', token, { name: 'bench-gateway', actor_pattern: 'ai_agent:*' });
  return key.api_key as string;
}

type Call = () => Promise<void>;

async function mcpClient(command: string, args: string[], env: Record<string, string>): Promise<{ call: Call; close: () => Promise<void> }> {
  const client = new Client({ name: 'bench-agent', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command, args, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, cwd: ROOT, stderr: 'pipe' }));
  const { tools } = await client.listTools();
  if (!tools.some((t) => t.name === 'ping')) throw new Error(`no ping tool listed: ${tools.map((t) => t.name).join(', ')}`);
  return {
    call: async () => {
      const res = await client.callTool({ name: 'ping', arguments: {} });
      if (res.isError) throw new Error(`ping refused: ${JSON.stringify(res.content)}`);
    },
    close: () => client.close(),
  };
}

interface Stretch {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** `calls` calls, `concurrency` in flight at a time; every latency kept. */
async function stretch(call: Call, calls: number, concurrency: number): Promise<Stretch> {
  const latencies = new Float64Array(calls);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const s = performance.now();
        await call();
        latencies[i] = performance.now() - s;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort();
  return { rps: calls / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

const PATHS = ['direct', 'gateway', 'decide'] as const;
type PathName = (typeof PATHS)[number];

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-bench-gw-'));
  const lexecon = await startLexecon(path.join(work, 'data'));
  const children: Array<{ close: () => Promise<void> }> = [];
  try {
    const apiKey = await setUp(lexecon.baseUrl);
    const config = path.join(work, 'gateway.json');
    fs.writeFileSync(config, JSON.stringify({ lexecon: { url: lexecon.baseUrl }, actor: ACTOR, upstream_name: 'bench', tools: { 'bench.ping': {} } }));
    const direct = await mcpClient(process.execPath, tsx('bench/gateway-upstream.ts'), {});
    children.push(direct);
    const gateway = await mcpClient(
      process.execPath,
      tsx('src/cli.ts', 'mcp-gateway', '--config', config, '--', process.execPath, ...tsx('bench/gateway-upstream.ts')),
      { LEXECON_API_KEY: apiKey },
    );
    children.push(gateway);
    const sdk = new LexeconClient({ baseUrl: lexecon.baseUrl, apiKey });
    const decide: Call = async () => {
      const d = await sdk.decide({ actor: ACTOR, proposed_action: 'bench.ping', tool: 'bench' });
      if (d.outcome !== 'approved') throw new Error(`bench.ping was ${d.outcome}: ${d.reason}`);
    };
    const calls: Record<PathName, Call> = { direct: direct.call, gateway: gateway.call, decide };

    console.log(`bench:gateway — ${os.cpus().length} cores, Node ${process.version}; ${CALLS} calls per stretch, ${ROUNDS} rounds (alternating order), warm-up ${WARMUP}`);
    let allMet = true;
    for (const concurrency of CONCURRENCY) {
      for (const p of PATHS) await stretch(calls[p], WARMUP, concurrency);
      const results: Record<PathName, Stretch[]> = { direct: [], gateway: [], decide: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? PATHS : [...PATHS].reverse();
        for (const p of order) results[p].push(await stretch(calls[p], CALLS, concurrency));
      }
      const median = (xs: number[]) => {
        const s = [...xs].sort((a, b) => a - b);
        return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      };
      const m = (p: PathName, k: keyof Stretch) => median(results[p].map((x) => x[k]));
      console.log(`\nconcurrency ${concurrency} (median of ${ROUNDS} rounds)`);
      console.log(
        table([
          ['path', 'calls/s', 'p50 ms', 'p99 ms'],
          ...PATHS.map((p) => [p, fmtInt(m(p, 'rps')), fmtMs(m(p, 'p50Ms')), fmtMs(m(p, 'p99Ms'))]),
        ]),
      );
      const perRound = (k: 'p50Ms' | 'p99Ms') => results.gateway.map((g, i) => (g[k] - results.direct[i]![k]) / results.decide[i]![k]);
      const addedP50 = m('gateway', 'p50Ms') - m('direct', 'p50Ms');
      const addedP99 = m('gateway', 'p99Ms') - m('direct', 'p99Ms');
      const ratioP50 = addedP50 / m('decide', 'p50Ms');
      const met = ratioP50 <= GOAL_ADDED_RATIO;
      allMet &&= met;
      console.log(`throughput gateway ÷ direct: ${(m('gateway', 'rps') / m('direct', 'rps')).toFixed(3)}`);
      console.log(`added latency (gateway − direct): p50 ${fmtMs(addedP50)} ms, p99 ${fmtMs(addedP99)} ms`);
      console.log(
        `added p50 ÷ /decide p50: ${ratioP50.toFixed(2)} (per round ${spread(perRound('p50Ms'))}; goal ≤ ${GOAL_ADDED_RATIO}) ${verdict(met)}; added p99 ÷ /decide p99: ${(addedP99 / m('decide', 'p99Ms')).toFixed(2)} (per round ${spread(perRound('p99Ms'))})`,
      );
    }
    console.log(`\ngoal (added p50 ≤ ${GOAL_ADDED_RATIO} × /decide p50 at every concurrency): ${verdict(allMet)}`);
  } finally {
    for (const c of children) await c.close().catch(() => undefined);
    lexecon.child.kill('SIGTERM');
    await new Promise((r) => lexecon.child.once('close', r));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
