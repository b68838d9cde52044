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
 *
 * This file evaluates: {@link evaluate} over the compiled indexes, and the naive oracle
 * {@link evaluateNaive}. Compilation and its indexes (glob trie, type indexes) are in policy.compile.ts,
 * term matching by id (rule 2) in policy.match.ts, the outcome and reason from the hits (rules 5–7) in
 * policy.outcome.ts.
 */

import { matchesCompiledGlob } from '../../platform/glob.js';
import { requirementAttested, termAttestation } from './policy.attestation.js';
import {
  compareRelations,
  compareStrings,
  EMPTY,
  requirementName,
  type CompiledGlob,
  type CompiledPolicy,
  type GlobTrieNode,
} from './policy.compile.js';
import { stripTypePrefix, termMatchesValue } from './policy.match.js';
import type {
  EvaluationRequest,
  EvaluationResult,
  NormalizedPolicy,
  PolicyRelation,
  PolicyTerm,
  TermType,
} from './policy.model.js';
import { finish, hit, type Hit } from './policy.outcome.js';
import { approvalsOf, inWindow, relationWindowMs, type Approval } from './policy.sod.js';

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
