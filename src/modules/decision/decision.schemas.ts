import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { jsonDepth } from '../../platform/input-guard.js';
import { OUTCOMES, POLICY_MODES, RELATION_TYPES } from '../policy/policy.model.js';
import { DecisionRiskSchema } from '../risk/risk.schemas.js';
import { ESCALATION_PRIORITIES, ESCALATION_STATUSES, ESCALATION_TRIGGERS } from '../escalation/escalation.model.js';

/** Bounds of a decision request (DESIGN §4). */
export const DECIDE_LIMITS = {
  actor: 255,
  action: 512,
  tool: 255,
  intent: 2048,
  resource: 2048,
  requestId: 128,
  dataClasses: 64,
  dataClass: 64,
  /** Serialized context, in UTF-8 bytes. */
  contextBytes: 64 * 1024,
  /** Nesting levels of objects and arrays, the context object itself being level 1. */
  contextDepth: 5,
} as const;

/**
 * A request's `context`, the one schema for every route that takes one (`POST /decide`,
 * `POST /policies/evaluate`): an object of at most {@link DECIDE_LIMITS.contextDepth} levels and
 * {@link DECIDE_LIMITS.contextBytes} bytes serialized. The depth is measured first, iteratively and
 * capped; the size is serialized only once the depth is known to be bounded.
 */
export const ContextSchema = z
  .record(z.string(), z.unknown())
  .superRefine((ctx, check) => {
    const depth = jsonDepth(ctx, DECIDE_LIMITS.contextDepth);
    if (depth > DECIDE_LIMITS.contextDepth) {
      check.addIssue({ code: 'custom', message: `must nest at most ${DECIDE_LIMITS.contextDepth} levels deep` });
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(ctx), 'utf8');
    if (bytes > DECIDE_LIMITS.contextBytes) {
      check.addIssue({ code: 'custom', message: `must serialize to at most ${DECIDE_LIMITS.contextBytes} bytes (got ${bytes})` });
    }
  })
  .describe(
    `free-form facts about the request (≤ 64 KiB serialized, depth ≤ 5). \`requires(X, T)\` is satisfied by \`true\` under T's name (e.g. \`mfa_verified\`), or, when T declares an attestation, only by a signed JWS in \`attestations\` (≤ 8, each ≤ 8 KiB). \`session_id\` is recorded but never exempts anything from \`conflicts\`.`,
  );

export const DecideBodySchema = z
  .strictObject({
    actor: z.string().min(1).max(DECIDE_LIMITS.actor).describe('who acts, e.g. `ai_agent:assistant`; an API key may decide only for actors its pattern allows'),
    proposed_action: z.string().min(1).max(DECIDE_LIMITS.action).describe('e.g. `read:customer_profile`'),
    tool: z.string().min(1).max(DECIDE_LIMITS.tool).describe('the tool that will carry the action out; bound into the token'),
    user_intent: z.string().max(DECIDE_LIMITS.intent).optional(),
    resource: z.string().min(1).max(DECIDE_LIMITS.resource).optional(),
    data_classes: z.array(z.string().min(1).max(DECIDE_LIMITS.dataClass)).max(DECIDE_LIMITS.dataClasses).optional(),
    risk_level: z.number().int().min(1).max(5).optional().describe('a floor on the risk score: 1 → 1, 2 → 30, 3 → 50, 4 → 60, 5 → 80'),
    context: ContextSchema.optional(),
    request_id: z
      .string()
      .min(1)
      .max(DECIDE_LIMITS.requestId)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .optional()
      .describe('idempotency key: the same request_id from the same caller answers the original decision'),
  })
  .meta({ id: 'DecisionRequest' });
export type DecideBody = z.infer<typeof DecideBodySchema>;

const LedgerRefSchema = z.object({ seq: z.number().int(), entry_id: z.string(), entry_hash: z.string() });

const MatchedSchema = z.object({
  relation_id: z.string(),
  relation_type: z.enum(RELATION_TYPES),
  effect: z.enum(['permit', 'forbid', 'requirement_satisfied', 'requirement_unsatisfied', 'requires_human_approval', 'conflict']),
});

/** The decision as POST /decide answers it (and as it is stored, without the token). */
export const DecisionResponseSchema = z
  .object({
    decision_id: z.string().regex(idPattern('dec')),
    request_id: z.string().nullable(),
    outcome: z.enum(OUTCOMES),
    allowed: z.boolean().describe('true only for approved and conditional'),
    reason: z.string(),
    explanation: z.object({
      mode: z.enum(POLICY_MODES),
      matched: z.array(MatchedSchema),
      default_applied: z.boolean(),
      escalation_triggers: z.array(z.enum(['policy_requires_approval', 'paranoid_mode', 'risk_threshold'])),
    }),
    conditions: z.array(z.string()).describe('obligations the caller must honour (conditional only)'),
    risk: DecisionRiskSchema,
    policy: z
      .object({ policy_id: z.string(), version_hash: z.string(), mode: z.enum(POLICY_MODES) })
      .nullable()
      .describe('null when no policy decided: none was loaded, or decisions are halted (the decision is then denied)'),
    capability_token: z.string().nullable().describe('approved and conditional only: an Ed25519-signed token (DESIGN §5)'),
    token_expires_at: z.string().nullable(),
    escalation_id: z.string().nullable(),
    ledger: LedgerRefSchema,
    timestamp: z.string(),
  })
  .meta({ id: 'Decision' });
export type DecisionResponse = z.infer<typeof DecisionResponseSchema>;

const EscalationSummarySchema = z.object({
  escalation_id: z.string(),
  status: z.enum(ESCALATION_STATUSES).describe('pending and acknowledged cases are open'),
  priority: z.enum(ESCALATION_PRIORITIES),
  trigger: z.enum(ESCALATION_TRIGGERS),
  escalated_to: z.array(z.string()),
  sla_deadline: z.string(),
  opened_by: z.string().describe('who opened the case: a user id, an API key id, or `system` (POST /decide)'),
  assigned_by: z
    .string()
    .describe('who put the case with its current reviewers: the opener, the reviewer who escalated it further, or `system`'),
  resolution: z.enum(['approved', 'denied', 'deferred']).nullable(),
  resolved_by: z.string().nullable(),
  resolved_at: z.string().nullable(),
});

/**
 * A stored decision as GET /decide/:id answers it. The token string is shown only to the agent whose
 * API key asked for the decision; everyone else sees its id, expiry and revocation.
 */
export const DecisionRecordSchema = DecisionResponseSchema.omit({ capability_token: true })
  .extend({
    capability_token: z
      .string()
      .nullable()
      .describe(
        'the capability token string, shown only to the agent whose API key asked for the decision (for an escalated decision, once a reviewer approved it); null for everyone else',
      ),
    actor: z.string(),
    action: z.string(),
    tool: z.string(),
    requested_by: z.string().describe('the user id or API key id that asked'),
    token: z
      .object({ jti: z.string(), expires_at: z.string(), revoked: z.boolean() })
      .nullable()
      .describe('the capability token issued (its id; the token string is shown only to the caller)'),
    effective_outcome: z.enum(OUTCOMES).describe('the outcome after escalation resolution or an active override'),
    escalation: EscalationSummarySchema.nullable(),
    overrides: z.array(
      z.object({
        override_id: z.string(),
        new_outcome: z.enum(OUTCOMES),
        status: z.enum(['pending_confirmation', 'active', 'expired', 'rejected']),
        authorized_by: z.string(),
        created_at: z.string(),
        effective_at: z.string().nullable(),
        expires_at: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'DecisionRecord' });
export type DecisionRecordDto = z.infer<typeof DecisionRecordSchema>;

/**
 * A decision's record as read on its own (`GET /decide/:decision_id`, the `decision` of
 * `GET /api/governance/escalation/:id`): the record plus what the agent asked with, read from the stored
 * raw request (`decision_payloads`), which retention may purge. Not in `POST /decide`'s answer (the
 * agent has just sent it) nor in the items of `GET /decide` (a page stays one read of the decisions).
 */
export const DecisionDetailSchema = DecisionRecordSchema.extend({
  user_intent: z
    .string()
    .nullable()
    .describe("the request's `user_intent` as the agent sent it (its claim); null when it sent none, or when `request_purged`"),
  data_classes: z
    .array(z.string())
    .nullable()
    .describe("the request's `data_classes` as the agent sent them ([] when it sent none); null when `request_purged` (unknown, not none)"),
  request_purged: z
    .boolean()
    .describe('true when retention purged the raw request (LEXECON_RETENTION_DAYS): `user_intent` and `data_classes` are then null, never guessed'),
}).meta({ id: 'DecisionDetail' });
export type DecisionDetailDto = z.infer<typeof DecisionDetailSchema>;

/** What a decision's detail adds to its record: the request as the agent sent it, or that it was purged. */
export type DecisionRequestShown = Pick<DecisionDetailDto, 'user_intent' | 'data_classes' | 'request_purged'>;

export const DecisionParamsSchema = z.object({
  decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)'),
});

/** The longest `GET /decide/:decision_id?wait=` long-poll, in seconds. */
export const MAX_DECISION_WAIT_S = 30;

export const DecisionGetQuerySchema = z.strictObject({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_DECISION_WAIT_S)
    .default(0)
    .describe(
      `seconds (0–${MAX_DECISION_WAIT_S}) to wait, while the decision is escalated and its case open, for a reviewer's resolution or an override before answering`,
    ),
});

export const MAX_DECISION_PAGE = 500;

export const DecisionListQuerySchema = z.strictObject({
  actor: z.string().min(1).max(DECIDE_LIMITS.actor).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('decisions at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('decisions before this time'),
  limit: z.coerce.number().int().min(1).max(MAX_DECISION_PAGE).default(50),
  cursor: z.string().regex(idPattern('dec'), 'must be the next_cursor of the previous page').optional(),
});

export const DecisionListSchema = z
  .object({
    items: z.array(DecisionRecordSchema),
    next_cursor: z.string().nullable().describe('pass as cursor for the next (older) page; null at the end'),
  })
  .meta({ id: 'DecisionList' });
