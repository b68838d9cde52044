import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { InterventionSchema, toInterventionDto } from '../oversight/oversight.schemas.js';
import { OUTCOMES } from '../policy/policy.model.js';
import {
  CONFIRMATION_WINDOW_HOURS,
  MAX_JUSTIFICATION,
  MAX_OVERRIDE_DAYS,
  MIN_JUSTIFICATION,
  OVERRIDE_STATUSES,
  OVERRIDE_TYPES,
} from './override.model.js';
import type { OverrideView } from './override.service.js';

const JustificationSchema = z
  .string()
  .trim()
  .min(MIN_JUSTIFICATION, `must be at least ${MIN_JUSTIFICATION} characters once trimmed`)
  .max(MAX_JUSTIFICATION)
  .describe(`why (at least ${MIN_JUSTIFICATION} characters once trimmed); stored and signed, only its SHA-256 is ledgered`);

/** `authorized_by` is the session user: a body naming it (or anything else unknown) is refused. */
export const CreateOverrideBodySchema = z
  .strictObject({
    decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)'),
    new_outcome: z.enum(OUTCOMES).describe("the decision's effective outcome from now on; must differ from the current one"),
    justification: JustificationSchema,
    override_type: z.enum(OVERRIDE_TYPES).optional().describe('default `manual`'),
    expires_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(`when the override lapses (in the future, at most ${MAX_OVERRIDE_DAYS} days ahead); omitted: it holds until another override`),
    conditions: z
      .array(z.string().min(1).max(256))
      .min(1)
      .max(32)
      .optional()
      .describe('obligations of an override to `conditional` (default: the decision\'s own); refused with any other outcome'),
  })
  .meta({ id: 'OverrideRequest' });
export type CreateOverrideBody = z.infer<typeof CreateOverrideBodySchema>;

export const OverrideVerdictBodySchema = z.strictObject({ justification: JustificationSchema }).meta({ id: 'OverrideVerdict' });

export const OverrideParamsSchema = z.object({
  override_id: z.string().regex(idPattern('ovr'), 'must be an override id (ovr_…)'),
});

export const MAX_OVERRIDE_PAGE = 200;

export const OverrideListQuerySchema = z.strictObject({
  decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)').optional(),
  status: z.enum(OVERRIDE_STATUSES).optional().describe('the status now (a lapsed override is `expired` at once)'),
  authorized_by: z.string().regex(idPattern('usr'), 'must be a user id (usr_…)').optional(),
  limit: z.coerce.number().int().min(1).max(MAX_OVERRIDE_PAGE).default(50),
  cursor: z.string().regex(idPattern('ovr'), 'must be the next_cursor of the previous page').optional(),
});

export const OverrideSchema = z
  .object({
    override_id: z.string(),
    decision_id: z.string(),
    original_outcome: z.enum(OUTCOMES).describe("the decision's effective outcome when the override was asked for"),
    new_outcome: z.enum(OUTCOMES),
    conditions: z.array(z.string()).describe('obligations of an override to conditional'),
    override_type: z.enum(OVERRIDE_TYPES),
    justification: z.string(),
    authorized_by: z.string().describe('the user who asked for it (the session user)'),
    authorized_role: z.string(),
    status: z
      .enum(OVERRIDE_STATUSES)
      .describe(
        `now: \`pending_confirmation\` (two-person rule; lapses unconfirmed after ${CONFIRMATION_WINDOW_HOURS} h or at expires_at), \`active\`, \`expired\`, \`rejected\``,
      ),
    two_person: z.boolean().describe('whether it needed a second person'),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    lapses_at: z.string().nullable().describe('when it stops holding (or waiting for confirmation)'),
    effective_at: z.string().nullable().describe('when it took effect; null while pending and if it never did'),
    confirmed_by: z.string().nullable(),
    confirmed_role: z.string().nullable(),
    confirmed_at: z.string().nullable(),
    closed_at: z.string().nullable().describe('when it expired or was rejected'),
    closed_by: z.string().nullable().describe('the rejecting user, or `override_expiry`'),
    token_issued: z.string().nullable().describe('the capability token (jti) minted when it took effect'),
    token_revoked: z.string().nullable().describe('the capability token (jti) revoked when it took effect'),
    effective_outcome: z.enum(OUTCOMES).describe("the decision's effective outcome now"),
    ledger: z
      .object({ seq: z.number().int(), entry_id: z.string(), entry_hash: z.string() })
      .describe('its override_created entry'),
    interventions: z.array(InterventionSchema).describe('the signed override record, then the confirmation or rejection, each verified now'),
  })
  .meta({ id: 'Override' });
export type OverrideDto = z.infer<typeof OverrideSchema>;

export const OverrideListSchema = z
  .object({
    items: z.array(OverrideSchema),
    next_cursor: z.string().nullable().describe('pass as cursor for the next (older) page; null at the end'),
  })
  .meta({ id: 'OverrideList' });

export function toOverrideDto(v: OverrideView): OverrideDto {
  const o = v.override;
  return {
    override_id: o.overrideId,
    decision_id: o.decisionId,
    original_outcome: o.originalOutcome,
    new_outcome: o.newOutcome,
    conditions: o.conditions,
    override_type: o.overrideType,
    justification: o.justification,
    authorized_by: o.authorizedBy,
    authorized_role: o.authorizedRole,
    status: v.status,
    two_person: o.twoPerson,
    created_at: o.createdAt,
    expires_at: o.expiresAt,
    lapses_at: o.lapsesAt,
    effective_at: o.effectiveAt,
    confirmed_by: o.confirmedBy,
    confirmed_role: o.confirmedRole,
    confirmed_at: o.confirmedAt,
    closed_at: o.closedAt,
    closed_by: o.closedBy,
    token_issued: o.tokenIssued,
    token_revoked: o.tokenRevoked,
    effective_outcome: v.effectiveOutcome,
    ledger: { seq: o.ledgerSeq, entry_id: `entry_${o.ledgerSeq}`, entry_hash: o.ledgerEntryHash },
    interventions: v.interventions.map(toInterventionDto),
  };
}
