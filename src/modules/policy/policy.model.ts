/**
 * The policy model shared by the loader (which produces it), the engine (which compiles and evaluates
 * it) and storage. Semantics: DESIGN §4. Everything here is plain data: no I/O, no classes.
 */
import type { FactorTableJson } from '../risk/risk.engine.js';
import type { ApprovedAction } from './policy.sod.js';

export const POLICY_MODES = ['strict', 'permissive', 'paranoid'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export const TERM_TYPES = ['actor', 'action', 'resource', 'data_class', 'context'] as const;
export type TermType = (typeof TERM_TYPES)[number];

/**
 * The type prefixes of term ids and request values (`actor:model`, `data:pii`) and the term type each
 * names (DESIGN §4). `data:` is the original Lexecon's spelling of `data_class:` (its files name data
 * classes `data:pii`, `data:phi`…). The engine strips exactly these when matching (`data:pii` ↔ `pii`);
 * the loader types an implicit term by them. One list for both.
 */
export const TYPE_PREFIX_TYPES: ReadonlyArray<readonly [string, TermType]> = Object.freeze([
  ['actor:', 'actor'],
  ['action:', 'action'],
  ['resource:', 'resource'],
  ['data:', 'data_class'],
  ['data_class:', 'data_class'],
  ['context:', 'context'],
] as const);

export const RELATION_TYPES = ['permits', 'forbids', 'requires', 'implies', 'conflicts'] as const;
export type RelationType = (typeof RELATION_TYPES)[number];

export const OUTCOMES = ['approved', 'denied', 'escalated', 'conditional'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Risk levels as the risk module reports them (issue 6); the engine reads them for paranoid mode. */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/**
 * A term after normalization. Field names are snake_case because this object, canonicalized (JCS), is
 * what `version_hash` covers and what is stored.
 */
export interface PolicyTerm {
  term_id: string;
  term_type: TermType;
  /** A pattern the request value may match; `*` is a glob (`ai_agent:*`). */
  value: string | null;
  label: string | null;
  description: string | null;
  /** Free-form; `metadata.risk` (e.g. `{"privacy": 80}`) raises risk dimensions (issue 6). */
  metadata: Record<string, unknown>;
  /** Named by a relation but not defined: matched by id and id without type prefix only. */
  implicit: boolean;
}

export interface PolicyRelation {
  relation_id: string;
  relation_type: RelationType;
  /** Term ids. */
  source: string;
  target: string;
  /** A data-class term id: the relation applies only when one of the request's data classes matches it. */
  object: string | null;
  /** Obligations returned with a permit (e.g. `redact:pii`); a permit with conditions yields `conditional`. */
  conditions: string[];
  justification: string | null;
  /**
   * `conflicts` only: how far back an approval counts (`<n>s|m|h|d`, ≤ 366d). Absent, never null, when the
   * document gives none (the default, 24h, applies): a relation without one hashes as it did before.
   */
  window?: string;
}

/** A policy after normalization: terms sorted by `term_id`, relations by `relation_id`. */
export interface NormalizedPolicy {
  policy_id: string;
  name: string;
  version: string | null;
  mode: PolicyMode;
  terms: PolicyTerm[];
  relations: PolicyRelation[];
  /**
   * The policy's own risk factor table, replacing the default one as a whole (issue 6). The key is absent,
   * never null, when the document gives none: a policy without a table hashes as it did before the field
   * existed.
   */
  risk_factors?: FactorTableJson;
}

/** A problem that rejects a policy, located by a JSON path into the submitted document (`$.relations[2].type`). */
export interface PolicyProblem {
  path: string;
  message: string;
}

/** What a request puts before the engine. */
export interface EvaluationRequest {
  actor: string;
  action: string;
  resource?: string | undefined;
  data_classes?: readonly string[] | undefined;
  /**
   * `requires(X, T)` is satisfied when `context[name of T] === true`, or, when T declares
   * `metadata.attestation`, only by a valid signed attestation in `context.attestations`.
   */
  context?: Readonly<Record<string, unknown>> | undefined;
  /** RFC 3339: when the request is decided. Conflict windows end at it and attestations are checked at it. */
  at?: string | undefined;
  /** The request's risk, scored by the caller: paranoid mode escalates approvals at `high`/`critical`. */
  risk?: { level: RiskLevel; score: number } | undefined;
  /**
   * The actor's approvals on the server's record (the decision service looks them up in its decisions,
   * effective approvals included): `conflicts(X, Y)` denies X when one inside the relation's window
   * matches Y, and Y when one matches X.
   */
  approval_history?: readonly ApprovedAction[] | undefined;
  /**
   * Actions stated as approved just now, inside every window: for dry runs and policy test cases only
   * (a decision never reads them from the caller).
   */
  session_approved_actions?: readonly string[] | undefined;
}

/** The part a matched relation played in the outcome. */
export type MatchEffect =
  | 'permit'
  | 'forbid'
  | 'requirement_satisfied'
  | 'requirement_unsatisfied'
  | 'requires_human_approval'
  | 'conflict';

export interface MatchedRelation {
  relation_id: string;
  relation_type: RelationType;
  effect: MatchEffect;
  /** The requirement's name for `requires` (e.g. `mfa_verified`, `human_approval`). */
  requirement?: string;
  /** For `conflicts`: the approved action that triggered it. */
  conflicting_action?: string;
  /** For `conflicts`: the decision that approved it, when the server's record gave one. */
  conflicting_decision_id?: string;
  justification: string | null;
}

export interface EvaluationResult {
  outcome: Outcome;
  /** One human-readable sentence: why this outcome. */
  reason: string;
  mode: PolicyMode;
  /** Every relation that matched the request, in `relation_id` order, with the part it played. */
  matched: MatchedRelation[];
  /** Obligations of the matched permits (sorted, unique), for `conditional`. */
  conditions: string[];
  /** No permit/forbid/requires/conflicts relation matched: the mode's default decided. */
  default_applied: boolean;
  /** Why a human must decide, when escalated: `requires_human_approval`, `paranoid_mode`, `risk_threshold`. */
  escalation_triggers: Array<'policy_requires_approval' | 'paranoid_mode' | 'risk_threshold'>;
  /** Term ids the request matched, after `implies` (sorted): the explanation a policy author reads. */
  matched_terms: string[];
}
