import type { EscalationRecord } from '../escalation/escalation.repo.js';
import type { TokenState } from '../tokens/tokens.repo.js';
import type { DecisionRecordRow } from './decision.repo.js';
import type { DecisionRecordDto, DecisionRequestShown, DecisionResponse } from './decision.schemas.js';
import type { OverrideSummary } from './decision.records.js';
import { decisionRecordJson, recordOwnJson, storedRecordHead, type RecordOwn } from './decision.json.js';
import { effectiveOutcome } from './effective-outcome.js';

/** What happened to a decision since it was made, as read for its record. */
export interface RecordState {
  token: { record: TokenState; revoked: boolean } | undefined;
  escalation: EscalationRecord | undefined;
  overrides: OverrideSummary[];
  now: string;
}

/** A record's own properties (its token string hidden: null), `conditions` being the decision's. Pure. */
function recordOwn(row: DecisionRecordRow, { token, escalation, overrides, now }: RecordState, conditions: readonly string[]): RecordOwn {
  return {
    capability_token: null,
    actor: row.actor,
    action: row.action,
    tool: row.tool,
    requested_by: row.principalId,
    token: token ? { jti: token.record.jti, expires_at: token.record.expiresAt, revoked: token.revoked } : null,
    effective_outcome: effectiveOutcome({
      outcome: row.outcome,
      escalationResolution: escalation?.resolution ?? null,
      conditions,
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

/** A decision's record (GET /decide/:id, each item of GET /decide) from its row and its state. Pure. */
export function toRecordDto(row: DecisionRecordRow, state: RecordState): DecisionRecordDto {
  const { capability_token: _hidden, ...stored } = JSON.parse(row.response) as DecisionResponse;
  return { ...stored, ...recordOwn(row, state, stored.conditions) };
}

/**
 * The JSON text of `toRecordDto(row, state)` (the zod serializer's bytes), the stored decision's text
 * spliced in without a parse (decision.json.ts `storedRecordHead`) when it is in the stored form; its
 * `conditions` are parsed only when the effective outcome depends on them (an escalation approved).
 * Otherwise parsed and written in full. Pure.
 */
export function toRecordJson(row: DecisionRecordRow, state: RecordState): string {
  const head = storedRecordHead(row.response);
  if (head === undefined) return decisionRecordJson(toRecordDto(row, state));
  const conditions = state.escalation?.resolution === 'approved' ? (JSON.parse(row.response) as DecisionResponse).conditions : [];
  return head + recordOwnJson(recordOwn(row, state, conditions));
}

/**
 * What a decision's detail shows of its raw request (`decision_payloads.request`, the validated
 * POST /decide body as JSON): `user_intent` and `data_classes` as the agent sent them (none sent: null
 * and []). Undefined (retention purged it): both null and `request_purged`, never a guess from the
 * decision (its risk factors name only the data classes the factor table knows). Pure.
 */
export function requestShown(payload: string | undefined): DecisionRequestShown {
  if (payload === undefined) return { user_intent: null, data_classes: null, request_purged: true };
  const body = JSON.parse(payload) as { user_intent?: unknown; data_classes?: unknown };
  const intent = body.user_intent;
  const classes = body.data_classes;
  return {
    user_intent: typeof intent === 'string' ? intent : null,
    data_classes: Array.isArray(classes) ? classes.filter((c): c is string => typeof c === 'string') : [],
    request_purged: false,
  };
}
