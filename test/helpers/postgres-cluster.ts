/**
 * Throwaway PostgreSQL clusters for tests and benchmarks: find the server binaries, `initdb` into a temp
 * dir, start on 127.0.0.1 on a free port, stop and remove. Plain Node (no vitest import): the vitest
 * globalSetup uses it for the run's shared cluster, tests that must stop a server (DatabaseUnavailable,
 * restarts) start one of their own with it, and `bench/ledger.bench.ts --backend postgres` starts a
 * durable one (`durable: true`).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PostgresBinaries {
  binDir: string;
  /** Major version, from the directory name or `initdb --version`. */
  version: string;
}

export type BinariesLookup = { found: true; binaries: PostgresBinaries } | { found: false; reason: string };

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function versionOf(binDir: string): string {
  const out = spawnSync(path.join(binDir, 'initdb'), ['--version'], { encoding: 'utf8' });
  // "initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": the first run of digits and dots after ')'.
  const text = out.stdout ?? '';
  const after = text.slice(text.indexOf(')') + 1).trim();
  const end = after.search(/[^0-9.]/);
  return end === -1 ? after : after.slice(0, end);
}

/**
 * The server binaries: `initdb` and `pg_ctl` on PATH first, then Debian's `/usr/lib/postgresql/<major>/bin`
 * (the `postgresql` package does not put them on PATH), newest major first.
 */
export function findPostgresBinaries(
  where: { path?: string; libRoot?: string } = {},
): BinariesLookup {
  for (const dir of (where.path ?? process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl'))) {
      // Resolve symlinks (/usr/local/bin/initdb → /usr/lib/postgresql/15/bin/initdb) so that
      // `postgres` is taken from the same directory as initdb.
      const binDir = path.dirname(fs.realpathSync(path.join(dir, 'initdb')));
      if (isExecutable(path.join(binDir, 'postgres')) && isExecutable(path.join(binDir, 'pg_ctl'))) {
        return { found: true, binaries: { binDir, version: versionOf(binDir) } };
      }
    }
  }
  const root = where.libRoot ?? '/usr/lib/postgresql';
  const majors = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const major of majors) {
    const binDir = path.join(root, major, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => isExecutable(path.join(binDir, b)))) {
      return { found: true, binaries: { binDir, version: versionOf(binDir) } };
    }
  }
  return {
    found: false,
    reason: `PostgreSQL server binaries not found (initdb/pg_ctl on PATH or in ${root}/*/bin); install Debian's 'postgresql' package`,
  };
}

/** The OS account the cluster runs as: PostgreSQL refuses to run as root. */
interface RunAs {
  uid: number;
  gid: number;
  /** Command prefix that drops privileges, empty when we are not root. */
  prefix: string[];
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function runAs(): RunAs {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, prefix: [] };
  // Root (CI containers): the `postgres` account Debian's package creates, else `nobody`; the cluster's
  // directory is created for that account below, so it needs no home or shell.
  const account = idOf('postgres') ?? idOf('nobody');
  if (!account) throw new Error('running as root, and neither a postgres nor a nobody account exists to run PostgreSQL');
  return {
    ...account,
    prefix: ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--'],
  };
}

/** A port nobody listens on right now (the kernel's pick; PostgreSQL binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  /** Superuser URL to the `postgres` database, e.g. postgres://postgres@127.0.0.1:54321/postgres. */
  url: string;
  port: number;
  version: string;
  dir: string;
  /** Stop the server (fast shutdown: open connections are terminated). The data stays; `start` again. */
  stop(): Promise<void>;
  /** Start again after `stop`, on the same port when it is still free. */
  start(): Promise<void>;
  /** Stop immediately and delete the directory. Idempotent. */
  destroy(): Promise<void>;
  /**
   * The same, synchronously: for `process.on('exit')` handlers (a benchmark interrupted by Ctrl-C or a
   * crash), where nothing asynchronous runs any more. Idempotent.
   */
  destroySync(): void;
}

export interface ClusterOptions {
  /** The process whose death (without `destroy`) makes the watchdog remove the cluster (default this one). */
  ownerPid?: number;
  /**
   * `true` for measurements: `fsync` and `full_page_writes` stay on (PostgreSQL's defaults), initdb syncs
   * its files, `synchronous_commit=on` is set explicitly, so a commit costs what it costs in production.
   * Default `false`, for test speed: `fsync=off`, `full_page_writes=off`, `initdb --no-sync`.
   */
  durable?: boolean;
  /** Where the cluster's temp dir is created (default the OS temp dir): a benchmark's disk. */
  parentDir?: string;
}

function run(cmd: string[], what: string): void {
  const [file, ...args] = cmd;
  const out = spawnSync(file!, args, { encoding: 'utf8', timeout: 60_000 });
  if (out.status !== 0) {
    throw new Error(`${what} failed (${out.status ?? out.signal}): ${(out.stderr || out.stdout || String(out.error)).trim()}`);
  }
}

/**
 * `initdb` a new cluster into a fresh temp dir and start it on 127.0.0.1:<free port>, unix socket in the
 * temp dir (never /var/run/postgresql), trust authentication (initdb's pg_hba.conf admits only local
 * sockets and the loopback addresses, and the server listens on 127.0.0.1 only).
 *
 * By default `fsync=off` (and `initdb --no-sync`), for test speed only: it loses data on an OS crash, which
 * no test simulates. `synchronous_commit` stays at its default `on`, as the driver asserts in production.
 * `durable: true` keeps fsync on (benchmarks, see {@link ClusterOptions}).
 *
 * A watchdog shell polls `ownerPid` (default this process) and, when that process
 * is gone without having called `destroy` (SIGKILL, a crash), sends the postmaster SIGQUIT (immediate
 * shutdown) and removes the directory.
 */
export async function startCluster(binaries: PostgresBinaries, opts: ClusterOptions = {}): Promise<PostgresCluster> {
  const who = runAs();
  const durable = opts.durable ?? false;
  const dir = fs.mkdtempSync(path.join(opts.parentDir ?? os.tmpdir(), 'lexecon-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  if (who.prefix.length > 0) fs.chownSync(dir, who.uid, who.gid);
  const bin = (name: string) => path.join(binaries.binDir, name);
  let port = 0;
  let destroyed = false;
  const watchdog = spawn(
    'sh',
    [
      '-c',
      // $1 owner pid, $2 data dir, $3 temp dir. postmaster.pid's first line is the postmaster's pid.
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
        'if [ -f "$2/postmaster.pid" ]; then kill -QUIT "$(head -n 1 "$2/postmaster.pid")" 2>/dev/null; sleep 1; fi; ' +
        'rm -rf "$3"',
      'lexecon-pg-watchdog',
      String(opts.ownerPid ?? process.pid),
      data,
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const cluster: PostgresCluster = {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    version: binaries.version,
    dir,
    async start() {
      // A restart keeps its port (clients reconnect to the same URL). A free port can be taken between
      // our probe and the server's bind: then retry with another one.
      let lastError: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (port === 0 || attempt > 0) port = await freePort();
        const options = [
          `-c listen_addresses=127.0.0.1`,
          `-p ${port}`,
          `-k ${dir}`,
          ...(durable ? ['-c fsync=on', '-c synchronous_commit=on'] : ['-c fsync=off', '-c full_page_writes=off']),
          '-c max_connections=200',
        ].join(' ');
        try {
          run([...who.prefix, bin('pg_ctl'), '-D', data, '-l', log, '-w', '-t', '30', '-o', options, 'start'], 'pg_ctl start');
          return;
        } catch (err) {
          lastError = err;
          if (!/could not bind|Address already in use/.test(readLog(log))) break;
        }
      }
      throw new Error(`${(lastError as Error).message}\n--- server log ---\n${readLog(log)}`);
    },
    async stop() {
      run([...who.prefix, bin('pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'], 'pg_ctl stop');
    },
    async destroy() {
      cluster.destroySync();
    },
    destroySync() {
      if (destroyed) return;
      destroyed = true;
      if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
        const [file, ...args] = [...who.prefix, bin('pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'];
        spawnSync(file!, args, { stdio: 'ignore', timeout: 30_000 });
      }
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        if (watchdog.pid) process.kill(watchdog.pid);
      } catch {
        // already gone
      }
    },
  };

  try {
    run(
      [
        ...who.prefix,
        bin('initdb'),
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        ...(durable ? [] : ['--no-sync']),
      ],
      'initdb',
    );
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no server log)';
  }
}

/** A URL to the same server with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** One statement on its own connection (CREATE/DROP DATABASE cannot run in a pooled transaction). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
