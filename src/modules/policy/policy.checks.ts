/**
 * The policy loader's semantic checks over the drafts: duplicate term ids, implicit terms and their types,
 * requirements (attestations, self-asserted ones), `object`s, `implies` cycles, and relation ids (checked
 * when given, generated when absent). Pure.
 */
import { parseAttestationSpec } from './policy.attestation.js';
import { stripTypePrefix } from './policy.match.js';
import type { RelationDraft, TermDraft } from './policy.legacy.js';
import { TYPE_PREFIX_TYPES, type RelationType, type TermType } from './policy.model.js';
import { formatPath, type Located, type Segment } from './policy.problems.js';

// ---------------------------------------------------------------------------------------------------------
// Semantic checks
// ---------------------------------------------------------------------------------------------------------

export function checkDuplicateTerms(terms: readonly TermDraft[], out: Located[]): Map<string, TermDraft> {
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

export interface ImplicitTerm {
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
export function inferImplicitTerms(
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
export function checkRequirements(
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

export function checkObjects(
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
export function checkImpliesCycles(relations: readonly RelationDraft[], out: Located[]): void {
  const graph = new Map<string, Edge[]>();
  for (const r of relations) {
    if (r.type !== 'implies' || r.source === undefined || r.target === undefined) continue;
    let edges = graph.get(r.source);
    if (edges === undefined) graph.set(r.source, (edges = []));
    edges.push({ to: r.target, relation: r.index });
    if (!graph.has(r.target)) graph.set(r.target, []);
  }
  if (graph.size === 0) return;

  const component = stronglyConnectedComponents(graph);

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

/** The strongly connected component of each node of the graph, numbered from 0. */
function stronglyConnectedComponents(graph: ReadonlyMap<string, Edge[]>): Map<string, number> {
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
  return component;
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
export function assignRelationIds(relations: readonly RelationDraft[], out: Located[]): Map<RelationDraft, string> {
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

export function compareStrings(a: string, b: string): number {
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
