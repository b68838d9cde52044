/**
 * Bounded, iterative walks over JSON values that come from the agent or from an upstream server: no
 * recursion over input-sized data (an explicit stack), and each walk stops as soon as a limit is passed.
 */

export interface JsonMeasure {
  /** The UTF-8 size of the value serialized as compact JSON, counted until `maxBytes` was passed. */
  bytes: number;
  /** The nesting depth (a scalar is 0, `{}` 1), counted until `maxDepth` was passed. */
  depth: number;
  /** Which limit was passed first, if any; `not_json` for a value JSON cannot represent faithfully. */
  exceeded: 'bytes' | 'depth' | 'not_json' | null;
  /** For `not_json`: where and why. */
  detail?: string;
}

/** True when a string holds a lone UTF-16 surrogate (not valid Unicode, refused by Lexecon). */
export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

function scalarBytes(v: unknown): number | undefined {
  if (v === null) return 4;
  switch (typeof v) {
    case 'string':
      return Buffer.byteLength(JSON.stringify(v), 'utf8');
    case 'boolean':
      return v ? 4 : 5;
    case 'number':
      return Number.isFinite(v) ? String(v).length : undefined;
    default:
      return undefined;
  }
}

/**
 * Size and depth of a JSON value, walked with an explicit stack; stops at the first limit passed. A value
 * that is not plain JSON (a function, a bigint, a non-finite number, a lone surrogate, a cycle) is
 * `not_json`.
 */
export function measureJson(value: unknown, limits: { maxBytes: number; maxDepth: number }): JsonMeasure {
  let bytes = 0;
  let deepest = 0;
  const seen = new Set<object>();
  const stack: Array<{ v: unknown; level: number; path: string }> = [{ v: value, level: 1, path: '(root)' }];
  while (stack.length > 0) {
    const { v, level, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') {
      const b = scalarBytes(v);
      if (b === undefined) return { bytes, depth: deepest, exceeded: 'not_json', detail: `${path} is a ${typeof v} JSON cannot carry` };
      if (typeof v === 'string' && hasLoneSurrogate(v)) {
        return { bytes, depth: deepest, exceeded: 'not_json', detail: `${path} contains a lone surrogate (not valid Unicode)` };
      }
      bytes += b;
    } else {
      if (seen.has(v)) return { bytes, depth: deepest, exceeded: 'not_json', detail: `${path} is a cycle` };
      seen.add(v);
      if (level > deepest) deepest = level;
      if (deepest > limits.maxDepth) return { bytes, depth: deepest, exceeded: 'depth' };
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1);
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], level: level + 1, path: `${path}[${i}]` });
      } else {
        const keys = Object.keys(v);
        bytes += 2 + Math.max(0, keys.length - 1);
        for (const k of keys) {
          if (hasLoneSurrogate(k)) return { bytes, depth: deepest, exceeded: 'not_json', detail: `a key under ${path} contains a lone surrogate` };
          bytes += Buffer.byteLength(JSON.stringify(k), 'utf8') + 1;
          stack.push({ v: (v as Record<string, unknown>)[k], level: level + 1, path: `${path}.${k.slice(0, 64)}` });
        }
      }
    }
    if (bytes > limits.maxBytes) return { bytes, depth: deepest, exceeded: 'bytes' };
  }
  return { bytes, depth: deepest, exceeded: null };
}
