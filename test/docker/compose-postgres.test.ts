import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EnvSchema } from '../../src/config.js';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

// docker-compose.postgres.yml (PostgreSQL + two replicas + nginx) and docker/nginx/lexecon.conf, checked
// statically (no container engine here), and the nginx config with a real nginx when one is installed.

const COMPOSE_FILE = 'docker-compose.postgres.yml';
const NGINX_CONF = 'docker/nginx/lexecon.conf';
const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string;
  restart?: string;
  ports?: unknown[];
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  configs?: { source: string; target: string }[];
}
interface Compose {
  services: Record<string, Service>;
  configs: Record<string, { file?: string }>;
  volumes: Record<string, unknown>;
  networks: Record<string, unknown>;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` with the given variables (unset → the default, or an error). */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_all, name: string, op?: string, arg?: string) => {
    const value = vars[name];
    if (value !== undefined && value !== '') return value;
    if (op === '?') throw new Error(`required variable ${name}: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

/** nginx configuration text without comments, as `directive args…` statements and `{ … }` blocks. */
interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}
function parseNginx(text: string): Directive[] {
  // Tokens: quoted strings, `{`, `}`, `;`, bare words. Comments run from # to the end of the line.
  const tokens: string[] = [];
  for (const m of text.matchAll(/'[^']*'|"[^"]*"|[{};]|#[^\n]*|[^\s{};'"#]+/g)) if (!m[0].startsWith('#')) tokens.push(m[0]);
  let i = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (i < tokens.length && tokens[i] !== '}') {
      const words: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{' && tokens[i] !== '}') words.push(tokens[i++]!);
      expect(words.length, `a statement near token ${i}`).toBeGreaterThan(0);
      const d: Directive = { name: words[0]!, args: words.slice(1).map((w) => w.replace(/^(['"])(.*)\1$/s, '$2')) };
      if (tokens[i] === '{') {
        i++;
        d.block = block();
        expect(tokens[i], `closing } of ${d.name}`).toBe('}');
      } else {
        expect(tokens[i], `; after ${d.name}`).toBe(';');
      }
      i++;
      out.push(d);
    }
    return out;
  };
  const all = block();
  expect(i, 'unbalanced }').toBe(tokens.length);
  return all;
}
const find = (ds: Directive[], name: string) => ds.filter((d) => d.name === name);
const one = (ds: Directive[], name: string) => {
  const found = find(ds, name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
/** nginx sizes: `1m`, `512k`, plain bytes. */
const nginxBytes = (s: string) => Number(/^(\d+)/.exec(s)![1]) * ({ k: 1024, m: 1024 * 1024, g: 1024 ** 3 }[s.slice(-1).toLowerCase()] ?? 1);

const VARS = { POSTGRES_PASSWORD: 'a1b2c3d4e5f6', LEXECON_BOOTSTRAP_ADMIN: 'admin:a-long-passphrase-here' };

describe(`${COMPOSE_FILE} (static checks)`, () => {
  const text = read(COMPOSE_FILE);
  const compose = parseYaml(text, { merge: true }) as Compose;
  const resolved = parseYaml(interpolate(text, VARS), { merge: true }) as Compose;
  const services = compose.services;
  const replicas = Object.keys(services).filter((name) => services[name]!.build === '.');
  const nginx = parseNginx(read(NGINX_CONF));
  const upstream = one(nginx, 'upstream');
  const server = one(nginx, 'server');
  const location = server.block!.find((d) => d.name === 'location' && d.args[0] === '/')!;

  it('has postgres, two replicas built from this Dockerfile, and the balancer; the single-node file is unchanged in kind', () => {
    expect(Object.keys(services).sort()).toEqual(['lb', 'lexecon-1', 'lexecon-2', 'postgres']);
    expect(replicas.sort()).toEqual(['lexecon-1', 'lexecon-2']);
    for (const r of replicas) expect(services[r]!.image).toBe('lexecon:local');
    // docker-compose.yml stays the SQLite single-node example
    const single = parseYaml(read('docker-compose.yml')) as Compose;
    expect(Object.keys(single.services)).not.toContain('postgres');
    for (const s of Object.values(single.services)) expect(s.environment ?? {}).not.toHaveProperty('LEXECON_DATABASE_URL');
  });

  it('requires the passwords (`:?`) and points every replica at the postgres service, with its user, database and password', () => {
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(() => interpolate(text, { ...VARS, POSTGRES_PASSWORD: '' })).toThrow(/required variable POSTGRES_PASSWORD/);
    const pg = resolved.services.postgres!.environment!;
    const urls = replicas.map((r) => resolved.services[r]!.environment!.LEXECON_DATABASE_URL!);
    expect(new Set(urls).size).toBe(1);
    const url = new URL(urls[0]!);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgres');
    expect(Object.keys(services)).toContain(url.hostname);
    expect(url.port).toBe('5432');
    expect(url.username).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(VARS.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    for (const r of replicas) {
      const env = services[r]!.environment!;
      expect(env.LEXECON_BOOTSTRAP_ADMIN).toMatch(/^\$\{LEXECON_BOOTSTRAP_ADMIN:\?/);
      expect(env.LEXECON_DB_POOL_SIZE).toBe('${LEXECON_DB_POOL_SIZE:-10}');
      expect(services[r]!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    }
  });

  it('gives both replicas the same keys directory on one shared named volume, and the same settings', () => {
    const [a, b] = replicas.map((r) => services[r]!);
    expect(a!.environment).toEqual(b!.environment);
    expect(a!.volumes).toEqual(b!.volumes);
    const keysDir = a!.environment!.LEXECON_KEYS_DIR!;
    // the volume mounted at the keys dir or above it: a named volume (declared at the top level, not a bind mount)
    const mounts = a!.volumes!.map((v) => {
      const [source, target] = v.split(':');
      return { source: source!, target: target! };
    });
    const keysMount = mounts.filter((m) => keysDir === m.target || keysDir.startsWith(`${m.target}/`));
    expect(keysMount).toHaveLength(1);
    expect(compose.volumes).toHaveProperty(keysMount[0]!.source);
    expect(keysMount[0]!.source).not.toMatch(/^[./]/);
    // the image's data dir (created for uid 10001, mode 0700) is the mount point: the volume inherits it
    expect(keysMount[0]!.target).toBe('/data');
  });

  it('does not publish PostgreSQL, and keeps it off the balancer\'s network', () => {
    expect(services.postgres!.ports).toBeUndefined();
    expect(services.postgres!.networks).toEqual(['backend']);
    expect(services.lb!.networks).not.toContain('backend');
    for (const r of replicas) expect(services[r]!.networks).toEqual(expect.arrayContaining(['frontend', 'backend']));
    expect(services.lb!.ports).toEqual(['8000:8000']);
    for (const r of replicas) expect(services[r]!.ports).toBeUndefined();
  });

  it('pins every image (no `latest`, no bare name) and gives every service a healthcheck and a restart policy', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      if (s.build === undefined) expect(s.image, name).toMatch(/:\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$/);
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.healthcheck?.test?.[0], name).toBe('CMD');
    }
    expect(services.postgres!.image).toMatch(/^postgres:15\.\d+$/);
    expect(services.postgres!.healthcheck!.test).toContain('pg_isready');
    expect(services.lb!.image).toMatch(/^nginx:1\.(2[89]|[3-9]\d)\.\d+/); // `resolve` in upstream needs nginx ≥ 1.27.3
    for (const r of replicas) expect(services[r]!.healthcheck!.test.join(' ')).toContain('/ready');
  });

  it('mounts the nginx config that exists, where the nginx image includes it', () => {
    expect(services.lb!.configs).toEqual([{ source: 'nginx-lexecon', target: '/etc/nginx/conf.d/default.conf' }]);
    expect(compose.configs['nginx-lexecon']!.file).toBe(`./${NGINX_CONF}`);
    expect(fs.existsSync(path.join(REPO_ROOT, NGINX_CONF))).toBe(true);
  });

  it('balances over exactly the replicas, with passive health, and re-resolves their names', () => {
    expect(upstream.args).toEqual(['lexecon']);
    const members = find(upstream.block!, 'server');
    expect(members.map((m) => m.args[0]).sort()).toEqual(replicas.map((r) => `${r}:8000`).sort());
    for (const m of members) {
      expect(m.args).toContain('resolve');
      expect(m.args.some((a) => /^max_fails=\d+$/.test(a))).toBe(true);
      expect(m.args.some((a) => /^fail_timeout=\d+s$/.test(a))).toBe(true);
    }
    // no other balancing method than round robin
    for (const method of ['ip_hash', 'hash', 'least_conn', 'random']) expect(find(upstream.block!, method)).toEqual([]);
    expect(find(upstream.block!, 'zone')).toHaveLength(1);
    expect(one(nginx, 'resolver').args[0]).toBe('127.0.0.11');
    expect(one(location.block!, 'proxy_pass').args).toEqual(['http://lexecon']);
    expect(one(server.block!, 'listen').args).toEqual(['8000']);
  });

  it('retries on another replica only what is idempotent: proxy_next_upstream without non_idempotent', () => {
    const next = one(location.block!, 'proxy_next_upstream').args;
    expect(next).toEqual(['error', 'timeout', 'http_502', 'http_503']);
    // nowhere else either (a server- or http-level one would apply to other locations)
    const all = (ds: Directive[]): Directive[] => ds.flatMap((d) => [d, ...all(d.block ?? [])]);
    const everyNext = all(nginx).filter((d) => d.name === 'proxy_next_upstream');
    expect(everyNext).toHaveLength(1);
    expect(everyNext[0]!.args).not.toContain('non_idempotent');
    // the longest long-poll (GET /decide/:id?wait=30) fits in the read timeout
    expect(Number(/^(\d+)s$/.exec(one(location.block!, 'proxy_read_timeout').args[0]!)![1])).toBeGreaterThan(30);
  });

  it('passes the request id and the client address, and limits bodies exactly as LEXECON_BODY_LIMIT does', () => {
    const headers = Object.fromEntries(find(location.block!, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1]]));
    expect(headers['x-request-id']).toBe('$lexecon_request_id');
    expect(headers['x-forwarded-for']).toBe('$remote_addr');
    const map = one(nginx, 'map');
    expect(map.args).toEqual(['$http_x_request_id', '$lexecon_request_id']);
    const limit = nginxBytes(one(server.block!, 'client_max_body_size').args[0]!);
    for (const r of replicas) expect(Number(services[r]!.environment!.LEXECON_BODY_LIMIT)).toBe(limit);
    expect(EnvSchema.parse({}).LEXECON_BODY_LIMIT).toBe(limit);
    expect(read(NGINX_CONF)).toContain(`exceeds the limit of ${limit} bytes`);
  });
});

/** The nginx binary on this machine, if any. */
function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  return dirs.map((d) => path.join(d, 'nginx')).find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
const NGINX = findNginx();
const nginxVersion = (bin: string) => /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr)!.slice(1).map(Number);
const describeNginx = NGINX
  ? describe
  : (name: string, fn: () => void) => describe.skip(`${name} [SKIPPED: no nginx binary on PATH or in /usr/sbin (apt-get install nginx)]`, fn);

/**
 * A copy of lexecon.conf that runs here: inside a minimal nginx.conf standing in for the image's (temp
 * paths and logs in `dir`), listening on `port`, with the replicas at the given local addresses (Docker's
 * DNS names do not resolve here). On nginx < 1.27.3 the upstream `resolve` parameter is dropped.
 */
function localConfig(bin: string, dir: string, port: number, upstreams: string[]): string {
  const [major, minor, patch] = nginxVersion(bin) as [number, number, number];
  const hasResolve = major > 1 || minor > 27 || (minor === 27 && patch >= 3);
  let conf = read(NGINX_CONF)
    .replace(/listen 8000;/, `listen 127.0.0.1:${port};`)
    .replaceAll('/var/log/nginx/access.log', path.join(dir, 'access.log'));
  upstreams.forEach((addr, i) => (conf = conf.replace(`lexecon-${i + 1}:8000`, addr)));
  if (!hasResolve) conf = conf.replace(/ resolve /g, ' ');
  fs.writeFileSync(path.join(dir, 'lexecon.conf'), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(dir, t)};`).join('\n');
  const main = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    main,
    `pid ${path.join(dir, 'nginx.pid')};\nerror_log ${path.join(dir, 'error.log')};\nevents {}\nhttp {\n${temp}\n  access_log ${path.join(dir, 'default-access.log')};\n  include ${path.join(dir, 'lexecon.conf')};\n}\n`,
  );
  return main;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

interface Hit {
  replica: string;
  method: string;
  requestId: string | undefined;
  forwardedFor: string | undefined;
}

describeNginx('docker/nginx/lexecon.conf with a real nginx', () => {
  const bin = NGINX!;
  const dir = tempDir('lexecon-nginx-');
  const hits: Hit[] = [];
  const status: Record<string, number> = { a: 200, b: 200 };
  const replicas: Record<string, http.Server> = {};
  let port = 0;
  let nginx: ReturnType<typeof spawn> | undefined;
  let syntax: { status: number | null; output: string } | undefined;

  /** A stand-in replica: records what it got, answers its current status. */
  const replica = (name: string) =>
    new Promise<string>((resolve) => {
      const s = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          hits.push({ replica: name, method: req.method!, requestId: req.headers['x-request-id'] as string, forwardedFor: req.headers['x-forwarded-for'] as string });
          res.writeHead(status[name]!, { 'content-type': 'application/json' }).end(JSON.stringify({ replica: name }));
        });
      });
      replicas[name] = s;
      s.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(s.address() as net.AddressInfo).port}`));
    });

  const call = async (method: string, url: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { method, body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const addrs = [await replica('a'), await replica('b')];
    port = await freePort();
    const conf = localConfig(bin, dir, port, addrs);
    const check = spawnSync(bin, ['-t', '-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
    syntax = { status: check.status, output: check.stderr };
    expect(check.status, check.stderr).toBe(0);
    nginx = spawn(bin, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) {
        this.destroy();
        resolve(true);
      }).on('error', () => resolve(false)));
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nginx did not listen on ${port}: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
  });
  afterAll(async () => {
    if (nginx?.exitCode === null) {
      const exited = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    }
    for (const s of Object.values(replicas)) s.close();
  });

  const version = NGINX ? nginxVersion(NGINX).join('.') : '?';
  it(`passes nginx -t (nginx ${version} here; upstream \`resolve\` is dropped on nginx < 1.27.3)`, () => {
    // run in beforeAll, before nginx is started with it
    expect(syntax?.status, syntax?.output).toBe(0);
    expect(syntax?.output).toContain('test is successful');
  });

  it('spreads requests over both replicas and passes a well-formed X-Request-Id, else its own', async () => {
    hits.length = 0;
    for (let i = 0; i < 4; i++) expect((await call('GET', '/health', undefined, { 'x-request-id': 'agent-7.1' })).status).toBe(200);
    expect(new Set(hits.map((h) => h.replica))).toEqual(new Set(['a', 'b']));
    expect(hits.every((h) => h.requestId === 'agent-7.1' && h.forwardedFor === '127.0.0.1')).toBe(true);
    hits.length = 0;
    await call('GET', '/health', undefined, { 'x-request-id': 'bad"id' });
    expect(hits[0]!.requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sends a GET answered 503 on to the other replica, but never a POST it already sent', async () => {
    status.b = 503;
    try {
      hits.length = 0;
      const posts = [];
      for (let i = 0; i < 6; i++) posts.push((await call('POST', '/decide', '{}')).status);
      // a POST that reached b got b's 503, and no other replica saw it
      expect(hits).toHaveLength(6);
      expect(hits.filter((h) => h.replica === 'b').length).toBeGreaterThan(0);
      expect(posts.filter((s) => s === 503).length).toBe(hits.filter((h) => h.replica === 'b').length);
      // every GET is answered by a (b's 503 sent on, or b taken out by the passive health check)
      for (let i = 0; i < 4; i++) expect((await call('GET', '/ready')).status).toBe(200);
    } finally {
      status.b = 200;
    }
  });

  it('answers its own errors in the error envelope: 413 over the body limit, 503 when no replica answers', async () => {
    const big = await call('POST', '/decide', Buffer.alloc(1024 * 1024 + 1, 0x20));
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('1048576') }, request_id: big.headers.get('x-request-id') });
    await Promise.all(Object.values(replicas).map((s) => new Promise((r) => s.close(r))));
    const down = await call('POST', '/decide', '{}', { 'x-request-id': 'agent-7.2' });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) }, request_id: 'agent-7.2' });
  });
});
