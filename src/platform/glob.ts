/**
 * Glob patterns over identifiers (actor ids, policy `value` patterns): `*` matches any run of
 * characters (including none); every other character matches itself. No other wildcards, no
 * character classes, no substring matching: a pattern without `*` is an exact match.
 */

/** Why a pattern is unusable, or `undefined` when it is fine. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > 255) return 'must be at most 255 characters';
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'must not contain control characters';
  return undefined;
}

/** Compile a glob into an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

/** Whether `value` matches `pattern` in full. */
export function matchesGlob(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  return globToRegExp(pattern).test(value);
}
