/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units, no whitespace,
 * ECMAScript number formatting, strings escaped as ECMAScript `JSON.stringify` does. The result is a
 * JavaScript string; hash its UTF-8 bytes.
 */

/** Deeper nesting is refused (it also stops cyclic structures before the stack does). */
export const MAX_DEPTH = 256;

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
  try {
    return fast(value, 0);
  } catch {
    // Something is refused (or a getter threw): the path-tracking walk below finds the same first problem
    // and throws it with its path, exactly as it always did.
    return serialize(value, '$', 0);
  }
}

/** A JSON string literal of `value`, or throws a {@link CanonicalJsonError} (at `path`) for a lone surrogate. */
export function canonicalString(value: string, path = '$'): string {
  if (!ESCAPED_OR_NON_ASCII.test(value)) return '"' + value + '"';
  if (!wellFormed(value)) throw new CanonicalJsonError('lone surrogate in string', path);
  return JSON.stringify(value);
}

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib typings): no lone surrogate. */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * A character that JSON escapes (control characters, `"`, `\\`) or that is not ASCII (a lone surrogate
 * would be among those): a string without any is its own JSON text between quotes. One character class,
 * no backtracking.
 */
const ESCAPED_OR_NON_ASCII = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/**
 * Object keys repeat (the same few dozen names in every ledger entry): their JSON texts are kept, for
 * keys of at most {@link KEY_CACHE_MAX_LENGTH} characters and up to {@link KEY_CACHE_SIZE} of them (then
 * no more are added: memory stays bounded whatever keys requests bring).
 */
const keyTexts = new Map<string, string>();
const KEY_CACHE_SIZE = 2048;
const KEY_CACHE_MAX_LENGTH = 64;

/** The JSON text of an object key, or throws {@link REFUSED} for a lone surrogate. */
function quotedKey(key: string): string {
  const cached = keyTexts.get(key);
  if (cached !== undefined) return cached;
  let text: string;
  if (!ESCAPED_OR_NON_ASCII.test(key)) text = '"' + key + '"';
  else if (wellFormed(key)) text = JSON.stringify(key);
  else throw REFUSED;
  if (key.length <= KEY_CACHE_MAX_LENGTH && keyTexts.size < KEY_CACHE_SIZE) keyTexts.set(key, text);
  return text;
}

/** Thrown by {@link fast} for anything it refuses; {@link canonicalize} then walks again with paths. */
const REFUSED = new Error('refused');

/**
 * The walk of {@link serialize} without building a path for every value (the garbage of a decision's
 * hot path): the same output, the same values refused (then {@link serialize} names the problem), the
 * same depth bound. JSON.stringify escapes a well-formed string exactly as RFC 8785 prescribes; a string
 * with a lone surrogate (which JSON.stringify would escape) is refused first.
 */
function fast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!ESCAPED_OR_NON_ASCII.test(value)) return '"' + value + '"';
      if (!wellFormed(value)) throw REFUSED;
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw REFUSED;
      // Number::toString, as JSON.stringify writes a finite number (-0 as 0).
      return '' + value;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw REFUSED;
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw REFUSED;
          out += i === 0 ? fast(item, depth + 1) : ',' + fast(item, depth + 1);
        }
        return out + ']';
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw REFUSED;
      const record = value as Record<string, unknown>;
      const keys = sortKeys(Object.keys(record));
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = record[key];
        if (item === undefined) continue;
        out += (out.length === 1 ? '' : ',') + quotedKey(key) + ':' + fast(item, depth + 1);
      }
      return out + '}';
    }
    default:
      throw REFUSED;
  }
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
  return canonicalString(value, path);
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

/**
 * Sort keys by UTF-16 code units (RFC 8785 §3.2.3; `<` on strings compares code units, as the default
 * sort does): insertion sort for the few keys of a typical object (faster there than Array.sort), the
 * built-in sort beyond.
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 24) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
