/**
 * `npm run bench:gateway`: what the MCP governance gateway adds to a tool call. Not a test: it prints
 * figures measured in this run on this machine.
 *
 *   direct   an MCP Client → the trivial upstream (bench/gateway-upstream.ts, stdio): `ping`.
 *   gateway  an MCP Client → `lexecon mcp-gateway` (stdio) → the same upstream: every call decided by
 *            POST /decide (approved, a signed token) and forwarded with it in _meta.
 *   decide   a bare POST /decide through lexecon/client, the same request the gateway makes.
 *
 * One Lexecon server process (`src/server.ts`, durable ledger: LEXECON_DURABILITY=full), one connection
 * each, calls one after another (latency, not saturation). After a warm-up, `--rounds` rounds of
 * `--calls` calls per path, the paths' order rotated each round so that a drift of the machine hits all
 * alike; the figures pool the rounds. Goal (issue 17): the gateway adds no more than the /decide round
 * trip itself: (gateway p50 − direct p50) ÷ decide p50 ≤ 1.3.
 *
 *   npm run bench:gateway [-- --calls 300 --rounds 4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LexeconClient } from '../src/client/index.js';
import { argValue, positiveNumber } from './options.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CALLS = positiveNumber('calls', argValue('calls'), 300);
const ROUNDS = positiveNumber('rounds', argValue('rounds'), 4);
const WARMUP = 100;
const PASSWORD = 'violet-harbour-42-trombone';
const ACTOR = 'ai_agent:bench';
const tsx = (file: string, args: string[] = []) => ['--import', 'tsx', path.join(ROOT, file), ...args];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function startServer(dir: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, tsx('src/server.ts'), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LEXECON_PORT: '0',
      LEXECON_DATA_DIR: dir,
      LEXECON_LOG_LEVEL: 'info',
      LEXECON_BOOTSTRAP_ADMIN: `root:${PASSWORD}`,
      LEXECON_MFA_REQUIRED_ROLES: '',
      LEXECON_RATE_LIMIT_RPM: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  child.stdout!.resume();
  child.stdout!.removeAllListeners('data');
  child.stdout!.on('data', () => undefined);
  return { child, baseUrl };
}

async function setUp(baseUrl: string): Promise<string> {
  const json = async (url: string, token: string | undefined, body: unknown) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const admin = (await json('/auth/login', undefined, { username: 'root', password: PASSWORD })).token as string;
  await json('/policies/load', admin, {
    policy_id: 'bench-gateway',
    mode: 'strict',
    terms: [
      { id: 'agents', type: 'actor', value: 'ai_agent:*' },
      { id: 'ping', type: 'action', value: 'bench.ping' },
    ],
    relations: [{ type: 'permits', source: 'agents', target: 'ping' }],
  });
  return (await json('/auth/api-keys', admin, { name: 'bench', actor_pattern: 'ai_agent:*' })).api_key as string;
}

async function mcpClient(command: string[], env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'bench-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: command[0]!, args: command.slice(1), cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stderr: 'ignore' }),
  );
  return client;
}

type Path = { name: string; once: () => Promise<void>; samples: number[] };

async function run(p: Path, n: number, record: boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await p.once();
    if (record) p.samples.push(performance.now() - t0);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-bench-gw-'));
  const server = await startServer(dir);
  const clients: Client[] = [];
  try {
    const apiKey = await setUp(server.baseUrl);
    const config = path.join(dir, 'gateway.json');
    fs.writeFileSync(config, JSON.stringify({ lexecon: { url: server.baseUrl }, actor: ACTOR, upstream_name: 'bench', tools: { 'bench.ping': {} } }));
    const upstream = [process.execPath, ...tsx('bench/gateway-upstream.ts')];
    const direct = await mcpClient(upstream, {});
    const gateway = await mcpClient([process.execPath, ...tsx('src/cli.ts', ['mcp-gateway', '--config', config, '--', ...upstream])], { LEXECON_API_KEY: apiKey });
    clients.push(direct, gateway);
    const lexecon = new LexeconClient({ baseUrl: server.baseUrl, apiKey, retries: 0 });
    const call = (c: Client) => async () => {
      const res = await c.callTool({ name: 'ping', arguments: {} });
      if (res.isError) throw new Error(`ping failed: ${JSON.stringify(res.content)}`);
    };
    const paths: Path[] = [
      { name: 'direct', once: call(direct), samples: [] },
      { name: 'gateway', once: call(gateway), samples: [] },
      {
        name: 'decide',
        once: async () => {
          const d = await lexecon.decide({ actor: ACTOR, proposed_action: 'bench.ping', tool: 'bench' });
          if (d.outcome !== 'approved') throw new Error(`decide: ${d.outcome}`);
        },
        samples: [],
      },
    ];
    for (const p of paths) await run(p, WARMUP, false);
    const started = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < paths.length; i++) await run(paths[(i + r) % paths.length]!, CALLS, true);
    }
    report(paths, performance.now() - started);
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    server.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(paths: Path[], elapsedMs: number): void {
  const fig = Object.fromEntries(
    paths.map((p) => {
      const s = [...p.samples].sort((a, b) => a - b);
      const mean = s.reduce((a, b) => a + b, 0) / s.length;
      return [p.name, { p50: percentile(s, 50), p99: percentile(s, 99), perS: 1000 / mean, n: s.length }];
    }),
  ) as Record<'direct' | 'gateway' | 'decide', { p50: number; p99: number; perS: number; n: number }>;
  const f = (x: number) => x.toFixed(2).padStart(8);
  process.stdout.write(
    `bench:gateway: ${ROUNDS} rounds × ${CALLS} sequential calls per path (1 connection each), ${os.cpus().length} cores, ${(elapsedMs / 1000).toFixed(1)} s\n\n` +
      `path        calls/s   p50 ms   p99 ms\n` +
      paths.map((p) => `${p.name.padEnd(8)}${f(fig[p.name as 'direct'].perS)} ${f(fig[p.name as 'direct'].p50)} ${f(fig[p.name as 'direct'].p99)}`).join('\n') +
      '\n\n',
  );
  const addedP50 = fig.gateway.p50 - fig.direct.p50;
  const addedP99 = fig.gateway.p99 - fig.direct.p99;
  const ratio = addedP50 / fig.decide.p50;
  process.stdout.write(
    `gateway calls/s ÷ direct: ${(fig.gateway.perS / fig.direct.perS).toFixed(3)}\n` +
      `added per call by the gateway: p50 ${addedP50.toFixed(2)} ms, p99 ${addedP99.toFixed(2)} ms\n` +
      `added p50 ÷ bare POST /decide p50: ${ratio.toFixed(2)} (goal ≤ 1.3: ${ratio <= 1.3 ? 'met' : 'NOT met'})\n`,
  );
}

await main();
