/**
 * Property tests for the policy engine over seeded random policies and requests (no fast-check: a small
 * deterministic PRNG, so every failure reproduces from its seed).
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.compile.js';
import { evaluate, evaluateNaive } from './policy.engine.js';
import {
  POLICY_MODES,
  RELATION_TYPES,
  RISK_LEVELS,
  TERM_TYPES,
  type EvaluationRequest,
  type EvaluationResult,
  type NormalizedPolicy,
  type PolicyRelation,
  type PolicyTerm,
} from './policy.model.js';
import { Gen } from '../../../test/helpers/prng.js';



const BASES = ['a', 'b', 'bot', 'agent', 'read', 'write', 'pii', 'db', 'mfa', 'human_approval', 'Bot'];
const PREFIXES = ['', '', 'actor:', 'action:', 'data_class:', 'context:', 'ai_agent:'];
const GLOBS = ['*', 'a*', '*t', 'ai_agent:*', 'b*t*', 'action:*', '*a*', 'read', 'pii', 'db:*', 'a*a', 'bo*ot'];
const CONDITIONS = ['redact:pii', 'max_rows:100', 'audit', 'notify'];
/** The decision time of requests that carry an approval history. */
const AT = '2026-11-25T10:00:00.000Z';

function randomId(g: Gen): string {
  return g.pick(PREFIXES) + g.pick(BASES);
}

function randomPolicy(g: Gen): NormalizedPolicy {
  const terms = new Map<string, PolicyTerm>();
  const termCount = 2 + g.int(12);
  for (let i = 0; i < termCount; i++) {
    const term_id = randomId(g);
    if (terms.has(term_id)) continue;
    const isImplicit = g.chance(0.15);
    terms.set(term_id, {
      term_id,
      term_type: g.pick(TERM_TYPES),
      value: !isImplicit && g.chance(0.5) ? g.pick(GLOBS) : null,
      label: !isImplicit && g.chance(0.25) ? g.pick(BASES) : null,
      description: null,
      metadata: {},
      implicit: isImplicit,
    });
  }
  const ids = [...terms.keys()];
  const endpoint = (): string => (g.chance(0.1) ? randomId(g) : g.pick(ids));
  // implies only goes forward in this random order, so it is acyclic.
  const order = g.shuffle(ids);
  const relations: PolicyRelation[] = [];
  const relationCount = g.int(14);
  for (let k = 0; k < relationCount; k++) {
    const relation_type = g.pick(RELATION_TYPES);
    let source = endpoint();
    let target = endpoint();
    if (relation_type === 'implies') {
      if (order.length < 2) continue;
      const i = g.int(order.length - 1);
      source = order[i]!;
      target = order[i + 1 + g.int(order.length - i - 1)]!;
    } else if (relation_type === 'requires' && g.chance(0.3)) {
      target = g.pick(['human_approval', 'context:human_approval', 'mfa']);
    }
    relations.push({
      relation_id: g.chance(0.05) && relations.length > 0 ? relations[0]!.relation_id : `r${String(g.int(100)).padStart(2, '0')}`,
      relation_type,
      source,
      target,
      object: g.chance(0.2) ? endpoint() : null,
      conditions: g.chance(0.3) ? g.subset(CONDITIONS, 0.4) : [],
      justification: g.chance(0.2) ? 'because' : null,
      ...(relation_type === 'conflicts' && g.chance(0.5) ? { window: g.pick(['1h', '12h', '24h', '2d']) } : {}),
    });
  }
  const sortById = <T extends { term_id?: string; relation_id?: string }>(xs: T[], key: keyof T): T[] =>
    xs.sort((x, y) => (String(x[key]) < String(y[key]) ? -1 : String(x[key]) > String(y[key]) ? 1 : 0));
  return {
    policy_id: 'random',
    name: 'random',
    version: null,
    mode: g.pick(POLICY_MODES),
    terms: sortById([...terms.values()], 'term_id'),
    relations: sortById(relations, 'relation_id'),
  };
}

function randomValue(g: Gen): string {
  return g.chance(0.2) ? g.pick(['ai_agent:assistant', 'action:read', 'db:customers', 'bat', 'bolt', 'robot']) : randomId(g);
}

function randomRequest(g: Gen): EvaluationRequest {
  const request: EvaluationRequest = { actor: randomValue(g), action: randomValue(g) };
  if (g.chance(0.4)) request.resource = randomValue(g);
  if (g.chance(0.6)) request.data_classes = Array.from({ length: g.int(3) }, () => randomValue(g));
  if (g.chance(0.6)) {
    const context: Record<string, unknown> = {};
    for (const name of ['mfa', 'human_approval', 'read', 'pii', 'a']) {
      if (g.chance(0.5)) context[name] = g.pick([true, true, false, 'true']);
    }
    request.context = context;
  }
  if (g.chance(0.7)) request.risk = { level: g.pick(RISK_LEVELS), score: g.pick([5, 40, 79, 80, 95]) };
  if (g.chance(0.5)) request.session_approved_actions = Array.from({ length: g.int(4) }, () => randomValue(g));
  if (g.chance(0.5)) {
    // The server's record: approvals from 0 to 50 hours before `at` (windows: default 24h, or the policy's).
    request.approval_history = Array.from({ length: g.int(4) }, (_, i) => ({
      action: randomValue(g),
      approved_at: new Date(Date.parse(AT) - g.int(50) * 3_600_000).toISOString(),
      decision_id: `dec_${i}`,
    }));
    if (g.chance(0.8)) request.at = AT;
  }
  return request;
}

const POLICIES = 400;
const REQUESTS = 6;

function forEachCase(seed: number, check: (g: Gen, policy: NormalizedPolicy, request: EvaluationRequest) => void): void {
  for (let p = 0; p < POLICIES; p++) {
    const g = new Gen(seed * 100_003 + p);
    const policy = randomPolicy(g);
    for (let r = 0; r < REQUESTS; r++) check(g, policy, randomRequest(g));
  }
}

describe('policy engine properties (seeded)', () => {
  it('evaluate deep-equals evaluateNaive, and the generator covers every outcome and effect', () => {
    const outcomes = new Set<string>();
    const effects = new Set<string>();
    const triggers = new Set<string>();
    forEachCase(1, (_g, policy, request) => {
      const fast = evaluate(compilePolicy(policy), request);
      const naive = evaluateNaive(policy, request);
      expect(fast, JSON.stringify({ policy, request })).toStrictEqual(naive);
      outcomes.add(fast.outcome);
      for (const m of fast.matched) effects.add(m.effect);
      for (const t of fast.escalation_triggers) triggers.add(t);
    });
    expect([...outcomes].sort()).toEqual(['approved', 'conditional', 'denied', 'escalated']);
    expect([...effects].sort()).toEqual([
      'conflict',
      'forbid',
      'permit',
      'requirement_satisfied',
      'requirement_unsatisfied',
      'requires_human_approval',
    ]);
    expect([...triggers].sort()).toEqual(['paranoid_mode', 'policy_requires_approval', 'risk_threshold']);
  });

  it('results are well-formed', () => {
    forEachCase(2, (_g, policy, request) => {
      const r = evaluate(compilePolicy(policy), request);
      const ids = r.matched.map((m) => m.relation_id);
      expect(ids).toEqual([...ids].sort());
      expect(r.matched_terms).toEqual([...new Set(r.matched_terms)].sort());
      expect(r.conditions).toEqual([...new Set(r.conditions)].sort());
      expect(r.escalation_triggers.length > 0).toBe(r.outcome === 'escalated');
      expect(r.mode).toBe(policy.mode);
      expect(r.reason.startsWith(`${r.outcome}: `)).toBe(true);
      if (r.outcome === 'denied' || r.outcome === 'approved') expect(r.conditions).toEqual([]);
      if (r.outcome === 'conditional') expect(r.conditions.length).toBeGreaterThan(0);
      if (r.matched.some((m) => m.effect === 'forbid' || m.effect === 'conflict' || m.effect === 'requirement_unsatisfied')) {
        expect(r.outcome).toBe('denied');
      }
      if (!r.default_applied && r.outcome !== 'escalated') {
        const first = r.matched.find((m) =>
          r.outcome === 'denied'
            ? ['forbid', 'conflict', 'requirement_unsatisfied'].includes(m.effect)
            : m.effect === 'permit',
        );
        expect(r.reason).toContain(`"${first!.relation_id}"`);
      }
    });
  });

  it('is deterministic: repeated evaluation, recompilation and input order never change the result', () => {
    forEachCase(3, (g, policy, request) => {
      const compiled = compilePolicy(policy);
      const first = evaluate(compiled, request);
      expect(evaluate(compiled, request)).toStrictEqual(first);
      const shuffled: NormalizedPolicy = { ...policy, terms: g.shuffle(policy.terms), relations: g.shuffle(policy.relations) };
      expect(evaluate(compilePolicy(shuffled), request)).toStrictEqual(first);
      expect(evaluateNaive(shuffled, request)).toStrictEqual(first);
    });
  });

  it('adding a forbids relation never lifts a denial and never yields approved/conditional', () => {
    let changed = 0;
    forEachCase(4, (g, policy, request) => {
      const before: EvaluationResult = evaluate(compilePolicy(policy), request);
      const ids = policy.terms.map((t) => t.term_id);
      const extra: PolicyRelation = {
        relation_id: `f${g.int(100)}`,
        relation_type: 'forbids',
        source: g.chance(0.7) && ids.length > 0 ? g.pick(ids) : randomId(g),
        target: g.chance(0.7) && ids.length > 0 ? g.pick(ids) : randomId(g),
        object: g.chance(0.2) && ids.length > 0 ? g.pick(ids) : null,
        conditions: [],
        justification: null,
      };
      const withForbid: NormalizedPolicy = { ...policy, relations: [...policy.relations, extra] };
      const after = evaluate(compilePolicy(withForbid), request);
      expect(evaluateNaive(withForbid, request)).toStrictEqual(after);
      if (before.outcome === 'denied') expect(after.outcome).toBe('denied');
      expect([before.outcome, 'denied']).toContain(after.outcome);
      if (after.outcome !== before.outcome) changed++;
    });
    expect(changed).toBeGreaterThan(0); // the added forbid does bite sometimes
  });
});
