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

/**
 * `(?, ?, …)` for `column IN …` and its parameters, for a non-empty list of values. The list is padded
 * (its last value repeated: IN ignores duplicates) to the next power of two, so that the lists of any
 * length give a few SQL texts (a page of up to 512 ids: 10), not one prepared statement per length.
 */
export function inList(values: readonly SqlValue[]): { sql: string; params: SqlValue[] } {
  if (values.length === 0) throw new RangeError('inList needs at least one value');
  let size = 1;
  while (size < values.length) size *= 2;
  const params = [...values];
  while (params.length < size) params.push(values[values.length - 1]!);
  return { sql: `(${params.map(() => '?').join(', ')})`, params };
}
