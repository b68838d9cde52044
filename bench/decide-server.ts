/**
 * A server child of `npm run bench:decide` (forked by ServerChild in decide-child.ts; not run by hand):
 *
 *   --serve=lexecon  the real app (`buildAppWithServices`) on 127.0.0.1, durable ledger (FULL), the seed
 *                    policy, one API key, rate limit off, logs silent. `--app-root=DIR` imports the app
 *                    from DIR (the baseline commit's temporary worktree with `--against`; default this
 *                    tree): DIR/src/app.ts, DIR/src/config.ts and DIR/policies/seed-example.json.
 *   --serve=bare     Fastify 5 alone with fastify-type-provider-zod and the same body and response schemas
 *                    (this tree's), answering a constant given by the parent.
 *
 * It reports over IPC (decide-child.ts): ready (port, API key), CPU/ELU snapshots on request, and at
 * stop the ledger's verification and the stored decisions and tokens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findSourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { FromChild, LexeconStats, Snapshot, ToChild } from './decide-child.js';
import { argValue } from './options.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What the bench calls on the application (present since aba60e0, issue 15: the storage port). The
 * baseline commit's app is checked against it at run time; this tree's at compile time (below).
 */
interface BenchAppModule {
  buildAppWithServices(
    config: never,
    overrides: { testOnlyRsaModulusLength?: number },
  ): Promise<{
    app: {
      listen(o: { host: string; port: number }): Promise<unknown>;
      close(): Promise<unknown>;
      server: { address(): unknown };
    };
    services: {
      policies: { load(policy: never, actor: string): Promise<unknown> };
      auth: { createApiKey(input: { name: string; actorPattern: string }, actor: string): Promise<{ secret: string }> };
      ledger: {
        drain(): Promise<unknown>;
        verify(): Promise<{ valid: boolean; entriesChecked: number; firstInvalid?: unknown }>;
      };
      port: { one<T>(sql: string): Promise<T | undefined> };
    };
  }>;
}
interface BenchConfigModule {
  loadConfig(env: Record<string, string>): unknown;
}
// This tree's app must keep offering what the bench calls (a type error here, not a failed run).
type Assert<T extends true> = T;
export type AppFits = Assert<typeof import('../src/app.js') extends BenchAppModule ? true : false>;
export type ConfigFits = Assert<typeof import('../src/config.js') extends BenchConfigModule ? true : false>;

function send(message: FromChild): void {
  process.send!(message);
}

/** Report why this child cannot serve, then exit (the parent prints the message). */
function fail(message: string): never {
  process.send!({ type: 'failed', message } satisfies FromChild, () => process.exit(1));
  // process.exit above, once the message is out; meanwhile nothing else may run.
  throw new StopError(message);
}
class StopError extends Error {}

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
function writeSourceMaps(root: string, file: string): void {
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
  walk(path.join(root, 'src'));
  fs.writeFileSync(file, JSON.stringify(maps));
}

/** Import `root`'s app and config modules and check they offer what the bench calls. */
async function importApp(root: string): Promise<{ app: BenchAppModule; config: BenchConfigModule }> {
  const where = root === REPO_ROOT ? 'this tree' : `the baseline worktree ${root}`;
  const files = ['src/app.ts', 'src/config.ts'].map((f) => path.join(root, f));
  for (const f of files) if (!fs.existsSync(f)) fail(`${where} has no ${path.relative(root, f)}: the bench needs the app of aba60e0 (issue 15) or later`);
  const [app, config] = (await Promise.all(files.map((f) => import(pathToFileURL(f).href)))) as [Record<string, unknown>, Record<string, unknown>];
  if (typeof app.buildAppWithServices !== 'function' || typeof config.loadConfig !== 'function') {
    fail(`${where}: src/app.ts has no buildAppWithServices or src/config.ts no loadConfig (the bench needs the app of aba60e0, issue 15, or later)`);
  }
  return { app: app as unknown as BenchAppModule, config: config as unknown as BenchConfigModule };
}

/** The services the bench calls, or a clear failure naming what this commit's app lacks. */
function checkServices(services: Record<string, unknown>, root: string): void {
  const fn = (o: unknown, name: string) => typeof (o as Record<string, unknown> | undefined)?.[name] === 'function';
  const missing = [
    ['policies', 'load'],
    ['auth', 'createApiKey'],
    ['ledger', 'drain'],
    ['ledger', 'verify'],
    ['port', 'one'],
  ]
    .filter(([s, m]) => !fn(services[s!], m!))
    .map(([s, m]) => `services.${s}.${m}`);
  if (missing.length > 0) {
    const where = root === REPO_ROOT ? 'this tree' : `the baseline commit (worktree ${root})`;
    fail(`${where} has no ${missing.join(', ')}: the bench needs the application API of aba60e0 (issue 15, the storage port) or later`);
  }
}

async function serveLexecon(): Promise<void> {
  const dataDir = argValue('data-dir');
  if (dataDir === undefined) throw new Error('--serve=lexecon needs --data-dir');
  const root = path.resolve(argValue('app-root') ?? REPO_ROOT);
  const { app: appModule, config: configModule } = await importApp(root);
  // --backend postgres (decide-pg.ts): a database shared by the replicas, and their shared keys directory.
  const [databaseUrl, keysDir] = [argValue('database-url'), argValue('keys-dir')];
  const config = configModule.loadConfig({
    LEXECON_DATA_DIR: dataDir,
    LEXECON_RATE_LIMIT_RPM: '0',
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_DURABILITY: 'full',
    LEXECON_MFA_REQUIRED_ROLES: '',
    ...(databaseUrl ? { LEXECON_DATABASE_URL: databaseUrl } : {}),
    ...(keysDir ? { LEXECON_KEYS_DIR: keysDir } : {}),
  });
  const rsaBits = process.argv.includes('--rsa4096') ? undefined : 2048;
  const { app, services } = await appModule.buildAppWithServices(config as never, rsaBits ? { testOnlyRsaModulusLength: rsaBits } : {});
  checkServices(services as unknown as Record<string, unknown>, root);
  const policyFile = path.join(root, 'policies/seed-example.json');
  const policy = JSON.parse(fs.readFileSync(policyFile, 'utf8')) as never;
  await services.policies.load(policy, 'bench');
  const { secret } = await services.auth.createApiKey({ name: 'bench', actorPattern: 'ai_agent:*' }, 'system');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number } | string | null;
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  loopDelay.enable();

  onParentMessage(async (m) => {
    if (m.type === 'snapshot') send({ type: 'snapshot', id: m.id, snapshot: snapshot() });
    if (m.type === 'stop') {
      const sourceMapsOut = argValue('source-maps-out');
      if (sourceMapsOut !== undefined) writeSourceMaps(root, sourceMapsOut);
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

const serve = argValue('serve');
if (serve !== 'lexecon' && serve !== 'bare') {
  console.error(`decide-server.ts is a child of bench/decide.bench.ts: --serve must be lexecon or bare, got '${serve}'`);
  process.exit(2);
}
(serve === 'lexecon' ? serveLexecon() : serveBare()).catch((err: unknown) => {
  if (err instanceof StopError) return; // fail() reported it and exits
  console.error(err);
  process.exit(1);
});
