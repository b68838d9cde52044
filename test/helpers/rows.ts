import type { SqlValue } from '../../src/platform/db/port.js';
import type { TestApp } from './build-test-app.js';

/** `SELECT count(*)` of a table through the app's storage port (either backend), optionally with a portable WHERE clause and its parameters. */
export async function countRows(t: TestApp, table: string, where = '', params: readonly SqlValue[] = []): Promise<number> {
  const row = await t.port.one<{ n: number }>(`SELECT count(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`, params);
  return row!.n;
}
