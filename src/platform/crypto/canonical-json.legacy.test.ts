/**
 * canonicalize against the implementation it replaced (issue 16: a fast walk without per-value paths,
 * falling back to the path-tracking walk to name a refusal): on random values, valid and invalid, the
 * same string, or the same CanonicalJsonError (message and path).
 */
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalize, MAX_DEPTH } from './canonical-json.js';
import { prng } from '../../../test/helpers/prng.js';

// --- the implementation before issue 16, verbatim ------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function legacy(value: unknown): string {
  return serialize(value, '$', 0);
}

function serialize(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number', path);
      return JSON.stringify(value);
    case 'string':
      return serializeString(value, path);
    case 'object':
      if (depth >= MAX_DEPTH) throw new CanonicalJsonError(`nesting deeper than ${MAX_DEPTH} (or a cycle)`, path);
      return Array.isArray(value)
        ? serializeArray(value, path, depth + 1)
        : serializeObject(value as object, path, depth + 1);
    default:
      throw new CanonicalJsonError(`unsupported ${typeof value} value`, path);
  }
}

function serializeString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError('lone surrogate in string', path);
  return JSON.stringify(value);
}

function serializeArray(value: unknown[], path: string, depth: number): string {
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (item === undefined) throw new CanonicalJsonError('undefined array element', `${path}[${i}]`);
    if (i > 0) out += ',';
    out += serialize(item, `${path}[${i}]`, depth);
  }
  return out + ']';
}

function serializeObject(value: object, path: string, depth: number): string {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError(`non-plain object (${proto?.constructor?.name ?? 'unknown'})`, path);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += serializeString(key, path) + ':' + serialize(item, `${path}.${key}`, depth);
  }
  return out + '}';
}

// --- random values -----------------------------------------------------------------------------------

const rand = prng(0x16c0de);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const chars = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '東', '\u2028', '😀', '\uD800', '\uDBFF', '\uDC00', '\uDFFF'];

function randomString(max: number): string {
  let s = '';
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += pick(chars);
  return s;
}

class Custom {}

/** Mostly valid JSON values; `bad` is the chance that a leaf is something canonicalize refuses. */
function randomValue(depth: number, bad: number): unknown {
  if (rand() < bad) {
    return pick<unknown>([NaN, Infinity, -Infinity, undefined, 1n, () => 1, Symbol('s'), new Date(0), new Map(), new Custom(), '\uD800x']);
  }
  const kind = depth > 4 ? Math.floor(rand() * 4) : Math.floor(rand() * 7);
  switch (kind) {
    case 0:
      return pick([null, true, false, 0, -0, 1e21, 1e-7, -1.5, 2 ** 53]);
    case 1:
      return (rand() - 0.5) * 10 ** (Math.floor(rand() * 40) - 20);
    case 2:
      return randomString(10);
    case 3:
      return randomString(3);
    case 4:
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(depth + 1, bad));
    case 5: {
      const o: Record<string, unknown> = rand() < 0.2 ? Object.create(null) : {};
      const n = Math.floor(rand() * 5);
      for (let i = 0; i < n; i++) o[randomString(4)] = randomValue(depth + 1, bad);
      return o;
    }
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 3; i++) o[pick(['1', '10', '2', 'a', 'A', 'é', '\uD800', ''])] = rand() < 0.3 ? undefined : randomValue(depth + 1, bad);
      return o;
    }
  }
}

function outcome(fn: () => string): { ok: string } | { error: string; path: string; name: string } {
  try {
    return { ok: fn() };
  } catch (err) {
    expect(err).toBeInstanceOf(CanonicalJsonError);
    const e = err as CanonicalJsonError;
    return { error: e.message, path: e.path, name: e.name };
  }
}

describe('canonicalize: same result as the implementation before issue 16', () => {
  it('on 3,000 random values (valid and invalid): the same string or the same error and path', () => {
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(0, i % 3 === 0 ? 0 : 0.04);
      const expected = outcome(() => legacy(value));
      if ('error' in expected) refused++;
      expect(outcome(() => canonicalize(value))).toEqual(expected);
    }
    // Both kinds were exercised.
    expect(refused).toBeGreaterThan(200);
    expect(refused).toBeLessThan(2800);
  });

  it('on sparse arrays, depth at and past MAX_DEPTH, and cycles', () => {
    const deep = (n: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = i % 2 === 0 ? [v] : { k: v };
      return v;
    };
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    for (const value of [[1, , 2], deep(MAX_DEPTH), deep(MAX_DEPTH + 1), cyclic, { a: [undefined] }, { b: { '\uDC00': 1 } }]) {
      expect(outcome(() => canonicalize(value))).toEqual(outcome(() => legacy(value)));
    }
  });
});
