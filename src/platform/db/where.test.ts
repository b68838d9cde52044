import { describe, expect, it } from 'vitest';
import { inList, whereClause } from './where.js';

describe('whereClause', () => {
  it('keeps the filters that have a value, in order, and binds them', () => {
    expect(whereClause([['a = ?', 'x'], ['b > ?', undefined], ['c < ?', 3]])).toEqual({ sql: ' WHERE a = ? AND c < ?', params: ['x', 3] });
  });

  it('gives nothing without a filter (an empty string and a 0 are values)', () => {
    expect(whereClause([['a = ?', undefined]])).toEqual({ sql: '', params: [] });
    expect(whereClause([['a = ?', ''], ['b > ?', 0]])).toEqual({ sql: ' WHERE a = ? AND b > ?', params: ['', 0] });
  });
});

describe('inList', () => {
  it('binds every value, padded with the last one to the next power of two', () => {
    expect(inList(['a'])).toEqual({ sql: '(?)', params: ['a'] });
    expect(inList(['a', 'b', 'c'])).toEqual({ sql: '(?, ?, ?, ?)', params: ['a', 'b', 'c', 'c'] });
    expect(inList(['a', 'b', 'c', 'd'])).toEqual({ sql: '(?, ?, ?, ?)', params: ['a', 'b', 'c', 'd'] });
  });

  it('gives one text per power of two: 10 texts for the lengths 1 to 512', () => {
    const texts = new Set(Array.from({ length: 512 }, (_, i) => inList(Array.from({ length: i + 1 }, (_, j) => j)).sql));
    expect(texts.size).toBe(10);
  });

  it('refuses an empty list (IN () is not SQL)', () => {
    expect(() => inList([])).toThrow(RangeError);
  });
});
