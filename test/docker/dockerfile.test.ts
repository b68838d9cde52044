import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildTestApp, tempDir, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function dockerfileStages(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    const keyword = m![1]!.toUpperCase();
    const args = m![2]!;
    if (keyword === 'FROM') {
      const f = /^(\S+)\s+AS\s+(\S+)$/i.exec(args);
      expect(f, `FROM names its stage: ${line}`).not.toBeNull();
      stages.push({ from: f![1]!, name: f![2]!, instructions: [] });
    } else {
      expect(stages.length, `${keyword} before FROM`).toBeGreaterThan(0);
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** Metric names a PromQL expression refers to. */
const metricNames = (expr: string) => [...expr.matchAll(/\blexecon_[a-z0-9_]+(?![-a-z0-9_])/g)].map((m) => m[0]);

describe('the Dockerfile (static checks)', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const build = stages[0]!;
  const runtime = stages.at(-1)!;
  const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('is multi-stage on Node 20 slim, and the build tools stay in the build stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toBe('node:20-bookworm-slim');
    expect(all(build, 'RUN').join('\n')).toMatch(/apt-get install .*python3.*make.*g\+\+/);
    expect(all(build, 'RUN')).toEqual(expect.arrayContaining(['npm run build']));
    expect(all(build, 'RUN').some((r) => /^npm prune --omit=dev\b/.test(r))).toBe(true);
    const runtimeText = runtime.instructions.map((i) => `${i.keyword} ${i.args}`).join('\n');
    expect(runtimeText).not.toMatch(/apt-get|python3|g\+\+|\bmake\b|build-essential/);
    expect(runtimeText).not.toMatch(/npm (ci|install|run build)/);
  });

  it('runs as a numeric non-root user, with the data volume, the port, a HEALTHCHECK on /health and the compiled server', () => {
    const users = all(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid] = users[0]!.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    const kinds = runtime.instructions.map((i) => i.keyword);
    expect(kinds.lastIndexOf('RUN')).toBeLessThan(kinds.indexOf('USER'));
    expect(all(runtime, 'VOLUME')).toEqual(['/data']);
    expect(all(runtime, 'EXPOSE')).toEqual(['8000']);
    const env = all(runtime, 'ENV').join(' ');
    expect(env).toContain('LEXECON_DATA_DIR=/data');
    expect(env).toContain('LEXECON_HOST=0.0.0.0');
    expect(env).toContain('NODE_ENV=production');
    const [health] = all(runtime, 'HEALTHCHECK');
    expect(health).toMatch(/CMD \["node", "-e", ".*\/health.*"\]$/);
    expect(all(runtime, 'CMD')).toEqual(['["node", "dist/server.js"]']);
    // dist/server.js runs without tsx: nothing at runtime may load TypeScript sources
    expect(all(runtime, 'CMD').join()).not.toMatch(/tsx|\.ts\b/);
  });

  it('copies no keys, databases or secrets, and the final stage gets only dist, production modules, package.json and policies', () => {
    const copies = stages.flatMap((s) => all(s, 'COPY'));
    for (const c of copies) expect(c).not.toMatch(/\bkeys\b|\.db\b|\bdata\b|\.env\b|\.pem\b|^\.\s|\s\.\s/);
    const sources = all(runtime, 'COPY').map((c) => c.split(/\s+/).slice(0, -1).join(' '));
    expect(sources.sort()).toEqual(
      ['--from=build /app/dist', '--from=build /app/node_modules', '--from=build /app/package.json', 'policies'].sort(),
    );
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'data', 'keys', '**/keys', '*.db', '.env', '.git']) expect(ignore).toContain(p);
  });
});

describe('docker-compose.yml, Prometheus and Grafana', () => {
  const compose = parseYaml(read('docker-compose.yml')) as {
    services: Record<string, { image?: string; build?: string; volumes?: string[]; environment?: Record<string, string>; configs?: { source: string; target: string }[] }>;
    configs: Record<string, { file?: string; content?: string }>;
    volumes: Record<string, unknown>;
  };
  const prometheus = parseYaml(read('docker/prometheus/prometheus.yml')) as {
    scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[]; authorization?: { type: string; credentials_file: string } }[];
  };
  const dashboard = JSON.parse(read('docker/grafana/dashboards/lexecon.json')) as {
    uid: string;
    title: string;
    panels: { title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }[];
  };
  const datasources = parseYaml(read('docker/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
  const provider = parseYaml(read('docker/grafana/provisioning/dashboards/lexecon.yml')) as { providers: { options: { path: string } }[] };

  it('runs Lexecon from this Dockerfile with its data volume, and pinned Prometheus and Grafana images', () => {
    const { lexecon, prometheus: prom, grafana } = compose.services;
    expect(lexecon!.build).toBe('.');
    expect(lexecon!.volumes).toContain('lexecon-data:/data');
    expect(compose.volumes).toHaveProperty('lexecon-data');
    expect(lexecon!.environment!.LEXECON_BOOTSTRAP_ADMIN).toMatch(/^\$\{LEXECON_BOOTSTRAP_ADMIN:\?/);
    expect(lexecon!.environment!.LEXECON_METRICS_TOKEN).toBe('${LEXECON_METRICS_TOKEN:-}');
    expect(prom!.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana!.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    // every file compose mounts exists
    for (const c of Object.values(compose.configs)) if (c.file) expect(fs.existsSync(path.join(REPO_ROOT, c.file)), c.file).toBe(true);
    for (const v of grafana!.volumes!) {
      const host = v.split(':')[0]!;
      if (host.startsWith('./')) expect(fs.existsSync(path.join(REPO_ROOT, host)), host).toBe(true);
    }
    expect(grafana!.volumes).toContain(`./docker/grafana/dashboards:${provider.providers[0]!.options.path}:ro`);
  });

  it('has Prometheus scrape lexecon:8000/metrics with the metrics token, and Grafana read from that Prometheus', () => {
    const [job] = prometheus.scrape_configs;
    expect(job).toMatchObject({ job_name: 'lexecon', metrics_path: '/metrics', static_configs: [{ targets: ['lexecon:8000'] }] });
    expect(job!.authorization).toEqual({ type: 'Bearer', credentials_file: '/etc/prometheus/metrics-token' });
    expect(compose.services.prometheus!.configs).toContainEqual({ source: 'metrics-token', target: '/etc/prometheus/metrics-token' });
    expect(compose.configs['metrics-token']!.content).toBe('${LEXECON_METRICS_TOKEN:-}');
    expect(datasources.datasources[0]!.url).toBe('http://prometheus:9090');
    for (const p of dashboard.panels) {
      expect(p.datasource.uid, p.title).toBe(datasources.datasources[0]!.uid);
      for (const t of p.targets) expect(t.datasource.uid).toBe(datasources.datasources[0]!.uid);
    }
  });

  it('has dashboard panels for decisions by outcome, latency, ledger growth, open escalations and SLA breaches', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs).toContain('sum by (outcome) (rate(lexecon_decisions_total[$__rate_interval]))');
    expect(exprs.some((e) => e.startsWith('histogram_quantile(0.5,') && e.includes('lexecon_decision_duration_seconds_bucket'))).toBe(true);
    expect(exprs.some((e) => e.startsWith('histogram_quantile(0.99,') && e.includes('lexecon_decision_duration_seconds_bucket'))).toBe(true);
    expect(exprs.some((e) => e.includes('lexecon_http_request_duration_seconds_bucket'))).toBe(true);
    expect(exprs).toContain('max(lexecon_ledger_entries)');
    expect(exprs.some((e) => e.includes('lexecon_escalations_open'))).toBe(true);
    expect(exprs.some((e) => e.includes('lexecon_escalation_sla_breaches'))).toBe(true);
    expect(new Set(dashboard.panels.map((p) => p.title)).size).toBe(dashboard.panels.length);
  });

  describe('against the real GET /metrics', () => {
    let t: TestApp;
    let exposed: Set<string>;
    beforeAll(async () => {
      t = await buildTestApp();
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      // sample names of the text exposition (histograms as _bucket, _sum and _count)
      exposed = new Set(res.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
    });
    afterAll(async () => {
      await t.app.close();
    });

    it('exposes every metric the dashboard queries', () => {
      const referenced = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((x) => metricNames(x.expr))));
      expect(referenced.size).toBeGreaterThanOrEqual(9);
      const missing = [...referenced].filter((n) => !exposed.has(n));
      expect(missing).toEqual([]);
    });

    it('exposes every metric the README, SETUP and DOCUMENTATION name (no stale names in the documents)', () => {
      const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
      const known = new Set([...exposed].map(base));
      for (const doc of ['README.md', 'SETUP.md', 'DOCUMENTATION.md', 'docker/prometheus/prometheus.yml']) {
        const names = metricNames(read(doc)).filter((n) => !n.endsWith('_')); // prefixes like `lexecon_` in prose
        const stale = names.filter((n) => !known.has(base(n)));
        expect(stale, doc).toEqual([]);
      }
    });
  });
});

/** Run the dry run (optionally on another Dockerfile); resolves with its exit code and output. */
function dryRun(env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn('bash', [path.join(REPO_ROOT, 'scripts/container-dry-run.sh')], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('scripts/container-dry-run.sh (replays the Dockerfile without a container engine)', () => {
  it('refuses a RUN step it cannot replay and a final stage without a non-root USER, instead of skipping them', async () => {
    const dir = tempDir();
    const file = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    const unknownRun = await dryRun({ DOCKERFILE: file('a', 'FROM node:20-bookworm-slim AS build\nRUN curl -fsSL https://example.com/x.sh | sh\n') });
    expect(unknownRun.code).not.toBe(0);
    expect(unknownRun.out).toContain('RUN step not replayable and not in the skip list: curl');
    const asRoot = await dryRun({
      DOCKERFILE: file('b', 'FROM node:20-bookworm-slim AS runtime\nHEALTHCHECK CMD ["node", "-e", "0"]\nCMD ["node", "-e", "0"]\n'),
    });
    expect(asRoot.code).not.toBe(0);
    expect(asRoot.out).toContain('the final stage has no USER (it would run as root)');
    const rootUser = await dryRun({ DOCKERFILE: file('c', 'FROM node:20-bookworm-slim AS runtime\nUSER 0:0\n') });
    expect(rootUser.out).toContain('USER is root');
  });

  it(
    'installs, builds, prunes, starts dist/server.js as the non-root USER, passes the HEALTHCHECK and /ready, and stops on SIGTERM',
    { timeout: 15 * 60_000 },
    async () => {
      const { code, out } = await dryRun();
      expect(code, out).toBe(0);
      expect(out).toContain('dry-run: HEALTHCHECK passed');
      expect(out).toContain('dry-run: GET /ready: 200 ready');
      expect(out).toContain('stopped on SIGTERM with exit code 0');
      if (process.getuid?.() === 0) expect(out).toContain('starting CMD as uid 10001 gid 10001');
      expect(out).toMatch(/dry-run: OK: Dockerfile replayed in \d+ s/);
    },
  );
});
