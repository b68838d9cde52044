/**
 * Glob patterns over identifiers (actor ids, policy `value` patterns): `*` matches any run of
 * characters (including none); every other character matches itself. No other wildcards, no
 * character classes, no substring matching: a pattern without `*` is an exact match.
 *
 * Matching never builds a RegExp: a backtracking `.*` per `*` took tens of seconds for a pattern like
 * `a-*a*a*a*a*c*b` against a few hundred characters (issue 14, A3). Here a pattern is split once into
 * its literal pieces; the first must start the value, the last must end it, and the pieces between are
 * placed left to right, each at its first occurrence after the previous one. Placing each piece as
 * early as possible is optimal (it leaves the most room for the rest), so one forward pass decides
 * the match with no backtracking: at most O(len(value) · len(pattern)) character comparisons (each
 * `indexOf` scans forward from where the last piece ended), and O(len(value)) for the usual patterns.
 */

/** Why a pattern is unusable, or `undefined` when it is fine. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > 255) return 'must be at most 255 characters';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c <= 0x1f || c === 0x7f) return 'must not contain control characters';
  }
  return undefined;
}

/** A glob split at its `*`s, ready for {@link matchesCompiledGlob}. */
export interface CompiledGlobPattern {
  /** The literal text before the first `*` (the whole pattern when it has no `*`). */
  readonly prefix: string;
  /** The literal pieces between consecutive `*`s, in order, empty ones dropped (`a**b` is `a*b`). */
  readonly middle: readonly string[];
  /** The literal text after the last `*`. */
  readonly suffix: string;
  /** The pattern has at least one `*` (else it is an exact match of `prefix`). */
  readonly wildcard: boolean;
}

/** Split a glob into its literal pieces (no RegExp; see the module header). */
export function compileGlob(pattern: string): CompiledGlobPattern {
  const parts = pattern.split('*');
  if (parts.length === 1) return { prefix: pattern, middle: [], suffix: '', wildcard: false };
  return {
    prefix: parts[0]!,
    middle: parts.slice(1, -1).filter((p) => p.length > 0),
    suffix: parts[parts.length - 1]!,
    wildcard: true,
  };
}

/**
 * Whether `value` matches a compiled glob in full: it starts with the prefix, ends with the suffix (the
 * two not overlapping), and the middle pieces occur in order in what lies between, each placed at its
 * first occurrence after the previous one. Linear in practice; O(len(value) · len(pattern)) at worst.
 */
export function matchesCompiledGlob(glob: CompiledGlobPattern, value: string): boolean {
  if (!glob.wildcard) return value === glob.prefix;
  const { prefix, middle, suffix } = glob;
  if (value.length < prefix.length + suffix.length) return false;
  if (!value.startsWith(prefix) || !value.endsWith(suffix)) return false;
  const end = value.length - suffix.length;
  let at = prefix.length;
  for (const piece of middle) {
    const found = value.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** Whether `value` matches `pattern` in full (see {@link matchesCompiledGlob}). */
export function matchesGlob(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  return matchesCompiledGlob(compileGlob(pattern), value);
}
