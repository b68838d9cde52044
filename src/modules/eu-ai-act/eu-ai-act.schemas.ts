import { z } from 'zod';
import { PolicyTestCaseSchema } from '../policy/policy.test-cases.js';
import { ANNEX_IV_KEYS, CLASSIFICATIONS, ITEM_STATUSES } from './annex-iv.js';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lower-case hex');

export const ManualInputSchema = z
  .strictObject({
    text: z.string().trim().min(1).max(20_000).optional(),
    document_sha256: Sha256Hex.optional().describe('SHA-256 of an attached document (e.g. the signed EU declaration of conformity)'),
    not_applicable_justification: z.string().trim().min(1, 'not_applicable needs a justification').max(4000).optional(),
  });

const AnnexIvKeySchema = z.enum(ANNEX_IV_KEYS as unknown as [string, ...string[]]);

export const SystemProfileBodySchema = z
  .strictObject({
    provider: z.string().trim().min(1).max(500),
    system_name: z.string().trim().min(1).max(500),
    system_version: z.string().trim().min(1).max(200),
    intended_purpose: z.string().trim().min(1).max(20_000),
    classification: z.enum(CLASSIFICATIONS),
    deployment_forms: z.array(z.string().trim().min(1).max(500)).max(50).default([]),
    annex_iv_inputs: z.partialRecord(AnnexIvKeySchema, ManualInputSchema).default({}),
  });

export const SystemProfileSchema = z
  .object({
    version: z.number().int(),
    profile_sha256: z.string().describe('SHA-256 of the canonical JSON of the profile content'),
    updated_by: z.string(),
    updated_at: z.string(),
    ledger_seq: z.number().int(),
    provider: z.string(),
    system_name: z.string(),
    system_version: z.string(),
    intended_purpose: z.string(),
    classification: z.enum(CLASSIFICATIONS),
    deployment_forms: z.array(z.string()),
    annex_iv_inputs: z.record(z.string(), ManualInputSchema),
  })
  .meta({ id: 'SystemProfile' });

export const ProfileVersionsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be the next_cursor of the previous page').optional(),
});

export const SystemProfileListSchema = z
  .object({ items: z.array(SystemProfileSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'SystemProfileList' });

export const TestRunBodySchema = z
  .strictObject({
    policy_version_hash: Sha256Hex.optional().describe('the stored policy version to test (default: the active one)'),
    cases: z.array(PolicyTestCaseSchema).min(1).max(1000),
  });

export const TestRunSchema = z
  .object({
    run_id: z.string(),
    policy_version_hash: z.string(),
    total: z.number().int(),
    passed: z.number().int(),
    failed: z.number().int(),
    at: z.string(),
    recorded_by: z.string(),
    record_sha256: z.string().describe('SHA-256 of the canonical JSON record that the signature covers'),
    kid: z.string(),
    signature: z.string().describe('Ed25519 over the canonical JSON record, base64'),
    ledger_seq: z.number().int(),
    verified: z.boolean(),
    cases: z.array(z.object({ name: z.string(), expected: z.string(), outcome: z.string(), passed: z.boolean(), misses: z.array(z.string()) })),
  })
  .meta({ id: 'PolicyTestRun' });

export const FormatQuerySchema = z.enum(['json', 'markdown']).default('json').describe('`markdown` answers text/markdown');

export const TechnicalDocumentationQuerySchema = z.strictObject({
  format: FormatQuerySchema,
  as_of: z.iso.datetime({ offset: true }).optional().describe('read the data up to this instant (part of the hashed document); default now'),
});

export const WindowQuerySchema = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional().describe('window start (default: 30 days before until)'),
  until: z.iso.datetime({ offset: true }).optional().describe('window end, exclusive (default: just after now)'),
  format: FormatQuerySchema,
});

const Json = z.record(z.string(), z.unknown());

export const TechnicalDocumentationSchema = z
  .object({
    document_sha256: z.string().describe('SHA-256 of the canonical JSON of everything but document_sha256 and generated_at'),
    generated_at: z.string(),
    title: z.string(),
    as_of: z.string().nullable(),
    legal_basis: Json,
    system: Json,
    items: z.array(
      z.object({
        key: z.string(),
        title: z.string(),
        status: z.enum(ITEM_STATUSES),
        content: Json.optional(),
        justification: z.string().optional(),
        sources: z.array(z.string()).optional(),
      }),
    ),
    summary: z.record(z.string(), z.number()),
  })
  .meta({ id: 'TechnicalDocumentation' });

export const Article12Schema = z
  .object({
    since: z.string(),
    until: z.string(),
    purposes: z.record(z.string(), z.string()),
    per_event_type: z.array(
      z.object({ event_type: z.string(), purposes: z.array(z.string()), description: z.string().nullable(), count: z.number().int() }),
    ),
    per_purpose: z.record(z.string(), z.number().int()),
    total_entries: z.number().int(),
    untagged_event_types: z.array(z.string()),
    retention: z.object({ retention_days: z.number().int(), floor_days: z.number().int(), meets_floor: z.boolean() }),
    legal_holds: z.object({
      tracked: z.boolean(),
      active: z.array(z.object({ hold_id: z.string(), scope: z.string(), reason: z.string(), created_by: z.string(), created_at: z.string() })),
    }),
    ledger_verification: z.object({
      valid: z.boolean(),
      entries_checked: z.number().int(),
      head_seq: z.number().int().nullable(),
      head_hash: z.string().nullable(),
      first_invalid: z.object({ seq: z.number().int(), entry_id: z.string(), code: z.string(), reason: z.string() }).nullable(),
    }),
  })
  .meta({ id: 'Article12Report' });

export const Article14Schema = z
  .object({
    since: z.string(),
    until: z.string(),
    measures: z.array(
      z.object({
        point: z.string(),
        requirement: z.string(),
        measures: z.array(z.string()),
        configuration: Json,
        figures: z.record(z.string(), z.number().nullable()),
      }),
    ),
    figures: Json,
  })
  .meta({ id: 'Article14Report' });
