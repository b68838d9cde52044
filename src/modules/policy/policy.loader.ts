/**
 * The policy loader: validates a submitted policy document (DESIGN §4, with the original Lexecon's JSON
 * aliases) and normalizes it into the shared {@link NormalizedPolicy} model, whose canonical JSON (RFC 8785)
 * the `version_hash` covers. Pure: no I/O, no clock, no randomness.
 *
 * A document is rejected as a whole, listing every problem with a JSON path into the submitted document
 * (`$.relations[2].type`): the zod issues (wrong types, lengths, unknown `metadata.risk` dimensions) and the
 * semantic checks (duplicate ids, `implies` cycles, misplaced `object`s…). A structurally broken element does
 * not hide the problems of the others.
 *
 * Some things are warnings, not problems (the policy loads; the load response lists them):
 * - **Unknown keys** at the top level, on a term or on a relation (documents in the original Lexecon's shapes
 *   may carry `compliance_frameworks`, `constraints`, `audit_requirements`, term `sensitivity`, `requires_consent`…):
 *   one warning per key at its path (`$.terms[3].sensitivity`: "is not a term field; ignored"). They never
 *   enter the normalized policy, so they do not change the version hash. Inside `metadata.risk` (ours,
 *   typed) an unknown key is still a problem.
 * - **Implicit terms**: a relation end naming no defined term (see {@link loadPolicyDocument} for how its
 *   type is inferred).
 *
 * `risk_factors` (the policy's own risk factor table) is ours and typed: it is read by the risk engine's
 * `parseFactorTable`, and each of its problems is a problem of the policy at its path under
 * `$.risk_factors`.
 */
import { z } from 'zod';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { globProblem } from '../../platform/glob.js';
import { factorTableToJson, parseFactorTable, type FactorTableJson } from '../risk/risk.engine.js';
import { parseAttestationSpec } from './policy.attestation.js';
import { stripTypePrefix } from './policy.engine.js';
import { DEFAULT_CONFLICT_WINDOW, parseWindow } from './policy.sod.js';
import {
  POLICY_MODES,
  RELATION_TYPES,
  TERM_TYPES,
  TYPE_PREFIX_TYPES,
  type NormalizedPolicy,
  type PolicyMode,
  type PolicyProblem,
  type PolicyRelation,
  type PolicyTerm,
  type RelationType,
  type TermType,
} from './policy.model.js';

/** The outcome of {@link loadPolicyDocument}: a normalized policy and its hash, or every problem found. */
export type LoadOutcome =
  | {
      ok: true;
      policy: NormalizedPolicy;
      versionHash: string;
      /** About the document's shape: unknown keys ignored, implicit terms created. */
      warnings: PolicyProblem[];
      /**
       * About its trust: each requirement left self-asserted (met by the caller's own `context` claim).
       * A load reports both lists: {@link allWarnings}.
       */
      selfAsserted: PolicyProblem[];
    }
  | { ok: false; problems: PolicyProblem[] };

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
const RISK_DIMENSIONS = ['security', 'privacy', 'compliance', 'operational', 'reputational', 'financial'] as const;

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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
const OBJECT_RELATION_TYPES: ReadonlySet<RelationType> = new Set(['permits', 'forbids', 'requires']);

function normalizeTermType(value: string): TermType | undefined {
  return TERM_TYPE_NAMES.get(value.toLowerCase());
}

function normalizeRelationType(value: string): RelationType | undefined {
  return RELATION_TYPE_NAMES.get(value.toLowerCase());
}

function normalizeMode(value: string): PolicyMode | undefined {
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
const KNOWN_DOCUMENT_KEYS: ReadonlySet<string> = new Set(Object.keys(DOCUMENT_FIELDS));
const KNOWN_TERM_KEYS: ReadonlySet<string> = new Set(Object.keys(TERM_FIELDS));
const KNOWN_RELATION_KEYS: ReadonlySet<string> = new Set(Object.keys(RELATION_FIELDS));

// ---------------------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------------------

type Segment = string | number;

interface Located {
  segs: Segment[];
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatPath(segs: readonly Segment[]): string {
  let out = '$';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function compareSegs(a: readonly Segment[], b: readonly Segment[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Segment;
    const y = b[i] as Segment;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Sorted by path (array indices numerically; stable within a path), without repeats. */
function finish(list: readonly Located[]): PolicyProblem[] {
  const sorted = [...list].sort((a, b) => compareSegs(a.segs, b.segs));
  const seen = new Set<string>();
  const out: PolicyProblem[] = [];
  for (const p of sorted) {
    const path = formatPath(p.segs);
    const key = `${path}\u0000${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: p.message });
  }
  return out;
}

const ARTICLE_TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  boolean: 'a boolean',
};

/** Messages for the issues the schema leaves to the defaults (types, mostly). */
const errorMap = (issue: { code?: string; input?: unknown; expected?: string }): string | undefined => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${ARTICLE_TYPES[issue.expected ?? ''] ?? issue.expected ?? 'of another type'}`;
  }
  return undefined;
};

/** Only `metadata.risk` is a strict object: elsewhere unknown keys are {@link unknownKeyWarnings}. */
function unknownKeyMessage(parent: readonly Segment[]): string {
  if (parent.at(-1) === 'risk') return `is not a risk dimension (${RISK_DIMENSIONS.join(', ')})`;
  return 'is not a known field';
}

function issueProblems(issue: z.core.$ZodIssue): Located[] {
  const segs = issue.path.map((s): Segment => (typeof s === 'number' ? s : String(s)));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ segs: [...segs, key], message: unknownKeyMessage(segs) }));
  }
  return [{ segs, message: issue.message }];
}

// ---------------------------------------------------------------------------------------------------------
// Helpers over raw JSON
// ---------------------------------------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Present: neither absent nor null. */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * What the schema cannot see: values that are not JSON (the loader may be handed objects that did not come
 * from JSON.parse), lone surrogates (JCS refuses them) and excessive nesting. `segs` is a shared stack,
 * copied only when a problem is reported.
 */
function jsonProblems(value: unknown, segs: Segment[], out: Located[]): void {
  const report = (message: string) => out.push({ segs: [...segs], message });
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) report('contains a lone surrogate (not valid Unicode)');
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) report('must be a finite number');
    return;
  }
  if (typeof value !== 'object') {
    report('is not a JSON value');
    return;
  }
  if (segs.length >= POLICY_LIMITS.depth) {
    report(`is nested too deeply (at most ${POLICY_LIMITS.depth} levels)`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      segs.push(i);
      jsonProblems(value[i], segs, out);
      segs.pop();
    }
    return;
  }
  if (!isPlainObject(value)) {
    report('is not a JSON value');
    return;
  }
  for (const key of Object.keys(value)) {
    const item = value[key];
    segs.push(key);
    if (LONE_SURROGATE.test(key)) report('has a name containing a lone surrogate (not valid Unicode)');
    if (item !== undefined) jsonProblems(item, segs, out);
    segs.pop();
  }
}

/** A deep copy of a JSON value (own `__proto__` keys stay plain data). */
function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item === undefined) continue;
      Object.defineProperty(out, key, { value: cloneJson(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

interface Picked {
  /** Any of the keys is present (not absent, not null). */
  present: boolean;
  /** The key the value was taken from (the first present one, else the canonical name). */
  key: string;
  /** The value, when it is a string. */
  value: string | undefined;
}

/**
 * Read a field that has aliases: the first present key wins; two present string values that differ are a
 * problem (on the later key). Wrong types are the schema's to report.
 */
function pickAlias(raw: Record<string, unknown>, keys: readonly string[], base: Segment[], out: Located[]): Picked {
  let picked: Picked | undefined;
  for (const key of keys) {
    const v = raw[key];
    if (!present(v)) continue;
    if (picked === undefined) {
      picked = { present: true, key, value: typeof v === 'string' ? v : undefined };
      continue;
    }
    if (typeof v === 'string' && picked.value !== undefined && v !== picked.value) {
      out.push({
        segs: [...base, key],
        message: `${JSON.stringify(v)} conflicts with ${picked.key} ${JSON.stringify(picked.value)}: give one of them`,
      });
    }
  }
  return picked ?? { present: false, key: keys[0] as string, value: undefined };
}

/** `source (or subject, source_term_id)` */
function alternatives(keys: readonly string[]): string {
  const [first, ...rest] = keys;
  return `${first} (or ${rest.join(', ')})`;
}

function requiredMessage(keys: readonly string[]): string {
  return `${alternatives(keys)} is required`;
}

/**
 * One warning per key the loader does not know, at the top level, on a term or on a relation
 * (`$.terms[3].sensitivity`: "is not a term field; ignored"). Such keys are never read, so they cannot
 * reach the normalized policy or its hash. Elements that are not objects are the schema's to report.
 */
function unknownKeyWarnings(doc: Record<string, unknown>, terms: readonly unknown[], relations: readonly unknown[], out: Located[]): void {
  const scan = (raw: Record<string, unknown>, known: ReadonlySet<string>, base: Segment[], what: string) => {
    for (const key of Object.keys(raw)) {
      if (known.has(key) || raw[key] === undefined) continue;
      out.push({ segs: [...base, key], message: `is not ${what}; ignored` });
    }
  };
  scan(doc, KNOWN_DOCUMENT_KEYS, [], 'a policy document field');
  terms.forEach((raw, i) => {
    if (isPlainObject(raw)) scan(raw, KNOWN_TERM_KEYS, ['terms', i], 'a term field');
  });
  relations.forEach((raw, i) => {
    if (isPlainObject(raw)) scan(raw, KNOWN_RELATION_KEYS, ['relations', i], 'a relation field');
  });
}

// ---------------------------------------------------------------------------------------------------------
// Drafts: what the loader reads from each element, as far as it is readable
// ---------------------------------------------------------------------------------------------------------

interface TermDraft {
  index: number;
  idKey: string;
  id: string | undefined;
  type: TermType | undefined;
  value: string | null;
  label: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
}

interface RelationDraft {
  /** The index of the document relation it comes from (several drafts share one for an expanded one-ended requires). */
  index: number;
  idKey: string;
  /** An id was given (valid or not). */
  idPresent: boolean;
  explicitId: string | undefined;
  type: RelationType | undefined;
  /** Where the source was read, relative to the relation (`['subject']`). */
  sourcePath: Segment[];
  source: string | undefined;
  /** Where the target was read, relative to the relation (`['action']`, `['conditions', 1]`). */
  targetPath: Segment[];
  target: string | undefined;
  object: string | null;
  conditions: string[];
  /** Where each of `conditions` was read, relative to the relation (`['condition']`, `['conditions', 2]`). */
  conditionPaths: Segment[][];
  /** A requires relation given with only one of its ends (or in the three-field shape, see `scopedSubject`). */
  oneEnded: boolean;
  /**
   * The original Lexecon's three-field requires (`subject`, `action` and conditions): the subject it named,
   * which the normalized relations do not keep (its conditions are required of the action), for a warning.
   */
  scopedSubject: { key: string; value: string } | undefined;
  justification: string | null;
  /** conflicts only: the `window` as given (checked by {@link checkWindow}). */
  window: string | null;
}

const TERM_ID_KEYS = ['term_id', 'id'] as const;
const TERM_TYPE_KEYS = ['term_type', 'type'] as const;
const LABEL_KEYS = ['label', 'name'] as const;
const RELATION_ID_KEYS = ['relation_id', 'id'] as const;
const RELATION_TYPE_KEYS = ['relation_type', 'type'] as const;
const SOURCE_KEYS = ['source', 'subject', 'source_term_id'] as const;
const TARGET_KEYS = ['target', 'action', 'target_term_id'] as const;

function termDraft(raw: unknown, index: number, out: Located[]): TermDraft | undefined {
  if (!isPlainObject(raw)) return undefined; // the schema reports it
  const base: Segment[] = ['terms', index];
  const id = pickAlias(raw, TERM_ID_KEYS, base, out);
  if (!id.present) out.push({ segs: [...base, 'term_id'], message: requiredMessage(TERM_ID_KEYS) });
  const type = pickAlias(raw, TERM_TYPE_KEYS, base, out);
  if (!type.present) out.push({ segs: [...base, 'term_type'], message: requiredMessage(TERM_TYPE_KEYS) });
  const label = pickAlias(raw, LABEL_KEYS, base, out);
  const metadata = raw['metadata'];
  return {
    index,
    idKey: id.key,
    id: id.value,
    type: type.value === undefined ? undefined : normalizeTermType(type.value),
    value: stringOrNull(raw['value']),
    label: label.value ?? null,
    description: stringOrNull(raw['description']),
    metadata: isPlainObject(metadata) ? metadata : {},
  };
}

function relationDraft(raw: unknown, index: number, out: Located[]): RelationDraft | undefined {
  if (!isPlainObject(raw)) return undefined; // the schema reports it
  const base: Segment[] = ['relations', index];
  const id = pickAlias(raw, RELATION_ID_KEYS, base, out);
  const type = pickAlias(raw, RELATION_TYPE_KEYS, base, out);
  if (!type.present) out.push({ segs: [...base, 'relation_type'], message: requiredMessage(RELATION_TYPE_KEYS) });
  const relationType = type.value === undefined ? undefined : normalizeRelationType(type.value);
  let source = pickAlias(raw, SOURCE_KEYS, base, out);
  let target = pickAlias(raw, TARGET_KEYS, base, out);
  const bothEnds = source.present && target.present;
  const oneEnded = relationType === 'requires' && source.present !== target.present;
  if (oneEnded) {
    // The original Lexecon's one-ended requires (`{"type": "requires", "action": "x", "condition": "…"}`):
    // the given end is the source; expandOneEndedRequires makes the conditions the targets, or, without
    // conditions, uses the given end for both.
    if (source.present) target = source;
    else source = target;
  } else if (relationType === 'requires' && !source.present) {
    out.push({
      segs: [...base, 'source'],
      message: `${alternatives(SOURCE_KEYS)} or ${alternatives(TARGET_KEYS)} is required`,
    });
  } else {
    if (!source.present) out.push({ segs: [...base, 'source'], message: requiredMessage(SOURCE_KEYS) });
    if (!target.present) out.push({ segs: [...base, 'target'], message: requiredMessage(TARGET_KEYS) });
  }

  let object = stringOrNull(raw['object']);
  if (present(raw['object']) && relationType !== undefined && !OBJECT_RELATION_TYPES.has(relationType)) {
    out.push({
      segs: [...base, 'object'],
      message: `object is only allowed on permits, forbids and requires relations, not on ${relationType}`,
    });
    object = null;
  }

  const rawConditions = raw['conditions'];
  const conditions: string[] = [];
  const conditionPaths: Segment[][] = [];
  if (Array.isArray(rawConditions)) {
    if (rawConditions.length > POLICY_LIMITS.conditionsPerRelation) {
      out.push({
        segs: [...base, 'conditions'],
        message: `must have at most ${POLICY_LIMITS.conditionsPerRelation} conditions (has ${rawConditions.length})`,
      });
    }
    rawConditions.forEach((c, k) => {
      if (typeof c !== 'string' || conditions.includes(c)) return;
      conditions.push(c);
      conditionPaths.push(['conditions', k]);
    });
  }
  const rawCondition = raw['condition'];
  if (present(rawCondition)) {
    if (present(rawConditions)) {
      out.push({ segs: [...base, 'condition'], message: 'give condition or conditions, not both' });
    } else if (typeof rawCondition === 'string') {
      conditions.push(rawCondition);
      conditionPaths.push(['condition']);
    }
  }

  // The original Lexecon's three-field requires, `{"type": "requires", "subject": A, "action": X,
  // "condition": C}` ("A doing X requires C"): a requirement has one scope term here, so C is required of
  // the action X (as in the one-ended shape), for every actor; A is reported in a warning. Read as
  // requires(A, X) instead, every action of A would have needed `context.X`, a requirement nobody meant.
  const scoped =
    relationType === 'requires' && bothEnds && target.key === 'action' && conditions.length > 0;
  return {
    index,
    idKey: id.key,
    idPresent: id.present,
    explicitId: id.value,
    type: relationType,
    sourcePath: [scoped ? target.key : source.key],
    source: scoped ? target.value : source.value,
    targetPath: [target.key],
    target: target.value,
    object,
    conditions,
    conditionPaths,
    oneEnded: oneEnded || scoped,
    scopedSubject: scoped && source.value !== undefined ? { key: source.key, value: source.value } : undefined,
    justification: stringOrNull(raw['justification']),
    window: checkWindow(raw['window'], relationType, base, out),
  };
}

/** A relation's `window`: conflicts only, in the grammar of {@link parseWindow}. */
function checkWindow(raw: unknown, type: RelationType | undefined, base: Segment[], out: Located[]): string | null {
  if (typeof raw !== 'string') return null; // absent, null, or the schema reports the type
  if (type !== undefined && type !== 'conflicts') {
    out.push({ segs: [...base, 'window'], message: `window is only allowed on conflicts relations, not on ${type}` });
    return null;
  }
  const parsed = parseWindow(raw);
  if (!parsed.ok) out.push({ segs: [...base, 'window'], message: parsed.problem });
  return raw;
}

/**
 * A one-ended requires with conditions names its requirements in them (`{"type": "requires", "action":
 * "x", "condition": "c"}` requires `c` of `x`): one relation per condition, `requires(x, c)`, with the
 * condition as its target and no conditions of its own. Its id is generated as usual when the relation
 * has none; an explicit `relation_id` is kept for one condition and suffixed `#1`, `#2`… (in the order of
 * the conditions) for several. A condition becomes a term id, so it must also be one: at most
 * {@link POLICY_LIMITS.termIdLength} characters, no control characters. A one-ended requires without
 * conditions, and every other relation, is returned as it is (as a one-element list).
 */
function expandOneEndedRequires(r: RelationDraft, out: Located[]): RelationDraft[] {
  if (!r.oneEnded || r.conditions.length === 0) return [r];
  const several = r.conditions.length > 1;
  return r.conditions.map((condition, k) => {
    const path = r.conditionPaths[k] as Segment[];
    const why = 'it names the requirement of a one-ended requires';
    if (condition.length > POLICY_LIMITS.termIdLength) {
      out.push({
        segs: ['relations', r.index, ...path],
        message: `must be at most ${POLICY_LIMITS.termIdLength} characters: ${why}`,
      });
    }
    if (CONTROL_CHARS.test(condition)) {
      out.push({ segs: ['relations', r.index, ...path], message: `must not contain control characters: ${why}` });
    }
    return {
      ...r,
      explicitId: r.explicitId === undefined || !several ? r.explicitId : `${r.explicitId}#${k + 1}`,
      targetPath: path,
      target: condition,
      conditions: [],
      conditionPaths: [],
      oneEnded: false,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Header: policy_id, name, version, mode
// ---------------------------------------------------------------------------------------------------------

/** `policy_id` from a name: lowercased, runs of other characters than [a-z0-9._-] → `-`, trimmed, ≤ 128. */
function derivePolicyId(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+/, '')
    .slice(0, POLICY_LIMITS.policyIdLength)
    .replace(/-+$/, '');
}

interface Header {
  policy_id: string;
  name: string;
  version: string | null;
  mode: PolicyMode;
}

/**
 * `policy_id` from the document itself, for a document with neither `policy_id` nor a usable `name` (the
 * original Lexecon's `example_policy.json` has neither): `pol-` and the first 16 hex digits of the
 * SHA-256 of the document's RFC 8785 canonical JSON, as submitted (unknown keys included). Stable: the
 * same content gives the same id whatever its key order or formatting. Only called for a document without
 * problems so far (a lone surrogate or a non-finite number cannot be canonicalized, and the document is
 * rejected anyway).
 */
export function contentPolicyId(doc: Record<string, unknown>): string {
  return `pol-${sha256Hex(canonicalize(doc)).slice(0, 16)}`;
}

function readHeader(doc: Record<string, unknown>, out: Located[], warnings: Located[]): Header {
  const rawId = doc['policy_id'];
  const rawName = doc['name'];
  let policyId = typeof rawId === 'string' ? rawId : '';
  if (!present(rawId)) {
    const fromName = typeof rawName === 'string' ? derivePolicyId(rawName) : '';
    if (POLICY_ID_PATTERN.test(fromName)) {
      policyId = fromName;
    } else if (!present(rawName) || typeof rawName === 'string') {
      // A wrong-typed name is the schema's problem; otherwise the content names the policy.
      if (out.length === 0) policyId = contentPolicyId(doc);
      const why = present(rawName)
        ? `no usable id can be derived from name ${JSON.stringify(rawName)}`
        : 'the document has neither policy_id nor name';
      warnings.push({
        segs: ['policy_id'],
        message: `${why}: derived "${policyId}" from the document's content (SHA-256 of its canonical JSON); give policy_id to choose one`,
      });
    }
  }
  const rawVersion = doc['version'];
  const rawMode = doc['mode'];
  return {
    policy_id: policyId,
    name: typeof rawName === 'string' ? rawName : policyId,
    version: typeof rawVersion === 'string' ? rawVersion : typeof rawVersion === 'number' ? String(rawVersion) : null,
    mode: (typeof rawMode === 'string' ? normalizeMode(rawMode) : undefined) ?? 'strict',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Risk factors
// ---------------------------------------------------------------------------------------------------------

/** One step of a path written by {@link formatPath}: `.identifier` or `["any key"]` (a JSON string). */
const PATH_STEP = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The segments of a path written as {@link formatPath} writes them (`$.data_classes["odd key"].privacy`),
 * without the leading `$`. Should a path ever not parse, the segments read so far are kept: a coarser
 * location, never a wrong one.
 */
function pathSegments(path: string): Segment[] {
  const segs: Segment[] = [];
  if (!path.startsWith('$')) return segs;
  PATH_STEP.lastIndex = 1;
  while (PATH_STEP.lastIndex < path.length) {
    const m = PATH_STEP.exec(path);
    if (m === null) break;
    segs.push(m[1] ?? (JSON.parse(m[2] as string) as string));
  }
  return segs;
}

/**
 * The document's `risk_factors` as the risk engine normalizes it, or undefined when it is absent (or
 * null, like every optional field). Each problem the engine's `parseFactorTable` finds is added at its
 * path under `$.risk_factors` (`$.risk_factors.data_classes.pii.privacy`).
 */
function readRiskFactors(doc: Record<string, unknown>, out: Located[]): FactorTableJson | undefined {
  const raw = doc['risk_factors'];
  if (!present(raw)) return undefined;
  const { table, problems } = parseFactorTable(raw);
  for (const p of problems) out.push({ segs: ['risk_factors', ...pathSegments(p.path)], message: p.message });
  return table === undefined ? undefined : factorTableToJson(table);
}

// ---------------------------------------------------------------------------------------------------------
// Semantic checks
// ---------------------------------------------------------------------------------------------------------

function checkDuplicateTerms(terms: readonly TermDraft[], out: Located[]): Map<string, TermDraft> {
  const byId = new Map<string, TermDraft>();
  for (const t of terms) {
    if (t.id === undefined) continue;
    const first = byId.get(t.id);
    if (first === undefined) {
      byId.set(t.id, t);
      continue;
    }
    out.push({
      segs: ['terms', t.index, t.idKey],
      message: `duplicate term_id ${JSON.stringify(t.id)} (first defined at ${formatPath(['terms', first.index])})`,
    });
  }
  return byId;
}

function typeFromPrefix(id: string): TermType | undefined {
  for (const [prefix, type] of TYPE_PREFIX_TYPES) if (id.startsWith(prefix)) return type;
  return undefined;
}

interface ImplicitTerm {
  type: TermType;
  segs: Segment[];
}

/** The type a relation end gives an undefined term when its id has no type prefix (see {@link inferImplicitTerms}). */
const POSITION_TYPES: Readonly<Record<Exclude<RelationType, 'implies'>, { source: TermType; target: TermType }>> = {
  permits: { source: 'actor', target: 'action' },
  forbids: { source: 'actor', target: 'action' },
  requires: { source: 'action', target: 'context' },
  conflicts: { source: 'action', target: 'action' },
};

/**
 * Terms named by relations but not defined become implicit terms, one warning each at the first reference
 * (in document order: source, then target, then object of each relation). Their type is the one the engine
 * will read them as, so that an implicit term matches the request field of its position:
 *
 * 1. a type prefix of the id wins: `actor:`, `action:`, `resource:`, `data_class:`, `data:`, `context:`;
 * 2. else the position of the first reference: permits/forbids: source → actor, target → action;
 *    requires: source → action (what requires something), target → context (the requirement);
 *    conflicts: both ends → action (separation of duties between actions); object → data_class;
 *    implies: the type of the other end when that is a defined term, an already-inferred implicit term or
 *    an id with a type prefix, else action.
 *
 * A one-ended requires without conditions has the same id at both ends: its first reference is the source
 * (→ action). One with conditions is one relation per condition (see {@link expandOneEndedRequires}): each
 * condition is a target (→ context), warned at its path (`$.relations[0].condition`,
 * `$.relations[0].conditions[1]`).
 */
function inferImplicitTerms(
  relations: readonly RelationDraft[],
  defined: ReadonlyMap<string, TermDraft>,
  warnings: Located[],
): Map<string, ImplicitTerm> {
  const implicit = new Map<string, ImplicitTerm>();
  const knownType = (id: string | undefined): TermType | undefined =>
    id === undefined ? undefined : (defined.get(id)?.type ?? implicit.get(id)?.type ?? typeFromPrefix(id));
  const reference = (r: RelationDraft, id: string | undefined, path: readonly Segment[], positional: () => TermType) => {
    if (id === undefined || defined.has(id) || implicit.has(id)) return;
    const type = typeFromPrefix(id) ?? positional();
    const segs: Segment[] = ['relations', r.index, ...path];
    implicit.set(id, { type, segs });
    warnings.push({
      segs,
      message: `term ${JSON.stringify(id)} is not defined; treated as an implicit ${type} term`,
    });
  };
  for (const r of relations) {
    const relationType = r.type;
    if (relationType === undefined) continue; // the position means nothing without a type
    if (relationType === 'implies') {
      reference(r, r.source, r.sourcePath, () => knownType(r.target) ?? 'action');
      reference(r, r.target, r.targetPath, () => knownType(r.source) ?? 'action');
    } else {
      const positions = POSITION_TYPES[relationType];
      reference(r, r.source, r.sourcePath, () => positions.source);
      reference(r, r.target, r.targetPath, () => positions.target);
    }
    reference(r, r.object ?? undefined, ['object'], () => 'data_class');
  }
  return implicit;
}

/**
 * Requirements (targets of requires relations). A term's `metadata.attestation` must be a valid spec
 * (each problem at its path) and cannot be on `human_approval`, which only a human satisfies (it
 * escalates). Every requirement left self-asserted (no attestation: any caller meets it by sending
 * `context.<name>: true`) is warned about once, at its first reference as a requires target.
 */
function checkRequirements(
  terms: readonly TermDraft[],
  relations: readonly RelationDraft[],
  defined: ReadonlyMap<string, TermDraft>,
  problems: Located[],
  warnings: Located[],
): void {
  // The engine's requirement name: a defined term's value, else the id without its type prefix.
  const nameOf = (id: string): string => defined.get(id)?.value ?? stripTypePrefix(id);
  for (const t of terms) {
    const raw = t.metadata['attestation'];
    if (raw === undefined) continue;
    const base: Segment[] = ['terms', t.index, 'metadata', 'attestation'];
    for (const p of parseAttestationSpec(raw).problems) problems.push({ segs: [...base, ...p.segs], message: p.message });
    if (t.id !== undefined && nameOf(t.id) === 'human_approval') {
      problems.push({ segs: base, message: 'human_approval is met by a human only (it escalates): it cannot take an attestation' });
    }
  }
  const seen = new Set<string>();
  for (const r of relations) {
    if (r.type !== 'requires' || r.target === undefined || seen.has(r.target)) continue;
    seen.add(r.target);
    const name = nameOf(r.target);
    if (name === 'human_approval' || defined.get(r.target)?.metadata['attestation'] !== undefined) continue;
    warnings.push({
      segs: ['relations', r.index, ...r.targetPath],
      message:
        `requirement ${JSON.stringify(name)} is self-asserted: any caller meets it by sending context.${name} = true; ` +
        `give term ${JSON.stringify(r.target)} a metadata.attestation to require a signed attestation`,
    });
  }
}

function checkObjects(
  relations: readonly RelationDraft[],
  defined: ReadonlyMap<string, TermDraft>,
  implicit: ReadonlyMap<string, ImplicitTerm>,
  out: Located[],
): void {
  for (const r of relations) {
    if (r.object === null) continue;
    const type = defined.has(r.object) ? defined.get(r.object)?.type : implicit.get(r.object)?.type;
    if (type === undefined || type === 'data_class') continue;
    out.push({
      segs: ['relations', r.index, 'object'],
      message: `object ${JSON.stringify(r.object)} must name a data_class term, not ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} term`,
    });
  }
}

interface Edge {
  to: string;
  relation: number;
}

/** One problem per strongly connected component of the `implies` graph that holds a cycle. */
function checkImpliesCycles(relations: readonly RelationDraft[], out: Located[]): void {
  const graph = new Map<string, Edge[]>();
  for (const r of relations) {
    if (r.type !== 'implies' || r.source === undefined || r.target === undefined) continue;
    let edges = graph.get(r.source);
    if (edges === undefined) graph.set(r.source, (edges = []));
    edges.push({ to: r.target, relation: r.index });
    if (!graph.has(r.target)) graph.set(r.target, []);
  }
  if (graph.size === 0) return;

  // Tarjan's algorithm, iterative (a policy may hold 100,000 relations).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: number };
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = (edges[frame.next++] as Edge).to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.set(member, components);
        } while (member !== frame.node);
        components++;
      }
    }
  }

  // Per component, the first relation (in document order) on a cycle, and the cycle through it.
  const firstRelation = new Map<number, RelationDraft>();
  for (const r of relations) {
    if (r.type !== 'implies' || r.source === undefined || r.target === undefined) continue;
    const c = component.get(r.source) as number;
    if (component.get(r.target) !== c) continue;
    if (!firstRelation.has(c)) firstRelation.set(c, r);
  }
  for (const r of [...firstRelation.values()].sort((a, b) => a.index - b.index)) {
    const source = r.source as string;
    const target = r.target as string;
    const c = component.get(source) as number;
    const cycle = [source, ...shortestPath(graph, component, c, target, source)];
    out.push({
      segs: ['relations', r.index],
      message: `implies cycle: ${cycle.join(' → ')}`,
    });
  }
}

/** Nodes from `from` to `to` (both included) inside one component, by breadth-first search. */
function shortestPath(
  graph: ReadonlyMap<string, Edge[]>,
  component: ReadonlyMap<string, number>,
  c: number,
  from: string,
  to: string,
): string[] {
  if (from === to) return [from];
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as string;
    for (const { to: next } of graph.get(node) ?? []) {
      if (previous.has(next) || component.get(next) !== c) continue;
      previous.set(next, node);
      if (next === to) {
        const path = [to];
        for (let n = to; n !== from; ) path.push((n = previous.get(n) as string));
        return path.reverse();
      }
      queue.push(next);
    }
  }
  return [from, to]; // unreachable: both are in one strongly connected component
}

/**
 * Relation ids: explicit ones must be unique; absent ones are generated as `type:source->target[:object]`,
 * suffixed `#2`, `#3`… on collision. Relations sharing a generated base are numbered in the order of their
 * content ({@link compareContent}), then of the document, so reordering relations cannot change a hash.
 */
function assignRelationIds(relations: readonly RelationDraft[], out: Located[]): Map<RelationDraft, string> {
  const ids = new Map<RelationDraft, string>();
  const used = new Map<string, number>();
  for (const r of relations) {
    if (r.explicitId === undefined) continue;
    const first = used.get(r.explicitId);
    if (first !== undefined) {
      out.push({
        segs: ['relations', r.index, r.idKey],
        message: `duplicate relation_id ${JSON.stringify(r.explicitId)} (first used at ${formatPath(['relations', first])})`,
      });
      continue;
    }
    used.set(r.explicitId, r.index);
    ids.set(r, r.explicitId);
  }

  const groups = new Map<string, RelationDraft[]>();
  for (const r of relations) {
    if (r.idPresent || r.type === undefined || r.source === undefined || r.target === undefined) continue;
    const base = `${r.type}:${r.source}->${r.target}${r.object === null ? '' : `:${r.object}`}`;
    let group = groups.get(base);
    if (group === undefined) groups.set(base, (group = []));
    group.push(r);
  }
  const bases = [...groups.keys()].sort(compareStrings);
  const rest: Array<[string, RelationDraft[]]> = [];
  for (const base of bases) {
    const members = (groups.get(base) ?? []).sort((a, b) => compareContent(a, b) || a.index - b.index);
    if (!used.has(base)) {
      const first = members.shift() as RelationDraft;
      used.set(base, first.index);
      ids.set(first, base);
    }
    rest.push([base, members]);
  }
  for (const [base, members] of rest) {
    let n = 2;
    for (const r of members) {
      while (used.has(`${base}#${n}`)) n++;
      const id = `${base}#${n}`;
      used.set(id, r.index);
      ids.set(r, id);
    }
  }
  return ids;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Relations of one generated base differ only in conditions (element-wise, shorter first), then justification (none first). */
function compareContent(a: RelationDraft, b: RelationDraft): number {
  const n = Math.min(a.conditions.length, b.conditions.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a.conditions[i] as string, b.conditions[i] as string);
    if (c !== 0) return c;
  }
  if (a.conditions.length !== b.conditions.length) return a.conditions.length - b.conditions.length;
  if (a.justification === b.justification) return 0;
  if (a.justification === null) return -1;
  if (b.justification === null) return 1;
  return compareStrings(a.justification, b.justification);
}

// ---------------------------------------------------------------------------------------------------------
// The loader
// ---------------------------------------------------------------------------------------------------------

/**
 * Validate and normalize a submitted policy document (already JSON-parsed, of unknown shape).
 *
 * Rejects the document as a whole, listing every problem with a JSON path (sorted by path); on success
 * returns the {@link NormalizedPolicy} (snake_case, every optional field but `risk_factors` present,
 * terms sorted by `term_id`, relations by `relation_id`), its {@link policyVersionHash} and the warnings
 * (sorted by path): unknown keys ignored, implicit terms created. Pure: the same document always gives
 * the same outcome.
 *
 * Documents in the original Lexecon's JSON shapes (its policy files and its `to_dict` export) load:
 * - aliases: `id`/`type`/`name` on terms; `id`/`type`/`subject`/`action`/`source_term_id`/`target_term_id`
 *   on relations (two aliases given with different values are a problem);
 * - `condition: "x"` on a relation means `conditions: ["x"]` (giving both is a problem);
 * - **a one-ended `requires`**: a requires relation with only its source (`subject`) or only its target
 *   (`action`) requires of that one term X what its conditions name. In this shape the conditions are the
 *   requirements themselves, so it becomes one relation per (distinct) condition C: `requires(X, C)`, C
 *   as the target (an implicit `context` term when not defined, warned at `$.relations[i].condition` or
 *   `…conditions[k]`), no conditions, the same `object` and `justification`. The engine then requires
 *   `context.C === true` (or escalates when C is `human_approval`). Ids: generated as usual when absent
 *   (`requires:X->C[:object]`); an explicit `relation_id` is kept for one condition, and suffixed `#1`,
 *   `#2`… in the order of the conditions when there are several (`r` with two conditions gives `r#1`,
 *   `r#2`). A condition must then also be a valid term id (≤ 255 characters, no control characters).
 *   E.g. `{"type": "requires", "action": "action:ship_pallet", "condition": "manifest_signed"}` is
 *   `requires(action:ship_pallet, manifest_signed)`, id `requires:action:ship_pallet->manifest_signed`.
 *   A one-ended requires without conditions uses X for both ends: `requires(X, X)`, id
 *   `requires:X->X` (its requirement is named after X). Every other relation type needs both ends;
 * - **a three-field requires** (`{"type": "requires", "subject": A, "action": X, "condition": C}`, "A doing X
 *   requires C"): read like the one-ended shape with the action as its end, `requires(X, C)` per
 *   condition, for every actor (a requirement has one scope term), with a warning at
 *   `$.relations[i].subject` naming A. Only this shape (the target given as `action`, conditions given);
 *   `{source, target, conditions}` stays `requires(source, target)`;
 * - unknown keys (`compliance_frameworks`, term `sensitivity`…) are ignored with a warning;
 * - relation `metadata`, top-level `description`, `metadata`, `created_at`, `author`, `$schema` are
 *   ignored silently.
 *
 * `risk_factors`, when present (not null), is the policy's own risk factor table
 * (`{data_classes, verbs, bulk}`, see the risk engine's `parseFactorTable`): it replaces the default table
 * as a whole, its problems are the policy's (at `$.risk_factors…`), and the normalized policy carries it
 * as `factorTableToJson` writes it. Without one the normalized policy has no `risk_factors` key at all.
 *
 * Undefined terms named by relations become implicit terms typed as {@link inferImplicitTerms} says.
 */
export function loadPolicyDocument(doc: unknown): LoadOutcome {
  const problems: Located[] = [];
  const warnings: Located[] = [];

  jsonProblems(doc, [], problems);
  const parsed = PolicyDocumentSchema.safeParse(doc, { error: errorMap });
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(...issueProblems(issue));
  if (!isPlainObject(doc)) return { ok: false, problems: finish(problems) };

  const rawTerms = Array.isArray(doc['terms']) ? (doc['terms'] as unknown[]) : [];
  const rawRelations = Array.isArray(doc['relations']) ? (doc['relations'] as unknown[]) : [];
  if (rawTerms.length > POLICY_LIMITS.terms) {
    problems.push({ segs: ['terms'], message: `must have at most ${POLICY_LIMITS.terms} terms (has ${rawTerms.length})` });
  }
  if (rawRelations.length > POLICY_LIMITS.relations) {
    problems.push({
      segs: ['relations'],
      message: `must have at most ${POLICY_LIMITS.relations} relations (has ${rawRelations.length})`,
    });
  }

  unknownKeyWarnings(doc, rawTerms, rawRelations, warnings);
  const header = readHeader(doc, problems, warnings);
  const riskFactors = readRiskFactors(doc, problems);
  const terms: TermDraft[] = [];
  rawTerms.forEach((raw, i) => {
    const t = termDraft(raw, i, problems);
    if (t !== undefined) terms.push(t);
  });
  const relations: RelationDraft[] = [];
  rawRelations.forEach((raw, i) => {
    const r = relationDraft(raw, i, problems);
    if (r === undefined) return;
    relations.push(...expandOneEndedRequires(r, problems));
    if (r.scopedSubject !== undefined) {
      warnings.push({
        segs: ['relations', i, r.scopedSubject.key],
        message:
          `requires with subject and action: its conditions are required of ${JSON.stringify(r.source)} for every actor, ` +
          `not only ${JSON.stringify(r.scopedSubject.value)} (a requirement applies to one term)`,
      });
    }
  });

  const defined = checkDuplicateTerms(terms, problems);
  const implicit = inferImplicitTerms(relations, defined, warnings);
  const selfAsserted: Located[] = [];
  checkRequirements(terms, relations, defined, problems, selfAsserted);
  checkObjects(relations, defined, implicit, problems);
  checkImpliesCycles(relations, problems);
  const relationIds = assignRelationIds(relations, problems);

  if (problems.length > 0) return { ok: false, problems: finish(problems) };

  const policyTerms: PolicyTerm[] = terms.map((t) => ({
    term_id: t.id as string,
    term_type: t.type as TermType,
    value: t.value,
    label: t.label,
    description: t.description,
    metadata: cloneJson(t.metadata) as Record<string, unknown>,
    implicit: false,
  }));
  for (const [id, { type }] of implicit) {
    policyTerms.push({ term_id: id, term_type: type, value: null, label: null, description: null, metadata: {}, implicit: true });
  }
  const policyRelations: PolicyRelation[] = relations.map((r) => ({
    relation_id: relationIds.get(r) as string,
    relation_type: r.type as RelationType,
    source: r.source as string,
    target: r.target as string,
    object: r.object,
    conditions: r.conditions,
    justification: r.justification,
    // Absent, not null, without a window: the hash of every policy without one stays what it was.
    ...(r.window === null ? {} : { window: r.window }),
  }));
  const policy: NormalizedPolicy = {
    policy_id: header.policy_id,
    name: header.name,
    version: header.version,
    mode: header.mode,
    terms: policyTerms.sort((a, b) => compareStrings(a.term_id, b.term_id)),
    relations: policyRelations.sort((a, b) => compareStrings(a.relation_id, b.relation_id)),
    // Absent, not null, without a table: the hash of every policy without one stays what it was.
    ...(riskFactors === undefined ? {} : { risk_factors: riskFactors }),
  };
  let versionHash: string;
  try {
    versionHash = policyVersionHash(policy);
  } catch (err) {
    // Unreachable after the checks above; a policy that cannot be hashed must still not load.
    return { ok: false, problems: [{ path: '$', message: `cannot be canonicalized: ${(err as Error).message}` }] };
  }
  return { ok: true, policy, versionHash, warnings: finish(warnings), selfAsserted: finish(selfAsserted) };
}

/** Every warning of a loaded document: its shape's, then its self-asserted requirements' (each sorted by path). */
export function allWarnings(outcome: { warnings: readonly PolicyProblem[]; selfAsserted: readonly PolicyProblem[] }): PolicyProblem[] {
  return [...outcome.warnings, ...outcome.selfAsserted];
}

/** The version hash of a normalized policy: SHA-256 hex of its RFC 8785 canonical JSON (JCS). */
export function policyVersionHash(policy: NormalizedPolicy): string {
  return sha256Hex(canonicalize(policy));
}
