import type { DecisionRecordDto } from './decision.schemas.js';

/**
 * What a human deciding about a decision (resolving its escalation, overriding it, confirming an
 * override) is shown of it: signed into their intervention record, so that an auditor sees what the
 * judgement was based on.
 */
export function shownDecision(d: DecisionRecordDto): Record<string, unknown> {
  return {
    decision_id: d.decision_id,
    actor: d.actor,
    action: d.action,
    tool: d.tool,
    outcome: d.outcome,
    effective_outcome: d.effective_outcome,
    reason: d.reason,
    explanation: d.explanation,
    conditions: d.conditions,
    risk: d.risk,
    policy: d.policy,
    escalation: d.escalation && {
      escalation_id: d.escalation.escalation_id,
      status: d.escalation.status,
      opened_by: d.escalation.opened_by,
      assigned_by: d.escalation.assigned_by,
      resolution: d.escalation.resolution,
    },
    overrides: d.overrides.map((x) => ({ override_id: x.override_id, new_outcome: x.new_outcome, status: x.status })),
  };
}
