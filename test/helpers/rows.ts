import type { DbPort, SqlValue } from '../../src/platform/db/port.js';

/** `SELECT count(*)` of a table through the app's storage port (either backend; an app or `{ port }`), optionally with a portable WHERE clause and its parameters. */
export async function countRows(t: { port: DbPort }, table: string, where = '', params: readonly SqlValue[] = []): Promise<number> {
  const row = await t.port.one<{ n: number }>(`SELECT count(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`, params);
  return row!.n;
}
