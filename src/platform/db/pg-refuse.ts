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
