import type { Db } from '../platform/db/connection.js';
import type { DbPort, SqlValue, Transaction } from '../platform/db/port.js';

/**
 * Copy every row of a SQLite database into a PostgreSQL database that holds the same schema (same
 * migrations applied) and no rows yet: the core of `lexecon migrate-to-postgres`. Pure database work,
 * no process or file handling; the command (migrate-to-postgres.ts) opens, checks and proves.
 *
 * * Tables are copied parents first (SQLite's foreign keys, ordered iteratively), each in batches of
 *   rows, all in ONE PostgreSQL transaction: a failure leaves the target as empty as it was.
 * * Columns are matched by name and must be the same set on both sides (the schemas are kept in step
 *   by the per-dialect migrations; a difference is an error, never a silently dropped column).
 * * Values go over as SQLite holds them (integers, text, blobs → bytea); the type mapping is the
 *   port's (ARCHITECTURE.md "Storage port").
 * * Rows a migration seeded in the target (the halt state's single row) are replaced by the source's.
 * * The PostgreSQL-only rows follow: the ledger's head row (`ledger_head`, at the last copied entry),
 *   and identity sequences are moved past the copied ids.
 */

export interface TableCopy {
  table: string;
  rows: number;
}

export interface CopyProgress {
  table: string;
  done: number;
  total: number;
}

/** Tables that exist on one side only and are not data: SQLite's internals, PostgreSQL's bookkeeping. */
const SQLITE_ONLY = new Set(['sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);
const POSTGRES_ONLY = new Set(['schema_migrations', 'ledger_head']);

/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters per statement). */
const ROWS_PER_INSERT = 200;

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export class SchemaMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaMismatch';
  }
}

/** The SQLite tables (data only) in an order where every table comes after the tables it references. */
export function tablesParentsFirst(db: Db): string[] {
  const names = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{
      name: string;
    }>
  )
    .map((r) => r.name)
    .filter((n) => !SQLITE_ONLY.has(n));
  const parents = new Map<string, Set<string>>();
  for (const name of names) {
    const refs = db.prepare(`PRAGMA foreign_key_list(${quoteIdent(name)})`).all() as Array<{ table: string }>;
    parents.set(name, new Set(refs.map((r) => r.table).filter((t) => t !== name && names.includes(t))));
  }
  // Kahn's algorithm, iteratively; the alphabetical order breaks ties, so the order is stable.
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < names.length) {
    const next = names.find((n) => !placed.has(n) && [...parents.get(n)!].every((p) => placed.has(p)));
    if (next === undefined) throw new SchemaMismatch('the SQLite foreign keys form a cycle; cannot order the copy');
    ordered.push(next);
    placed.add(next);
  }
  return ordered;
}

function sqliteColumns(db: Db, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as Array<{ name: string }>).map((c) => c.name);
}

async function postgresColumns(tx: Transaction, table: string): Promise<string[]> {
  const rows = await tx.all<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.name);
}

async function postgresTables(tx: Transaction): Promise<string[]> {
  const rows = await tx.all<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  );
  return rows.map((r) => r.name);
}

/** Check that both databases hold the same tables with the same columns; the SQLite copy order. */
export async function matchingTables(db: Db, tx: Transaction): Promise<Array<{ table: string; columns: string[] }>> {
  const source = tablesParentsFirst(db);
  const target = new Set((await postgresTables(tx)).filter((t) => !POSTGRES_ONLY.has(t)));
  const problems: string[] = [];
  for (const t of source) if (!target.has(t)) problems.push(`table ${t} is missing in PostgreSQL`);
  for (const t of target) if (!source.includes(t)) problems.push(`table ${t} is missing in SQLite`);
  const plan: Array<{ table: string; columns: string[] }> = [];
  for (const table of source) {
    if (!target.has(table)) continue;
    const a = sqliteColumns(db, table);
    const b = new Set(await postgresColumns(tx, table));
    const onlySqlite = a.filter((c) => !b.has(c));
    const onlyPg = [...b].filter((c) => !a.includes(c));
    if (onlySqlite.length > 0 || onlyPg.length > 0) {
      problems.push(
        `table ${table}: columns differ (only in SQLite: ${onlySqlite.join(', ') || '-'}; only in PostgreSQL: ${onlyPg.join(', ') || '-'})`,
      );
    }
    plan.push({ table, columns: a });
  }
  if (problems.length > 0) throw new SchemaMismatch(`the two schemas differ: ${problems.join('; ')}`);
  return plan;
}

/** Copy every row (see the module comment). `tx` is a transaction on the target; the caller commits it. */
export async function copyRows(
  db: Db,
  tx: Transaction,
  onProgress: (p: CopyProgress) => void = () => {},
): Promise<TableCopy[]> {
  const plan = await matchingTables(db, tx);
  const copied: TableCopy[] = [];
  for (const { table, columns } of plan) {
    const total = (db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(table)}`).get() as { n: number }).n;
    const cols = columns.map(quoteIdent).join(', ');
    const rowPlaceholder = `(${columns.map(() => '?').join(', ')})`;
    const select = db.prepare(`SELECT ${cols} FROM ${quoteIdent(table)}`).raw(true);
    let batch: SqlValue[] = [];
    let inBatch = 0;
    let done = 0;
    const flush = async () => {
      if (inBatch === 0) return;
      const values = new Array<string>(inBatch).fill(rowPlaceholder).join(', ');
      await tx.run(`INSERT INTO ${quoteIdent(table)} (${cols}) VALUES ${values}`, batch);
      done += inBatch;
      batch = [];
      inBatch = 0;
      onProgress({ table, done, total });
    };
    // Rows a migration seeded (e.g. the halt state's single row) give way to the source's.
    const seeded = await tx.one<{ n: number }>(`SELECT count(*) AS n FROM ${quoteIdent(table)}`);
    if ((seeded?.n ?? 0) > 0) await tx.run(`DELETE FROM ${quoteIdent(table)}`);
    onProgress({ table, done: 0, total });
    for (const row of select.iterate() as IterableIterator<SqlValue[]>) {
      batch.push(...row);
      inBatch++;
      if (inBatch === ROWS_PER_INSERT) await flush();
    }
    await flush();
    copied.push({ table, rows: done });
  }
  await finishPostgresOnlyRows(tx);
  return copied;
}

/** The ledger head at the last copied entry, and identity sequences past the copied ids. */
async function finishPostgresOnlyRows(tx: Transaction): Promise<void> {
  const last = await tx.one<{ seq: number; entry_hash: string }>('SELECT seq, entry_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1');
  if (last) await tx.run('INSERT INTO ledger_head (id, seq, entry_hash) VALUES (1, ?, ?)', [last.seq, last.entry_hash]);
  const identities = await tx.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`,
  );
  for (const { table_name: table, column_name: column } of identities) {
    await tx.one(
      `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT max(${quoteIdent(column)}) FROM ${quoteIdent(table)}), 0) + 1, false) AS v`,
      [quoteIdent(table), column],
    );
  }
}

/** Rows per table on the target (for the proof after the copy). */
export async function countRows(port: DbPort, tables: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const t of tables) {
    const row = await port.one<{ n: number }>(`SELECT count(*) AS n FROM ${quoteIdent(t)}`);
    counts.set(t, row?.n ?? 0);
  }
  return counts;
}
