import { describe, expect, it } from 'vitest';
import { whereClause } from './where.js';

describe('whereClause', () => {
  it('keeps the filters that have a value, in order, and binds them', () => {
    expect(whereClause([['a = ?', 'x'], ['b > ?', undefined], ['c < ?', 3]])).toEqual({ sql: ' WHERE a = ? AND c < ?', params: ['x', 3] });
  });

  it('gives nothing without a filter (an empty string and a 0 are values)', () => {
    expect(whereClause([['a = ?', undefined]])).toEqual({ sql: '', params: [] });
    expect(whereClause([['a = ?', ''], ['b > ?', 0]])).toEqual({ sql: ' WHERE a = ? AND b > ?', params: ['', 0] });
  });
});
