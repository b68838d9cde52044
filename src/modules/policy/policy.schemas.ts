import { z } from 'zod';
import { ContextSchema, DECIDE_LIMITS } from '../decision/decision.schemas.js';
import { RiskDimensionsSchema } from '../risk/risk.schemas.js';
import { OUTCOMES, POLICY_MODES, RELATION_TYPES, RISK_LEVELS, TERM_TYPES } from './policy.model.js';
import type { PolicyVersionRecord } from './policy.repo.js';

const ProblemSchema = z.object({ path: z.string(), message: z.string() });
const VersionHash = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

export const LoadResponseSchema = z
  .object({
    policy_id: z.string(),
    version_hash: z.string().describe('SHA-256 hex of the canonical JSON (RFC 8785) of the normalized policy'),
    mode: z.enum(POLICY_MODES),
    terms_loaded: z.number().int(),
    relations_loaded: z.number().int(),
    warnings: z.array(ProblemSchema).describe('e.g. relations naming undefined terms, which become implicit terms'),
    created: z.boolean().describe('a new version was stored (false: this content was loaded before)'),
    activated: z.boolean().describe('the active policy changed (false: this version was already active)'),
  })
  .meta({ id: 'PolicyLoadReport' });

export const PolicyDocumentBodySchema = z
  .record(z.string(), z.unknown())
  .describe(
    'A policy document: `{policy_id?, name?, version?, mode?, terms:[…], relations:[…], risk_factors?}` (DESIGN §4; the original Lexecon aliases are accepted). See DOCUMENTATION.md, "The policy language".',
  );

export const PolicyParamsSchema = z.object({ policy_id: z.string().min(1).max(128) });

const VersionSchema = z.object({
  version_hash: z.string(),
  version_id: z.string(),
  version: z.string().nullable(),
  mode: z.enum(POLICY_MODES),
  terms_count: z.number().int(),
  relations_count: z.number().int(),
  loaded_at: z.string(),
  loaded_by: z.string(),
  active: z.boolean(),
});

export const VersionListSchema = z.object({ policy_id: z.string(), items: z.array(VersionSchema) });

export const PolicyListSchema = z.object({
  items: z.array(
    z.object({
      policy_id: z.string(),
      name: z.string(),
      latest_version_hash: z.string(),
      latest_loaded_at: z.string(),
      versions: z.number().int(),
      active: z.boolean().describe('the active version belongs to this policy'),
    }),
  ),
  active_version_hash: z.string().nullable(),
});

const TermSchema = z.object({
  term_id: z.string(),
  term_type: z.enum(TERM_TYPES),
  value: z.string().nullable(),
  label: z.string().nullable(),
  description: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  implicit: z.boolean(),
});

const RelationSchema = z.object({
  relation_id: z.string(),
  relation_type: z.enum(RELATION_TYPES),
  source: z.string(),
  target: z.string(),
  object: z.string().nullable(),
  conditions: z.array(z.string()),
  justification: z.string().nullable(),
  window: z.string().optional().describe('conflicts only: how far back an approval counts (absent: 24h)'),
});

export const PolicyDetailSchema = VersionSchema.extend({
  policy_id: z.string(),
  name: z.string(),
  warnings: z.array(ProblemSchema),
  terms: z.array(TermSchema),
  relations: z.array(RelationSchema),
  risk_factors: z
    .object({
      data_classes: z.record(z.string(), RiskDimensionsSchema),
      verbs: z.record(z.string(), RiskDimensionsSchema),
      bulk: RiskDimensionsSchema,
    })
    .nullable()
    .describe('the policy’s own risk factor table; null: the default table (DOCUMENTATION.md, "Risk factors")'),
}).meta({ id: 'PolicyVersion' });

export const EvaluateBodySchema = z
  .object({
    actor: z.string().min(1).max(DECIDE_LIMITS.actor),
    action: z.string().min(1).max(DECIDE_LIMITS.action),
    resource: z.string().min(1).max(DECIDE_LIMITS.resource).optional(),
    data_classes: z.array(z.string().min(1).max(DECIDE_LIMITS.dataClass)).max(DECIDE_LIMITS.dataClasses).optional(),
    // The same schema and limits as POST /decide: a dry run takes exactly what a decision takes.
    context: ContextSchema.optional(),
    risk: z
      .object({ level: z.enum(RISK_LEVELS), score: z.number().int().min(0).max(100) })
      .optional()
      .describe('the request’s risk (decisions score it; here you supply it): paranoid mode and the ≥ 80 rule use it'),
    session_approved_actions: z
      .array(z.string().min(1).max(512))
      .max(1000)
      .optional()
      .describe('actions to treat as approved for this actor just now (inside every window), for `conflicts`'),
    approval_history: z
      .array(
        z.strictObject({
          action: z.string().min(1).max(512),
          approved_at: z.iso.datetime({ offset: false, precision: 3 }).describe('RFC 3339 UTC with milliseconds'),
          decision_id: z.string().min(1).max(64).optional(),
        }),
      )
      .max(1000)
      .optional()
      .describe('approvals of this actor with their times, for `conflicts` windows (a decision reads them from its own record)'),
    at: z.iso
      .datetime({ offset: false, precision: 3 })
      .optional()
      .describe('when the request is evaluated (RFC 3339 UTC, ms); default now: conflict windows end and attestations are checked at it'),
    version_hash: VersionHash.optional().describe('a stored version to evaluate against; default the active one'),
  })
  .strict();

export const EvaluateResponseSchema = z
  .object({
    policy_id: z.string(),
    version_hash: z.string(),
    mode: z.enum(POLICY_MODES),
    outcome: z.enum(OUTCOMES),
    reason: z.string(),
    matched: z.array(
      z.object({
        relation_id: z.string(),
        relation_type: z.enum(RELATION_TYPES),
        effect: z.string(),
        requirement: z.string().optional(),
        conflicting_action: z.string().optional(),
        conflicting_decision_id: z.string().optional(),
        justification: z.string().nullable(),
      }),
    ),
    conditions: z.array(z.string()),
    default_applied: z.boolean(),
    escalation_triggers: z.array(z.string()),
    matched_terms: z.array(z.string()),
  })
  .meta({ id: 'PolicyEvaluation' });

export function toVersionDto(v: PolicyVersionRecord, activeHash: string | undefined): z.infer<typeof VersionSchema> {
  return {
    version_hash: v.versionHash,
    version_id: v.versionId,
    version: v.version,
    mode: v.mode,
    terms_count: v.termsCount,
    relations_count: v.relationsCount,
    loaded_at: v.loadedAt,
    loaded_by: v.loadedBy,
    active: v.versionHash === activeHash,
  };
}
