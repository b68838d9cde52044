/**
 * Term matching by id, as the policy engine reads a request value and the loader names a requirement
 * (DESIGN §4, rule 2 in policy.engine.ts): the type prefixes and whether a value matches a term. Pure.
 */
import { matchesGlob } from '../../platform/glob.js';
import type { PolicyTerm } from './policy.model.js';
import { TYPE_PREFIX_TYPES } from './policy.model.js';

/**
 * The type prefixes {@link stripTypePrefix} removes: `actor:`, `action:`, `resource:`, `data:`,
 * `data_class:`, `context:` (DESIGN §4; `data:` is the original Lexecon's spelling, `data:pii`).
 */
export const TYPE_PREFIXES: readonly string[] = Object.freeze(TYPE_PREFIX_TYPES.map(([prefix]) => prefix));

const PREFIX_SET: ReadonlySet<string> = new Set(TYPE_PREFIXES);

/**
 * The id without its type prefix: `actor:model` → `model`, `data:pii` → `pii`. Only the six
 * {@link TYPE_PREFIXES} are stripped, once (`ai_agent:x` and `actor` stay as they are;
 * `actor:actor:x` → `actor:x`). `data_class:x` is matched whole (its first colon ends `data_class:`).
 */
export function stripTypePrefix(id: string): string {
  const colon = id.indexOf(':');
  if (colon < 0) return id;
  return PREFIX_SET.has(id.slice(0, colon + 1)) ? id.slice(colon + 1) : id;
}

/**
 * Whether a request value matches a term (rule 2), ignoring the term's type: `value` equals the term id
 * or the id without type prefix; or `value` without its type prefix equals either; or (non-implicit
 * terms only) `value` equals the label, or the term's `value` pattern matches it as a `*` glob.
 * Case-sensitive; no substring matching.
 */
export function termMatchesValue(term: PolicyTerm, value: string): boolean {
  const id = term.term_id;
  const bareId = stripTypePrefix(id);
  if (value === id || value === bareId) return true;
  const bareValue = stripTypePrefix(value);
  if (bareValue !== value && (bareValue === id || bareValue === bareId)) return true;
  if (term.implicit) return false;
  if (term.label !== null && value === term.label) return true;
  return term.value !== null && matchesGlob(term.value, value);
}
