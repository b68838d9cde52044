/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units, no whitespace,
 * ECMAScript number formatting, strings escaped as ECMAScript `JSON.stringify` does. The result is a
 * JavaScript string; hash its UTF-8 bytes.
 */

/** Deeper nesting is refused (it also stops cyclic structures before the stack does). */
export const MAX_DEPTH = 256;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class CanonicalJsonError extends TypeError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path}`);
    this.name = 'CanonicalJsonError';
  }
}

/**
 * Serialize a JSON value canonically (RFC 8785).
 *
 * Accepts `null`, booleans, finite numbers, strings, arrays and plain objects. Object properties whose
 * value is `undefined` are omitted (as `JSON.stringify` does), so optional fields left unset do not
 * change a hash. Throws {@link CanonicalJsonError} for non-finite numbers, lone surrogates, `undefined`
 * in arrays, bigint, functions, symbols and non-plain objects (Date, Map, class instances), naming the
 * path of the offending value.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', 0);
}

function serialize(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number', path);
      // JSON.stringify formats numbers exactly as ECMAScript Number::toString, and -0 as 0.
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
  // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
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
