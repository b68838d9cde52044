/**
 * What SQLite writes for one decision (issue 16): `npx tsx bench/decide-writes.ts [--decisions=N] [--commits=M]`.
 *
 * The real app on a file database (durability FULL, the seed policy, one API key); after a warm-up of
 * N decisions of each kind (default 200: B-trees of a few pages, as in a running server), for M approved
 * and M escalated `POST /decide` (default 50), each alone in its group commit:
 *  - the WAL frames its commit wrote (the WAL is truncated before it; each frame is one 4 KiB page),
 *    mean per commit, and the B-tree each frame's page belongs to (`dbstat`);
 *  - the rows it added, table by table (by its decision id, escalation id, ledger seqs), with the bytes
 *    of their column values (`length()` of each).
 * Prints a table per decision. Nothing is kept: the data directory is removed at exit.
 *
 * `--batch=B`: B decisions of the kind sent at once instead of one (a group commit of B; the frames
 * of the WAL are then those of that commit, or of two when the batch was split).
 *
 * `--load=N [--concurrency=C]`: then N approved decisions, C at a time (default 32: group commits of
 * about that many), in this process through `app.inject`, and the CPU time of this process per decision
 * (user + system: less disturbed by other work on the machine than req/s) and the group commits.
 * `--schema=V`: the database is migrated to version V only and then marked as the latest version, so
 * that this tree's code runs on the older storage layout: an A/B of layouts under the same code, for a
 * migration that changes only how rows are stored (its code reads and writes the same columns on the
 * older tables). Run the variants alternately, each in its own process. (Measured with it, issue 16: a
 * WITHOUT ROWID decision_payloads keyed by (created_at, decision_id) wrote 19.1 instead of 20.9 WAL
 * frames per single approved decision and 69.8 instead of 73.5 per commit of 23, with no CPU or
 * latency change the busy machine could resolve: not shipped.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildAppWithServices } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { allMigrations } from '../src/migrations.js';
import { openDatabase } from '../src/platform/db/connection.js';
import { migrate } from '../src/platform/db/migrations.js';
import { argValue } from './options.js';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

interface Kind {
  name: string;
  body: object;
}

const KINDS: Kind[] = [
  { name: 'approved', body: { actor: 'ai_agent:bench', proposed_action: 'read_customer', tool: 'crm', data_classes: ['internal'], context: { session_id: 's1' } } },
  { name: 'escalated', body: { actor: 'ai_agent:bench', proposed_action: 'bulk_export', tool: 'crm', data_classes: ['internal'], context: { session_id: 's1' } } },
];

/** Page number → B-tree name (table or index) of the database as it is now (WAL included). */
function pageOwners(db: Database.Database): Map<number, string> {
  const owners = new Map<number, string>();
  for (const r of db.prepare('SELECT name, pageno FROM dbstat').all() as Array<{ name: string; pageno: number }>) owners.set(r.pageno, r.name);
  return owners;
}

/** The page numbers of the WAL's frames, in order (with repeats). */
function walFrames(file: string, pageSize: number): number[] {
  if (!fs.existsSync(file)) return [];
  const buf = fs.readFileSync(file);
  const pages: number[] = [];
  for (let off = WAL_HEADER; off + FRAME_HEADER + pageSize <= buf.length; off += FRAME_HEADER + pageSize) pages.push(buf.readUInt32BE(off));
  return pages;
}

/** Every table's columns, for the bytes of the rows a decision added. */
function tableColumns(db: Database.Database): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const t of tables) out.set(t, (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]));
  return out;
}

/** The rows of `table` that decision `d` added (by its decision id, escalation id or ledger seqs), or undefined. */
function rowsOf(table: string, cols: string[], d: { decisionId: string; escalationId: string | null; seq: number }): { where: string; params: unknown[] } | undefined {
  if (table === 'ledger_entries') return { where: 'seq >= ?', params: [d.seq] };
  if (cols.includes('decision_id')) return { where: 'decision_id = ?', params: [d.decisionId] };
  if (cols.includes('escalation_id') && d.escalationId !== null) return { where: 'escalation_id = ?', params: [d.escalationId] };
  return undefined;
}

async function main(): Promise<void> {
  const warm = Number(argValue('decisions') ?? '200');
  const commits = Number(argValue('commits') ?? '50');
  const batch = Number(argValue('batch') ?? '1');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-writes-'));
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    LEXECON_DATA_DIR: dataDir,
    LEXECON_RATE_LIMIT_RPM: '0',
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_DURABILITY: 'full',
    LEXECON_MFA_REQUIRED_ROLES: '',
  });
  const layout = argValue('schema');
  if (layout !== undefined) {
    const pre = openDatabase(config.dbPath);
    migrate(pre, allMigrations.slice(0, Number(layout)));
    pre.pragma(`user_version = ${allMigrations.length}`);
    pre.close();
    console.log(`storage layout of schema ${layout} (marked ${allMigrations.length}: this tree's code on it)`);
  }
  const { app, services } = await buildAppWithServices(config, { testOnlyRsaModulusLength: 2048 });
  const policy = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../policies/seed-example.json'), 'utf8'));
  await services.policies.load(policy, 'bench');
  const { secret } = await services.auth.createApiKey({ name: 'bench', actorPattern: 'ai_agent:*' }, 'system');
  const decide = async (body: object) => {
    const res = await app.inject({ method: 'POST', url: '/decide', headers: { authorization: `Bearer ${secret}` }, payload: body });
    if (res.statusCode !== 200) throw new Error(`POST /decide: ${res.statusCode} ${res.body}`);
    return res;
  };
  for (let i = 0; i < warm; i++) for (const k of KINDS) await decide(k.body);
  await services.ledger.drain();

  const dbFile = config.dbPath;
  const probe = new Database(dbFile);
  const pageSize = Number(probe.pragma('page_size', { simple: true }));
  const columns = tableColumns(probe);
  const schema = probe.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY tbl_name, type DESC, name").all() as Array<{ type: string; name: string; tbl_name: string }>;
  const btrees = schema.filter((s) => s.type === 'table' || s.type === 'index');
  console.log(`SQLite ${String(probe.prepare('SELECT sqlite_version()').pluck().get())}, page ${pageSize} B, ${btrees.length} B-trees (tables and indexes; rowid tables' autoindexes as sqlite_autoindex_*)`);

  for (const k of KINDS) {
    const byTree = new Map<string, number>();
    let frameCount = 0;
    let d = { decisionId: '', escalationId: null as string | null, seq: 0 };
    for (let i = 0; i < commits; i++) {
      probe.pragma('wal_checkpoint(TRUNCATE)');
      const answers = await Promise.all(Array.from({ length: batch }, () => decide(k.body)));
      const answer = answers[0]!.json() as { decision_id: string; escalation_id: string | null; ledger: { seq: number } };
      d = { decisionId: answer.decision_id, escalationId: answer.escalation_id, seq: answer.ledger.seq };
      await services.ledger.drain();
      const frames = walFrames(`${dbFile}-wal`, pageSize);
      frameCount += frames.length;
      const owners = pageOwners(probe);
      for (const p of frames) {
        const name = owners.get(p) ?? `page ${p} (free list)`;
        byTree.set(name, (byTree.get(name) ?? 0) + 1);
      }
    }
    const what = batch === 1 ? `one ${k.name} decision per commit, ${commits} commits` : `${batch} ${k.name} decisions at once (one group commit), ${commits} times`;
    console.log(`\n== ${what}: ${(frameCount / commits).toFixed(2)} WAL frames per commit (mean), by B-tree (page 1: sqlite_schema):`);
    for (const [name, n] of [...byTree].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) console.log(`  ${(n / commits).toFixed(2).padStart(5)}  ${name}`);
    console.log(`  rows added by the last one (bytes of column values: sum of length() per column, integers by their text):`);
    let total = 0;
    for (const [table, cols] of columns) {
      const rows = rowsOf(table, cols, d);
      if (rows === undefined) continue;
      const sizes = probe
        .prepare(`SELECT ${cols.map((c) => `coalesce(length("${c}"), 0) AS "${c}"`).join(', ')} FROM "${table}" WHERE ${rows.where}`)
        .all(...rows.params) as Array<Record<string, number>>;
      for (const s of sizes) {
        const bytes = Object.values(s).reduce((a, b) => a + b, 0);
        total += bytes;
        const big = Object.entries(s)
          .filter(([, v]) => v >= 40)
          .sort((a, b) => b[1] - a[1])
          .map(([c, v]) => `${c} ${v}`)
          .join(', ');
        console.log(`    ${table.padEnd(22)} ${String(bytes).padStart(5)} B  (${big})`);
      }
    }
    console.log(`    ${'total'.padEnd(22)} ${String(total).padStart(5)} B`);
  }
  probe.close();
  const load = argValue('load');
  if (load !== undefined) await runLoad(Number(load), Number(argValue('concurrency') ?? '32'), decide, () => app.inject({ method: 'GET', url: '/metrics' }));
  await app.close();
}

/** `--load`: N approved decisions, C at a time; this process's CPU per decision and the group commits. */
async function runLoad(
  n: number,
  concurrency: number,
  decide: (body: object) => Promise<unknown>,
  metrics: () => Promise<{ body: string }>,
): Promise<void> {
  const metric = async (name: string): Promise<number> => {
    const line = (await metrics()).body.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]);
  };
  const commits = async () => ({
    count: await metric('lexecon_ledger_commit_duration_seconds_count'),
    seconds: await metric('lexecon_ledger_commit_duration_seconds_sum'),
  });
  const body = KINDS[0]!.body;
  const c0 = await commits();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        await decide(body);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = await commits();
  const count = c1.count - c0.count;
  console.log(
    `\n== load: ${n} approved decisions, ${concurrency} at a time: ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per decision ` +
      `(user ${(cpu.user / n).toFixed(1)}, system ${(cpu.system / n).toFixed(1)}), ${(n / wallS).toFixed(0)}/s; ` +
      `${count} group commits, mean batch ${(n / count).toFixed(1)}, mean commit ${((1000 * (c1.seconds - c0.seconds)) / count).toFixed(2)} ms`,
  );
}

await main();
