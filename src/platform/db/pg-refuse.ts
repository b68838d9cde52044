/**
 * The PostgreSQL counterpart of SQLite's guard triggers `BEGIN SELECT RAISE(ABORT, 'message'); END`:
 * one PL/pgSQL trigger function that refuses the statement with the message given as the trigger's
 * argument, e.g.
 *
 *   CREATE TRIGGER t_no_update BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION lexecon_refuse('t is append-only');
 *
 * It raises SQLSTATE P0001, which the PostgreSQL driver translates to ConstraintViolation('other') as
 * the SQLite driver translates RAISE(ABORT). Created (idempotently) by every migration whose guards
 * call it. Shipped migrations interpolate this text: never change it; another body is a new function.
 */
export const PG_REFUSE_FUNCTION = `CREATE OR REPLACE FUNCTION lexecon_refuse() RETURNS trigger LANGUAGE plpgsql AS $refuse$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0];
END;
$refuse$;`;

/**
 * The three guards of an append-only table on PostgreSQL, as SQLite's `<table>_no_update` and
 * `<table>_no_delete` triggers plus `<table>_no_truncate` (TRUNCATE skips row triggers): each refuses
 * with `message` (SQL text; quotes are escaped here).
 */
export function pgAppendOnlyGuards(table: string, message: string): string {
  const m = message.replaceAll("'", "''");
  return [
    `CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}`,
    `  FOR EACH ROW EXECUTE FUNCTION lexecon_refuse('${m}');`,
    `CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}`,
    `  FOR EACH ROW EXECUTE FUNCTION lexecon_refuse('${m}');`,
    `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}`,
    `  FOR EACH STATEMENT EXECUTE FUNCTION lexecon_refuse('${m}');`,
  ].join('\n');
}
