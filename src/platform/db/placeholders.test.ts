import { describe, expect, it } from 'vitest';
import { numberPlaceholders, PlaceholderError } from './placeholders.js';

describe('numberPlaceholders (? → $n for PostgreSQL)', () => {
  it('numbers bare placeholders left to right', () => {
    expect(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toEqual({
      text: 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)',
      count: 3,
    });
  });

  it('returns the text unchanged when there is no placeholder', () => {
    const sql = "SELECT 'a?' AS q";
    expect(numberPlaceholders(sql)).toEqual({ text: sql, count: 0 });
  });

  it.each([
    ["string literal", "SELECT 'why?', ?", "SELECT 'why?', $1"],
    ['doubled quote inside a literal', "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"],
    ['E-string with a backslash-escaped quote', "SELECT E'a\\'?', ?", "SELECT E'a\\'?', $1"],
    ['backslash in a standard string is no escape', "SELECT 'a\\', ?", "SELECT 'a\\', $1"],
    ['quoted identifier', 'SELECT "col?" FROM t WHERE x = ?', 'SELECT "col?" FROM t WHERE x = $1'],
    ['doubled quote in an identifier', 'SELECT "a""?" , ?', 'SELECT "a""?" , $1'],
    ['line comment', 'SELECT ? -- why?\n, ?', 'SELECT $1 -- why?\n, $2'],
    ['line comment at the end', 'SELECT ? -- why?', 'SELECT $1 -- why?'],
    ['block comment', 'SELECT /* ? */ ?', 'SELECT /* ? */ $1'],
    ['nested block comment', 'SELECT /* a /* ? */ ? */ ?', 'SELECT /* a /* ? */ ? */ $1'],
    ['dollar quote', 'SELECT $$ ? $$, ?', 'SELECT $$ ? $$, $1'],
    ['tagged dollar quote', 'SELECT $fn$ ? $$ ? $fn$, ?', 'SELECT $fn$ ? $$ ? $fn$, $1'],
    ['$ inside an identifier', 'SELECT a$b, ?', 'SELECT a$b, $1'],
    ['identifier ending in e before a literal', "SELECT name'?' , ?", "SELECT name'?' , $1"],
  ])('leaves ? alone inside a %s', (_what, sql, expected) => {
    expect(numberPlaceholders(sql).text).toBe(expected);
  });

  it('counts placeholders after multi-byte text', () => {
    expect(numberPlaceholders("SELECT 'é?', ?, '😀'")).toEqual({ text: "SELECT 'é?', $1, '😀'", count: 1 });
  });

  it.each([
    ['unterminated string', "SELECT 'abc"],
    ['unterminated identifier', 'SELECT "abc'],
    ['unterminated comment', 'SELECT /* abc'],
    ['unterminated dollar quote', 'SELECT $x$ abc'],
    ['mixed styles', 'SELECT ?, $1'],
  ])('refuses %s', (_what, sql) => {
    expect(() => numberPlaceholders(sql)).toThrow(PlaceholderError);
  });

  it('is linear: a long text of quotes and placeholders scans quickly', () => {
    const sql = "SELECT '" + "''".repeat(200_000) + "' , " + '?,'.repeat(50_000) + '?';
    const started = performance.now();
    const { count } = numberPlaceholders(sql);
    expect(count).toBe(50_001);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
