/**
 * Oversight metrics, the pure core (EU AI Act Art. 14: is human oversight real, or a rubber stamp?).
 * Computed from the rows of one time window; no I/O.
 */

/** A resolved escalation as the metrics see it. */
export interface ResolutionFact {
  resolvedBy: string;
  resolution: 'approved' | 'denied' | 'deferred';
  /** RFC 3339: the case was opened. */
  createdAt: string;
  /** RFC 3339: the resolver acknowledged it first (null when nobody did). */
  acknowledgedAt: string | null;
  resolvedAt: string;
}

export interface OverrideFact {
  authorizedBy: string;
}

export interface OversightInput {
  /** Decisions made in the window. */
  decisions: number;
  /** Overrides created in the window. */
  overrides: readonly OverrideFact[];
  /** Escalations resolved in the window. */
  resolutions: readonly ResolutionFact[];
  /** Escalations opened in the window. */
  escalationsOpened: number;
  /** Escalations opened in the window whose SLA was missed (moved on by the monitor, resolved late, or open past it). */
  slaBreaches: number;
  /** An approval faster than this, from the moment the reviewer saw the case, is a rubber stamp. */
  rubberStampS: number;
}

export interface ReviewerMetrics {
  user_id: string;
  resolutions: number;
  approvals: number;
  rubber_stamp_approvals: number;
  /** rubber_stamp_approvals ÷ approvals (0 when no approvals). */
  rubber_stamp_rate: number;
  median_time_to_resolution_s: number | null;
  overrides: number;
}

export interface OversightMetrics {
  decisions: number;
  overrides: number;
  /** overrides ÷ decisions (0 when no decisions). */
  override_rate: number;
  escalations_opened: number;
  escalations_resolved: number;
  median_time_to_resolution_s: number | null;
  sla_breaches: number;
  rubber_stamp_threshold_s: number;
  rubber_stamp_approvals: number;
  rubber_stamp_rate: number;
  /** Sorted by user id. */
  reviewers: ReviewerMetrics[];
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** The median of the values (mean of the middle two for an even count), or null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Time to resolution counts from the case's opening. A rubber stamp is an approval whose resolver took
 * less than `rubberStampS` from the moment they could have read the case (their acknowledgement when
 * there was one, else the opening) to the approval. Rates are rounded to four decimals.
 */
export function computeOversightMetrics(input: OversightInput): OversightMetrics {
  const isRubberStamp = (r: ResolutionFact) =>
    r.resolution === 'approved' && seconds(r.acknowledgedAt ?? r.createdAt, r.resolvedAt) < input.rubberStampS;
  const reviewers = new Map<string, ResolutionFact[]>();
  for (const r of input.resolutions) reviewers.set(r.resolvedBy, [...(reviewers.get(r.resolvedBy) ?? []), r]);
  const overridesBy = new Map<string, number>();
  for (const o of input.overrides) overridesBy.set(o.authorizedBy, (overridesBy.get(o.authorizedBy) ?? 0) + 1);
  const people = [...new Set([...reviewers.keys(), ...overridesBy.keys()])].sort();
  const approvals = input.resolutions.filter((r) => r.resolution === 'approved').length;
  const stamps = input.resolutions.filter(isRubberStamp).length;
  return {
    decisions: input.decisions,
    overrides: input.overrides.length,
    override_rate: rate(input.overrides.length, input.decisions),
    escalations_opened: input.escalationsOpened,
    escalations_resolved: input.resolutions.length,
    median_time_to_resolution_s: median(input.resolutions.map((r) => seconds(r.createdAt, r.resolvedAt))),
    sla_breaches: input.slaBreaches,
    rubber_stamp_threshold_s: input.rubberStampS,
    rubber_stamp_approvals: stamps,
    rubber_stamp_rate: rate(stamps, approvals),
    reviewers: people.map((userId) => {
      const own = reviewers.get(userId) ?? [];
      const ownApprovals = own.filter((r) => r.resolution === 'approved').length;
      const ownStamps = own.filter(isRubberStamp).length;
      return {
        user_id: userId,
        resolutions: own.length,
        approvals: ownApprovals,
        rubber_stamp_approvals: ownStamps,
        rubber_stamp_rate: rate(ownStamps, ownApprovals),
        median_time_to_resolution_s: median(own.map((r) => seconds(r.createdAt, r.resolvedAt))),
        overrides: overridesBy.get(userId) ?? 0,
      };
    }),
  };
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}
