/**
 * `npm run bench:scale -- --backend postgres` (scale.bench.ts): the PostgreSQL side. A throwaway DURABLE
 * cluster (test/helpers/postgres-cluster.ts `startCluster(…, { durable: true })`: fsync, full_page_writes
 * and synchronous_commit on, as bench/ledger-pg.ts and bench/decide-pg.ts), its directory and the data
 * set's directory (keys, scale.json) in temp dirs under `parentDir`, both removed however the run ends
 * (exit handler; the cluster's watchdog if this process is killed). Not reused between runs.
 *
 * `explainPages`: EXPLAIN (ANALYZE, BUFFERS) of the GET /decide page queries at the middle of the
 * decisions, the SQL being the one the real DecisionRepo `list` runs (through `explainingPort`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DecisionRepo, type DecisionFilter } from '../src/modules/decision/decision.repo.js';
import type { DbPort, SqlValue } from '../src/platform/db/port.js';
import { openPostgresPort } from '../src/platform/db/postgres.driver.js';
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

/**
 * A port whose `all` runs `EXPLAIN (ANALYZE, BUFFERS) <sql>` instead (same parameters) and hands the plan
 * to `onPlan`; everything else (`one`: the cursor's place) goes to `port` unchanged. Given to the real
 * DecisionRepo, its `list` explains exactly the query it runs, whatever that query becomes.
 */
export function explainingPort(port: DbPort, onPlan: (sql: string, plan: string[]) => void): DbPort {
  return new Proxy(port, {
    get(target, prop, receiver) {
      if (prop === 'all' || prop === 'query') {
        return async (sql: string, params?: readonly SqlValue[]) => {
          const rows = await target.all<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
          onPlan(sql, rows.map((r) => r['QUERY PLAN'] ?? JSON.stringify(r)));
          return rows;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
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
      const port = await openPostgresPort({ url, poolSize: 1, applicationName: 'lexecon-bench-explain' });
      try {
        await port.exec('ANALYZE decisions');
        const n = Number((await port.one<{ n: string }>('SELECT count(*) AS n FROM decisions'))!.n);
        const at = async (depth: number) =>
          (await port.one<{ id: string; at: string; actor: string }>(
            'SELECT decision_id AS id, created_at AS at, actor FROM decisions ORDER BY decision_id DESC LIMIT 1 OFFSET ?',
            [Math.max(0, depth)],
          ))!;
        const mid = await at(Math.floor(n / 2));
        const windowEnd = await at(Math.floor(n / 2) - 3000);
        const out: string[] = [];
        const repo = new DecisionRepo(explainingPort(port, (sql, plan) => out.push(`   ${sql}`, ...plan.map((l) => `     ${l}`))));
        const pages: Array<[string, DecisionFilter]> = [
          ['no filter, cursor at the middle', { beforeId: mid.id, limit: 101 }],
          ['actor, cursor at the middle', { actor: mid.actor, beforeId: mid.id, limit: 101 }],
          ['outcome=denied, cursor at the middle', { outcome: 'denied', beforeId: mid.id, limit: 101 }],
          ['outcome=escalated, cursor at the middle', { outcome: 'escalated', beforeId: mid.id, limit: 101 }],
          ['since+until (window at the middle)', { since: mid.at, until: windowEnd.at, limit: 101 }],
        ];
        for (const [name, filter] of pages) {
          out.push(`-- ${name}`);
          await repo.list(filter);
        }
        return out;
      } finally {
        await port.close();
      }
    },
  };
}
