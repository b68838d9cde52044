/**
 * A database's schema as plain data, read from SQLite's pragmas or PostgreSQL's catalog, in one shape
 * for both dialects so that a test can compare them with `toEqual` (test/db/pg-schema.test.ts).
 *
 * Types are compared by family (SQLite INTEGER = PostgreSQL integer or bigint, TEXT = text, REAL =
 * double precision, BLOB = bytea); a column is not-null when declared so or part of the primary key
 * (SQLite reports NOT NULL only where declared). Indexes: a UNIQUE constraint by its columns (the two
 * dialects name their automatic indexes differently), an index made by CREATE INDEX by its name,
 * columns, uniqueness and whether it is partial. Defaults are compared as text without PostgreSQL's
 * `::text` casts. CHECK constraints are counted per table.
 */
import type { Queryable } from '../../src/platform/db/port.js';

export interface ColumnShape {
  name: string;
  family: 'integer' | 'text' | 'real' | 'blob' | string;
  notNull: boolean;
  default: string | null;
}

export interface TableShape {
  columns: ColumnShape[];
  primaryKey: string[];
  checks: number;
}

export interface SchemaShape {
  tables: Record<string, TableShape>;
  /** `table UNIQUE (a, b)` or `table INDEX name (a, b) [UNIQUE] [PARTIAL]`, sorted. */
  indexes: string[];
  /** `table.col -> other.col`, sorted. */
  foreignKeys: string[];
}

export interface SchemaOptions {
  /** Only tables whose name starts with this. */
  prefix?: string;
  /** Tables left out (e.g. the PostgreSQL-only ones). */
  exclude?: readonly string[];
}

const SQLITE_FAMILY: Record<string, string> = { INTEGER: 'integer', TEXT: 'text', REAL: 'real', BLOB: 'blob' };
const PG_FAMILY: Record<string, string> = {
  smallint: 'integer',
  integer: 'integer',
  bigint: 'integer',
  text: 'text',
  'double precision': 'real',
  bytea: 'blob',
};

export function schemaOf(q: Queryable, opts: SchemaOptions = {}): Promise<SchemaShape> {
  // Schema introspection is the one place where the dialects have nothing in common.
  return q.dialect === 'sqlite' ? sqliteSchema(q, opts) : postgresSchema(q, opts);
}

const keep = (name: string, opts: SchemaOptions) =>
  name.startsWith(opts.prefix ?? '') && !(opts.exclude ?? []).includes(name);

const indexLine = (table: string, cols: string[], made: { name: string; unique: boolean; partial: boolean } | null) =>
  made === null
    ? `${table} UNIQUE (${cols.join(', ')})`
    : `${table} INDEX ${made.name} (${cols.join(', ')})${made.unique ? ' UNIQUE' : ''}${made.partial ? ' PARTIAL' : ''}`;

/** A CHECK constraint's keyword in a CREATE TABLE text (SQLite keeps the text, ALTER TABLE included). */
function countChecks(sql: string): number {
  let n = 0;
  for (let i = sql.indexOf('CHECK ('); i >= 0; i = sql.indexOf('CHECK (', i + 1)) n++;
  return n;
}

async function sqliteSchema(q: Queryable, opts: SchemaOptions): Promise<SchemaShape> {
  const names = await q.all<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const tables: Record<string, TableShape> = {};
  const indexes: string[] = [];
  const foreignKeys: string[] = [];
  for (const { name: table, sql } of names.filter((t) => keep(t.name, opts))) {
    const cols = await q.all<{ name: string; type: string; nn: number; pk: number; dflt: string | null }>(
      'SELECT name, type, "notnull" AS nn, pk, dflt_value AS dflt FROM pragma_table_info(?) ORDER BY cid',
      [table],
    );
    tables[table] = {
      columns: cols.map((c) => ({
        name: c.name,
        family: SQLITE_FAMILY[c.type.toUpperCase()] ?? c.type,
        notNull: c.nn === 1 || c.pk > 0,
        default: c.dflt,
      })),
      primaryKey: cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
      checks: countChecks(sql),
    };
    const list = await q.all<{ name: string; u: number; origin: string; partial: number }>(
      'SELECT name, "unique" AS u, origin, partial FROM pragma_index_list(?)',
      [table],
    );
    for (const ix of list) {
      if (ix.origin === 'pk') continue;
      const ixCols = (await q.all<{ name: string }>('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [ix.name])).map(
        (c) => c.name,
      );
      indexes.push(
        indexLine(table, ixCols, ix.origin === 'u' ? null : { name: ix.name, unique: ix.u === 1, partial: ix.partial === 1 }),
      );
    }
    const fks = await q.all<{ ref: string; col: string; refcol: string }>(
      'SELECT "table" AS ref, "from" AS col, "to" AS refcol FROM pragma_foreign_key_list(?)',
      [table],
    );
    for (const fk of fks) foreignKeys.push(`${table}.${fk.col} -> ${fk.ref}.${fk.refcol}`);
  }
  return { tables, indexes: indexes.sort(), foreignKeys: foreignKeys.sort() };
}

async function postgresSchema(q: Queryable, opts: SchemaOptions): Promise<SchemaShape> {
  const cols = await q.all<{ table: string; name: string; type: string; nullable: string; dflt: string | null }>(
    `SELECT c.table_name AS "table", c.column_name AS name, c.data_type AS type, c.is_nullable AS nullable,
            c.column_default AS dflt
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables: Record<string, TableShape> = {};
  for (const c of cols.filter((c) => keep(c.table, opts))) {
    tables[c.table] ??= { columns: [], primaryKey: [], checks: 0 };
    tables[c.table]!.columns.push({
      name: c.name,
      family: PG_FAMILY[c.type] ?? c.type,
      notNull: c.nullable === 'NO',
      default: c.dflt === null ? null : c.dflt.replaceAll('::text', ''),
    });
  }
  const ixRows = await q.all<{ table: string; name: string; u: number; pk: number; partial: number; constraint: string | null; cols: string }>(
    `SELECT t.relname AS "table", i.relname AS name, ix.indisunique AS u, ix.indisprimary AS pk,
            (ix.indpred IS NOT NULL) AS partial, con.conname AS "constraint",
            (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
               FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum) AS cols
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       LEFT JOIN pg_constraint con ON con.conindid = ix.indexrelid AND con.contype IN ('u', 'p')
      WHERE t.relnamespace = current_schema()::regnamespace AND t.relkind = 'r'`,
  );
  const indexes: string[] = [];
  for (const ix of ixRows.filter((r) => keep(r.table, opts))) {
    const list = ix.cols.split(', ');
    if (ix.pk === 1) tables[ix.table]!.primaryKey = list;
    else indexes.push(indexLine(ix.table, list, ix.constraint !== null ? null : { name: ix.name, unique: ix.u === 1, partial: ix.partial === 1 }));
  }
  const checks = await q.all<{ table: string; n: number }>(
    `SELECT t.relname AS "table", count(*) AS n FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.contype = 'c' AND t.relnamespace = current_schema()::regnamespace GROUP BY t.relname`,
  );
  for (const c of checks.filter((r) => keep(r.table, opts))) tables[c.table]!.checks = c.n;
  const fks = await q.all<{ table: string; col: string; ref: string; refcol: string }>(
    `SELECT t.relname AS "table", a.attname AS col, r.relname AS ref, ra.attname AS refcol
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_class r ON r.oid = c.confrelid
       CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, refcol)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
       JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol
      WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace`,
  );
  const foreignKeys = fks.filter((f) => keep(f.table, opts)).map((f) => `${f.table}.${f.col} -> ${f.ref}.${f.refcol}`);
  const sorted: Record<string, TableShape> = {};
  for (const name of Object.keys(tables).sort()) sorted[name] = tables[name]!;
  return { tables: sorted, indexes: indexes.sort(), foreignKeys: foreignKeys.sort() };
}
