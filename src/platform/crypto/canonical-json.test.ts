import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalize, MAX_DEPTH } from './canonical-json.js';
import { sha256Hex } from './sha256.js';
import { goldenVector, thrown } from '../../../test/helpers/paths.js';
import { prng } from '../../../test/helpers/prng.js';


interface CanonicalVector {
  name: string;
  input_json: string;
  canonical: string;
  sha256: string;
}

const vectors = goldenVector<{ cases: CanonicalVector[] }>('canonical-json.json').cases;

/** Canonicalize `value`, expecting a CanonicalJsonError, and return it. */
function rejection(value: unknown): CanonicalJsonError {
  return thrown(() => canonicalize(value), CanonicalJsonError);
}


describe('canonicalize: golden vectors (test/vectors)', () => {
  it('has the vector file with cases', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(4);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: canonical form and sha256', (_name, v) => {
    const out = canonicalize(JSON.parse(v.input_json));
    expect(out).toBe(v.canonical);
    expect(sha256Hex(out)).toBe(v.sha256);
    // Hashing the UTF-8 bytes explicitly gives the same digest.
    expect(sha256Hex(new Uint8Array(Buffer.from(out, 'utf8')))).toBe(v.sha256);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: canonical form is a fixed point', (_name, v) => {
    expect(canonicalize(JSON.parse(v.canonical))).toBe(v.canonical);
  });
});

describe('canonicalize: literals and primitives', () => {
  it.each([
    [null, 'null'],
    [true, 'true'],
    [false, 'false'],
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1, '-1'],
    [1.5, '1.5'],
    [-0.25, '-0.25'],
    ['', '""'],
    ['abc', '"abc"'],
  ] as const)('%j → %s', (value, expected) => {
    expect(canonicalize(value)).toBe(expected);
  });

  it('writes -0 as 0 inside structures too', () => {
    expect(canonicalize({ a: -0, b: [-0, 0] })).toBe('{"a":0,"b":[0,0]}');
  });
});

describe('canonicalize: numbers (ECMAScript Number::toString, RFC 8785 appendix B)', () => {
  it.each([
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [1e-7, '1e-7'],
    [1e-6, '0.000001'],
    [-1e-7, '-1e-7'],
    [1e30, '1e+30'],
    [1.5e300, '1.5e+300'],
    [2e-3, '0.002'],
    [4.5, '4.5'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [Number.MIN_SAFE_INTEGER, '-9007199254740991'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [Number.MIN_VALUE, '5e-324'],
    [123456789012345680000, '123456789012345680000'],
  ] as const)('%d → %s', (value, expected) => {
    expect(canonicalize(value)).toBe(expected);
    expect(canonicalize([value])).toBe(`[${expected}]`);
  });

  // IEEE 754 bit patterns and their required serialization, from RFC 8785 appendix B.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ] as const)('bits %s → %s', (bits, expected) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    expect(canonicalize(value)).toBe(expected);
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ] as const)('rejects %s at the top level with path $', (_name, value) => {
    const err = rejection(value);
    expect(err.path).toBe('$');
    expect(err.message).toContain('non-finite');
    expect(err.message).toContain('at $');
  });

  it('names the path of a non-finite number in objects and arrays', () => {
    expect(rejection({ x: NaN }).path).toBe('$.x');
    expect(rejection([1, 2, Infinity]).path).toBe('$[2]');
    const nested = rejection({ a: { b: [0, { c: -Infinity }] } });
    expect(nested.path).toBe('$.a.b[1].c');
    expect(nested.message).toMatch(/at \$\.a\.b\[1\]\.c$/);
  });

  it('is a TypeError with name CanonicalJsonError', () => {
    const err = rejection(NaN);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe('CanonicalJsonError');
  });
});

describe('canonicalize: strings', () => {
  it('escapes every C0 control character, short forms where JSON has them, else \\u00xx lowercase', () => {
    const short: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r' };
    for (let c = 0; c < 0x20; c++) {
      const expected = short[c] ?? `\\u${c.toString(16).padStart(4, '0')}`;
      expect(canonicalize(String.fromCharCode(c))).toBe(`"${expected}"`);
    }
    expect(canonicalize('\u001a\u001f\u000b')).toBe('"\\u001a\\u001f\\u000b"');
    expect(canonicalize('\u001F')).not.toContain('\\u001F');
  });

  it('escapes only the quotation mark and the backslash among printable ASCII', () => {
    let printable = '';
    for (let c = 0x20; c < 0x7f; c++) printable += String.fromCharCode(c);
    const expected = printable.replace('\\', '\\\\').replace('"', '\\"');
    expect(canonicalize(printable)).toBe(`"${expected}"`);
    expect(canonicalize('a/b')).toBe('"a/b"');
  });

  it('writes DEL, non-ASCII, U+2028/U+2029 and astral characters literally', () => {
    expect(canonicalize('\u007f')).toBe('"\u007f"');
    expect(canonicalize('Grüße, 東京')).toBe('"Grüße, 東京"');
    expect(canonicalize('\u2028\u2029')).toBe('"\u2028\u2029"');
    expect(canonicalize('😀')).toBe('"😀"');
    expect(canonicalize('\uD83D\uDE00')).toBe('"😀"');
    expect(canonicalize('\uFFFF\uFEFF')).toBe('"\uFFFF\uFEFF"');
  });

  it('hashes the UTF-8 bytes of the result', () => {
    expect(sha256Hex(canonicalize('é'))).toBe(sha256Hex(new Uint8Array([0x22, 0xc3, 0xa9, 0x22])));
    expect(sha256Hex(canonicalize('😀'))).toBe(sha256Hex(new Uint8Array([0x22, 0xf0, 0x9f, 0x98, 0x80, 0x22])));
  });

  it.each([
    ['high surrogate alone', '\uD800'],
    ['low surrogate alone', '\uDC00'],
    ['high surrogate at the end', 'abc\uD83D'],
    ['low surrogate at the start', '\uDE00abc'],
    ['high surrogate followed by a letter', 'a\uD83Db'],
    ['pair in the wrong order', '\uDE00\uD83D'],
    ['two high surrogates', '\uD83D\uD83D'],
    ['valid pair then a lone low surrogate', '\uD83D\uDE00\uDE00'],
  ] as const)('rejects a lone surrogate in a value: %s', (_name, s) => {
    const err = rejection(s);
    expect(err.path).toBe('$');
    expect(err.message).toContain('surrogate');
    expect(rejection({ deep: ['ok', s] }).path).toBe('$.deep[1]');
  });

  it('rejects a lone surrogate in a key, naming the object that holds it', () => {
    expect(rejection({ '\uD800': 1 }).path).toBe('$');
    expect(rejection({ a: { ['x\uDC00']: 1 } }).path).toBe('$.a');
    expect(rejection([{ ok: 1 }, { ['\uDBFF']: true }]).path).toBe('$[1]');
  });

  it('does not look at the key of an omitted (undefined) property', () => {
    // A key whose value is undefined is dropped before it is written, so its spelling does not matter.
    expect(canonicalize({ '\uD800': undefined, a: 1 })).toBe('{"a":1}');
  });

  it('accepts well-formed surrogate pairs in keys and values', () => {
    expect(canonicalize({ '😀': '😀' })).toBe('{"😀":"😀"}');
  });
});

describe('canonicalize: object keys', () => {
  it('sorts keys by UTF-16 code units, not by code point or locale', () => {
    // U+1F600 is encoded as D83D DE00, which sorts before U+FB33 by code unit (but after it by code point).
    expect(canonicalize({ '\uFB33': 1, '😀': 2 })).toBe('{"😀":2,"\uFB33":1}');
    // Upper case before lower case (ASCII order), not locale order.
    expect(canonicalize({ b: 1, a: 2, B: 3, A: 4 })).toBe('{"A":4,"B":3,"a":2,"b":1}');
    // Accented letters after all ASCII.
    expect(canonicalize({ é: 1, z: 2, e: 3 })).toBe('{"e":3,"z":2,"é":1}');
  });

  it('sorts integer-like keys as strings (JS objects enumerate them numerically)', () => {
    expect(canonicalize({ 10: 'a', 9: 'b', 1: 'c', x: 'd', 100: 'e' })).toBe(
      '{"1":"c","10":"a","100":"e","9":"b","x":"d"}',
    );
  });

  it('sorts a prefix before its extensions and the empty key first', () => {
    expect(canonicalize({ aa: 1, a: 2, '': 3, ab: 4 })).toBe('{"":3,"a":2,"aa":1,"ab":4}');
  });

  it('does not depend on insertion order', () => {
    const a = { x: 1, y: { p: [1, 2], q: null }, z: 'z' };
    const b = { z: 'z', y: { q: null, p: [1, 2] }, x: 1 };
    expect(canonicalize(a)).toBe(canonicalize(b));
    expect(canonicalize(a)).toBe('{"x":1,"y":{"p":[1,2],"q":null},"z":"z"}');
  });

  it('escapes keys like strings', () => {
    expect(canonicalize({ 'a"b': 1, 'c\\d': 2, 'e\nf': 3, '\u0001': 4 })).toBe(
      '{"\\u0001":4,"a\\"b":1,"c\\\\d":2,"e\\nf":3}',
    );
  });

  it('omits properties whose value is undefined, keeping commas right', () => {
    expect(canonicalize({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalize({ b: undefined })).toBe('{}');
    expect(canonicalize({ a: undefined, b: 1, c: undefined, d: 2, e: undefined })).toBe('{"b":1,"d":2}');
    expect(canonicalize({ x: { y: undefined } })).toBe('{"x":{}}');
  });

  it('keeps null properties', () => {
    expect(canonicalize({ a: null })).toBe('{"a":null}');
  });

  it('ignores symbol-keyed and non-enumerable properties, as JSON does', () => {
    const o: Record<string | symbol, unknown> = { a: 1, [Symbol('s')]: 2 };
    Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
    expect(canonicalize(o)).toBe('{"a":1}');
  });

  it('accepts objects without a prototype', () => {
    const inner = Object.create(null) as Record<string, unknown>;
    inner.z = true;
    inner.a = 'x';
    const outer = Object.create(null) as Record<string, unknown>;
    outer.list = [inner];
    outer.n = 1;
    expect(canonicalize(outer)).toBe('{"list":[{"a":"x","z":true}],"n":1}');
  });
});

describe('canonicalize: arrays and nesting', () => {
  it.each([
    [{}, '{}'],
    [[], '[]'],
    [[[]], '[[]]'],
    [[{}], '[{}]'],
    [{ a: {} }, '{"a":{}}'],
    [{ a: [] }, '{"a":[]}'],
    [[[[[1]]]], '[[[[1]]]]'],
    [[1, 'two', null, true, false, { three: 3 }, [4]], '[1,"two",null,true,false,{"three":3},[4]]'],
  ] as const)('%j → %s', (value, expected) => {
    expect(canonicalize(value)).toBe(expected);
  });

  it('keeps array order (arrays are not sorted)', () => {
    expect(canonicalize([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalize(['b', 'a'])).toBe('["b","a"]');
  });

  it('writes no whitespace', () => {
    const out = canonicalize({ a: [1, { b: 2, c: [null, { d: 'e' }] }], f: { g: {} } });
    expect(out).toBe('{"a":[1,{"b":2,"c":[null,{"d":"e"}]}],"f":{"g":{}}}');
    expect(out).not.toMatch(/\s/);
  });

  it('rejects an undefined array element with its path', () => {
    const err = rejection([1, undefined, 3]);
    expect(err.path).toBe('$[1]');
    expect(err.message).toContain('undefined');
    expect(rejection({ a: [[0, undefined]] }).path).toBe('$.a[0][1]');
  });

  it('rejects holes in sparse arrays', () => {
    expect(rejection([1, , 3]).path).toBe('$[1]');
    expect(rejection(new Array(2)).path).toBe('$[0]');
  });

  it('handles deep nesting', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < 200; i++) value = i % 2 === 0 ? [value] : { k: value };
    const out = canonicalize(value);
    expect(JSON.parse(out)).toEqual(value);
    expect(out.length).toBe('"leaf"'.length + 100 * 2 + 100 * '{"k":}'.length);
  });
});

describe('canonicalize: unsupported values', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }

  it.each([
    ['bigint', 1n],
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['Date', new Date(0)],
    ['Map', new Map([['a', 1]])],
    ['Set', new Set([1])],
    ['class instance', new Point(1, 2)],
    ['RegExp', /x/],
    ['Uint8Array', new Uint8Array([1])],
    ['Error', new Error('x')],
    ['boxed String', new String('x')],
    ['boxed Number', new Number(1)],
    ['boxed Boolean', new Boolean(true)],
    ['Promise', Promise.resolve(1)],
  ] as const)('rejects %s at the top level and inside structures, naming the path', (_name, value) => {
    expect(rejection(value).path).toBe('$');
    expect(rejection({ field: value }).path).toBe('$.field');
    expect(rejection([0, [value]]).path).toBe('$[1][0]');
  });

  it('rejects undefined at the top level (it is no JSON value) but omits it as a property', () => {
    const err = rejection(undefined);
    expect(err.path).toBe('$');
    expect(err.message).toContain('undefined');
    expect(canonicalize({ field: undefined })).toBe('{}');
  });

  it('does not call toJSON (a Date is not silently turned into a string)', () => {
    expect(rejection({ when: new Date('2026-01-01T00:00:00Z') }).message).toContain('Date');
    expect(rejection({ toJSON: () => 'x' }).path).toBe('$.toJSON');
  });

  it('names the offending class in the message', () => {
    expect(rejection(new Point(0, 0)).message).toContain('Point');
    expect(rejection(new Map()).message).toContain('Map');
  });
});

describe('canonicalize: depth and cycles', () => {
  it('accepts nesting up to MAX_DEPTH and refuses deeper nesting with a CanonicalJsonError', () => {
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) ok = [ok];
    expect(canonicalize(ok)).toBe('['.repeat(MAX_DEPTH) + '1' + ']'.repeat(MAX_DEPTH));
    const tooDeep = [ok];
    expect(() => canonicalize(tooDeep)).toThrow(CanonicalJsonError);
  });

  it('refuses a cyclic structure with a CanonicalJsonError, not a stack overflow', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(() => canonicalize(a)).toThrow(CanonicalJsonError);
    expect(() => canonicalize(a)).toThrow(/cycle/);
  });
});

describe('canonicalize: agreement with JSON on generated values', () => {
  const rand = prng(0x1e8ec0);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const keyChars = ['a', 'b', 'B', 'z', '_', '0', '9', 'é', 'ß', '東', '😀', '"', '\\', '\n', ' '];

  function randomString(max: number): string {
    let s = '';
    const n = Math.floor(rand() * max);
    for (let i = 0; i < n; i++) s += pick(keyChars);
    return s;
  }

  function randomNumber(): number {
    switch (Math.floor(rand() * 4)) {
      case 0:
        return Math.floor(rand() * 2000) - 1000;
      case 1:
        return (rand() - 0.5) * 1e6;
      case 2:
        return (rand() - 0.5) * 10 ** (Math.floor(rand() * 60) - 30);
      default:
        return Buffer.from(Array.from({ length: 8 }, () => Math.floor(rand() * 256))).readDoubleBE(0);
    }
  }

  function randomValue(depth: number): unknown {
    const kind = depth > 3 ? Math.floor(rand() * 4) : Math.floor(rand() * 6);
    switch (kind) {
      case 0:
        return pick([null, true, false]);
      case 1: {
        const n = randomNumber();
        return Number.isFinite(n) ? n : 0;
      }
      case 2:
        return randomString(8);
      case 3:
        return randomString(3);
      case 4:
        return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        const n = Math.floor(rand() * 5);
        for (let i = 0; i < n; i++) o[`k${randomString(4)}`] = randomValue(depth + 1);
        return o;
      }
    }
  }

  /** Reference: sort keys (all keys start with 'k', so the engine keeps insertion order), then JSON.stringify. */
  function reference(value: unknown): string {
    const sorted = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sorted);
      if (v !== null && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v).sort()) out[k] = sorted((v as Record<string, unknown>)[k]);
        return out;
      }
      return v;
    };
    return JSON.stringify(sorted(value));
  }

  it('matches sorted JSON.stringify, round-trips, and is idempotent for 500 random values', () => {
    for (let i = 0; i < 500; i++) {
      const value = randomValue(0);
      const out = canonicalize(value);
      expect(out).toBe(reference(value));
      expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(value)));
      expect(canonicalize(JSON.parse(out))).toBe(out);
    }
  });
});
