/**
 * The PostgreSQL driver when the database goes away: DatabaseUnavailable (which the HTTP layer will
 * answer with 503), quickly and never a hang, and recovery by itself when the server is back.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailable } from '../../src/platform/db/errors.js';
import { createPostgresPort, openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { findPostgresBinaries, freePort, startCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { clusterUrl, describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { rejection } from '../helpers/paths.js';


describePostgres('PostgreSQL driver: database unavailable', () => {
  it('a closed port: DatabaseUnavailable at once', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await rejection(openPostgresPort({ url: `postgres://postgres@127.0.0.1:${port}/postgres` }));
    expect(err).toBeInstanceOf(DatabaseUnavailable);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a server that accepts but never answers: DatabaseUnavailable after the connect timeout, not a hang', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const err = await rejection(
        openPostgresPort({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeoutMs: 500 }),
      );
      expect(err).toBeInstanceOf(DatabaseUnavailable);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  describe('the backend of an open transaction is killed (what a failover or a crash does to it)', connectionLost);

  describe("a cluster of this file's own, stopped and started again under an open port", serverRestart);
});

function connectionLost(): void {
  let db: FreshDatabase;
  let port: PostgresPort;
  beforeAll(async () => {
    db = await freshDatabase('lexecon_unavail');
    port = await openPostgresPort({ url: db.url, poolSize: 2 });
    await port.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  });
  afterAll(async () => {
    await port?.close();
    await db?.drop();
  });

  it('a connection lost inside a transaction: DatabaseUnavailable, nothing written, and the port goes on', async () => {
    const admin = new pg.Client({ connectionString: clusterUrl() });
    await admin.connect();
    try {
      const err = await rejection(
        port.transaction(async (tx) => {
          await tx.run('INSERT INTO t (id) VALUES (?)', [1]);
          const me = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await admin.query('SELECT pg_terminate_backend($1)', [me!.pid]);
          await tx.run('INSERT INTO t (id) VALUES (?)', [2]);
        }),
      );
      expect(err).toBeInstanceOf(DatabaseUnavailable);
    } finally {
      await admin.end();
    }
    expect(await port.all('SELECT id FROM t')).toEqual([]);
    await port.run('INSERT INTO t (id) VALUES (?)', [3]);
    expect(await port.all('SELECT id FROM t')).toEqual([{ id: 3 }]);
  });
}

function serverRestart(): void {
  let cluster: PostgresCluster | undefined;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('server stopped: DatabaseUnavailable (no hang); server back: the same port works again by itself', async () => {
    const lookup = findPostgresBinaries();
    if (!lookup.found) throw new Error(lookup.reason);
    cluster = await startCluster(lookup.binaries);
    const port = createPostgresPort({ url: cluster.url, poolSize: 2, connectTimeoutMs: 1_000 });
    try {
      await port.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      await port.run('INSERT INTO t (id) VALUES (?)', [1]);

      await cluster.stop();
      const started = Date.now();
      expect(await rejection(port.one('SELECT id FROM t'))).toBeInstanceOf(DatabaseUnavailable);
      expect(await rejection(port.transaction(async (tx) => tx.one('SELECT id FROM t')))).toBeInstanceOf(
        DatabaseUnavailable,
      );
      expect(Date.now() - started).toBeLessThan(5_000);

      await cluster.start(); // same data directory, same port
      expect(await port.all('SELECT id FROM t')).toEqual([{ id: 1 }]);
      await port.transaction(async (tx) => tx.run('INSERT INTO t (id) VALUES (?)', [2]));
      expect(await port.all('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await port.close();
    }
  });
}
