/**
 * Repositories write ONE SQL text for both dialects with `?` positional placeholders (SQLite's native
 * style). PostgreSQL wants `$1, $2, …`: `numberPlaceholders` rewrites them with a single left-to-right
 * scan (no RegExp), leaving alone every `?` inside a string literal ('…', E'…' with backslash escapes),
 * a quoted identifier ("…"), a dollar-quoted body ($$…$$, $tag$…$tag$) or a comment (-- …, nested /* … *\/).
 *
 * Consequence for repository SQL: PostgreSQL's jsonb operators `?`, `?|`, `?&` cannot be written bare
 * (they would be taken for placeholders); use `jsonb_exists(…)`/`jsonb_exists_any(…)` or keep them in
 * a per-dialect migration. Mixing `$n` into a `?` text is refused: one placeholder style.
 */

export class PlaceholderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaceholderError';
  }
}

export interface NumberedSql {
  text: string;
  /** How many placeholders the text has (the number of parameters it needs). */
  count: number;
}

const isIdentChar = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '$' || c > '\x7f');

const isTagStart = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\x7f');

/** Index just past the quote that closes a '…' or "…" run starting at `open` (doubled quote = escaped). */
function skipQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  throw new PlaceholderError(`unterminated ${quote === "'" ? 'string literal' : 'quoted identifier'} in SQL`);
}

/** Index past a block comment starting at `open` ("/*"); PostgreSQL nests them. */
function skipBlockComment(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new PlaceholderError('unterminated block comment in SQL');
}

/**
 * If a dollar quote opens at `open` ("$$" or "$tag$"), the index past its closing delimiter; else -1.
 */
function skipDollarQuote(sql: string, open: number): number {
  let j = open + 1;
  if (sql[j] !== '$') {
    if (!isTagStart(sql[j])) return -1;
    while (isIdentChar(sql[j]) && sql[j] !== '$') j++;
    if (sql[j] !== '$') return -1;
  }
  const tag = sql.slice(open, j + 1);
  const close = sql.indexOf(tag, j + 1);
  if (close === -1) throw new PlaceholderError('unterminated dollar-quoted string in SQL');
  return close + tag.length;
}

/** Rewrite `?` placeholders to `$1…$n` (see the module comment). Linear in the length of `sql`. */
export function numberPlaceholders(sql: string): NumberedSql {
  let out = '';
  let from = 0; // start of the not yet copied part of sql
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      const prev = sql[i - 1];
      const escapeString = (prev === 'E' || prev === 'e') && !isIdentChar(sql[i - 2]);
      i = skipQuoted(sql, i, "'", escapeString);
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i + 2);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === '$' && !isIdentChar(sql[i - 1])) {
      const next = sql[i + 1];
      if (next !== undefined && next >= '0' && next <= '9') {
        throw new PlaceholderError('SQL mixes $n with ? placeholders: repositories use ? only');
      }
      const end = skipDollarQuote(sql, i);
      i = end === -1 ? i + 1 : end;
    } else if (c === '?') {
      count++;
      out += sql.slice(from, i) + '$' + count;
      i++;
      from = i;
    } else {
      i++;
    }
  }
  return { text: from === 0 ? sql : out + sql.slice(from), count };
}
