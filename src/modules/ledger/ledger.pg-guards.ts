import type { Transaction } from '../../platform/db/port.js';
import type { GuardRepair } from './ledger.repo.js';

/**
 * The ledger's append-only guards on PostgreSQL: two PL/pgSQL functions and the triggers that call
 * them. Entries are never updated, deleted or truncated; the head row only moves forward, to an entry
 * that exists with the hash it names, and is never deleted or truncated. They stop mistakes and
 * careless scripts; the hash chain is what exposes someone who edits the database (a superuser can
 * always bypass triggers, e.g. with `session_replication_role = replica`).
 */
export interface PgGuard {
  name: string;
  kind: 'function' | 'trigger';
  sql: string;
  /** function: its body (prosrc); trigger: the shape pg_trigger must have. */
  expected:
    | { body: string }
    | { table: string; tgtype: number; fn: string };
}

const APPEND_ONLY_BODY = `
BEGIN
  RAISE EXCEPTION 'ledger entries are append-only';
END;
`;

const HEAD_GUARD_BODY = `
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'the ledger head cannot be deleted';
  END IF;
  IF NEW.id <> 1 OR (TG_OP = 'UPDATE' AND NEW.seq <= OLD.seq)
     OR NOT EXISTS (SELECT 1 FROM ledger_entries WHERE seq = NEW.seq AND entry_hash = NEW.entry_hash) THEN
    RAISE EXCEPTION 'the ledger head only moves forward, to an entry of the chain';
  END IF;
  RETURN NEW;
END;
`;

// pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h).
const ROW = 1;
const BEFORE = 2;
const INSERT = 4;
const DELETE = 8;
const UPDATE = 16;
const TRUNCATE = 32;

function fn(name: string, body: string): PgGuard {
  return {
    name,
    kind: 'function',
    sql: `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $guard$${body}$guard$`,
    expected: { body },
  };
}

function trigger(name: string, table: string, events: string, forEach: 'ROW' | 'STATEMENT', tgtype: number, func: string): PgGuard {
  return {
    name,
    kind: 'trigger',
    sql: `CREATE TRIGGER ${name} BEFORE ${events} ON ${table} FOR EACH ${forEach} EXECUTE FUNCTION ${func}()`,
    expected: { table, tgtype, fn: func },
  };
}

/** Functions first: the triggers refer to them. */
export const PG_LEDGER_GUARDS: readonly PgGuard[] = [
  fn('lexecon_ledger_append_only', APPEND_ONLY_BODY),
  fn('lexecon_ledger_head_guard', HEAD_GUARD_BODY),
  trigger('ledger_entries_no_update', 'ledger_entries', 'UPDATE', 'ROW', ROW | BEFORE | UPDATE, 'lexecon_ledger_append_only'),
  trigger('ledger_entries_no_delete', 'ledger_entries', 'DELETE', 'ROW', ROW | BEFORE | DELETE, 'lexecon_ledger_append_only'),
  trigger('ledger_entries_no_truncate', 'ledger_entries', 'TRUNCATE', 'STATEMENT', BEFORE | TRUNCATE, 'lexecon_ledger_append_only'),
  trigger(
    'ledger_head_guard',
    'ledger_head',
    'INSERT OR UPDATE OR DELETE',
    'ROW',
    ROW | BEFORE | INSERT | UPDATE | DELETE,
    'lexecon_ledger_head_guard',
  ),
  trigger('ledger_head_no_truncate', 'ledger_head', 'TRUNCATE', 'STATEMENT', BEFORE | TRUNCATE, 'lexecon_ledger_head_guard'),
];

/** SQL text compared without regard to runs of whitespace (a linear split, no backtracking). */
const normalize = (sql: string) => sql.split(/\s+/).filter(Boolean).join(' ');

/** An SQL identifier in double quotes (a name read from the catalog may be anything). */
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface TriggerRow {
  name: string;
  table: string;
  tgtype: number;
  fn: string;
  enabled: string;
  plain: number;
}

/**
 * Re-create every guard that is missing or altered (a function whose body changed; a trigger that is
 * disabled, fires on other events, has a WHEN clause or column list, or calls another function) and
 * drop foreign triggers and rules on the ledger's tables (a BEFORE INSERT trigger returning NULL or a
 * DO INSTEAD rule would silently drop appends). Runs in `tx`, under an advisory lock, so that replicas
 * starting together repair once and report it once.
 */
export async function ensurePgGuards(tx: Transaction): Promise<GuardRepair[]> {
  await tx.lock('lexecon:ledger-guards');
  const repairs: GuardRepair[] = [];
  const known = new Set(PG_LEDGER_GUARDS.map((g) => g.name));

  const triggers = await tx.all<TriggerRow>(
    `SELECT t.tgname AS name, c.relname AS "table", t.tgtype AS tgtype, p.proname AS fn, t.tgenabled AS enabled,
            (t.tgqual IS NULL AND t.tgnargs = 0 AND t.tgattr::text = '') AS plain
       FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE NOT t.tgisinternal AND c.relname IN ('ledger_entries', 'ledger_head')
        AND c.relnamespace = current_schema()::regnamespace`,
  );
  for (const t of triggers) {
    if (!known.has(t.name)) {
      await tx.exec(`DROP TRIGGER ${quoteIdent(t.name)} ON ${quoteIdent(t.table)}`);
      repairs.push({ name: t.name, problem: 'foreign' });
    }
  }
  const rules = await tx.all<{ name: string; table: string }>(
    `SELECT rulename AS name, tablename AS "table" FROM pg_rules
      WHERE schemaname = current_schema() AND tablename IN ('ledger_entries', 'ledger_head')`,
  );
  for (const r of rules) {
    await tx.exec(`DROP RULE ${quoteIdent(r.name)} ON ${quoteIdent(r.table)}`);
    repairs.push({ name: r.name, problem: 'foreign' });
  }

  const functions = await tx.all<{ name: string; body: string }>(
    `SELECT proname AS name, prosrc AS body FROM pg_proc
      WHERE pronamespace = current_schema()::regnamespace AND proname IN ('lexecon_ledger_append_only', 'lexecon_ledger_head_guard')`,
  );
  const bodies = new Map(functions.map((f) => [f.name, f.body]));
  const byName = new Map(triggers.map((t) => [t.name, t]));
  for (const guard of PG_LEDGER_GUARDS) {
    const problem = guard.kind === 'function' ? functionProblem(guard, bodies) : triggerProblem(guard, byName);
    if (!problem) continue;
    const existing = byName.get(guard.name);
    if (guard.kind === 'trigger' && existing) {
      await tx.exec(`DROP TRIGGER ${quoteIdent(guard.name)} ON ${quoteIdent(existing.table)}`);
    }
    await tx.exec(guard.sql);
    repairs.push({ name: guard.name, problem });
  }
  return repairs;
}

function functionProblem(guard: PgGuard, bodies: Map<string, string>): GuardRepair['problem'] | undefined {
  const body = bodies.get(guard.name);
  if (body === undefined) return 'missing';
  return normalize(body) === normalize((guard.expected as { body: string }).body) ? undefined : 'altered';
}

function triggerProblem(guard: PgGuard, byName: Map<string, TriggerRow>): GuardRepair['problem'] | undefined {
  const t = byName.get(guard.name);
  if (!t) return 'missing';
  const e = guard.expected as { table: string; tgtype: number; fn: string };
  // 'O': fires in origin and local mode (the default); 'D' disabled, 'R'/'A' replica-only/always.
  const intact = t.table === e.table && t.tgtype === e.tgtype && t.fn === e.fn && t.enabled === 'O' && t.plain === 1;
  return intact ? undefined : 'altered';
}
