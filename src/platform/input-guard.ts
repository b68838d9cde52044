import type { FastifyInstance } from 'fastify';
import { errors } from './errors.js';

/**
 * Input that no route can use, refused once for every route before any schema runs: JSON nested deeper
 * than a bound (a 5,000-deep value overflows the stack of whatever recursive code meets it next:
 * `JSON.stringify`, zod, canonicalization) and strings that are not well-formed Unicode (a lone
 * surrogate such as `"\ud800"` cannot be canonicalized (RFC 8785), hashed into the ledger or stored
 * faithfully as UTF-8).
 */

/** The default bound on the nesting of a request body: objects and arrays, the body itself being level 1. */
export const BODY_MAX_DEPTH = 32;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route's own bound on its body's nesting (default {@link BODY_MAX_DEPTH}); policy documents nest deeper. */
    bodyDepth?: number;
  }
}

/** The index of the first lone surrogate in `s`, or -1 when `s` is well-formed UTF-16 (linear, no RegExp). */
export function loneSurrogateIndex(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/**
 * How deeply objects and arrays nest in a JSON value (a scalar is 0, `{}` is 1), counted iteratively;
 * stops as soon as the depth exceeds `cap` and then answers `cap + 1`, so that any value is measured in
 * bounded time and stack.
 */
export function jsonDepth(value: unknown, cap = Number.MAX_SAFE_INTEGER): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, level] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (level > deepest) deepest = level;
    if (deepest > cap) return cap + 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, level + 1]);
    }
  }
  return deepest;
}

/** One problem found in a JSON value, at a path like `context.a.0.b` (`(root)` for the value itself). */
export interface JsonProblem {
  field: string;
  message: string;
  code: 'too_deep' | 'lone_surrogate';
}

interface Frame {
  value: unknown;
  /** The key or index under which the parent holds this value (undefined for the root). */
  key: string | undefined;
  parent: Frame | undefined;
  /** Nesting level of this value if it is an object or array (the root object is 1). */
  level: number;
}

/** A path segment as shown to the caller: lone surrogates in a key are shown as U+FFFD. */
function shownKey(key: string): string {
  if (loneSurrogateIndex(key) < 0) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const next = key.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += key[i]! + key[i + 1]!;
      i++;
    } else {
      out += c >= 0xd800 && c <= 0xdfff ? '\ufffd' : key[i]!;
    }
  }
  return out;
}

function pathOf(frame: Frame, childKey?: string): string {
  const segs: string[] = childKey === undefined ? [] : [shownKey(childKey)];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) segs.push(shownKey(f.key));
  return segs.length === 0 ? '(root)' : segs.reverse().join('.');
}

/**
 * The problems of a parsed JSON value (at most `maxProblems`): objects and arrays nested deeper than
 * `maxDepth` levels (reported once per branch, at the first level too deep, without descending
 * further), and lone surrogates in strings and in object keys. Iterative with an explicit stack, so a
 * value of any depth is checked without recursion; each node is visited once.
 */
export function jsonProblems(value: unknown, opts: { maxDepth: number; maxProblems?: number }): JsonProblem[] {
  const maxProblems = opts.maxProblems ?? 20;
  const out: JsonProblem[] = [];
  const loneString = (field: string) =>
    out.push({ field, message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' });
  if (typeof value === 'string') {
    if (loneSurrogateIndex(value) >= 0) loneString('(root)');
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  // Only objects and arrays get a frame; strings are checked where their parent is visited.
  const stack: Frame[] = [{ value, key: undefined, parent: undefined, level: 1 }];
  while (stack.length > 0 && out.length < maxProblems) {
    const frame = stack.pop()!;
    if (frame.level > opts.maxDepth) {
      out.push({ field: pathOf(frame), message: `is nested more than ${opts.maxDepth} levels deep`, code: 'too_deep' });
      continue;
    }
    const v = frame.value as Record<string, unknown> | unknown[];
    const keys = Array.isArray(v) ? undefined : Object.keys(v);
    const n = keys ? keys.length : (v as unknown[]).length;
    // Strings and keys are checked in document order; nested values are pushed last-first, so that they
    // too are visited in document order.
    const nested: Frame[] = [];
    for (let i = 0; i < n; i++) {
      const key = keys ? keys[i]! : String(i);
      const child = keys ? (v as Record<string, unknown>)[key] : (v as unknown[])[i];
      if (keys && loneSurrogateIndex(key) >= 0) {
        out.push({ field: pathOf(frame, key), message: 'has a name containing a lone surrogate (not valid Unicode)', code: 'lone_surrogate' });
      }
      if (typeof child === 'string') {
        if (loneSurrogateIndex(child) >= 0) loneString(pathOf(frame, key));
      } else if (child !== null && typeof child === 'object') {
        nested.push({ value: child, key, parent: frame, level: frame.level + 1 });
      }
    }
    for (let i = nested.length - 1; i >= 0; i--) stack.push(nested[i]!);
  }
  return out.slice(0, maxProblems);
}

/**
 * Install the input guard for every route (call it in the composition root, before any route): after
 * the body is parsed and before schema validation, the body, query string and path parameters are
 * checked with {@link jsonProblems}; any problem answers 400 `VALIDATION_FAILED` naming each field.
 * A route may raise the body's bound with `config.bodyDepth`.
 */
export function installInputGuard(app: FastifyInstance, opts: { maxDepth?: number } = {}): void {
  const defaultDepth = opts.maxDepth ?? BODY_MAX_DEPTH;
  app.addHook('preValidation', async (request) => {
    const maxDepth = request.routeOptions.config?.bodyDepth ?? defaultDepth;
    const found: Array<JsonProblem & { in: string }> = [];
    const parts: Array<[string, unknown]> = [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ];
    for (const [where, value] of parts) {
      if (value === undefined) continue;
      for (const p of jsonProblems(value, { maxDepth })) found.push({ in: where, ...p });
    }
    if (found.length > 0) {
      const where = [...new Set(found.map((p) => p.in))].join(', ');
      throw errors.validation(
        `Invalid ${where}`,
        found.map((p) => ({ in: p.in, field: p.field, message: p.message, code: p.code })),
      );
    }
  });
}
