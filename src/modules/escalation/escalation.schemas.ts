import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { DecisionDetailSchema } from '../decision/decision.schemas.js';
import { InterventionSchema } from '../oversight/oversight.schemas.js';
import { OUTCOMES } from '../policy/policy.model.js';
import {
  CONTEXT_SUMMARY_SOURCES,
  ESCALATION_PRIORITIES,
  ESCALATION_STATUSES,
  ESCALATION_TRIGGERS,
  isOverdue,
  RESOLUTION_OUTCOMES,
} from './escalation.model.js';
import type { DecisionSubject } from '../decision/decision.repo.js';
import type { EscalationEvent, EscalationRecord } from './escalation.repo.js';

export const ESCALATION_LIMITS = { assignees: 20, assignee: 64, contextSummary: 4000, notes: 4000 } as const;

export const CreateEscalationBodySchema = z
  .strictObject({
    decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)'),
    trigger: z.enum(ESCALATION_TRIGGERS).describe('an agent may only send `manual`'),
    priority: z
      .enum(ESCALATION_PRIORITIES)
      .optional()
      .describe("default: the decision's risk level (critical, high, medium, low); an agent may not set it"),
    escalated_to: z
      .array(z.string().min(1).max(ESCALATION_LIMITS.assignee))
      .min(1)
      .max(ESCALATION_LIMITS.assignees)
      .optional()
      .describe(
        'user ids (`usr_…`, enabled users holding approver, executive or admin) and role names (approver, executive, admin); default: the first role of the escalation chain. An agent may not set it. Whoever opens the case assigns it and may not resolve it',
      ),
    context_summary: z
      .string()
      .trim()
      .min(1)
      .max(ESCALATION_LIMITS.contextSummary)
      .optional()
      .describe(
        "what the reviewer should know; stored with the case, only its SHA-256 goes to the ledger. An agent's summary is shown as its claim (`context_summary_source: agent_claim`), never as a fact",
      ),
  })
  .meta({ id: 'EscalationRequest' });
export type CreateEscalationBody = z.infer<typeof CreateEscalationBodySchema>;

export const ResolveBodySchema = z
  .strictObject({
    outcome: z
      .enum(RESOLUTION_OUTCOMES)
      .describe('approved, denied and deferred close the case; escalated_further moves it to the next level of the chain'),
    notes: z
      .string()
      .trim()
      .min(1, 'notes are required: why this outcome')
      .max(ESCALATION_LIMITS.notes)
      .describe('the justification, signed into the intervention record (only its SHA-256 goes to the ledger)'),
  })
  .meta({ id: 'EscalationResolution' });

export const EscalationParamsSchema = z.object({
  escalation_id: z.string().regex(idPattern('esc'), 'must be an escalation id (esc_…)'),
});

export const MAX_ESCALATION_PAGE = 500;

const limit = z.coerce.number().int().min(1).max(MAX_ESCALATION_PAGE).default(50);
const cursor = z.string().regex(idPattern('esc'), 'must be the next_cursor of the previous page').optional();
const flag = z.enum(['true', 'false']).optional();

export const EscalationListQuerySchema = z.strictObject({
  status: z
    .enum([...ESCALATION_STATUSES, 'open'])
    .optional()
    .describe('`open`: pending or acknowledged'),
  priority: z.enum(ESCALATION_PRIORITIES).optional(),
  decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)').optional(),
  assigned_to_me: flag.describe('`true`: only cases escalated to you, by user id or by your role'),
  overdue: flag.describe('`true`: only open cases past their SLA deadline'),
  limit,
  cursor,
});

export const ViolationsQuerySchema = z.strictObject({ limit, cursor });

export const EscalationSchema = z
  .object({
    escalation_id: z.string(),
    decision_id: z.string(),
    status: z.enum(ESCALATION_STATUSES).describe('pending and acknowledged cases are open'),
    priority: z.enum(ESCALATION_PRIORITIES),
    trigger: z.enum(ESCALATION_TRIGGERS),
    escalated_to: z.array(z.string()).describe('user ids and role names; a user is assigned when listed or holding a listed role'),
    context_summary: z.string().nullable(),
    context_summary_source: z
      .enum(CONTEXT_SUMMARY_SOURCES)
      .nullable()
      .describe('who wrote context_summary: `agent_claim`, the agent that asked for review (what it asserts about itself, not evidence), or `user`, a human'),
    sla_deadline: z.string(),
    overdue: z.boolean().describe('open and past sla_deadline now'),
    sla_missed: z.number().int().describe('deadlines this case has missed so far'),
    created_by: z.string().describe('the user id or API key id whose request created it (for a case opened by POST /decide, the agent)'),
    created_at: z.string(),
    opened_by: z.string().describe('who opened the case: a user id, an API key id, or `system` (POST /decide); never its resolver'),
    assigned_by: z
      .string()
      .describe('who put the case with its current reviewers: the opener, the user who escalated it further, or `system` (POST /decide, the SLA monitor); never its resolver'),
    acknowledged_at: z.string().nullable(),
    acknowledged_by: z.string().nullable(),
    resolved_at: z.string().nullable(),
    resolved_by: z.string().nullable(),
    resolution: z.enum(['approved', 'denied', 'deferred']).nullable(),
    notes: z.string().nullable().describe('the resolution notes'),
    updated_at: z.string(),
  })
  .meta({ id: 'Escalation' });
export type EscalationDto = z.infer<typeof EscalationSchema>;

export function toEscalationDto(c: EscalationRecord, now: string): EscalationDto {
  return {
    escalation_id: c.escalationId,
    decision_id: c.decisionId,
    status: c.status,
    priority: c.priority,
    trigger: c.trigger,
    escalated_to: c.escalatedTo,
    context_summary: c.contextSummary,
    context_summary_source: c.contextSummarySource,
    sla_deadline: c.slaDeadline,
    overdue: isOverdue(c, now),
    sla_missed: c.slaMissed,
    created_by: c.createdBy,
    created_at: c.createdAt,
    opened_by: c.openedBy,
    assigned_by: c.assignedBy,
    acknowledged_at: c.acknowledgedAt,
    acknowledged_by: c.acknowledgedBy,
    resolved_at: c.resolvedAt,
    resolved_by: c.resolvedBy,
    resolution: c.resolution,
    notes: c.notes,
    updated_at: c.updatedAt,
  };
}

const HistoryEventSchema = z.object({
  event: z.enum(['created', 'acknowledged', 'escalated', 'resolved', 'sla_breached']),
  at: z.string(),
  by: z.string().describe('user id, API key id, or `sla_monitor`'),
  role: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ledger: z.object({ seq: z.number().int(), entry_hash: z.string() }).describe('the ledger entry that records this step'),
});

export function toHistoryDto(e: EscalationEvent): z.infer<typeof HistoryEventSchema> {
  return {
    event: e.event,
    at: e.at,
    by: e.by,
    role: e.role,
    details: e.details,
    ledger: { seq: e.ledgerSeq, entry_hash: e.ledgerEntryHash },
  };
}

export const EscalationDetailSchema = EscalationSchema.extend({
  // The decision under review: its reason, explanation, risk with every factor, effective outcome, and
  // the request's intent and data classes (or that retention purged them).
  decision: DecisionDetailSchema,
  history: z.array(HistoryEventSchema).describe('every step of the case, oldest first'),
  interventions: z.array(InterventionSchema).describe('the signed records of its resolutions and moves by hand, oldest first, each verified now'),
}).meta({ id: 'EscalationDetail' });

export const ResolutionResultSchema = EscalationSchema.extend({
  intervention_id: z.string().describe('the signed intervention record of this resolution'),
  effective_outcome: z.enum(OUTCOMES).describe("the decision's effective outcome now"),
  token_jti: z.string().nullable().describe('the capability token an approval minted (the agent reads it at GET /decide/:decision_id)'),
  token_revoked: z.string().nullable().describe("the decision's capability token a denial revoked"),
}).meta({ id: 'EscalationResolutionResult' });

/** A case as the lists show it: with what its decision is about, so that a queue row names it. */
export const EscalationListItemSchema = EscalationSchema.extend({
  actor: z.string().describe("the decision's actor"),
  proposed_action: z.string().describe("the decision's action (the request's `proposed_action`)"),
  tool: z.string().describe("the decision's tool"),
}).meta({ id: 'EscalationListItem' });

export function toEscalationListItemDto(c: EscalationRecord, subject: DecisionSubject, now: string): z.infer<typeof EscalationListItemSchema> {
  return { ...toEscalationDto(c, now), actor: subject.actor, proposed_action: subject.action, tool: subject.tool };
}

export const EscalationListSchema = z
  .object({
    items: z.array(EscalationListItemSchema),
    next_cursor: z.string().nullable().describe('pass as cursor for the next page; null at the end'),
  })
  .meta({ id: 'EscalationList' });
