/**
 * The policy engine's outcome and reason (DESIGN §4, rules 5 to 7 in policy.engine.ts) from the hits an
 * evaluator found. Pure.
 */
import type {
  EvaluationRequest,
  EvaluationResult,
  MatchedRelation,
  Outcome,
  PolicyMode,
  PolicyRelation,
} from './policy.model.js';
import { compareStrings } from './policy.compile.js';
import { windowText } from './policy.sod.js';

// ---------------------------------------------------------------------------------------------------
// Outcome and reason (shared by both evaluators: they differ only in how they find the hits).

/** A matched relation with the relation itself (for the reason) and its rank in relation_id order. */
export interface Hit {
  readonly rank: number;
  readonly relation: PolicyRelation;
  readonly match: MatchedRelation;
  /** For an attested requirement: why it is (not) met, for the reason. */
  detail?: string;
}

export function hit(
  rank: number,
  relation: PolicyRelation,
  effect: MatchedRelation['effect'],
  extra?: { requirement?: string; conflicting_action?: string; conflicting_decision_id?: string },
): Hit {
  // NOTE: built field by field rather than with a spread: this runs once per matched relation, and the
  // spread was the largest cost of a request that matches many relations. Key order is the same.
  const match: MatchedRelation =
    extra === undefined
      ? { relation_id: relation.relation_id, relation_type: relation.relation_type, effect, justification: relation.justification }
      : {
          relation_id: relation.relation_id,
          relation_type: relation.relation_type,
          effect,
          ...extra,
          justification: relation.justification,
        };
  return { rank, relation, match };
}

const DENY_EFFECTS: ReadonlySet<MatchedRelation['effect']> = new Set(['forbid', 'conflict', 'requirement_unsatisfied']);

function describe(h: Hit): string {
  const r = h.relation;
  const on = r.object === null ? '' : `, data class ${r.object}`;
  switch (h.match.effect) {
    case 'permit':
    case 'forbid':
      return `${r.relation_type} relation "${r.relation_id}" (${r.source} → ${r.target}${on})`;
    case 'conflict': {
      const by = h.match.conflicting_decision_id === undefined ? '' : ` (decision ${h.match.conflicting_decision_id})`;
      return (
        `conflicts relation "${r.relation_id}" (${r.source} ↔ ${r.target}${on}): ` +
        `"${h.match.conflicting_action}" was approved for this actor${by} within ${windowText(r)}`
      );
    }
    case 'requirement_unsatisfied': {
      const name = h.match.requirement;
      if (h.detail !== undefined) {
        return `requirement "${name}" of relation "${r.relation_id}" is not met (it needs a signed attestation in context.attestations: ${h.detail})`;
      }
      return `requirement "${name}" of relation "${r.relation_id}" is not met (context.${name} must be true)`;
    }
    case 'requires_human_approval':
      return `relation "${r.relation_id}" requires human approval`;
    case 'requirement_satisfied':
      return `requirement "${h.match.requirement}" of relation "${r.relation_id}" is met`;
  }
}

/** The first deciding hit, and how many more decided alike. */
function describeFirst(deciding: readonly Hit[]): string {
  const more = deciding.length - 1;
  return describe(deciding[0]!) + (more > 0 ? ` (and ${more} more)` : '');
}

export function finish(mode: PolicyMode, hits: readonly Hit[], request: EvaluationRequest, matchedTerms: string[]): EvaluationResult {
  const denials = hits.filter((h) => DENY_EFFECTS.has(h.match.effect));
  const approvals = hits.filter((h) => h.match.effect === 'requires_human_approval');
  const permits = hits.filter((h) => h.match.effect === 'permit');
  const conditionalPermits = permits.filter((h) => h.relation.conditions.length > 0);
  const defaultApplied = denials.length + approvals.length + permits.length === 0;

  let base: Outcome;
  if (denials.length > 0) base = 'denied';
  else if (approvals.length > 0) base = 'escalated';
  else if (conditionalPermits.length > 0) base = 'conditional';
  else if (permits.length > 0) base = 'approved';
  else base = mode === 'permissive' ? 'approved' : 'denied';

  const level = request.risk?.level;
  const score = request.risk?.score;
  const triggers: EvaluationResult['escalation_triggers'] = [];
  const because: string[] = [];
  if (base !== 'denied') {
    if (approvals.length > 0) {
      triggers.push('policy_requires_approval');
      because.push(describeFirst(approvals));
    }
    if (mode === 'paranoid' && (level === 'high' || level === 'critical') && (base === 'approved' || base === 'conditional')) {
      triggers.push('paranoid_mode');
      because.push(`paranoid mode escalates high-risk approvals (risk level ${level})`);
    }
    if (typeof score === 'number' && score >= 80) {
      triggers.push('risk_threshold');
      because.push(`risk score ${score} ≥ 80`);
    }
  }
  const outcome: Outcome = triggers.length > 0 ? 'escalated' : base;

  let reason: string;
  if (outcome === 'escalated') reason = `escalated: ${because.join('; ')}`;
  else if (outcome === 'denied') {
    reason = defaultApplied ? `denied: no relation permits this request (${mode} mode)` : `denied: ${describeFirst(denials)}`;
  } else if (defaultApplied) reason = `approved: nothing forbids this request (${mode} mode)`;
  else if (outcome === 'conditional') {
    const conds = [...new Set(conditionalPermits.flatMap((h) => h.relation.conditions))].sort(compareStrings);
    reason = `conditional: ${describeFirst(conditionalPermits)} with conditions ${conds.join(', ')}`;
  } else reason = `approved: ${describeFirst(permits)}`;

  const conditions =
    outcome === 'denied' ? [] : [...new Set(permits.flatMap((h) => h.relation.conditions))].sort(compareStrings);

  return {
    outcome,
    reason,
    mode,
    matched: hits.map((h) => h.match),
    conditions,
    default_applied: defaultApplied,
    escalation_triggers: outcome === 'escalated' ? triggers : [],
    matched_terms: matchedTerms,
  };
}
