import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries, startCluster } from '../helpers/postgres-cluster.js';
import setupPostgres, { type ProvidedPostgres } from '../helpers/postgres.global-setup.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

describePostgres('the test PostgreSQL (harness smoke test)', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('answers SELECT 1 on 127.0.0.1, in a database of this file only', async () => {
    const one = await client.query('SELECT 1 AS one, current_database() AS db, inet_server_addr()::text AS addr');
    expect(one.rows[0]).toEqual({ one: 1, db: db.name, addr: '127.0.0.1/32' });
  });

  it('gives a fresh database: no tables in the public schema', async () => {
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(tables.rows[0]).toEqual({ n: 0 });
  });

  it('keeps synchronous_commit on (only fsync is off, for test speed)', async () => {
    const sc = await client.query('SHOW synchronous_commit');
    expect(sc.rows[0]).toEqual({ synchronous_commit: 'on' });
  });

  it('gives each call a new database', async () => {
    const other = await freshDatabase();
    try {
      expect(other.name).not.toBe(db.name);
    } finally {
      await other.drop();
    }
  });
});

describe('finding the PostgreSQL binaries', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-pgbin-'));
    dirs.push(d);
    return d;
  };
  const fakeBinaries = (dir: string, version: string) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const b of ['pg_ctl', 'postgres']) fs.writeFileSync(path.join(dir, b), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'initdb'), `#!/bin/sh\necho "initdb (PostgreSQL) ${version} (test)"\n`, { mode: 0o755 });
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('reports the reason when there are none', () => {
    const empty = tempDir();
    const lookup = findPostgresBinaries({ path: empty, libRoot: path.join(empty, 'missing') });
    expect(lookup.found).toBe(false);
    expect(lookup.found === false && lookup.reason).toMatch(/not found.*install Debian's 'postgresql' package/);
  });

  it("takes Debian's newest /usr/lib/postgresql/<major>/bin when PATH has none", () => {
    const root = tempDir();
    fakeBinaries(path.join(root, '9', 'bin'), '9.6.1');
    fakeBinaries(path.join(root, '16', 'bin'), '16.4');
    fakeBinaries(path.join(root, '15', 'bin'), '15.18');
    const lookup = findPostgresBinaries({ path: tempDir(), libRoot: root });
    expect(lookup).toEqual({ found: true, binaries: { binDir: path.join(root, '16', 'bin'), version: '16.4' } });
  });

  it('prefers PATH, resolving a symlinked initdb to its real directory', () => {
    const real = path.join(tempDir(), 'bin');
    fakeBinaries(real, '15.18');
    const onPath = tempDir();
    for (const b of ['initdb', 'pg_ctl']) fs.symlinkSync(path.join(real, b), path.join(onPath, b));
    const lookup = findPostgresBinaries({ path: onPath, libRoot: tempDir() });
    expect(lookup).toEqual({ found: true, binaries: { binDir: fs.realpathSync(real), version: '15.18' } });
  });
});

describe('the run-wide setup without PostgreSQL', () => {
  const saved = { CI: process.env.CI, off: process.env.LEXECON_TEST_POSTGRES };
  afterEach(() => {
    for (const [key, value] of [['CI', saved.CI], ['LEXECON_TEST_POSTGRES', saved.off]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const fakeProject = () => {
    const provided: { postgres?: ProvidedPostgres } = {};
    const project = { provide: (key: 'postgres', value: ProvidedPostgres) => (provided[key] = value) };
    return { project: project as unknown as TestProject, provided };
  };

  it('provides the skip reason outside CI', async () => {
    delete process.env.CI;
    process.env.LEXECON_TEST_POSTGRES = 'off';
    const { project, provided } = fakeProject();
    const teardown = await setupPostgres(project);
    expect(provided.postgres).toEqual({ url: null, reason: 'disabled by LEXECON_TEST_POSTGRES=off' });
    await teardown();
  });

  it('fails the run under CI=true: there the PostgreSQL tests must run', async () => {
    process.env.CI = 'true';
    process.env.LEXECON_TEST_POSTGRES = 'off';
    const { project, provided } = fakeProject();
    await expect(setupPostgres(project)).rejects.toThrow(/CI=true.*must run in CI/);
    expect(provided.postgres).toBeUndefined();
  });
});

describePostgres('a throwaway cluster whose owner dies', () => {
  it('is stopped and removed by its watchdog', async () => {
    const lookup = findPostgresBinaries();
    if (!lookup.found) throw new Error(lookup.reason);
    const owner = spawn('sleep', ['60'], { stdio: 'ignore' });
    const cluster = await startCluster(lookup.binaries, { ownerPid: owner.pid! });
    try {
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      await client.end();
      owner.kill('SIGKILL');
      const deadline = Date.now() + 10_000;
      while (fs.existsSync(cluster.dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.existsSync(cluster.dir)).toBe(false);
      const after = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 2_000 });
      await expect(after.connect()).rejects.toThrow();
    } finally {
      owner.kill('SIGKILL');
      await cluster.destroy();
    }
  });
});

describePostgres('a durable throwaway cluster (benchmarks)', () => {
  it('keeps fsync, full_page_writes and synchronous_commit on, lives under parentDir, and destroySync stops and removes it', async () => {
    const lookup = findPostgresBinaries();
    if (!lookup.found) throw new Error(lookup.reason);
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-pgparent-'));
    fs.chmodSync(parent, 0o755); // the cluster may run as another account (we are root in CI)
    const cluster = await startCluster(lookup.binaries, { durable: true, parentDir: parent });
    try {
      expect(path.dirname(cluster.dir)).toBe(parent);
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      try {
        const settings = await client.query(
          "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', 'synchronous_commit') ORDER BY name",
        );
        expect(settings.rows).toEqual([
          { name: 'fsync', setting: 'on' },
          { name: 'full_page_writes', setting: 'on' },
          { name: 'synchronous_commit', setting: 'on' },
        ]);
      } finally {
        await client.end();
      }
      cluster.destroySync();
      expect(fs.existsSync(cluster.dir)).toBe(false);
      const after = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 2_000 });
      await expect(after.connect()).rejects.toThrow();
    } finally {
      await cluster.destroy();
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('the default (test) cluster has fsync off', async () => {
    const db = await freshDatabase('lexecon_harness');
    const client = new pg.Client({ connectionString: db.url });
    try {
      await client.connect();
      const fsync = await client.query('SHOW fsync');
      expect(fsync.rows[0]).toEqual({ fsync: 'off' });
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
