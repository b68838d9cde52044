/**
 * Audited overrides, the pure core (DESIGN §10, issue 7): the rules an override obeys that need no
 * store: its types and states, the expiry bound, when a pending or active override lapses, which
 * override holds a decision now, and what taking effect (or lapsing) does to the decision's
 * capability token. The service applies them inside ledger transactions.
 */
import type { Outcome } from '../policy/policy.model.js';

export const OVERRIDE_TYPES = ['manual', 'emergency', 'policy_exception', 'risk_acceptance', 'correction'] as const;
export type OverrideType = (typeof OVERRIDE_TYPES)[number];
export const DEFAULT_OVERRIDE_TYPE: OverrideType = 'manual';

export const OVERRIDE_STATUSES = ['pending_confirmation', 'active', 'expired', 'rejected'] as const;
export type OverrideStatus = (typeof OVERRIDE_STATUSES)[number];

/** The latest `expires_at` an override may name, counted from its creation. */
export const MAX_OVERRIDE_DAYS = 90;
export const MAX_OVERRIDE_MS = MAX_OVERRIDE_DAYS * 86_400_000;

/** Under the two-person rule, how long an override waits for its second person before it lapses. */
export const CONFIRMATION_WINDOW_HOURS = 24;
export const CONFIRMATION_WINDOW_MS = CONFIRMATION_WINDOW_HOURS * 3_600_000;

/** The fewest characters a justification holds once trimmed. */
export const MIN_JUSTIFICATION = 20;
export const MAX_JUSTIFICATION = 4000;

/** Outcomes that let the agent act (and so need a capability token). */
export function allowsAction(outcome: Outcome): boolean {
  return outcome === 'approved' || outcome === 'conditional';
}

/**
 * Whether an override from the effective outcome `from` to `to` turns a denial into permission, so that
 * the two-person rule always applies: `to` lets the action happen and `from` is `denied`, or `escalated`
 * by an override (`fromOverride`: an override holds the decision now). An escalation an override made may
 * stand over a denial: without this, one person could go denied → escalated → approved alone. Only the
 * decision's own escalation (the policy's, or one resolved `deferred`/`escalated_further`) may be
 * settled by one person, as an approver resolving it would.
 */
export function grantsPermission(from: Outcome, to: Outcome, fromOverride: boolean): boolean {
  if (!allowsAction(to)) return false;
  return from === 'denied' || (from === 'escalated' && fromOverride);
}

/**
 * Why `expiresAt` is not acceptable for an override created at `nowMs`, or null when it is: it must lie
 * in the future and at most {@link MAX_OVERRIDE_DAYS} days ahead.
 */
export function expiryProblem(expiresAt: string, nowMs: number): string | null {
  const at = Date.parse(expiresAt);
  if (!Number.isFinite(at)) return 'must be an RFC 3339 date-time';
  if (at <= nowMs) return 'must be in the future';
  if (at - nowMs > MAX_OVERRIDE_MS) return `must be at most ${MAX_OVERRIDE_DAYS} days from now`;
  return null;
}

/**
 * When an override stops holding, or stops waiting (RFC 3339; null: never). An active override lapses at
 * its `expires_at`; one pending confirmation lapses at the end of the confirmation window or at its
 * `expires_at`, whichever comes first.
 */
export function lapsesAt(o: { status: 'pending_confirmation' | 'active'; createdAt: string; expiresAt: string | null }): string | null {
  if (o.status === 'active') return o.expiresAt;
  const windowEnd = new Date(Date.parse(o.createdAt) + CONFIRMATION_WINDOW_MS).toISOString();
  return o.expiresAt !== null && o.expiresAt < windowEnd ? o.expiresAt : windowEnd;
}

/**
 * The status as of `now`: a pending or active override whose lapse time has come reads `expired` even
 * before the sweeper records it.
 */
export function statusAt(o: { status: OverrideStatus; lapsesAt: string | null }, now: string): OverrideStatus {
  if ((o.status === 'active' || o.status === 'pending_confirmation') && o.lapsesAt !== null && o.lapsesAt <= now) return 'expired';
  return o.status;
}

/** An override as the choice of the one in effect sees it. */
export interface OverrideHold {
  status: OverrideStatus;
  effectiveAt: string | null;
  expiresAt: string | null;
}

/**
 * The override that holds a decision at `now`: the latest to take effect among the active ones not
 * expired (on equal `effectiveAt`, the later in `overrides`, which the store orders by the ledger entry
 * that made each take effect). The same rule as `effectiveOutcome` (decision/effective-outcome.ts), which
 * gives its `newOutcome`; this gives the override itself (its conditions, for the token).
 */
export function holdingOverride<T extends OverrideHold>(overrides: readonly T[], now: string): T | undefined {
  let latest: T | undefined;
  for (const o of overrides) {
    if (o.status !== 'active' || o.effectiveAt === null) continue;
    if (o.expiresAt !== null && o.expiresAt <= now) continue;
    if (!latest || o.effectiveAt >= latest.effectiveAt!) latest = o;
  }
  return latest;
}

/** The decision's capability token as the token rule sees it. */
export interface HeldToken {
  /** Not revoked by hand (a token invalidated by a stop still counts: revoking it is harmless). */
  live: boolean;
  /** The obligations the token carries (`cnd`), empty when none. */
  conditions: readonly string[];
}

/** What a change of the effective outcome does to the decision's token. */
export type TokenEffect = 'mint' | 'revoke' | 'none';

/**
 * The token rule. When the effective outcome becomes `after` (with `conditions` for `conditional`):
 * * `denied` or `escalated`: a live token is revoked.
 * * `conditional`: a live token is revoked unless it carries exactly these obligations (one without
 *   them would let the agent act unbound); a decision with no token gets one (`mint`).
 * * `approved`: a live token is kept (one carrying obligations is only stricter); a decision with no
 *   token gets one.
 * A revoked token is never replaced: a decision has at most one token (`capability_tokens.decision_id`
 * is unique). `mayMint` false (an override lapsing: no human acted) turns `mint` into `none`.
 */
export function tokenEffect(input: {
  after: Outcome;
  conditions: readonly string[];
  token: HeldToken | null;
  mayMint: boolean;
}): TokenEffect {
  const { after, token } = input;
  if (!allowsAction(after)) return token?.live ? 'revoke' : 'none';
  if (token === null) return input.mayMint ? 'mint' : 'none';
  if (!token.live) return 'none';
  if (after === 'conditional' && !sameSet(token.conditions, input.conditions)) return 'revoke';
  return 'none';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const x of sa) if (!sb.has(x)) return false;
  return true;
}
