/**
 * The policy engine's compilation (DESIGN §4): a {@link NormalizedPolicy} compiled once into the indexes
 * evaluation reads (policy.engine.ts): exact keys per term type, glob terms in a trie by literal prefix,
 * relations by source, by (source, target) and by conflicting term, the direct `implies` edges, and the
 * risk factor table. Pure.
 */
import { compileGlob, type CompiledGlobPattern } from '../../platform/glob.js';
import { DEFAULT_FACTOR_TABLE, parseFactorTable, type FactorTable } from '../risk/risk.engine.js';
import { stripTypePrefix } from './policy.match.js';
import type { NormalizedPolicy, PolicyProblem, PolicyRelation, PolicyTerm, TermType } from './policy.model.js';

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
export const EMPTY: readonly string[] = Object.freeze([]);

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Total order on relations: `relation_id`, then every other field (so input order never matters). */
export function compareRelations(a: PolicyRelation, b: PolicyRelation): number {
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

export function requirementName(target: string, lookup: (id: string) => PolicyTerm | undefined): string {
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
 * The term indexes per matchable type: id and id without prefix, label and `*`-free value in Maps;
 * glob terms compiled once, in the trie by literal prefix (those starting with `*` in a list).
 */
function indexTerms(policy: NormalizedPolicy): Map<TermType, TypeIndex> {
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
  return types;
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

  const types = indexTerms(policy);

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
