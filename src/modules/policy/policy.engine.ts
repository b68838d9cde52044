/**
 * The policy engine (DESIGN §4): compiles a {@link NormalizedPolicy} once into indexes, then evaluates
 * requests against it. Evaluation is pure and deterministic: the same compiled policy and the same
 * request always give deep-equal results, whatever the order of the policy's terms and relations.
 *
 * Semantics, in full:
 *
 * 1. **Which request field a term matches**, by `term_type`: `actor` → `request.actor`, `action` →
 *    `request.action`, `resource` → `request.resource` (absent ⇒ no match), `data_class` → any of
 *    `request.data_classes`; `context` terms never match a request field (they only name requirements).
 *    A relation endpoint that names no term in `policy.terms` (the loader adds implicit terms, so this
 *    is a guard) matches no request field directly; it can still be reached through `implies`.
 * 2. **Term matching** ({@link termMatchesValue}): the value equals the term id, or the id without its
 *    type prefix, or the value without its type prefix equals either (`actor:model` ↔ `model`); or it
 *    equals the term's label; or the term's `value` matches it as an anchored `*` glob (a value
 *    without `*` is an exact match), decided in linear time without a RegExp (`platform/glob.ts`). Only
 *    the six {@link TYPE_PREFIXES} are stripped (`data:` among them: `data:pii` ↔ `pii`); no substring
 *    matching; case-sensitive. Implicit terms match by id and id without prefix only.
 * 3. **`implies(A, B)`**: a request that matches A also matches B, transitively. The matched set M is
 *    the direct matches closed under `implies`. `implies` relations are never listed in `matched`
 *    (there is no effect for them); the implied terms show in `matched_terms`. An `object` or
 *    `conditions` on an `implies` relation is ignored.
 * 4. **A relation applies** when its source is in M and, for `permits`/`forbids`, its target is in M,
 *    and, when `object` is set, one of `request.data_classes` matches the object term: it matches it
 *    by rule 2 directly (whatever the object term's type), or matches a `data_class` term that implies
 *    it. `permits` → `permit`; `forbids` → `forbid`; `requires(X, T)` (T is a requirement, not matched
 *    against the request) → `requires_human_approval` when T's name is `human_approval` (nothing in the
 *    request satisfies it), otherwise `requirement_satisfied` or `requirement_unsatisfied`: when T is a
 *    defined term with `metadata.attestation`, satisfied iff an attestation in `context.attestations`
 *    verifies at `request.at` for `request.actor` (policy.attestation.ts); else (self-asserted) iff
 *    `request.context` has an own property of T's name equal to `true`. The name is T's `value` when T
 *    is a defined term with a value, else T's id without type prefix. `conflicts(X, Y)` (separation of
 *    duties, symmetric) applies when X ∈ M and an approval of the actor inside the relation's window
 *    (policy.sod.ts: `request.session_approved_actions`, then `request.approval_history` whose
 *    `approved_at` is at most `window` before `request.at`) matches Y, or Y ∈ M and one matches X
 *    (target ∈ M is not required). An approved action matches an endpoint when it matches it by rule 2
 *    directly (whatever the endpoint's type), or matches an `action` term that implies it;
 *    `conflicting_action` (and `conflicting_decision_id`) is the first such approval in that order.
 * 5. **Outcome**: denied ≻ escalated ≻ conditional ≻ approved. `forbid`, `conflict`,
 *    `requirement_unsatisfied` deny; `requires_human_approval` escalates (trigger
 *    `policy_requires_approval`); a permit with conditions gives conditional; a permit, approved. When
 *    none of those matched (`default_applied`; a satisfied requirement alone decides nothing) the mode
 *    decides: strict and paranoid deny, permissive approves. Then paranoid mode escalates an approved or
 *    conditional outcome when `request.risk.level` is `high`/`critical` (trigger `paranoid_mode`), and in
 *    every mode `request.risk.score >= 80` escalates anything not denied (trigger `risk_threshold`).
 *    A denial is never turned into anything else. `escalation_triggers` lists, when the outcome is
 *    escalated, every trigger whose condition holds for the policy's own outcome, in the order
 *    `policy_requires_approval`, `paranoid_mode`, `risk_threshold`; it is empty otherwise.
 *    `conditions` is the sorted, unique union of the matched permits' conditions unless the outcome is
 *    denied (an approved outcome has none; an escalated one keeps them so the human sees them).
 * 6. **reason**: one sentence naming the deciding relation by id and type (the first by `relation_id`
 *    when several decide, with how many more), or the mode's default, or the escalation triggers.
 * 7. `matched` is sorted by `relation_id`, `matched_terms` sorted (both by UTF-16 code units).
 */

import { compileGlob, matchesCompiledGlob, matchesGlob, type CompiledGlobPattern } from '../../platform/glob.js';
import { DEFAULT_FACTOR_TABLE, parseFactorTable, type FactorTable } from '../risk/risk.engine.js';
import { requirementAttested, termAttestation } from './policy.attestation.js';
import { approvalsOf, inWindow, relationWindowMs, windowText, type Approval } from './policy.sod.js';
import type {
  EvaluationRequest,
  EvaluationResult,
  MatchedRelation,
  NormalizedPolicy,
  Outcome,
  PolicyMode,
  PolicyProblem,
  PolicyRelation,
  PolicyTerm,
  TermType,
} from './policy.model.js';
import { TYPE_PREFIX_TYPES } from './policy.model.js';

/**
 * The type prefixes {@link stripTypePrefix} removes: `actor:`, `action:`, `resource:`, `data:`,
 * `data_class:`, `context:` (DESIGN §4; `data:` is the original Lexecon's spelling, `data:pii`).
 */
export const TYPE_PREFIXES: readonly string[] = Object.freeze(TYPE_PREFIX_TYPES.map(([prefix]) => prefix));

const PREFIX_SET: ReadonlySet<string> = new Set(TYPE_PREFIXES);

/**
 * The id without its type prefix: `actor:model` → `model`, `data:pii` → `pii`. Only the six
 * {@link TYPE_PREFIXES} are stripped, once (`ai_agent:x` and `actor` stay as they are;
 * `actor:actor:x` → `actor:x`). `data_class:x` is matched whole (its first colon ends `data_class:`).
 */
export function stripTypePrefix(id: string): string {
  const colon = id.indexOf(':');
  if (colon < 0) return id;
  return PREFIX_SET.has(id.slice(0, colon + 1)) ? id.slice(colon + 1) : id;
}

/**
 * Whether a request value matches a term (rule 2), ignoring the term's type: `value` equals the term id
 * or the id without type prefix; or `value` without its type prefix equals either; or (non-implicit
 * terms only) `value` equals the label, or the term's `value` pattern matches it as a `*` glob.
 * Case-sensitive; no substring matching.
 */
export function termMatchesValue(term: PolicyTerm, value: string): boolean {
  const id = term.term_id;
  const bareId = stripTypePrefix(id);
  if (value === id || value === bareId) return true;
  const bareValue = stripTypePrefix(value);
  if (bareValue !== value && (bareValue === id || bareValue === bareId)) return true;
  if (term.implicit) return false;
  if (term.label !== null && value === term.label) return true;
  return term.value !== null && matchesGlob(term.value, value);
}

/** A policy the engine cannot compile; `problems` lists every reason. */
export class PolicyCompileError extends Error {
  /** Every problem found, located by a JSON path into the normalized policy. */
  readonly problems: PolicyProblem[];

  constructor(problems: PolicyProblem[]) {
    super(`policy cannot be compiled: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'PolicyCompileError';
    this.problems = problems;
  }
}

/** A glob term of one type, compiled once. @internal */
export interface CompiledGlob {
  readonly termId: string;
  /** Literal text before the first `*` and after the last `*`. */
  readonly prefix: string;
  readonly suffix: string;
  /** The pattern split at its `*`s, matched in linear time (no RegExp); see `platform/glob.ts`. */
  readonly pattern: CompiledGlobPattern;
}

/**
 * One node of a character trie over the literal prefixes of glob terms (the text before the first `*`),
 * keyed by UTF-16 code unit. A node holds the globs whose literal prefix is exactly the path from the
 * root to it, so walking a value's code units from the root meets exactly the globs whose literal prefix
 * is a prefix of the value: len(value) steps at most, whatever the number of globs. @internal
 */
export interface GlobTrieNode {
  /** Next code unit → child node. */
  readonly next: Map<number, GlobTrieNode>;
  /** The globs whose literal prefix ends at this node (never at the root: see {@link TypeIndex.globs}). */
  readonly globs: CompiledGlob[];
}

/** How the terms of one type are found for a request value. @internal */
export interface TypeIndex {
  /** Term id and id without prefix → term ids; looked up with the value and the value without prefix. */
  readonly byId: Map<string, string[]>;
  /** Label and `*`-free value pattern → term ids (non-implicit terms); looked up with the value. */
  readonly byExact: Map<string, string[]>;
  /** The glob terms whose pattern starts with `*` (empty literal prefix): candidates for every value. */
  readonly globs: CompiledGlob[];
  /** Every other glob term, by literal prefix: only those whose prefix starts the value are candidates. */
  readonly globTrie: GlobTrieNode;
}

/** A relation with its position in `relation_id` order and what evaluation needs precomputed. @internal */
export interface CompiledRelation {
  readonly rank: number;
  readonly relation: PolicyRelation;
  /** For `requires`: the requirement's name. */
  readonly requirement: string | null;
}

/** A policy compiled for evaluation ({@link compilePolicy}); treat it as opaque and immutable. */
export interface CompiledPolicy {
  /** The policy it was compiled from (not copied; never modified by the engine). */
  readonly policy: NormalizedPolicy;
  /** @internal Term indexes per matchable type. */
  readonly types: ReadonlyMap<TermType, TypeIndex>;
  /**
   * @internal Term id → the terms it implies directly (deduplicated). The transitive closure is walked per
   * request ({@link addClosed}) rather than stored: stored per term it grows with the square of a chain's
   * length (a 20,000-link chain would hold 200 million entries).
   */
  readonly implies: ReadonlyMap<string, readonly string[]>;
  /** @internal Term id → the terms with that id (one after compile's duplicate check). */
  readonly termsById: ReadonlyMap<string, PolicyTerm>;
  /**
   * @internal Source term id → its `requires` relations (their target is a requirement, never matched
   * against the request, so the source alone selects them).
   */
  readonly bySource: ReadonlyMap<string, readonly CompiledRelation[]>;
  /**
   * @internal Source term id → target term id → the `permits`/`forbids` relations from that source to
   * that target. Both ends must be in the matched set M, so evaluation looks up only pairs of matched
   * terms: a broad source (matched by every request) with many targets costs no more than a narrow one.
   */
  readonly byPair: ReadonlyMap<string, ReadonlyMap<string, readonly CompiledRelation[]>>;
  /** @internal Term id → the `conflicts` relations with it at either end. */
  readonly conflictsByTerm: ReadonlyMap<string, readonly CompiledRelation[]>;
  /**
   * The risk factor table to score this policy's requests with: its own `risk_factors`, parsed, or
   * {@link DEFAULT_FACTOR_TABLE} when it has none. Evaluation does not read it; the risk scoring does.
   */
  readonly factorTable: FactorTable;
}

const MATCHABLE_TYPES: readonly TermType[] = ['actor', 'action', 'resource', 'data_class'];
const EMPTY: readonly string[] = Object.freeze([]);

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Total order on relations: `relation_id`, then every other field (so input order never matters). */
function compareRelations(a: PolicyRelation, b: PolicyRelation): number {
  return (
    compareStrings(a.relation_id, b.relation_id) ||
    compareStrings(a.relation_type, b.relation_type) ||
    compareStrings(a.source, b.source) ||
    compareStrings(a.target, b.target) ||
    compareStrings(a.object ?? '', b.object ?? '') ||
    compareStrings(a.conditions.join('\u0000'), b.conditions.join('\u0000')) ||
    compareStrings(a.justification ?? '', b.justification ?? '')
  );
}

/**
 * Append `id` to `map[key]` unless it was the last one appended there. Callers push all the keys of one
 * term together, so that is the only repeat possible; checking the whole list instead made indexing
 * quadratic in the number of terms sharing a key (100,000 terms with one label).
 */
function pushTo(map: Map<string, string[]>, key: string, id: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [id]);
  else if (list[list.length - 1] !== id) list.push(id);
}

function pushRel(map: Map<string, CompiledRelation[]>, key: string, rel: CompiledRelation): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rel]);
  else list.push(rel);
}

function newTrieNode(): GlobTrieNode {
  return { next: new Map(), globs: [] };
}

/** Add a glob with a non-empty literal prefix to the trie, at the node its prefix leads to. */
function addToTrie(root: GlobTrieNode, glob: CompiledGlob): void {
  let node = root;
  for (let i = 0; i < glob.prefix.length; i++) {
    const unit = glob.prefix.charCodeAt(i);
    let child = node.next.get(unit);
    if (child === undefined) {
      child = newTrieNode();
      node.next.set(unit, child);
    }
    node = child;
  }
  node.globs.push(glob);
}

function requirementName(target: string, lookup: (id: string) => PolicyTerm | undefined): string {
  const term = lookup(target);
  return term !== undefined && !term.implicit && term.value !== null ? term.value : stripTypePrefix(target);
}

/**
 * Find the implies cycles (every back edge of a depth-first search), as problems. Iterative: a chain of
 * 100,000 implications must not overflow the call stack (issue 14, C5).
 */
function impliesCycles(policy: NormalizedPolicy, edges: ReadonlyMap<string, readonly string[]>): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const work: Array<{ node: string; next: number }> = [];
  const enter = (node: string): void => {
    state.set(node, 1);
    stack.push(node);
    work.push({ node, next: 0 });
  };
  for (const root of [...edges.keys()].sort(compareStrings)) {
    if (state.has(root)) continue;
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node) ?? EMPTY;
      if (frame.next >= out.length) {
        work.pop();
        stack.pop();
        state.set(frame.node, 2);
        continue;
      }
      const next = out[frame.next++]!;
      const s = state.get(next);
      if (s === 1) {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const index = policy.relations.findIndex(
          (r) => r.relation_type === 'implies' && r.source === frame.node && r.target === next,
        );
        problems.push({ path: `$.relations[${index}]`, message: `implies cycle: ${cycle.join(' → ')}` });
      } else if (s === undefined) {
        enter(next);
      }
    }
  }
  return problems;
}

/**
 * Compile a policy once for fast evaluation: exact keys (id, id without prefix, label, `*`-free value)
 * in Maps per term type, glob terms (each compiled once) in a trie by literal prefix per type (those
 * starting with `*` in a short list), `permits`/`forbids` indexed by (source, target), `requires` by
 * source, `conflicts` by both ends, and the direct `implies` edges (closed per request, iteratively).
 * Relations are ordered by `relation_id` here, so the input order never matters. The policy's
 * `risk_factors`, when present, is parsed into {@link CompiledPolicy.factorTable} (else the default table).
 *
 * @throws PolicyCompileError with every problem when `implies` has a cycle (a self-implication counts),
 *   two terms share a `term_id` or `risk_factors` is not a valid factor table (the loader rejects all of
 *   them first; this is a guard).
 */
export function compilePolicy(policy: NormalizedPolicy): CompiledPolicy {
  const problems: PolicyProblem[] = [];
  const termsById = new Map<string, PolicyTerm>();
  policy.terms.forEach((term, i) => {
    if (termsById.has(term.term_id)) {
      problems.push({ path: `$.terms[${i}].term_id`, message: `duplicate term id "${term.term_id}"` });
    } else {
      termsById.set(term.term_id, term);
    }
  });

  // Direct implications, deduplicated through a Set per source (a source may imply 100,000 terms).
  const edgeSets = new Map<string, Set<string>>();
  for (const r of policy.relations) {
    if (r.relation_type !== 'implies') continue;
    const targets = edgeSets.get(r.source);
    if (targets === undefined) edgeSets.set(r.source, new Set([r.target]));
    else targets.add(r.target);
  }
  const edges = new Map<string, string[]>();
  for (const [source, targets] of edgeSets) edges.set(source, [...targets]);
  problems.push(...impliesCycles(policy, edges));
  let factorTable: FactorTable = DEFAULT_FACTOR_TABLE;
  if (policy.risk_factors !== undefined) {
    const parsed = parseFactorTable(policy.risk_factors);
    for (const p of parsed.problems) problems.push({ path: `$.risk_factors${p.path.slice(1)}`, message: p.message });
    if (parsed.table !== undefined) factorTable = parsed.table;
  }
  if (problems.length > 0) throw new PolicyCompileError(problems);

  // Term indexes per type.
  const types = new Map<TermType, TypeIndex>();
  for (const type of MATCHABLE_TYPES) {
    types.set(type, { byId: new Map(), byExact: new Map(), globs: [], globTrie: newTrieNode() });
  }
  for (const term of policy.terms) {
    const index = types.get(term.term_type);
    if (index === undefined) continue; // context terms match no request field
    const id = term.term_id;
    pushTo(index.byId, id, id);
    pushTo(index.byId, stripTypePrefix(id), id);
    if (term.implicit) continue;
    if (term.label !== null) pushTo(index.byExact, term.label, id);
    if (term.value !== null) {
      const pattern = term.value;
      const first = pattern.indexOf('*');
      if (first < 0) {
        pushTo(index.byExact, pattern, id);
      } else {
        const compiled = compileGlob(pattern);
        const glob: CompiledGlob = { termId: id, prefix: compiled.prefix, suffix: compiled.suffix, pattern: compiled };
        if (first === 0) index.globs.push(glob);
        else addToTrie(index.globTrie, glob);
      }
    }
  }

  // Relations, in relation_id order, indexed.
  const sorted = [...policy.relations].sort(compareRelations);
  const bySource = new Map<string, CompiledRelation[]>();
  const byPair = new Map<string, Map<string, CompiledRelation[]>>();
  const conflictsByTerm = new Map<string, CompiledRelation[]>();
  sorted.forEach((relation, rank) => {
    const type = relation.relation_type;
    if (type === 'implies') return;
    const compiled: CompiledRelation = {
      rank,
      relation,
      requirement: type === 'requires' ? requirementName(relation.target, (id) => termsById.get(id)) : null,
    };
    if (type === 'conflicts') {
      pushRel(conflictsByTerm, relation.source, compiled);
      if (relation.target !== relation.source) pushRel(conflictsByTerm, relation.target, compiled);
    } else if (type === 'requires') {
      pushRel(bySource, relation.source, compiled);
    } else if (type === 'permits' || type === 'forbids') {
      let byTarget = byPair.get(relation.source);
      if (byTarget === undefined) {
        byTarget = new Map();
        byPair.set(relation.source, byTarget);
      }
      pushRel(byTarget, relation.target, compiled);
    }
  });

  return { policy, types, implies: edges, termsById, bySource, byPair, conflictsByTerm, factorTable };
}

/**
 * Add `id` and everything it implies to `into`, which is always closed under `implies`: a term already in
 * it brings nothing new, so each term is visited at most once per request. Iterative (an explicit stack),
 * so a long `implies` chain cannot overflow the call stack.
 */
function addClosed(compiled: CompiledPolicy, id: string, into: Set<string>): void {
  if (into.has(id)) return;
  into.add(id);
  const pending: string[] = [id];
  while (pending.length > 0) {
    const implied = compiled.implies.get(pending.pop()!);
    if (implied === undefined) continue;
    for (const t of implied) {
      if (into.has(t)) continue;
      into.add(t);
      pending.push(t);
    }
  }
}

function addAllClosed(compiled: CompiledPolicy, ids: readonly string[] | undefined, into: Set<string>): void {
  if (ids !== undefined) for (const id of ids) addClosed(compiled, id, into);
}

/**
 * Add to `into` every term of `type` that `value` matches directly, with everything it implies. Glob
 * candidates are the `*`-first globs and those the trie walk along `value` meets (their literal prefix
 * starts `value`); each candidate is then checked in full by the linear glob matcher.
 */
function matchInto(compiled: CompiledPolicy, type: TermType, value: string, into: Set<string>): void {
  const index = compiled.types.get(type);
  if (index === undefined) return;
  addAllClosed(compiled, index.byId.get(value), into);
  const bare = stripTypePrefix(value);
  if (bare !== value) addAllClosed(compiled, index.byId.get(bare), into);
  addAllClosed(compiled, index.byExact.get(value), into);
  for (const g of index.globs) addIfGlobMatches(compiled, g, value, into);
  let node: GlobTrieNode | undefined = index.globTrie;
  for (let i = 0; i < value.length; i++) {
    node = node.next.get(value.charCodeAt(i));
    if (node === undefined) break;
    for (const g of node.globs) addIfGlobMatches(compiled, g, value, into);
  }
}

/** Add `g`'s term (closed under `implies`) to `into` when `value`, which starts with `g.prefix`, matches `g`. */
function addIfGlobMatches(compiled: CompiledPolicy, g: CompiledGlob, value: string, into: Set<string>): void {
  if (into.has(g.termId)) return;
  if (!matchesCompiledGlob(g.pattern, value)) return;
  addClosed(compiled, g.termId, into);
}

/** A matched relation with the relation itself (for the reason) and its rank in relation_id order. */
interface Hit {
  readonly rank: number;
  readonly relation: PolicyRelation;
  readonly match: MatchedRelation;
  /** For an attested requirement: why it is (not) met, for the reason. */
  detail?: string;
}

function hit(
  rank: number,
  relation: PolicyRelation,
  effect: MatchedRelation['effect'],
  extra?: { requirement?: string; conflicting_action?: string; conflicting_decision_id?: string },
): Hit {
  // NOTE: built field by field rather than with a spread: this runs once per matched relation, and the
  // spread was the largest cost of a request that matches many relations. Key order is the same.
  const match: MatchedRelation =
    extra === undefined
      ? { relation_id: relation.relation_id, relation_type: relation.relation_type, effect, justification: relation.justification }
      : {
          relation_id: relation.relation_id,
          relation_type: relation.relation_type,
          effect,
          ...extra,
          justification: relation.justification,
        };
  return { rank, relation, match };
}

function requiresHit(
  rank: number,
  relation: PolicyRelation,
  name: string,
  request: EvaluationRequest,
  term: PolicyTerm | undefined,
): Hit {
  if (name === 'human_approval') return hit(rank, relation, 'requires_human_approval', { requirement: name });
  const attestation = termAttestation(term);
  if (attestation.kind !== 'none') {
    const check =
      attestation.kind === 'spec'
        ? requirementAttested(term!, attestation.spec, request)
        : { satisfied: false, detail: 'the term’s attestation metadata is invalid' };
    const h = hit(rank, relation, check.satisfied ? 'requirement_satisfied' : 'requirement_unsatisfied', { requirement: name });
    h.detail = check.detail;
    return h;
  }
  const context = request.context;
  const satisfied = context !== undefined && Object.hasOwn(context, name) && context[name] === true;
  return hit(rank, relation, satisfied ? 'requirement_satisfied' : 'requirement_unsatisfied', { requirement: name });
}

/** The `conflicts` hit of the approval at `i`. */
function conflictHit(rank: number, r: PolicyRelation, a: Approval): Hit {
  return hit(
    rank,
    r,
    'conflict',
    a.decision_id === undefined
      ? { conflicting_action: a.action }
      : { conflicting_action: a.action, conflicting_decision_id: a.decision_id },
  );
}

/**
 * Evaluate a request against a compiled policy (semantics in this module's header). Cost grows with
 * what the request matches, not with the size of the policy: Map lookups per request value, a trie walk
 * along it (plus the `*`-first globs of its type), and only the relations indexed under matched terms:
 * `permits`/`forbids` under a pair of matched terms, `requires` and `conflicts` under one.
 * Pure and deterministic: the same compiled policy and request always give a deep-equal result.
 */
export function evaluate(compiled: CompiledPolicy, request: EvaluationRequest): EvaluationResult {
  const matched = new Set<string>();
  matchInto(compiled, 'actor', request.actor, matched);
  matchInto(compiled, 'action', request.action, matched);
  if (request.resource !== undefined) matchInto(compiled, 'resource', request.resource, matched);
  const dataClasses = request.data_classes ?? EMPTY;
  const dataMatched = new Set<string>();
  for (const dc of dataClasses) matchInto(compiled, 'data_class', dc, dataMatched);
  for (const id of dataMatched) matched.add(id);

  const objectOk = (object: string | null): boolean => {
    if (object === null || dataMatched.has(object)) return true;
    const term = compiled.termsById.get(object);
    if (term === undefined) return false;
    for (const dc of dataClasses) if (termMatchesValue(term, dc)) return true;
    return false;
  };

  // Per approval of the actor, the action terms it matches (with implications), computed on demand.
  const approved = approvalsOf(request);
  let approvedSets: Set<string>[] | null = null;
  const approvedMatches = (i: number, endpoint: string): boolean => {
    if (approvedSets === null) {
      approvedSets = approved.map((a) => {
        const set = new Set<string>();
        matchInto(compiled, 'action', a.action, set);
        return set;
      });
    }
    if (approvedSets[i]!.has(endpoint)) return true;
    const term = compiled.termsById.get(endpoint);
    return term !== undefined && termMatchesValue(term, approved[i]!.action);
  };

  const hits: Hit[] = [];
  for (const s of matched) {
    const byTarget = compiled.byPair.get(s);
    if (byTarget !== undefined) {
      for (const t of matched) {
        const relations = byTarget.get(t);
        if (relations === undefined) continue;
        for (const cr of relations) {
          const r = cr.relation;
          if (!objectOk(r.object)) continue;
          hits.push(hit(cr.rank, r, r.relation_type === 'permits' ? 'permit' : 'forbid'));
        }
      }
    }
    const requires = compiled.bySource.get(s);
    if (requires !== undefined) {
      for (const cr of requires) {
        if (objectOk(cr.relation.object)) {
          hits.push(requiresHit(cr.rank, cr.relation, cr.requirement!, request, compiled.termsById.get(cr.relation.target)));
        }
      }
    }
    if (approved.length === 0) continue;
    const conflicts = compiled.conflictsByTerm.get(s);
    if (conflicts === undefined) continue;
    for (const cr of conflicts) {
      const r = cr.relation;
      // Visit each relation once: through its source when the source matched, else through its target.
      if (r.source !== s && matched.has(r.source)) continue;
      const a = conflictingApproval(r, matched, approved, request.at, approvedMatches);
      if (a !== undefined && objectOk(r.object)) hits.push(conflictHit(cr.rank, r, a));
    }
  }
  hits.sort((a, b) => a.rank - b.rank);
  return finish(compiled.policy.mode, hits, request, [...matched].sort(compareStrings));
}

/** The first approval (in {@link approvalsOf} order) inside r's window that makes `conflicts(X, Y)` apply, if any. */
function conflictingApproval(
  r: PolicyRelation,
  matched: ReadonlySet<string>,
  approved: readonly Approval[],
  at: string | undefined,
  approvedMatches: (i: number, endpoint: string) => boolean,
): Approval | undefined {
  const sourceIn = matched.has(r.source);
  const targetIn = matched.has(r.target);
  if (!sourceIn && !targetIn) return undefined;
  const ms = relationWindowMs(r);
  for (let i = 0; i < approved.length; i++) {
    if (!inWindow(approved[i]!, at, ms)) continue;
    if ((sourceIn && approvedMatches(i, r.target)) || (targetIn && approvedMatches(i, r.source))) return approved[i];
  }
  return undefined;
}

/**
 * The naive reference evaluator: for each request it loops over every term and every relation (no
 * indexes, `implies` closed by a fixpoint loop). Gives results deep-equal to {@link evaluate} on every
 * policy {@link compilePolicy} accepts; used as a test oracle and as the benchmark's baseline.
 */
export function evaluateNaive(policy: NormalizedPolicy, request: EvaluationRequest): EvaluationResult {
  const relations = [...policy.relations].sort(compareRelations);
  const findTerm = (id: string): PolicyTerm | undefined => policy.terms.find((t) => t.term_id === id);
  const close = (set: Set<string>): void => {
    for (let changed = true; changed; ) {
      changed = false;
      for (const r of relations) {
        if (r.relation_type === 'implies' && set.has(r.source) && !set.has(r.target)) {
          set.add(r.target);
          changed = true;
        }
      }
    }
  };
  const matchType = (type: TermType, value: string, into: Set<string>): void => {
    for (const t of policy.terms) if (t.term_type === type && termMatchesValue(t, value)) into.add(t.term_id);
  };

  const matched = new Set<string>();
  matchType('actor', request.actor, matched);
  matchType('action', request.action, matched);
  if (request.resource !== undefined) matchType('resource', request.resource, matched);
  const dataClasses = request.data_classes ?? EMPTY;
  const dataMatched = new Set<string>();
  for (const dc of dataClasses) matchType('data_class', dc, dataMatched);
  close(dataMatched);
  for (const id of dataMatched) matched.add(id);
  close(matched);

  const objectOk = (object: string | null): boolean => {
    if (object === null || dataMatched.has(object)) return true;
    const term = findTerm(object);
    return term !== undefined && dataClasses.some((dc) => termMatchesValue(term, dc));
  };
  const approved = approvalsOf(request);
  const approvedMatches = (i: number, endpoint: string): boolean => {
    const set = new Set<string>();
    matchType('action', approved[i]!.action, set);
    close(set);
    if (set.has(endpoint)) return true;
    const term = findTerm(endpoint);
    return term !== undefined && termMatchesValue(term, approved[i]!.action);
  };

  const hits: Hit[] = [];
  relations.forEach((r, rank) => {
    if (!objectOk(r.object)) return;
    switch (r.relation_type) {
      case 'permits':
      case 'forbids':
        if (matched.has(r.source) && matched.has(r.target)) {
          hits.push(hit(rank, r, r.relation_type === 'permits' ? 'permit' : 'forbid'));
        }
        break;
      case 'requires':
        if (matched.has(r.source)) hits.push(requiresHit(rank, r, requirementName(r.target, findTerm), request, findTerm(r.target)));
        break;
      case 'conflicts': {
        const a = conflictingApproval(r, matched, approved, request.at, approvedMatches);
        if (a !== undefined) hits.push(conflictHit(rank, r, a));
        break;
      }
      case 'implies':
        break;
    }
  });
  return finish(policy.mode, hits, request, [...matched].sort(compareStrings));
}

// ---------------------------------------------------------------------------------------------------
// Outcome and reason (shared by both evaluators: they differ only in how they find the hits).

const DENY_EFFECTS: ReadonlySet<MatchedRelation['effect']> = new Set(['forbid', 'conflict', 'requirement_unsatisfied']);

function describe(h: Hit): string {
  const r = h.relation;
  const on = r.object === null ? '' : `, data class ${r.object}`;
  switch (h.match.effect) {
    case 'permit':
    case 'forbid':
      return `${r.relation_type} relation "${r.relation_id}" (${r.source} → ${r.target}${on})`;
    case 'conflict': {
      const by = h.match.conflicting_decision_id === undefined ? '' : ` (decision ${h.match.conflicting_decision_id})`;
      return (
        `conflicts relation "${r.relation_id}" (${r.source} ↔ ${r.target}${on}): ` +
        `"${h.match.conflicting_action}" was approved for this actor${by} within ${windowText(r)}`
      );
    }
    case 'requirement_unsatisfied': {
      const name = h.match.requirement;
      if (h.detail !== undefined) {
        return `requirement "${name}" of relation "${r.relation_id}" is not met (it needs a signed attestation in context.attestations: ${h.detail})`;
      }
      return `requirement "${name}" of relation "${r.relation_id}" is not met (context.${name} must be true)`;
    }
    case 'requires_human_approval':
      return `relation "${r.relation_id}" requires human approval`;
    case 'requirement_satisfied':
      return `requirement "${h.match.requirement}" of relation "${r.relation_id}" is met`;
  }
}

/** The first deciding hit, and how many more decided alike. */
function describeFirst(deciding: readonly Hit[]): string {
  const more = deciding.length - 1;
  return describe(deciding[0]!) + (more > 0 ? ` (and ${more} more)` : '');
}

function finish(mode: PolicyMode, hits: readonly Hit[], request: EvaluationRequest, matchedTerms: string[]): EvaluationResult {
  const denials = hits.filter((h) => DENY_EFFECTS.has(h.match.effect));
  const approvals = hits.filter((h) => h.match.effect === 'requires_human_approval');
  const permits = hits.filter((h) => h.match.effect === 'permit');
  const conditionalPermits = permits.filter((h) => h.relation.conditions.length > 0);
  const defaultApplied = denials.length + approvals.length + permits.length === 0;

  let base: Outcome;
  if (denials.length > 0) base = 'denied';
  else if (approvals.length > 0) base = 'escalated';
  else if (conditionalPermits.length > 0) base = 'conditional';
  else if (permits.length > 0) base = 'approved';
  else base = mode === 'permissive' ? 'approved' : 'denied';

  const level = request.risk?.level;
  const score = request.risk?.score;
  const triggers: EvaluationResult['escalation_triggers'] = [];
  const because: string[] = [];
  if (base !== 'denied') {
    if (approvals.length > 0) {
      triggers.push('policy_requires_approval');
      because.push(describeFirst(approvals));
    }
    if (mode === 'paranoid' && (level === 'high' || level === 'critical') && (base === 'approved' || base === 'conditional')) {
      triggers.push('paranoid_mode');
      because.push(`paranoid mode escalates high-risk approvals (risk level ${level})`);
    }
    if (typeof score === 'number' && score >= 80) {
      triggers.push('risk_threshold');
      because.push(`risk score ${score} ≥ 80`);
    }
  }
  const outcome: Outcome = triggers.length > 0 ? 'escalated' : base;

  let reason: string;
  if (outcome === 'escalated') reason = `escalated: ${because.join('; ')}`;
  else if (outcome === 'denied') {
    reason = defaultApplied ? `denied: no relation permits this request (${mode} mode)` : `denied: ${describeFirst(denials)}`;
  } else if (defaultApplied) reason = `approved: nothing forbids this request (${mode} mode)`;
  else if (outcome === 'conditional') {
    const conds = [...new Set(conditionalPermits.flatMap((h) => h.relation.conditions))].sort(compareStrings);
    reason = `conditional: ${describeFirst(conditionalPermits)} with conditions ${conds.join(', ')}`;
  } else reason = `approved: ${describeFirst(permits)}`;

  const conditions =
    outcome === 'denied' ? [] : [...new Set(permits.flatMap((h) => h.relation.conditions))].sort(compareStrings);

  return {
    outcome,
    reason,
    mode,
    matched: hits.map((h) => h.match),
    conditions,
    default_applied: defaultApplied,
    escalation_triggers: outcome === 'escalated' ? triggers : [],
    matched_terms: matchedTerms,
  };
}
