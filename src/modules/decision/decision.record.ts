import type { EscalationRecord } from '../escalation/escalation.repo.js';
import type { TokenRecord } from '../tokens/tokens.repo.js';
import type { DecisionRecordRow } from './decision.repo.js';
import type { DecisionRecordDto, DecisionResponse } from './decision.schemas.js';
import type { OverrideSummary } from './decision.records.js';
import { effectiveOutcome } from './effective-outcome.js';

/** What happened to a decision since it was made, as read for its record. */
export interface RecordState {
  token: { record: TokenRecord; revoked: boolean } | undefined;
  escalation: EscalationRecord | undefined;
  overrides: OverrideSummary[];
  now: string;
}

/** A decision's record (GET /decide/:id, each item of GET /decide) from its row and its state. Pure. */
export function toRecordDto(row: DecisionRecordRow, { token, escalation, overrides, now }: RecordState): DecisionRecordDto {
  const { capability_token: _hidden, ...stored } = JSON.parse(row.response) as DecisionResponse;
  return {
    ...stored,
    capability_token: null,
    actor: row.actor,
    action: row.action,
    tool: row.tool,
    requested_by: row.principalId,
    token: token ? { jti: token.record.jti, expires_at: token.record.expiresAt, revoked: token.revoked } : null,
    effective_outcome: effectiveOutcome({
      outcome: row.outcome,
      escalationResolution: escalation?.resolution ?? null,
      conditions: stored.conditions,
      overrides,
      now,
    }),
    escalation: escalation
      ? {
          escalation_id: escalation.escalationId,
          status: escalation.status,
          priority: escalation.priority,
          trigger: escalation.trigger,
          escalated_to: escalation.escalatedTo,
          sla_deadline: escalation.slaDeadline,
          opened_by: escalation.openedBy,
          assigned_by: escalation.assignedBy,
          resolution: escalation.resolution,
          resolved_by: escalation.resolvedBy,
          resolved_at: escalation.resolvedAt,
        }
      : null,
    overrides: overrides.map((o) => ({
      override_id: o.overrideId,
      new_outcome: o.newOutcome,
      status: o.status,
      authorized_by: o.authorizedBy,
      created_at: o.createdAt,
      effective_at: o.effectiveAt,
      expires_at: o.expiresAt,
    })),
  };
}
