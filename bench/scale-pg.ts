/**
 * `npm run bench:scale -- --backend postgres` (scale.bench.ts): the PostgreSQL side. A throwaway DURABLE
 * cluster (test/helpers/postgres-cluster.ts `startCluster(…, { durable: true })`: fsync, full_page_writes
 * and synchronous_commit on, as bench/ledger-pg.ts and bench/decide-pg.ts), its directory and the data
 * set's directory (keys, scale.json) in temp dirs under `parentDir`, both removed however the run ends
 * (exit handler; the cluster's watchdog if this process is killed). Not reused between runs.
 *
 * `explainPages`: EXPLAIN (ANALYZE, BUFFERS) of the GET /decide page queries (decision.repo.ts `list`:
 * the (created_at, decision_id) row-value upper bound, newest first) at the middle of the decisions.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { adminQuery, findPostgresBinaries, startCluster, withDatabase } from '../test/helpers/postgres-cluster.js';

export interface ScalePg {
  description: string;
  /** The database the builder and the servers use. */
  url: string;
  /** The data set's directory (its `data/keys` shared by the builder and the servers). */
  dataSetDir: string;
  explainPages(): Promise<string[]>;
  destroySync(): void;
}

/** The page queries of decision.repo.ts `list` (same WHERE and ORDER BY), with a label. */
export function pageQueries(mid: { id: string; at: string; actor: string }, windowEndAt: string): Array<{ name: string; sql: string; params: string[] }> {
  const order = 'ORDER BY created_at DESC, decision_id DESC LIMIT 101';
  return [
    { name: 'no filter, cursor at the middle', sql: `SELECT * FROM decisions WHERE (created_at, decision_id) < ($1, $2) ${order}`, params: [mid.at, mid.id] },
    { name: 'actor, cursor at the middle', sql: `SELECT * FROM decisions WHERE actor = $1 AND (created_at, decision_id) < ($2, $3) ${order}`, params: [mid.actor, mid.at, mid.id] },
    { name: 'outcome=denied, cursor at the middle', sql: `SELECT * FROM decisions WHERE outcome = $1 AND (created_at, decision_id) < ($2, $3) ${order}`, params: ['denied', mid.at, mid.id] },
    { name: 'outcome=escalated, cursor at the middle', sql: `SELECT * FROM decisions WHERE outcome = $1 AND (created_at, decision_id) < ($2, $3) ${order}`, params: ['escalated', mid.at, mid.id] },
    {
      name: 'since+until (window at the middle)',
      sql: `SELECT * FROM decisions WHERE created_at >= $1 AND (created_at, decision_id) < ($2, $3) ${order}`,
      params: [mid.at, windowEndAt, ''],
    },
  ];
}

export async function startScalePg(parentDir: string): Promise<ScalePg> {
  const lookup = findPostgresBinaries();
  if (!lookup.found) throw new Error(`--backend postgres: ${lookup.reason}`);
  fs.mkdirSync(parentDir, { recursive: true });
  const cluster = await startCluster(lookup.binaries, { durable: true, parentDir });
  const dataSetDir = fs.mkdtempSync(path.join(parentDir, 'lexecon-scale-pg-'));
  const destroySync = () => {
    cluster.destroySync();
    fs.rmSync(dataSetDir, { recursive: true, force: true });
  };
  process.on('exit', destroySync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  await adminQuery(cluster.url, 'CREATE DATABASE lexecon_scale');
  const url = withDatabase(cluster.url, 'lexecon_scale');
  return {
    description: `PostgreSQL ${cluster.version} in ${cluster.dir} (fsync on, synchronous_commit on; data set dir ${dataSetDir}; both removed at exit)`,
    url,
    dataSetDir,
    destroySync,
    async explainPages() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('ANALYZE decisions');
        const n = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM decisions')).rows[0]!.n);
        const at = async (depth: number) =>
          (await client.query<{ id: string; at: string; actor: string }>(
            'SELECT decision_id AS id, created_at AS at, actor FROM decisions ORDER BY decision_id DESC LIMIT 1 OFFSET $1',
            [Math.max(0, depth)],
          )).rows[0]!;
        const mid = await at(Math.floor(n / 2));
        const windowEnd = await at(Math.floor(n / 2) - 3000);
        const out: string[] = [];
        for (const q of pageQueries(mid, windowEnd.at)) {
          const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.params);
          out.push(`-- ${q.name}`, ...plan.rows.map((r) => `   ${r['QUERY PLAN']}`));
        }
        return out;
      } finally {
        await client.end();
      }
    },
  };
}
