/**
 * The policy document's zod schema (DESIGN §4, with the original Lexecon's JSON aliases): its size limits,
 * the per-field rules, the type and mode names it accepts and the keys each level of a document knows. The
 * cross-field rules are the loader's (policy.loader.ts). Pure.
 */
import { z } from 'zod';
import { globProblem } from '../../platform/glob.js';
import { DEFAULT_CONFLICT_WINDOW } from './policy.sod.js';
import {
  POLICY_MODES,
  RELATION_TYPES,
  TERM_TYPES,
  type PolicyMode,
  type RelationType,
  type TermType,
} from './policy.model.js';

/** Size limits of a policy document. */
export const POLICY_LIMITS = {
  terms: 100_000,
  relations: 100_000,
  conditionsPerRelation: 64,
  conditionLength: 256,
  termIdLength: 255,
  relationIdLength: 255,
  policyIdLength: 128,
  nameLength: 200,
  versionLength: 64,
  labelLength: 255,
  descriptionLength: 2000,
  justificationLength: 2000,
  /** Nesting depth of the whole document (metadata included). */
  depth: 64,
} as const;

/** `policy_id`: 1–128 characters, letters, digits, `.`, `_`, `:`, `-`, starting with a letter or digit. */
export const POLICY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The risk dimensions a term's `metadata.risk` may raise (DESIGN §4). */
export const RISK_DIMENSIONS = ['security', 'privacy', 'compliance', 'operational', 'reputational', 'financial'] as const;

export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const TERM_TYPE_NAMES = new Map<string, TermType>([
  ...TERM_TYPES.map((t): [string, TermType] => [t, t]),
  ['data', 'data_class'],
  ['dataclass', 'data_class'],
  ['data-class', 'data_class'],
]);

const RELATION_TYPE_NAMES = new Map<string, RelationType>([
  ...RELATION_TYPES.map((t): [string, RelationType] => [t, t]),
  ['permit', 'permits'],
  ['forbid', 'forbids'],
  ['require', 'requires'],
  ['imply', 'implies'],
  ['conflict', 'conflicts'],
]);

/** Relation types that may carry an `object` (a data-class restriction). */
export const OBJECT_RELATION_TYPES: ReadonlySet<RelationType> = new Set(['permits', 'forbids', 'requires']);

export function normalizeTermType(value: string): TermType | undefined {
  return TERM_TYPE_NAMES.get(value.toLowerCase());
}

export function normalizeRelationType(value: string): RelationType | undefined {
  return RELATION_TYPE_NAMES.get(value.toLowerCase());
}

export function normalizeMode(value: string): PolicyMode | undefined {
  const lower = value.toLowerCase();
  return (POLICY_MODES as readonly string[]).includes(lower) ? (lower as PolicyMode) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The schema: types, lengths and per-field rules. Cross-field rules (aliases, references, ids) come after.
// ---------------------------------------------------------------------------------------------------------

const termRef = (what: string) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(POLICY_LIMITS.termIdLength, `must be at most ${POLICY_LIMITS.termIdLength} characters`)
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters')
    .describe(what);

const termTypeField = z
  .string()
  .refine((s) => normalizeTermType(s) !== undefined, {
    error: `must be one of ${TERM_TYPES.join(', ')}`,
  })
  .describe(`${TERM_TYPES.join(' | ')} (case-insensitive; data, dataclass, data-class mean data_class)`);

const relationTypeField = z
  .string()
  .refine((s) => normalizeRelationType(s) !== undefined, {
    error: `must be one of ${RELATION_TYPES.join(', ')}`,
  })
  .describe(`${RELATION_TYPES.join(' | ')} (case-insensitive; the singular is accepted)`);

const riskScore = z
  .int('must be an integer from 0 to 100')
  .min(0, 'must be an integer from 0 to 100')
  .max(100, 'must be an integer from 0 to 100')
  .optional();

const TermRiskSchema = z
  .strictObject({
    security: riskScore,
    privacy: riskScore,
    compliance: riskScore,
    operational: riskScore,
    reputational: riskScore,
    financial: riskScore,
  })
  .describe('risk dimensions (0–100) this term raises, e.g. {"privacy": 80}');

const TermMetadataSchema = z
  .looseObject({
    risk: TermRiskSchema.optional(),
    attestation: z
      .unknown()
      .optional()
      .describe(
        'a requirement term: `{issuer_public_key_pem | jwks, claim, max_age_s, issuer?}`; only a signed attestation satisfies it (validated by the loader)',
      ),
  })
  .describe('free-form; `risk` raises risk dimensions; `attestation` makes a requirement attested');

const TERM_FIELDS = {
  term_id: termRef('the term id (alias: id)').optional(),
  id: termRef('alias of term_id').optional(),
  term_type: termTypeField.optional(),
  type: termTypeField.optional(),
  value: z
    .string()
    .superRefine((s, ctx) => {
      const problem = globProblem(s);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .nullable()
    .optional()
    .describe('a pattern the request value may match; `*` is a glob (`ai_agent:*`)'),
  label: z
    .string()
    .max(POLICY_LIMITS.labelLength, `must be at most ${POLICY_LIMITS.labelLength} characters`)
    .nullable()
    .optional()
    .describe('a name the request may use for this term (alias: name)'),
  name: z
    .string()
    .max(POLICY_LIMITS.labelLength, `must be at most ${POLICY_LIMITS.labelLength} characters`)
    .nullable()
    .optional()
    .describe('alias of label'),
  description: z
    .string()
    .max(POLICY_LIMITS.descriptionLength, `must be at most ${POLICY_LIMITS.descriptionLength} characters`)
    .nullable()
    .optional(),
  metadata: TermMetadataSchema.nullable().optional(),
};

const TermDocumentSchema = z
  .looseObject(TERM_FIELDS)
  .describe(
    'A term: `{term_id|id, term_type|type, value?, label|name?, description?, metadata?}`; other keys are ignored with a warning',
  );

const conditionString = z
  .string()
  .min(1, 'must not be empty')
  .max(POLICY_LIMITS.conditionLength, `must be at most ${POLICY_LIMITS.conditionLength} characters`);

const relationIdField = z
  .string()
  .min(1, 'must not be empty')
  .max(POLICY_LIMITS.relationIdLength, `must be at most ${POLICY_LIMITS.relationIdLength} characters`)
  .refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters')
  .nullable()
  .optional();

const RELATION_FIELDS = {
  relation_id: relationIdField.describe('generated as `type:source->target[:object]` when absent (alias: id)'),
  id: relationIdField.describe('alias of relation_id'),
  relation_type: relationTypeField.optional(),
  type: relationTypeField.optional(),
  source: termRef('a term id (aliases: subject, source_term_id)').optional(),
  subject: termRef('alias of source').optional(),
  source_term_id: termRef('alias of source').optional(),
  target: termRef('a term id (aliases: action, target_term_id)').optional(),
  action: termRef('alias of target').optional(),
  target_term_id: termRef('alias of target').optional(),
  object: termRef('a data_class term id (permits, forbids and requires only)').nullable().optional(),
  conditions: z
    .array(conditionString)
    .nullable()
    .optional()
    .describe(`obligations such as "redact:pii" (at most ${POLICY_LIMITS.conditionsPerRelation})`),
  condition: conditionString
    .nullable()
    .optional()
    .describe("alias of conditions holding one obligation (the original Lexecon's shape); not with conditions"),
  justification: z
    .string()
    .max(POLICY_LIMITS.justificationLength, `must be at most ${POLICY_LIMITS.justificationLength} characters`)
    .nullable()
    .optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .describe('accepted for the original Lexecon export format and ignored (not part of the policy)'),
  window: z
    .string()
    .nullable()
    .optional()
    .describe(`conflicts only: how far back an approval counts, \`<n>s|m|h|d\` (≤ 366d), default ${DEFAULT_CONFLICT_WINDOW}`),
};

const RelationDocumentSchema = z
  .looseObject(RELATION_FIELDS)
  .describe(
    'A relation: `{relation_id|id?, relation_type|type, source|subject|source_term_id, target|action|target_term_id, object?, conditions?|condition?, justification?}`; ' +
      'a requires relation may give only one end: each of its conditions then becomes a requirement (one relation each), ' +
      'or, without conditions, the end is used for both; other keys are ignored with a warning',
  );

const DOCUMENT_FIELDS = {
  policy_id: z
    .string()
    .regex(
      POLICY_ID_PATTERN,
      'must be 1–128 characters (letters, digits, ".", "_", ":", "-"), starting with a letter or digit',
    )
    .nullable()
    .optional()
    .describe('derived from name when absent, else from the content (`pol-` + 16 hex of its SHA-256), with a warning'),
  name: z
    .string()
    .min(1, 'must not be empty')
    .max(POLICY_LIMITS.nameLength, `must be at most ${POLICY_LIMITS.nameLength} characters`)
    .nullable()
    .optional()
    .describe('defaults to policy_id'),
  version: z
    .union(
      [
        z
          .string()
          .min(1, 'must not be empty')
          .max(POLICY_LIMITS.versionLength, `must be at most ${POLICY_LIMITS.versionLength} characters`),
        z.number(),
      ],
      { error: 'must be a string or a number' },
    )
    .nullable()
    .optional()
    .describe('a free-form version label (a number is turned into a string)'),
  mode: z
    .string()
    .refine((s) => normalizeMode(s) !== undefined, { error: `must be one of ${POLICY_MODES.join(', ')}` })
    .nullable()
    .optional()
    .describe(`${POLICY_MODES.join(' | ')} (case-insensitive), default strict`),
  terms: z.array(TermDocumentSchema).describe(`at most ${POLICY_LIMITS.terms}`),
  relations: z.array(RelationDocumentSchema).describe(`at most ${POLICY_LIMITS.relations}`),
  risk_factors: z
    .unknown()
    .optional()
    .describe(
      'the risk factor table `{data_classes, verbs, bulk}` (each a map to `{dimension: 0–100}`; bulk one such map); ' +
        'it replaces the default table as a whole; validated by the loader',
    ),
  description: z.unknown().optional().describe('accepted and ignored'),
  metadata: z.unknown().optional().describe('accepted and ignored'),
  created_at: z.unknown().optional().describe('accepted and ignored'),
  author: z.unknown().optional().describe('accepted and ignored'),
  $schema: z.unknown().optional().describe('accepted and ignored'),
};

/**
 * The zod schema of a submitted policy document (DESIGN §4), every alias of the original Lexecon's JSON
 * shapes included: every document {@link loadPolicyDocument} accepts passes it. It checks types, lengths
 * and per-field rules; unknown keys pass (the loader ignores them with a warning), except inside
 * `metadata.risk`. The cross-field rules (one of `term_id`/`id`, `condition` or `conditions`, duplicate
 * ids, references, `implies` cycles, the number of terms and relations) are the loader's. Exported for the
 * OpenAPI description.
 */
export const PolicyDocumentSchema: z.ZodType = z
  .looseObject(DOCUMENT_FIELDS)
  .describe('A policy document (DESIGN §4); the original Lexecon aliases are accepted, other keys are ignored with a warning.');

/** The keys each level of a document knows; any other key is ignored with a warning. */
export const KNOWN_DOCUMENT_KEYS: ReadonlySet<string> = new Set(Object.keys(DOCUMENT_FIELDS));
export const KNOWN_TERM_KEYS: ReadonlySet<string> = new Set(Object.keys(TERM_FIELDS));
export const KNOWN_RELATION_KEYS: ReadonlySet<string> = new Set(Object.keys(RELATION_FIELDS));
