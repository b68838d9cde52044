import type { DbPort, SqlValue, Transaction } from '../../src/platform/db/port.js';

/** One statement: SQL alone, or SQL with its `?` parameters. Portable SQL: it runs on both backends. */
export type TamperStatement = string | readonly [sql: string, params: readonly SqlValue[]];

/**
 * Change rows the append-only guards protect, as someone with write access to the database would, on
 * either backend: the statements run in ONE port transaction with every user trigger off, and the
 * guards are back in force when it commits (what the tests then show is that verification, not the
 * guards, catches the change).
 * - SQLite has no switch for triggers: every trigger is dropped, the statements run, and each trigger is
 *   re-created from its own stored SQL text, all in the transaction.
 * - PostgreSQL: `SET LOCAL session_replication_role = replica` (the test cluster connects as superuser)
 *   disables user triggers, foreign keys included, until the transaction ends.
 * CHECK constraints stay in force on both: tamper within them. `t` is an app, or a store's port
 * between apps (`{ port }`).
 */
export async function tamper(t: { port: DbPort }, statements: readonly TamperStatement[]): Promise<void> {
  const run = async (tx: Transaction) => {
    for (const s of statements) {
      if (typeof s === 'string') await tx.run(s);
      else await tx.run(s[0], s[1]);
    }
  };
  await t.port.transaction(async (tx) => {
    if (tx.dialect === 'postgres') {
      await tx.exec('SET LOCAL session_replication_role = replica');
      await run(tx);
      return;
    }
    const triggers = await tx.all<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    );
    for (const tr of triggers) await tx.exec(`DROP TRIGGER "${tr.name.replaceAll('"', '""')}"`);
    await run(tx);
    for (const tr of triggers) await tx.exec(tr.sql);
  });
}

/**
 * Make every insert into `table` fail (optionally only rows matching `when`, a portable condition on
 * `NEW.<column>`), to inject a failure into a write: SQLite, a trigger that RAISEs; PostgreSQL, the
 * same trigger over a PL/pgSQL function that raises. Returns the function that removes it.
 */
export async function failInsertsInto(t: { port: DbPort }, table: string, when?: string): Promise<() => Promise<void>> {
  if (t.port.dialect === 'postgres') {
    await t.port.exec(
      `CREATE OR REPLACE FUNCTION lexecon_test_inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END; $$;
       CREATE TRIGGER lexecon_test_inject BEFORE INSERT ON ${table} FOR EACH ROW${when ? ` WHEN (${when})` : ''}
         EXECUTE FUNCTION lexecon_test_inject();`,
    );
    return () => t.port.exec(`DROP TRIGGER lexecon_test_inject ON ${table}; DROP FUNCTION lexecon_test_inject();`);
  }
  await t.port.exec(
    `CREATE TRIGGER lexecon_test_inject BEFORE INSERT ON ${table}${when ? ` WHEN ${when}` : ''}
       BEGIN SELECT RAISE(ABORT, 'injected'); END`,
  );
  return () => t.port.exec('DROP TRIGGER lexecon_test_inject');
}
