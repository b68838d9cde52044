import type { SqlValue, WriteStatement } from './port.js';

/**
 * `Queryable.runAll` (port.ts): the statement check both drivers make, and the one statement the
 * PostgreSQL driver sends for several writes.
 */

const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE']);

/** Texts already checked (repositories use a few fixed texts; bounded for odd dynamic SQL). */
const checked = new Set<string>();
const CHECKED_LIMIT = 2_000;

const isSpace = (c: string): boolean => c === ' ' || c === '\n' || c === '\r' || c === '\t';
const isLetter = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));

/**
 * Throws a TypeError unless `sql` is a plain INSERT, UPDATE or DELETE: it must begin with one of those
 * keywords (so no WITH of its own), have no RETURNING (the combined statement adds its own) and no
 * trailing `;`. Linear scans only: the leading keyword, then a case-insensitive search for the word
 * RETURNING (one inside a string literal is refused too: conservative, and repositories bind values).
 */
export function checkWriteStatement(sql: string): void {
  if (checked.has(sql)) return;
  let i = 0;
  while (i < sql.length && isSpace(sql[i]!)) i++;
  let j = i;
  while (isLetter(sql[j])) j++;
  const keyword = sql.slice(i, j).toUpperCase();
  if (!WRITE_KEYWORDS.has(keyword)) {
    throw new TypeError(`runAll takes INSERT, UPDATE or DELETE statements only, not: ${sql.slice(i, i + 40)}`);
  }
  const upper = sql.toUpperCase();
  for (let at = upper.indexOf('RETURNING'); at !== -1; at = upper.indexOf('RETURNING', at + 9)) {
    if (!isLetter(upper[at - 1]) && upper[at - 1] !== '_' && !isLetter(upper[at + 9]) && upper[at + 9] !== '_') {
      throw new TypeError('runAll statements may not have their own RETURNING');
    }
  }
  if (sql.trimEnd().endsWith(';')) throw new TypeError('runAll statements may not end with ;');
  if (checked.size >= CHECKED_LIMIT) checked.clear();
  checked.add(sql);
}

/**
 * Several writes as one PostgreSQL statement: each a data-modifying CTE returning one row per row it
 * wrote, the main query counting them. The `?` placeholders stay in order, so the parameters are the
 * statements' parameters concatenated (the driver numbers them as for any statement).
 */
export function combineWrites(statements: ReadonlyArray<WriteStatement>): { sql: string; params: SqlValue[] } {
  const ctes: string[] = [];
  const counts: string[] = [];
  const params: SqlValue[] = [];
  statements.forEach((s, i) => {
    checkWriteStatement(s.sql);
    // On a line of its own: a statement ending in a -- comment must not swallow it.
    ctes.push(`s${i + 1} AS (${s.sql}\n RETURNING 1)`);
    counts.push(`(SELECT count(*) FROM s${i + 1}) AS c${i + 1}`);
    if (s.params !== undefined) for (const p of s.params) params.push(p);
  });
  return { sql: `WITH ${ctes.join(', ')} SELECT ${counts.join(', ')}`, params };
}

/** The combined statement's one row → each statement's `changes`. */
export function countsOf(row: Record<string, unknown> | undefined, n: number): Array<{ changes: number }> {
  const out: Array<{ changes: number }> = [];
  for (let i = 1; i <= n; i++) out.push({ changes: Number(row?.[`c${i}`] ?? 0) });
  return out;
}
