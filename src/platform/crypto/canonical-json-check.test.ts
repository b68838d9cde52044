import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonical-json.js';
import { prng as rng } from '../../../test/helpers/prng.js';
import { canonicalStringEnd, canonicalValueEnd, isCanonicalJson, MAX_CHECK_DEPTH } from './canonical-json-check.js';

const CHARS = ['a', 'b', 'z', 'A', '_', '0', ' ', '"', '\\', '/', '\n', '\t', '\b', '\f', '\r', '\u0000', '\u0001', '\u001f',
  '\u007f', 'é', 'ü', '\u2028', '\u2029', '漢', '😀', '𝄞', '\uFEFF', '\uFFFF', '<', '}', ',', ':'];

function randomString(r: () => number, max = 8): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += CHARS[Math.floor(r() * CHARS.length)];
  return s;
}

const NUMBERS = [0, -0, 1, -1, 7, 42, 100, 1e15, 999999999999999, 1e16, 12345678901234567, 2 ** 53, -(2 ** 53), 1e21, 1e-7, 1.5,
  -0.25, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308, 123.456, 1e100, -1e-100, 4.35, 0.000001];

function randomNumber(r: () => number): number {
  const pick = r();
  if (pick < 0.5) return NUMBERS[Math.floor(r() * NUMBERS.length)]!;
  if (pick < 0.8) return Math.floor((r() - 0.5) * 10 ** Math.floor(r() * 18));
  return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
}

function randomValue(r: () => number, depth = 0): unknown {
  const k = r();
  if (depth > 4 || k < 0.35) {
    const p = r();
    if (p < 0.1) return null;
    if (p < 0.2) return r() < 0.5;
    if (p < 0.55) return randomNumber(r);
    return randomString(r);
  }
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[randomString(r, 4)] = randomValue(r, depth + 1);
  return o;
}

/**
 * The reference: the canonical serialization of a value with strings written by JSON.stringify (what
 * canonicalize writes, where it accepts the value; it refuses lone surrogates, JSON.stringify escapes them).
 */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
    .join(',')}}`;
}

/** The oracle: the text is the canonical form of its own value. */
function oracle(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  return reference(value) === text;
}

/** Small edits that often make a canonical text non-canonical (or not JSON). */
const PERTURBATIONS: Array<(t: string, r: () => number) => string> = [
  (t, r) => insertAt(t, r, ' '),
  (t, r) => insertAt(t, r, '\n'),
  (t, r) => deleteAt(t, r),
  (t, r) => replaceAt(t, r, '"'),
  (t, r) => replaceAt(t, r, '\\'),
  (t) => t.replace('":', '" :'),
  (t) => t.replace(/\\n/, '\\u000a'),
  (t) => t.replace(/\\u001f/, '\\u001F'),
  (t) => t.replace(/\//, '\\/'),
  (t) => t.replace(/é/, '\\u00e9'),
  (t) => t.replace(/😀/, '\\ud83d\\ude00'),
  (t) => t.replace(/😀/, '\\ud83d\ude00'),
  (t) => t.replace(/😀/, '\ud83d'),
  (t) => t.replace(/(\d)(,|\]|\}|$)/, '$1.0$2'),
  (t) => t.replace(/(\d)(,|\]|\}|$)/, '$1e0$2'),
  (t) => t.replace(/:0/, ':-0'),
  (t) => t.replace(/:(\d)/, ':0$1'),
  (t) => t.replace(/e\+/, 'E+'),
  (t) => t.replace(/e\+/, 'e'),
  (t) => t.replace(/true/, 'True'),
  // Swap the first two members of an object (key order), duplicate a member (duplicate key).
  (t) => t.replace(/\{("[^"\\]*":\d+),("[^"\\]*":\d+)/, '{$2,$1'),
  (t) => t.replace(/\{("[^"\\]*":\d+)/, '{$1,$1'),
  (t) => `${t} `,
  (t) => ` ${t}`,
  (t) => `${t}${t}`,
];

function insertAt(t: string, r: () => number, s: string): string {
  const i = Math.floor(r() * (t.length + 1));
  return t.slice(0, i) + s + t.slice(i);
}
function deleteAt(t: string, r: () => number): string {
  const i = Math.floor(r() * t.length);
  return t.slice(0, i) + t.slice(i + 1);
}
function replaceAt(t: string, r: () => number, s: string): string {
  const i = Math.floor(r() * t.length);
  return t.slice(0, i) + s + t.slice(i + 1);
}

describe('isCanonicalJson', () => {
  it('accepts canonicalize output for random values (property, 5,000 values)', () => {
    const r = rng(16);
    for (let n = 0; n < 5000; n++) {
      const text = canonicalize(randomValue(r));
      if (!isCanonicalJson(text)) throw new Error(`refused canonical text (case ${n}): ${JSON.stringify(text)}`);
    }
  });

  it('says canonical exactly when the text is the canonical form of its value, on perturbed texts (property, 10,000 texts)', () => {
    const r = rng(8785);
    let refused = 0;
    for (let n = 0; n < 10_000; n++) {
      let text = canonicalize(randomValue(r));
      const edits = 1 + Math.floor(r() * 2);
      for (let e = 0; e < edits; e++) text = PERTURBATIONS[Math.floor(r() * PERTURBATIONS.length)]!(text, r);
      const expected = oracle(text);
      if (isCanonicalJson(text) !== expected) throw new Error(`case ${n}: ${JSON.stringify(text)} canonical=${expected}`);
      if (!expected) refused++;
    }
    // The perturbations mostly break canonical form: the property is not vacuous.
    expect(refused).toBeGreaterThan(5_000);
  });

  it.each([
    ['{"a":1,"b":2}', true],
    ['{"b":2,"a":1}', false],
    ['{"a":1,"a":1}', false],
    ['{"a":1, "b":2}', false],
    [' {"a":1}', false],
    ['{"a":1}\n', false],
    ['{"":0,"a":[]}', true],
    ['{"a":{}}', true],
    ['[1,2,[3,[]],{}]', true],
    ['"\\u001f"', true],
    ['"\\u001F"', false],
    ['"\\n"', true],
    ['"\\u000a"', false],
    ['"\\/"', false],
    ['"/"', true],
    ['"\\u0041"', false],
    ['"\u007f\u2028"', true],
    ['"\\ud800"', true],
    ['"\\udc00"', true],
    ['"\\ud800x"', true],
    ['"\\ud83d\\ude00"', false],
    ['"\ud83d\ude00"', true],
    ['"\ud800"', false],
    ['"\udc00"', false],
    ['"\ud800\\udc00"', false],
    ['"\\ud800\udc00"', false],
    ['"\u0001"', false],
    ['1', true],
    ['-0', false],
    ['0', true],
    ['01', false],
    ['1.0', false],
    ['1.5', true],
    ['1e21', false],
    ['1e+21', true],
    ['1E+21', false],
    ['100000000000000000000', true],
    ['1000000000000000000000', false],
    ['12345678901234567', false],
    ['12345678901234568', true],
    ['0.1', true],
    ['.1', false],
    ['1.', false],
    ['-', false],
    ['1e', false],
    ['1e400', false],
    ['true', true],
    ['tru', false],
    ['null', true],
    ['', false],
    ['{', false],
    ['{"a":1', false],
    ['{"a"1}', false],
    ['{"a":1,}', false],
    ['[1,]', false],
    ['{"\\n":1,"a":2}', true],
    ['{"a":2,"\\n":1}', false],
    ['{"\\"":1,"\\\\":2}', true],
    ['{"\\\\":2,"\\"":1}', false],
    ['{"\\u001f":1,"\\\\":2}', true],
    ['{"\\u001f":1,"\\u001f":2}', false],
    ['{"a":1,"ab":2}', true],
    ['{"ab":1,"a":2}', false],
    ['{"\uff61":1,"😀":2}', false],
    ['{"😀":1,"\uff61":2}', true],
  ])('%s → %s', (text, expected) => {
    expect(isCanonicalJson(text)).toBe(expected);
    expect(oracle(text)).toBe(expected);
  });

  it('takes nesting up to canonicalize\'s limit, iteratively, and refuses deeper', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(isCanonicalJson(nested(MAX_CHECK_DEPTH))).toBe(true);
    expect(() => canonicalize(JSON.parse(nested(MAX_CHECK_DEPTH)))).not.toThrow();
    expect(isCanonicalJson(nested(MAX_CHECK_DEPTH + 1))).toBe(false);
    expect(() => canonicalize(JSON.parse(nested(MAX_CHECK_DEPTH + 1)))).toThrow();
    // Very deep input costs no stack.
    expect(isCanonicalJson(nested(1_000_000))).toBe(false);
    expect(isCanonicalJson('{"a":'.repeat(200) + '1' + '}'.repeat(200))).toBe(true);
  });

  it('is linear: a long string and many members in time proportional to the length', () => {
    const big = canonicalize({ s: 'x"\\'.repeat(300_000), a: Array.from({ length: 100_000 }, (_, i) => ({ [`k${i}`]: i })) });
    const t0 = performance.now();
    expect(isCanonicalJson(big)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

describe('canonicalValueEnd and canonicalStringEnd', () => {
  it('find the end of the value and ignore what follows', () => {
    const text = 'x{"a":[1,"]"]},"b"';
    expect(canonicalValueEnd(text, 1)).toBe(text.lastIndexOf(','));
    expect(canonicalStringEnd('"a\\"b",', 0)).toBe(6);
    expect(canonicalStringEnd('"a', 0)).toBe(-1);
    expect(canonicalValueEnd('{"a":1} ', 0)).toBe(7);
  });
});
