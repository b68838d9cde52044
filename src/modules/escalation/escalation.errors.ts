import { UniqueViolation } from '../../platform/db/errors.js';
import { AppError } from '../../platform/errors.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { ConflictFound } from '../decision/decision.sod.js';
import { allowedResolutions } from './escalation.model.js';
import type { EscalationRecord } from './escalation.repo.js';

/** A conditional update found the case changed since it was read: this append is dropped. */
export class StateChanged extends Error {}

/** An approval of the same actor committed ahead of this approval in the ledger makes a conflicts relation apply. */
export class ConflictMeanwhile extends Error {
  constructor(readonly conflicts: ConflictFound[]) {
    super('an approval committed ahead of this one makes a conflicts relation apply');
  }
}

/** A stop committed between the check and the transaction of an approval. */
export class HaltedMeanwhile extends Error {}

/** The resolutions left to a case whose approval is refused. */
const NOT_APPROVED = ['denied', 'deferred', 'escalated_further'] as const;

const OVERRIDE_PATH =
  "The deliberate exception is an override: POST /api/governance/override (executive or admin, with a justification and, when on, a second person's confirmation)";

/** The escalation workflow's refusals, one envelope each (code, message, details). */
export const escalationErrors = {
  /** 403: an agent asks for review but does not choose who, how urgently or why. */
  agentMayNotChoose(fields: readonly string[]): AppError {
    return new AppError(
      403,
      'AGENT_MAY_NOT_CHOOSE',
      `An agent asks for review but does not choose it: ${fields.join(', ')} may not be set by an API key (the trigger is manual, the priority follows the decision's risk level, the reviewers are the escalation chain's)`,
      { fields },
    );
  },

  alreadyEscalated(decisionId: string, existing: EscalationRecord): AppError {
    return new AppError(409, 'ALREADY_ESCALATED', `Decision '${decisionId}' already has escalation '${existing.escalationId}'`, {
      escalation_id: existing.escalationId,
      status: existing.status,
    });
  },

  notAssigned(c: EscalationRecord): AppError {
    return new AppError(
      403,
      'NOT_ASSIGNED',
      `Escalation '${c.escalationId}' is not assigned to you; it is escalated to ${c.escalatedTo.join(', ')}`,
      { escalated_to: c.escalatedTo },
    );
  },

  /** 403: nobody acts on a case they opened or assigned (DESIGN §7). */
  selfResolution(c: EscalationRecord, own: 'opened' | 'assigned'): AppError {
    return new AppError(
      403,
      'SELF_RESOLUTION',
      `Escalation '${c.escalationId}' was ${own} by you: nobody acts on a case they opened or assigned; another reviewer must`,
      { opened_by: c.openedBy, assigned_by: c.assignedBy },
    );
  },

  alreadyAcknowledged(c: EscalationRecord): AppError {
    return new AppError(409, 'ALREADY_ACKNOWLEDGED', `Escalation '${c.escalationId}' was acknowledged by ${c.acknowledgedBy}`, {
      acknowledged_by: c.acknowledgedBy,
      acknowledged_at: c.acknowledgedAt,
    });
  },

  alreadyResolved(c: EscalationRecord): AppError {
    return new AppError(409, 'ALREADY_RESOLVED', `Escalation '${c.escalationId}' was already resolved (${c.resolution})`, {
      resolution: c.resolution,
      resolved_by: c.resolvedBy,
      resolved_at: c.resolvedAt,
    });
  },

  /** 409: an escalation never turns a denied decision into permission; that is an override's job. */
  denialNeedsOverride(c: EscalationRecord, d: DecisionRecordDto): AppError {
    return new AppError(
      409,
      'DENIAL_NEEDS_OVERRIDE',
      `Decision '${d.decision_id}' was denied by the policy (${d.reason}); an escalation cannot approve it. Changing a denial is an override's job: POST /api/governance/override (executive or admin, with a justification and, when on, a second person's confirmation). Resolve this case denied, deferred or escalated_further`,
      { decision_id: d.decision_id, outcome: d.outcome, escalation_id: c.escalationId, allowed: allowedResolutions(d.outcome) },
    );
  },

  /**
   * 409: approving the case would give the actor approvals on both sides of a conflicts relation inside
   * its window (separation of duties); the decision's own evaluation could not count the approvals that
   * came after it.
   */
  conflictsWithApproval(c: EscalationRecord, d: DecisionRecordDto, conflicts: readonly ConflictFound[]): AppError {
    const first = conflicts[0]!;
    const by = first.conflicting_decision_id === null ? '' : ` (decision ${first.conflicting_decision_id})`;
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : '';
    return new AppError(
      409,
      'CONFLICTS_WITH_APPROVAL',
      `Approving decision '${d.decision_id}' would break separation of duties: conflicts relation "${first.relation_id}" (${first.source} ↔ ${first.target}): "${first.conflicting_action}" was approved for ${d.actor}${by} within ${first.window}${more}. An escalation cannot approve it. ${OVERRIDE_PATH}. Resolve this case denied, deferred or escalated_further`,
      { decision_id: d.decision_id, escalation_id: c.escalationId, actor: d.actor, conflicts, allowed: NOT_APPROVED },
    );
  },

  /** 409: the separation-of-duties check of an approval cannot be made (fail closed). */
  approvalUncheckable(c: EscalationRecord, d: DecisionRecordDto, reason: string): AppError {
    return new AppError(
      409,
      'APPROVAL_UNCHECKABLE',
      `Decision '${d.decision_id}' cannot be approved through an escalation: ${reason}, and an approval is given only once its conflicts relations are checked. ${OVERRIDE_PATH}. Resolve this case denied, deferred or escalated_further`,
      { decision_id: d.decision_id, escalation_id: c.escalationId, reason, allowed: NOT_APPROVED },
    );
  },

  chainExhausted(c: EscalationRecord, chain: readonly string[]): AppError {
    return new AppError(
      409,
      'CHAIN_EXHAUSTED',
      `Escalation '${c.escalationId}' is at the top of the escalation chain (${chain.join(' → ')}); resolve it`,
      { escalated_to: c.escalatedTo },
    );
  },

  halted(): AppError {
    return new AppError(
      409,
      'HALTED',
      'Decisions are halted (POST /api/governance/stop): an approval would mint a capability token; resume first, or deny or defer',
    );
  },
};

/** The decision got its escalation after this request checked (read again inside the ledger transaction). */
export class EscalatedMeanwhile extends Error {}

/**
 * A second escalation of the same decision: found by the check inside the transaction, or refused by
 * the unique index `escalations_decision` (SQLite names the column in its message, PostgreSQL the index).
 */
export function isDuplicateEscalation(err: unknown): boolean {
  if (err instanceof EscalatedMeanwhile) return true;
  return (
    err instanceof UniqueViolation &&
    (err.constraint === 'escalations_decision' || (err.constraint === undefined && err.message.includes('escalations.decision_id')))
  );
}
