/** A value bound to a `?` placeholder (bind numbers to INTEGER or REAL columns only). */
export type SqlValue = string | number;

/**
 * The ` WHERE a = ? AND b > ?` part of a list query and its parameters, from optional filters: each
 * `[clause, value]` whose value is undefined is left out; no filter gives `''`. Clauses are fixed SQL
 * texts with one `?` each; values are always bound, never spliced.
 */
export function whereClause(filters: ReadonlyArray<readonly [clause: string, value: SqlValue | undefined]>): {
  sql: string;
  params: SqlValue[];
} {
  const present = filters.filter((f): f is readonly [string, SqlValue] => f[1] !== undefined);
  return {
    sql: present.length ? ` WHERE ${present.map(([clause]) => clause).join(' AND ')}` : '',
    params: present.map(([, value]) => value),
  };
}
