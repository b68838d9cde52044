/**
 * A decision's effective outcome, the pure core (DESIGN §4): what holds now, after a human resolved
 * its escalation or an override changed it. The original outcome never changes; this is computed.
 */
import type { Outcome } from '../policy/policy.model.js';

/** An override as the effective outcome sees it. */
export interface OverrideState {
  newOutcome: Outcome;
  /** `active` only counts when it has not expired at `now`. */
  status: 'pending_confirmation' | 'active' | 'expired' | 'rejected';
  /** RFC 3339 (ms, Z), when it took effect (created, or confirmed under the two-person rule). */
  effectiveAt: string | null;
  /** RFC 3339 (ms, Z); null: no expiry. */
  expiresAt: string | null;
}

export type EscalationResolution = 'approved' | 'denied' | 'deferred' | 'escalated_further';

/**
 * The latest override in effect at `now` (active, not expired) wins; otherwise an escalation resolved
 * `approved` (→ `conditional` when the decision carries obligations) or `denied` decides; otherwise the
 * original outcome holds. `deferred`/`escalated_further` leave the decision escalated. An escalation
 * never turns an original `denied` into permission (DESIGN §7): only an override changes a denial.
 */
export function effectiveOutcome(input: {
  outcome: Outcome;
  escalationResolution: EscalationResolution | null;
  /** The decision's obligations (kept on an escalated decision for its approval). */
  conditions: readonly string[];
  overrides: readonly OverrideState[];
  now: string;
}): Outcome {
  let latest: OverrideState | undefined;
  for (const o of input.overrides) {
    if (o.status !== 'active' || o.effectiveAt === null) continue;
    if (o.expiresAt !== null && o.expiresAt <= input.now) continue;
    if (!latest || o.effectiveAt >= latest.effectiveAt!) latest = o;
  }
  if (latest) return latest.newOutcome;
  if (input.outcome === 'denied') return 'denied';
  if (input.escalationResolution === 'approved') return input.conditions.length > 0 ? 'conditional' : 'approved';
  if (input.escalationResolution === 'denied') return 'denied';
  return input.outcome;
}
