/**
 * Separation of duties (DESIGN §4, `conflicts(X, Y)`), the pure part: the `window` grammar of a conflicts
 * relation, and what the engine needs to judge a conflict against the server's own record of the actor's
 * approvals (never against what the agent claims, such as `context.session_id`).
 *
 * The caller (the decision service) looks up, in the decisions it committed, the actions the actor was
 * approved (or conditionally approved) for, effective approvals included, since the start of the widest
 * window that matters to the request ({@link conflictWindowMs}), and hands them to the engine as
 * `approval_history` with the evaluation time `at`. The engine counts, per relation, the approvals inside
 * that relation's own window ({@link inWindow}).
 */
import type { PolicyRelation } from './policy.model.js';

/** The window of a conflicts relation without one. */
export const DEFAULT_CONFLICT_WINDOW = '24h';

/** The widest window a conflicts relation may declare: 366 days. */
export const MAX_CONFLICT_WINDOW_MS = 366 * 86_400_000;

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** At most this many digits: 366 days in seconds (31,622,400) has eight. */
const MAX_DIGITS = 8;

/**
 * Parse a window: a positive integer (no sign, no leading zero, at most 8 digits) followed by one unit,
 * `s`, `m`, `h` or `d` (`90m`, `24h`, `7d`), at most 366 days. Read character by character (no RegExp).
 */
export function parseWindow(text: string): { ok: true; ms: number } | { ok: false; problem: string } {
  const bad = (): { ok: false; problem: string } => ({
    ok: false,
    problem: 'must be a positive whole number followed by s, m, h or d (e.g. "24h", "7d")',
  });
  if (text.length < 2 || text.length > MAX_DIGITS + 1) return bad();
  const unit = UNIT_MS[text[text.length - 1]!];
  if (unit === undefined) return bad();
  let n = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57 || (i === 0 && c === 48)) return bad();
    n = n * 10 + (c - 48);
  }
  const ms = n * unit;
  if (ms > MAX_CONFLICT_WINDOW_MS) return { ok: false, problem: 'must be at most 366 days ("366d")' };
  return { ok: true, ms };
}

const DEFAULT_WINDOW_MS = (parseWindow(DEFAULT_CONFLICT_WINDOW) as { ms: number }).ms;

/**
 * The window of a conflicts relation in milliseconds: its own `window`, else {@link DEFAULT_CONFLICT_WINDOW}.
 * A window that does not parse (the loader refuses it; this is a guard) counts as the widest one: failing
 * closed means more conflicts, never fewer.
 */
export function relationWindowMs(relation: PolicyRelation): number {
  if (relation.window === undefined) return DEFAULT_WINDOW_MS;
  const parsed = parseWindow(relation.window);
  return parsed.ok ? parsed.ms : MAX_CONFLICT_WINDOW_MS;
}

/** The window as a reason shows it: the relation's own text, or the default. */
export function windowText(relation: PolicyRelation): string {
  return relation.window ?? DEFAULT_CONFLICT_WINDOW;
}

/** An approval of the actor on the server's record: a decision approved or conditional, or made so by a human. */
export interface ApprovedAction {
  action: string;
  /** RFC 3339 (ms, Z): when the approval took effect (the decision, the escalation approval, the override). */
  approved_at: string;
  /** The decision it belongs to, for the reason. */
  decision_id?: string | undefined;
}

/** The first instant inside a window of `ms` ending at `at` (RFC 3339), as RFC 3339. */
export function windowStart(at: string, ms: number): string {
  return new Date(Date.parse(at) - ms).toISOString();
}

const NONE: readonly Approval[] = Object.freeze([]);

/** An approval as the engine weighs it: `approved_at` null is inside every window (a dry run's statement). */
export interface Approval {
  readonly action: string;
  readonly approved_at: string | null;
  readonly decision_id: string | undefined;
}

/**
 * The approvals a request puts before the engine: its `session_approved_actions` (dry runs and test
 * cases: inside every window), then its `approval_history` (the server's record), in that order.
 */
export function approvalsOf(request: {
  session_approved_actions?: readonly string[] | undefined;
  approval_history?: readonly ApprovedAction[] | undefined;
}): readonly Approval[] {
  if (request.session_approved_actions === undefined && request.approval_history === undefined) return NONE;
  const out: Approval[] = [];
  for (const action of request.session_approved_actions ?? []) out.push({ action, approved_at: null, decision_id: undefined });
  for (const a of request.approval_history ?? []) out.push({ action: a.action, approved_at: a.approved_at, decision_id: a.decision_id });
  return out;
}

/**
 * Whether an approval lies inside a window of `ms` ending at `at`. An approval stamped after `at` (a
 * replica's clock ahead of ours) counts: it happened, and failing closed means counting it. Without `at`
 * (a dry run that gives none) every approval counts, and so does one without a time or an unreadable one.
 */
export function inWindow(entry: Approval, at: string | undefined, ms: number): boolean {
  if (at === undefined || entry.approved_at === null) return true;
  const t = Date.parse(entry.approved_at);
  const end = Date.parse(at);
  return !Number.isFinite(t) || !Number.isFinite(end) || t >= end - ms;
}

/**
 * The widest window among the conflicts relations that touch one of `matchedTerms` (at either end), or
 * null when none does: then the request cannot conflict with anything and no history is needed.
 * `conflictsByTerm` is the compiled policy's index of conflicts relations by end.
 */
export function conflictWindowMs(
  conflictsByTerm: ReadonlyMap<string, ReadonlyArray<{ readonly relation: PolicyRelation }>>,
  matchedTerms: readonly string[],
): number | null {
  let widest: number | null = null;
  for (const id of matchedTerms) {
    const relations = conflictsByTerm.get(id);
    if (relations === undefined) continue;
    for (const { relation } of relations) {
      const ms = relationWindowMs(relation);
      if (widest === null || ms > widest) widest = ms;
    }
  }
  return widest;
}
