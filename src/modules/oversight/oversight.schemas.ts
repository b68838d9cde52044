import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { INTERVENTION_KINDS, type SignedIntervention } from './intervention.js';
import type { HaltState } from './halt.repo.js';
import type { VerifiedIntervention } from './intervention.service.js';

export const ReasonBodySchema = z
  .strictObject({ reason: z.string().trim().min(1, 'a reason is required').max(2000) })
  .meta({ id: 'InterventionReason' });

export const HaltStatusSchema = z
  .object({
    halted: z.boolean(),
    since: z.string().nullable(),
    reason: z.string().nullable(),
    by: z.string().nullable().describe('the user id who stopped'),
    intervention_id: z
      .string()
      .nullable()
      .describe('the signed intervention that set this state: the stop while halted, the resume after one (null before any)'),
    tokens_invalid_before: z
      .number()
      .int()
      .nullable()
      .describe(
        "the ledger seq of the latest stop's entry (null before any stop): every capability token whose issuing ledger entry has a lower seq fails verification for good (`revoked_by_stop`); ledger order, not clocks",
      ),
  })
  .meta({ id: 'HaltStatus' });

export function toHaltDto(s: HaltState): z.infer<typeof HaltStatusSchema> {
  return {
    halted: s.halted,
    since: s.since,
    reason: s.reason,
    by: s.byUserId,
    intervention_id: s.interventionId,
    tokens_invalid_before: s.tokensInvalidBefore,
  };
}

export const InterventionSchema = z
  .object({
    intervention_id: z.string(),
    kind: z.enum(INTERVENTION_KINDS),
    actor: z.object({ user_id: z.string(), role: z.string() }),
    at: z.string(),
    decision_id: z.string().nullable(),
    scope: z.string(),
    justification: z.string(),
    shown: z.unknown().describe('what the human was shown when intervening'),
    details: z.record(z.string(), z.unknown()),
    kid: z.string(),
    signature: z.string().describe('base64url Ed25519 over the JCS payload (DOCUMENTATION.md, "Signed interventions")'),
    verification: z.enum(['valid', 'bad_signature', 'unknown_kid']),
  })
  .meta({ id: 'Intervention' });

export function toInterventionDto({ record: r, status }: VerifiedIntervention): z.infer<typeof InterventionSchema> {
  return {
    intervention_id: r.interventionId,
    kind: r.kind,
    actor: { user_id: r.actorUserId, role: r.actorRole },
    at: r.at,
    decision_id: r.decisionId,
    scope: r.scope,
    justification: r.justification,
    shown: r.shown,
    details: r.details,
    kid: r.kid,
    signature: r.signature,
    verification: status,
  };
}

export type { SignedIntervention };

export const InterventionListQuerySchema = z.strictObject({
  kind: z.enum(INTERVENTION_KINDS).optional(),
  decision_id: z.string().regex(idPattern('dec')).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(idPattern('int'), 'must be the next_cursor of the previous page').optional(),
});

export const InterventionListSchema = z
  .object({ items: z.array(InterventionSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'InterventionList' });

export const OversightMetricsQuerySchema = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional().describe('window start (default: 30 days before until)'),
  until: z.iso.datetime({ offset: true }).optional().describe('window end, exclusive (default: just after now)'),
});

const ReviewerSchema = z.object({
  user_id: z.string(),
  resolutions: z.number().int(),
  approvals: z.number().int(),
  rubber_stamp_approvals: z.number().int(),
  rubber_stamp_rate: z.number(),
  median_time_to_resolution_s: z.number().nullable(),
  overrides: z.number().int(),
});

export const OversightMetricsSchema = z
  .object({
    since: z.string(),
    until: z.string(),
    decisions: z.number().int(),
    overrides: z.number().int(),
    override_rate: z.number().describe('overrides ÷ decisions in the window'),
    escalations_opened: z.number().int(),
    escalations_resolved: z.number().int(),
    median_time_to_resolution_s: z.number().nullable().describe('from opening to resolution'),
    sla_breaches: z.number().int().describe('cases opened in the window whose SLA was missed at least once'),
    rubber_stamp_threshold_s: z.number(),
    rubber_stamp_approvals: z.number().int(),
    rubber_stamp_rate: z.number().describe('approvals faster than the threshold ÷ approvals'),
    reviewers: z.array(ReviewerSchema),
  })
  .meta({ id: 'OversightMetrics' });
