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
 *
 * This file holds the entry points and their orchestration, and normalizes; the rest is split by
 * responsibility: the zod document schema and field lists (policy.document.schema.ts), problem locating
 * and formatting and raw-JSON helpers (policy.problems.ts), the original Lexecon's shapes read into drafts
 * and the header (policy.legacy.ts), and the semantic checks over the drafts (policy.checks.ts).
 */
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { factorTableToJson, parseFactorTable, type FactorTableJson } from '../risk/risk.engine.js';
import {
  assignRelationIds,
  checkDuplicateTerms,
  checkImpliesCycles,
  checkObjects,
  checkRequirements,
  compareStrings,
  inferImplicitTerms,
  type ImplicitTerm,
} from './policy.checks.js';
import { POLICY_LIMITS, PolicyDocumentSchema } from './policy.document.schema.js';
import {
  expandOneEndedRequires,
  readHeader,
  relationDraft,
  termDraft,
  type Header,
  type RelationDraft,
  type TermDraft,
} from './policy.legacy.js';
import type {
  NormalizedPolicy,
  PolicyProblem,
  PolicyRelation,
  PolicyTerm,
  RelationType,
  TermType,
} from './policy.model.js';
import {
  cloneJson,
  errorMap,
  finish,
  isPlainObject,
  issueProblems,
  jsonProblems,
  pathSegments,
  present,
  unknownKeyWarnings,
  type Located,
} from './policy.problems.js';

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

// ---------------------------------------------------------------------------------------------------------
// Risk factors
// ---------------------------------------------------------------------------------------------------------

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

  const policy = normalizePolicy(header, terms, implicit, relations, relationIds, riskFactors);
  let versionHash: string;
  try {
    versionHash = policyVersionHash(policy);
  } catch (err) {
    // Unreachable after the checks above; a policy that cannot be hashed must still not load.
    return { ok: false, problems: [{ path: '$', message: `cannot be canonicalized: ${(err as Error).message}` }] };
  }
  return { ok: true, policy, versionHash, warnings: finish(warnings), selfAsserted: finish(selfAsserted) };
}

/**
 * The normalized policy of a document without problems: its terms (the defined ones, then the implicit
 * ones) sorted by `term_id`, its relations by `relation_id`.
 */
function normalizePolicy(
  header: Header,
  terms: readonly TermDraft[],
  implicit: ReadonlyMap<string, ImplicitTerm>,
  relations: readonly RelationDraft[],
  relationIds: ReadonlyMap<RelationDraft, string>,
  riskFactors: FactorTableJson | undefined,
): NormalizedPolicy {
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
  return policy;
}

/** Every warning of a loaded document: its shape's, then its self-asserted requirements' (each sorted by path). */
export function allWarnings(outcome: { warnings: readonly PolicyProblem[]; selfAsserted: readonly PolicyProblem[] }): PolicyProblem[] {
  return [...outcome.warnings, ...outcome.selfAsserted];
}

/** The version hash of a normalized policy: SHA-256 hex of its RFC 8785 canonical JSON (JCS). */
export function policyVersionHash(policy: NormalizedPolicy): string {
  return sha256Hex(canonicalize(policy));
}