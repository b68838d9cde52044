/**
 * The policy loader's problems and warnings: located by path segments while the document is read, then
 * written as JSON paths (`$.relations[2].type`) and sorted; the messages for zod's issues; and helpers over
 * the raw (unvalidated) JSON of a submitted document. Pure.
 */
import type { z } from 'zod';
import type { PolicyProblem } from './policy.model.js';
import {
  KNOWN_DOCUMENT_KEYS,
  KNOWN_RELATION_KEYS,
  KNOWN_TERM_KEYS,
  POLICY_LIMITS,
  RISK_DIMENSIONS,
} from './policy.document.schema.js';

// ---------------------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------------------

export type Segment = string | number;

export interface Located {
  segs: Segment[];
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(segs: readonly Segment[]): string {
  let out = '$';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** One step of a path written by {@link formatPath}: `.identifier` or `["any key"]` (a JSON string). */
const PATH_STEP = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The segments of a path written as {@link formatPath} writes them (`$.data_classes["odd key"].privacy`),
 * without the leading `$`. Should a path ever not parse, the segments read so far are kept: a coarser
 * location, never a wrong one.
 */
export function pathSegments(path: string): Segment[] {
  const segs: Segment[] = [];
  if (!path.startsWith('$')) return segs;
  PATH_STEP.lastIndex = 1;
  while (PATH_STEP.lastIndex < path.length) {
    const m = PATH_STEP.exec(path);
    if (m === null) break;
    segs.push(m[1] ?? (JSON.parse(m[2] as string) as string));
  }
  return segs;
}

function compareSegs(a: readonly Segment[], b: readonly Segment[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Segment;
    const y = b[i] as Segment;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Sorted by path (array indices numerically; stable within a path), without repeats. */
export function finish(list: readonly Located[]): PolicyProblem[] {
  const sorted = [...list].sort((a, b) => compareSegs(a.segs, b.segs));
  const seen = new Set<string>();
  const out: PolicyProblem[] = [];
  for (const p of sorted) {
    const path = formatPath(p.segs);
    const key = `${path}\u0000${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: p.message });
  }
  return out;
}

const ARTICLE_TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  boolean: 'a boolean',
};

/** Messages for the issues the schema leaves to the defaults (types, mostly). */
export const errorMap = (issue: { code?: string; input?: unknown; expected?: string }): string | undefined => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${ARTICLE_TYPES[issue.expected ?? ''] ?? issue.expected ?? 'of another type'}`;
  }
  return undefined;
};

/** Only `metadata.risk` is a strict object: elsewhere unknown keys are {@link unknownKeyWarnings}. */
function unknownKeyMessage(parent: readonly Segment[]): string {
  if (parent.at(-1) === 'risk') return `is not a risk dimension (${RISK_DIMENSIONS.join(', ')})`;
  return 'is not a known field';
}

export function issueProblems(issue: z.core.$ZodIssue): Located[] {
  const segs = issue.path.map((s): Segment => (typeof s === 'number' ? s : String(s)));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ segs: [...segs, key], message: unknownKeyMessage(segs) }));
  }
  return [{ segs, message: issue.message }];
}

// ---------------------------------------------------------------------------------------------------------
// Helpers over raw JSON
// ---------------------------------------------------------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Present: neither absent nor null. */
export function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

export function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * What the schema cannot see: values that are not JSON (the loader may be handed objects that did not come
 * from JSON.parse), lone surrogates (JCS refuses them) and excessive nesting. `segs` is a shared stack,
 * copied only when a problem is reported.
 */
export function jsonProblems(value: unknown, segs: Segment[], out: Located[]): void {
  const report = (message: string) => out.push({ segs: [...segs], message });
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) report('contains a lone surrogate (not valid Unicode)');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) report('must be a finite number');
    return;
  }
  if (typeof value !== 'object') {
    report('is not a JSON value');
    return;
  }
  if (segs.length >= POLICY_LIMITS.depth) {
    report(`is nested too deeply (at most ${POLICY_LIMITS.depth} levels)`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      segs.push(i);
      jsonProblems(value[i], segs, out);
      segs.pop();
    }
    return;
  }
  if (!isPlainObject(value)) {
    report('is not a JSON value');
    return;
  }
  for (const key of Object.keys(value)) {
    const item = value[key];
    segs.push(key);
    if (LONE_SURROGATE.test(key)) report('has a name containing a lone surrogate (not valid Unicode)');
    if (item !== undefined) jsonProblems(item, segs, out);
    segs.pop();
  }
}

/** A deep copy of a JSON value (own `__proto__` keys stay plain data). */
export function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item === undefined) continue;
      Object.defineProperty(out, key, { value: cloneJson(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * One warning per key the loader does not know, at the top level, on a term or on a relation
 * (`$.terms[3].sensitivity`: "is not a term field; ignored"). Such keys are never read, so they cannot
 * reach the normalized policy or its hash. Elements that are not objects are the schema's to report.
 */
export function unknownKeyWarnings(doc: Record<string, unknown>, terms: readonly unknown[], relations: readonly unknown[], out: Located[]): void {
  const scan = (raw: Record<string, unknown>, known: ReadonlySet<string>, base: Segment[], what: string) => {
    for (const key of Object.keys(raw)) {
      if (known.has(key) || raw[key] === undefined) continue;
      out.push({ segs: [...base, key], message: `is not ${what}; ignored` });
    }
  };
  scan(doc, KNOWN_DOCUMENT_KEYS, [], 'a policy document field');
  terms.forEach((raw, i) => {
    if (isPlainObject(raw)) scan(raw, KNOWN_TERM_KEYS, ['terms', i], 'a term field');
  });
  relations.forEach((raw, i) => {
    if (isPlainObject(raw)) scan(raw, KNOWN_RELATION_KEYS, ['relations', i], 'a relation field');
  });
}
