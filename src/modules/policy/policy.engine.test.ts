import { describe, expect, it } from 'vitest';
import { assessRisk, DEFAULT_FACTOR_TABLE } from '../risk/risk.engine.js';
import { compilePolicy, PolicyCompileError } from './policy.compile.js';
import { evaluate, evaluateNaive } from './policy.engine.js';
import { stripTypePrefix, termMatchesValue, TYPE_PREFIXES } from './policy.match.js';
import type {
  EvaluationRequest,
  EvaluationResult,
  NormalizedPolicy,
  PolicyMode,
  PolicyRelation,
  PolicyTerm,
  TermType,
} from './policy.model.js';

// ---------------------------------------------------------------------------------------------------
// Helpers

function term(term_id: string, term_type: TermType, extra: Partial<PolicyTerm> = {}): PolicyTerm {
  return { term_id, term_type, value: null, label: null, description: null, metadata: {}, implicit: false, ...extra };
}
const implicit = (term_id: string, term_type: TermType): PolicyTerm => term(term_id, term_type, { implicit: true });
const actor = (id: string, extra: Partial<PolicyTerm> = {}) => term(id, 'actor', extra);
const action = (id: string, extra: Partial<PolicyTerm> = {}) => term(id, 'action', extra);
const dataClass = (id: string, extra: Partial<PolicyTerm> = {}) => term(id, 'data_class', extra);
const resource = (id: string, extra: Partial<PolicyTerm> = {}) => term(id, 'resource', extra);
const ctx = (id: string, extra: Partial<PolicyTerm> = {}) => term(id, 'context', extra);

function rel(
  relation_id: string,
  relation_type: PolicyRelation['relation_type'],
  source: string,
  target: string,
  extra: Partial<PolicyRelation> = {},
): PolicyRelation {
  return { relation_id, relation_type, source, target, object: null, conditions: [], justification: null, ...extra };
}
const permits = (id: string, s: string, t: string, extra: Partial<PolicyRelation> = {}) => rel(id, 'permits', s, t, extra);
const forbids = (id: string, s: string, t: string, extra: Partial<PolicyRelation> = {}) => rel(id, 'forbids', s, t, extra);
const requires = (id: string, s: string, t: string, extra: Partial<PolicyRelation> = {}) => rel(id, 'requires', s, t, extra);
const implies = (id: string, s: string, t: string) => rel(id, 'implies', s, t);
const conflicts = (id: string, s: string, t: string) => rel(id, 'conflicts', s, t);

function pol(mode: PolicyMode, terms: PolicyTerm[], relations: PolicyRelation[]): NormalizedPolicy {
  return {
    policy_id: 'p',
    name: 'test',
    version: null,
    mode,
    terms: [...terms].sort((a, b) => (a.term_id < b.term_id ? -1 : 1)),
    relations: [...relations].sort((a, b) => (a.relation_id < b.relation_id ? -1 : 1)),
  };
}

/** Evaluate with the compiled engine, and check the naive reference agrees. */
function run(policy: NormalizedPolicy, request: EvaluationRequest): EvaluationResult {
  const fast = evaluate(compilePolicy(policy), request);
  expect(evaluateNaive(policy, request)).toStrictEqual(fast);
  return fast;
}

const req = (actorValue: string, actionValue: string, extra: Partial<EvaluationRequest> = {}): EvaluationRequest => ({
  actor: actorValue,
  action: actionValue,
  ...extra,
});

/** A strict policy permitting (A, X) for the single actor term A and action term X. */
function permitPolicy(a: PolicyTerm, x: PolicyTerm = action('x')): NormalizedPolicy {
  return pol('strict', [a, x], [permits('r1', a.term_id, x.term_id)]);
}
const approvedFor = (p: NormalizedPolicy, r: EvaluationRequest) => run(p, r).outcome === 'approved';

// ---------------------------------------------------------------------------------------------------

describe('stripTypePrefix / TYPE_PREFIXES', () => {
  it('lists exactly the six type prefixes of DESIGN §4', () => {
    expect([...TYPE_PREFIXES]).toEqual(['actor:', 'action:', 'resource:', 'data:', 'data_class:', 'context:']);
  });
  it('strips each of the six prefixes once', () => {
    expect(stripTypePrefix('data:pii')).toBe('pii');
    expect(stripTypePrefix('data:data:pii')).toBe('data:pii');
    expect(stripTypePrefix('actor:model')).toBe('model');
    expect(stripTypePrefix('action:read')).toBe('read');
    expect(stripTypePrefix('resource:db')).toBe('db');
    expect(stripTypePrefix('data_class:pii')).toBe('pii');
    expect(stripTypePrefix('context:mfa')).toBe('mfa');
    expect(stripTypePrefix('actor:actor:x')).toBe('actor:x');
  });
  it('leaves other prefixes and unprefixed ids alone', () => {
    expect(stripTypePrefix('ai_agent:x')).toBe('ai_agent:x');
    expect(stripTypePrefix('model')).toBe('model');
    expect(stripTypePrefix('Actor:model')).toBe('Actor:model');
    expect(stripTypePrefix('actor')).toBe('actor');
    expect(stripTypePrefix('xactor:model')).toBe('xactor:model');
  });
});

describe('termMatchesValue', () => {
  it('matches by id, and by id without prefix in both directions', () => {
    expect(termMatchesValue(actor('actor:model'), 'actor:model')).toBe(true);
    expect(termMatchesValue(actor('actor:model'), 'model')).toBe(true);
    expect(termMatchesValue(actor('model'), 'actor:model')).toBe(true);
    expect(termMatchesValue(actor('actor:model'), 'action:model')).toBe(true); // both strip to model
    expect(termMatchesValue(actor('model'), 'ai_agent:model')).toBe(false);
    expect(termMatchesValue(actor('ai_agent:model'), 'model')).toBe(false);
  });
  it('matches labels and values exactly, globs with *, nothing by substring or case', () => {
    const t = actor('t', { label: 'The Bot', value: 'bot-1' });
    expect(termMatchesValue(t, 'The Bot')).toBe(true);
    expect(termMatchesValue(t, 'bot-1')).toBe(true);
    expect(termMatchesValue(t, 'the bot')).toBe(false);
    expect(termMatchesValue(t, 'bot-12')).toBe(false);
    expect(termMatchesValue(t, 'bot')).toBe(false);
    expect(termMatchesValue(actor('g', { value: 'ai_*:x*' }), 'ai_agent:xyz')).toBe(true);
    expect(termMatchesValue(actor('g', { value: 'ai_*:x*' }), 'ai_agent:yx')).toBe(false);
  });
  it('matches implicit terms by id and id without prefix only', () => {
    const t = term('actor:svc', 'actor', { implicit: true, label: 'L', value: '*' });
    expect(termMatchesValue(t, 'svc')).toBe(true);
    expect(termMatchesValue(t, 'actor:svc')).toBe(true);
    expect(termMatchesValue(t, 'L')).toBe(false);
    expect(termMatchesValue(t, 'anything')).toBe(false);
  });
});

describe('term matching through evaluate', () => {
  it('matches an actor by exact id', () => {
    expect(approvedFor(permitPolicy(actor('bot')), req('bot', 'x'))).toBe(true);
  });
  it('matches a prefixed request value against an unprefixed id', () => {
    expect(approvedFor(permitPolicy(actor('model')), req('actor:model', 'x'))).toBe(true);
  });
  it('matches an unprefixed request value against a prefixed id', () => {
    expect(approvedFor(permitPolicy(actor('actor:model')), req('model', 'x'))).toBe(true);
    expect(approvedFor(permitPolicy(actor('actor:model'), action('action:read')), req('model', 'read'))).toBe(true);
  });
  it('matches prefixed against prefixed (same bare id, other prefix)', () => {
    expect(approvedFor(permitPolicy(actor('actor:model')), req('context:model', 'x'))).toBe(true);
  });
  it('strips only the five type prefixes', () => {
    expect(approvedFor(permitPolicy(actor('model')), req('ai_agent:model', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('ai_agent:model')), req('model', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('ai_agent:model')), req('ai_agent:model', 'x'))).toBe(true);
  });
  it('matches by label (exact, case-sensitive)', () => {
    const p = permitPolicy(actor('a1', { label: 'Support Bot' }));
    expect(approvedFor(p, req('Support Bot', 'x'))).toBe(true);
    expect(approvedFor(p, req('support bot', 'x'))).toBe(false);
    expect(approvedFor(p, req('Support', 'x'))).toBe(false);
    expect(approvedFor(p, req('actor:Support Bot', 'x'))).toBe(false);
  });
  it('matches a glob value (single and multiple *)', () => {
    const p = permitPolicy(actor('ai_agent', { value: 'ai_agent:*' }));
    expect(approvedFor(p, req('ai_agent:assistant', 'x'))).toBe(true);
    expect(approvedFor(p, req('ai_agent:', 'x'))).toBe(true);
    expect(approvedFor(p, req('human:ai_agent:assistant', 'x'))).toBe(false);
    expect(approvedFor(p, req('ai_agentX', 'x'))).toBe(false);
    const q = permitPolicy(actor('g', { value: 'svc-*-prod-*' }));
    expect(approvedFor(q, req('svc-a-prod-1', 'x'))).toBe(true);
    expect(approvedFor(q, req('svc-a-stage-1', 'x'))).toBe(false);
    const suffix = permitPolicy(actor('g', { value: '*@corp' }));
    expect(approvedFor(suffix, req('bob@corp', 'x'))).toBe(true);
    expect(approvedFor(suffix, req('bob@corp.evil', 'x'))).toBe(false);
    const overlap = permitPolicy(actor('g', { value: 'ab*ba' }));
    expect(approvedFor(overlap, req('aba', 'x'))).toBe(false); // prefix and suffix may not overlap
    expect(approvedFor(overlap, req('abba', 'x'))).toBe(true);
    const all = permitPolicy(actor('any', { value: '*' }));
    expect(approvedFor(all, req('', 'x'))).toBe(true);
    expect(approvedFor(all, req('whatever', 'x'))).toBe(true);
  });
  it('treats regex metacharacters in a glob literally', () => {
    const p = permitPolicy(actor('g', { value: 'a.b+(c)*' }));
    expect(approvedFor(p, req('a.b+(c)1', 'x'))).toBe(true);
    expect(approvedFor(p, req('aXbb(c)1', 'x'))).toBe(false);
  });
  it('matches a value without * exactly, never by substring', () => {
    const p = permitPolicy(actor('a1', { value: 'bot' }));
    expect(approvedFor(p, req('bot', 'x'))).toBe(true);
    expect(approvedFor(p, req('bot2', 'x'))).toBe(false);
    expect(approvedFor(p, req('robot', 'x'))).toBe(false);
    expect(approvedFor(p, req('actor:bot', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('bot')), req('robot', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('bot')), req('bo', 'x'))).toBe(false);
  });
  it('is case-sensitive for ids, labels and globs', () => {
    expect(approvedFor(permitPolicy(actor('Bot')), req('bot', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('g', { value: 'AI:*' })), req('ai:x', 'x'))).toBe(false);
    expect(approvedFor(permitPolicy(actor('bot')), req('ACTOR:bot', 'x'))).toBe(false);
  });
  it('matches implicit terms by id and id without prefix only', () => {
    const p = permitPolicy(term('actor:svc', 'actor', { implicit: true, value: '*', label: 'Svc' }));
    expect(approvedFor(p, req('svc', 'x'))).toBe(true);
    expect(approvedFor(p, req('actor:svc', 'x'))).toBe(true);
    expect(approvedFor(p, req('Svc', 'x'))).toBe(false);
    expect(approvedFor(p, req('other', 'x'))).toBe(false);
  });
  it('matches the action term against request.action and not request.actor', () => {
    const p = pol('strict', [actor('a'), action('read')], [permits('r1', 'a', 'read')]);
    expect(run(p, req('a', 'read')).outcome).toBe('approved');
    expect(run(p, req('read', 'a')).outcome).toBe('denied');
    expect(run(p, req('a', 'write')).outcome).toBe('denied');
  });
  it('matches an actor term against request.actor only', () => {
    const p = pol('strict', [actor('a'), action('read')], [permits('r1', 'a', 'read')]);
    expect(run(p, req('b', 'read', { resource: 'a', data_classes: ['a'] })).outcome).toBe('denied');
  });
  it('matches resource terms against request.resource; absent resource ⇒ no match', () => {
    const p = pol('permissive', [actor('a'), resource('db', { value: 'db:*' })], [forbids('f', 'a', 'db')]);
    expect(run(p, req('a', 'x', { resource: 'db:customers' })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { resource: 'files' })).outcome).toBe('approved');
    expect(run(p, req('a', 'x')).outcome).toBe('approved');
    expect(run(p, req('a', 'db:customers')).outcome).toBe('approved'); // action field is not the resource
    expect(run(p, req('a', 'x', { resource: 'db:customers' })).matched_terms).toEqual(['a', 'db']);
  });
  it('matches data_class terms against any of request.data_classes', () => {
    const p = pol('permissive', [actor('a'), dataClass('pii')], [forbids('f', 'a', 'pii')]);
    expect(run(p, req('a', 'x', { data_classes: ['public', 'pii'] })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { data_classes: ['data_class:pii'] })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { data_classes: ['public'] })).outcome).toBe('approved');
    expect(run(p, req('a', 'x', { data_classes: [] })).outcome).toBe('approved');
    expect(run(p, req('a', 'pii')).outcome).toBe('approved');
  });
  it('never matches context terms against a request field', () => {
    const p = pol('permissive', [actor('a'), ctx('night')], [forbids('f', 'a', 'night')]);
    expect(run(p, req('a', 'night', { resource: 'night', data_classes: ['night'], context: { night: true } })).outcome).toBe(
      'approved',
    );
    expect(run(p, req('night', 'x')).matched_terms).toEqual([]);
  });
  it('lists every matched term, sorted, including several terms for one value', () => {
    const p = pol(
      'strict',
      [actor('z', { value: 'bot*' }), actor('a', { label: 'bot1' }), actor('m'), actor('bot1'), action('x')],
      [],
    );
    expect(run(p, req('bot1', 'x')).matched_terms).toEqual(['a', 'bot1', 'x', 'z']);
  });
  it('ignores relations naming undefined terms (they match no request field)', () => {
    const p = pol('strict', [actor('a')], [permits('r1', 'a', 'ghost')]);
    expect(run(p, req('a', 'ghost')).outcome).toBe('denied');
  });
});

describe("the original Lexecon's data: prefix", () => {
  const p = pol('strict', [actor('actor:model'), action('action:read'), dataClass('data:pii'), dataClass('data:public')], [
    permits('p', 'actor:model', 'action:read', { object: 'data:public' }),
    forbids('f', 'actor:model', 'action:read', { object: 'data:pii' }),
  ]);
  it('matches a request data class "pii" against the term data:pii, so a forbids with object data:pii applies', () => {
    const r = run(p, req('model', 'read', { data_classes: ['pii'] }));
    expect(r.outcome).toBe('denied');
    expect(r.matched.map((m) => m.relation_id)).toEqual(['f']);
    expect(r.matched_terms).toEqual(['action:read', 'actor:model', 'data:pii']);
  });
  it('matches data:pii and data_class:pii in requests alike', () => {
    expect(run(p, req('model', 'read', { data_classes: ['data:pii'] })).outcome).toBe('denied');
    expect(run(p, req('model', 'read', { data_classes: ['data_class:pii'] })).outcome).toBe('denied');
    expect(run(p, req('model', 'read', { data_classes: ['public'] })).outcome).toBe('approved');
  });
  it('does not strip lookalikes', () => {
    expect(termMatchesValue(dataClass('data:pii'), 'metadata:pii')).toBe(false);
    expect(termMatchesValue(dataClass('data:pii'), 'Data:pii')).toBe(false); // case-sensitive
    expect(termMatchesValue(dataClass('data:pii'), 'PII')).toBe(false);
  });
});

describe('glob terms are matched in linear time', () => {
  it("decides the issue's pathological value against a 240-character actor in milliseconds", () => {
    const p = pol('strict', [actor('support', { value: 'ai_agent:support-*a*a*a*a*c*b' }), action('x')], [
      permits('r1', 'support', 'x'),
    ]);
    const compiled = compilePolicy(p);
    // Prefix and suffix match, no `c`: only the pieces between decide (a backtracking RegExp's worst case).
    const slow = 'ai_agent:support-' + 'a'.repeat(222) + 'b';
    expect(slow).toHaveLength(240);
    const started = performance.now();
    expect(evaluate(compiled, req(slow, 'x')).outcome).toBe('denied');
    expect(evaluate(compiled, req(slow.slice(0, -2) + 'cb', 'x')).outcome).toBe('approved');
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('implies', () => {
  it('closes matches transitively (A → B → C) and lists the implied terms', () => {
    const p = pol(
      'strict',
      [actor('a'), actor('b'), actor('c'), action('x')],
      [implies('i1', 'a', 'b'), implies('i2', 'b', 'c'), permits('r1', 'c', 'x')],
    );
    const r = run(p, req('a', 'x'));
    expect(r.outcome).toBe('approved');
    expect(r.matched_terms).toEqual(['a', 'b', 'c', 'x']);
    expect(r.matched.map((m) => m.relation_id)).toEqual(['r1']); // implies relations are not listed
    expect(run(p, req('c', 'x')).matched_terms).toEqual(['c', 'x']); // not backwards
    expect(run(p, req('b', 'x')).outcome).toBe('approved');
  });
  it('works on actions', () => {
    const p = pol(
      'permissive',
      [actor('a'), action('delete_user'), action('delete'), action('destructive')],
      [implies('i1', 'delete_user', 'delete'), implies('i2', 'delete', 'destructive'), forbids('f', 'a', 'destructive')],
    );
    expect(run(p, req('a', 'delete_user')).outcome).toBe('denied');
    expect(run(p, req('a', 'read')).outcome).toBe('approved');
  });
  it('works on data classes (also for object gating)', () => {
    const p = pol(
      'strict',
      [actor('a'), action('x'), dataClass('email'), dataClass('pii')],
      [implies('i1', 'email', 'pii'), permits('r1', 'a', 'x', { object: 'pii' })],
    );
    expect(run(p, req('a', 'x', { data_classes: ['email'] })).outcome).toBe('approved');
    expect(run(p, req('a', 'x', { data_classes: ['pii'] })).outcome).toBe('approved');
    expect(run(p, req('a', 'x', { data_classes: ['public'] })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { data_classes: ['email'] })).matched_terms).toEqual(['a', 'email', 'pii', 'x']);
  });
  it('reaches implicit and undefined terms', () => {
    const p = pol('strict', [actor('a'), implicit('group', 'actor'), action('x')], [
      implies('i1', 'a', 'group'),
      implies('i2', 'group', 'ghost'),
      permits('r1', 'ghost', 'x'),
    ]);
    const r = run(p, req('a', 'x'));
    expect(r.outcome).toBe('approved');
    expect(r.matched_terms).toEqual(['a', 'ghost', 'group', 'x']);
  });
  it('handles diamonds', () => {
    const p = pol('strict', [actor('a'), actor('b'), actor('c'), actor('d'), action('x')], [
      implies('i1', 'a', 'b'),
      implies('i2', 'a', 'c'),
      implies('i3', 'b', 'd'),
      implies('i4', 'c', 'd'),
      permits('r1', 'd', 'x'),
    ]);
    expect(run(p, req('a', 'x')).matched_terms).toEqual(['a', 'b', 'c', 'd', 'x']);
  });
});

describe('long implies chains (no recursion over the policy)', () => {
  /** a0 → a1 → … → a(n-1), a permit on the last link, a forbid on a link in the middle for one action. */
  function chain(n: number): NormalizedPolicy {
    const terms = [action('x'), action('y')];
    const relations: PolicyRelation[] = [];
    for (let i = 0; i < n; i++) {
      terms.push(actor(`a${i}`));
      if (i > 0) relations.push(implies(`i${i}`, `a${i - 1}`, `a${i}`));
    }
    relations.push(permits('p', `a${n - 1}`, 'x'), permits('q', `a${n - 1}`, 'y'), forbids('f', `a${n >> 1}`, 'y'));
    return pol('strict', terms, relations);
  }
  it.each([4_000, 20_000])('compiles and evaluates a chain of %i links', (n) => {
    const compiled = compilePolicy(chain(n));
    const head = evaluate(compiled, req('a0', 'x'));
    expect(head.outcome).toBe('approved');
    expect(head.matched_terms).toHaveLength(n + 1);
    expect(evaluate(compiled, req('a0', 'y')).outcome).toBe('denied');
    expect(evaluate(compiled, req(`a${n - 1}`, 'y')).outcome).toBe('approved'); // below the forbid
    expect(evaluate(compiled, req(`a${n - 1}`, 'x')).matched_terms).toEqual([`a${n - 1}`, 'x']);
  });
  it('reports a cycle closing a long chain, without recursion', () => {
    const p = chain(20_000);
    p.relations.push(implies('zz', 'a19999', 'a0'));
    expect(() => compilePolicy(p)).toThrow(PolicyCompileError);
    try {
      compilePolicy(p);
    } catch (err) {
      expect((err as PolicyCompileError).problems).toHaveLength(1);
      expect((err as PolicyCompileError).problems[0]!.message).toMatch(/^implies cycle: a0 → a1 → .* → a19999 → a0$/);
    }
  });
});

describe('compilePolicy', () => {
  it('rejects an implies cycle with a located problem', () => {
    const p = pol('strict', [actor('a'), actor('b'), actor('c')], [
      implies('i1', 'a', 'b'),
      implies('i2', 'b', 'c'),
      implies('i3', 'c', 'a'),
    ]);
    let error: unknown;
    try {
      compilePolicy(p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyCompileError);
    const problems = (error as PolicyCompileError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('$.relations[2]');
    expect(problems[0]!.message).toBe('implies cycle: a → b → c → a');
  });
  it('rejects a self-implication and reports every cycle', () => {
    const p = pol('strict', [actor('a'), actor('b'), actor('c')], [
      implies('i1', 'a', 'a'),
      implies('i2', 'b', 'c'),
      implies('i3', 'c', 'b'),
    ]);
    expect(() => compilePolicy(p)).toThrow(PolicyCompileError);
    try {
      compilePolicy(p);
    } catch (e) {
      expect((e as PolicyCompileError).problems.map((x) => x.message)).toEqual([
        'implies cycle: a → a',
        'implies cycle: b → c → b',
      ]);
    }
  });
  it('rejects duplicate term ids', () => {
    const p = pol('strict', [actor('a'), action('a')], []);
    expect(() => compilePolicy(p)).toThrow(/duplicate term id "a"/);
  });
  it('accepts acyclic implies and an empty policy', () => {
    expect(() => compilePolicy(pol('strict', [actor('a'), actor('b')], [implies('i', 'a', 'b')]))).not.toThrow();
    expect(run(pol('strict', [], []), req('a', 'b')).outcome).toBe('denied');
    expect(run(pol('permissive', [], []), req('a', 'b')).outcome).toBe('approved');
  });
  it('keeps the policy it was compiled from', () => {
    const p = pol('strict', [], []);
    expect(compilePolicy(p).policy).toBe(p);
  });
});

describe('compilePolicy: factorTable', () => {
  const seedLike = () =>
    pol('strict', [actor('a', { value: 'ai_agent:*' }), action('read')], [permits('r1', 'a', 'read')]);

  it('is the default table itself when the policy has no risk_factors', () => {
    expect(compilePolicy(seedLike()).factorTable).toBe(DEFAULT_FACTOR_TABLE);
  });

  it("is the policy's own table, parsed (camelCase, dimensions in their fixed order), when it has one", () => {
    const p: NormalizedPolicy = {
      ...seedLike(),
      risk_factors: {
        data_classes: { telemetry: { privacy: 40 }, public: {} },
        verbs: { purge: { reputational: 20, operational: 90 } },
        bulk: {},
      },
    };
    const table = compilePolicy(p).factorTable;
    expect(table).toEqual({
      dataClasses: { telemetry: { privacy: 40 }, public: {} },
      verbs: { purge: { operational: 90, reputational: 20 } },
      bulk: {},
    });
    expect(Object.keys(table.verbs['purge']!)).toEqual(['operational', 'reputational']);
    // It replaces the default: pii and bulk raise nothing under it.
    expect(assessRisk({ action: 'bulk_read', dataClasses: ['telemetry', 'pii'], table }).dimensions).toEqual({ privacy: 40 });
  });

  it('leaves evaluation unchanged', () => {
    const plain = seedLike();
    const withTable: NormalizedPolicy = { ...plain, risk_factors: { data_classes: {}, verbs: {}, bulk: {} } };
    for (const r of [req('ai_agent:x', 'read'), req('ai_agent:x', 'write'), req('human', 'read')]) {
      expect(run(withTable, r)).toStrictEqual(run(plain, r));
    }
  });

  it('rejects a table the loader would have rejected (a guard), at paths under $.risk_factors', () => {
    const p = { ...seedLike(), risk_factors: { data_classes: { PII: { privacy: 101 } }, verbs: {} } } as unknown as NormalizedPolicy;
    let error: unknown;
    try {
      compilePolicy(p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyCompileError);
    expect((error as PolicyCompileError).problems).toEqual([
      { path: '$.risk_factors.data_classes.PII', message: 'must be lower-case (matching is case-insensitive)' },
      { path: '$.risk_factors.data_classes.PII.privacy', message: 'must be an integer from 0 to 100' },
      { path: '$.risk_factors.bulk', message: 'is required (the table replaces the default as a whole; give {} for none)' },
    ]);
  });
});

describe('relations and effects', () => {
  const terms = [actor('a'), action('x'), action('y'), ctx('mfa'), ctx('ctx:human', { value: 'human_approval' })];

  it('permits → permit, approved; justification carried', () => {
    const r = run(pol('strict', terms, [permits('r1', 'a', 'x', { justification: 'why' })]), req('a', 'x'));
    expect(r.outcome).toBe('approved');
    expect(r.matched).toStrictEqual([{ relation_id: 'r1', relation_type: 'permits', effect: 'permit', justification: 'why' }]);
    expect(r.default_applied).toBe(false);
  });
  it('permits needs both source and target', () => {
    const p = pol('strict', terms, [permits('r1', 'a', 'x')]);
    expect(run(p, req('b', 'x')).matched).toEqual([]);
    expect(run(p, req('a', 'y')).matched).toEqual([]);
  });
  it('forbids → forbid, denied', () => {
    const r = run(pol('permissive', terms, [forbids('f1', 'a', 'x')]), req('a', 'x'));
    expect(r.outcome).toBe('denied');
    expect(r.matched).toStrictEqual([{ relation_id: 'f1', relation_type: 'forbids', effect: 'forbid', justification: null }]);
  });
  it('requires an unsatisfied requirement → requirement_unsatisfied, denied', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x'), requires('q1', 'x', 'mfa')]);
    const r = run(p, req('a', 'x'));
    expect(r.outcome).toBe('denied');
    expect(r.matched[1]).toStrictEqual({
      relation_id: 'q1',
      relation_type: 'requires',
      effect: 'requirement_unsatisfied',
      requirement: 'mfa',
      justification: null,
    });
    expect(r.reason).toBe('denied: requirement "mfa" of relation "q1" is not met (context.mfa must be true)');
  });
  it('requires is satisfied only by context[name] === true', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x'), requires('q1', 'x', 'mfa')]);
    expect(run(p, req('a', 'x', { context: { mfa: true } })).outcome).toBe('approved');
    expect(run(p, req('a', 'x', { context: { mfa: true } })).matched[1]!.effect).toBe('requirement_satisfied');
    for (const v of ['true', 1, {}, [true], null, false]) {
      expect(run(p, req('a', 'x', { context: { mfa: v } })).outcome).toBe('denied');
    }
    expect(run(p, req('a', 'x', { context: {} })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { context: { MFA: true } })).outcome).toBe('denied');
  });
  it('requires never reads inherited properties of context', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x'), requires('q1', 'x', 'toString')]);
    expect(run(p, req('a', 'x', { context: {} })).outcome).toBe('denied');
    const inherited = Object.create({ mfa: true }) as Record<string, unknown>;
    const q = pol('strict', terms, [permits('p1', 'a', 'x'), requires('q1', 'x', 'mfa')]);
    expect(run(q, req('a', 'x', { context: inherited })).outcome).toBe('denied');
  });
  it('names the requirement by the target term value, else its id without prefix', () => {
    const p = pol('strict', [actor('a'), action('x'), ctx('context:mfa_ok'), ctx('step_up', { value: 'mfa_verified' })], [
      requires('q1', 'x', 'context:mfa_ok'),
      requires('q2', 'x', 'step_up'),
      requires('q3', 'x', 'context:undefined_req'),
    ]);
    const r = run(p, req('a', 'x'));
    expect(r.matched.map((m) => m.requirement)).toEqual(['mfa_ok', 'mfa_verified', 'undefined_req']);
    expect(run(p, req('a', 'x', { context: { mfa_ok: true, mfa_verified: true, undefined_req: true } })).matched.map((m) => m.effect)).toEqual([
      'requirement_satisfied',
      'requirement_satisfied',
      'requirement_satisfied',
    ]);
    // The id is not the name when a value is set.
    expect(run(p, req('a', 'x', { context: { step_up: true } })).matched[1]!.effect).toBe('requirement_unsatisfied');
  });
  it('requires human_approval → requires_human_approval, escalated, never satisfied by context', () => {
    const p = pol('strict', [...terms, implicit('human_approval', 'context')], [
      permits('p1', 'a', 'x'),
      requires('q1', 'x', 'human_approval'),
    ]);
    const r = run(p, req('a', 'x', { context: { human_approval: true } }));
    expect(r.outcome).toBe('escalated');
    expect(r.matched[1]).toStrictEqual({
      relation_id: 'q1',
      relation_type: 'requires',
      effect: 'requires_human_approval',
      requirement: 'human_approval',
      justification: null,
    });
    expect(r.escalation_triggers).toEqual(['policy_requires_approval']);
    expect(r.reason).toBe('escalated: relation "q1" requires human approval');
  });
  it('recognises human approval by a term value and by a prefixed id', () => {
    const p = pol('strict', terms, [requires('q1', 'x', 'ctx:human'), requires('q2', 'y', 'context:human_approval')]);
    expect(run(p, req('a', 'x')).matched[0]!.effect).toBe('requires_human_approval');
    expect(run(p, req('a', 'y')).matched[0]!.effect).toBe('requires_human_approval');
  });
  it('requires applies when its source matches, whatever the type (actor source)', () => {
    const p = pol('permissive', terms, [requires('q1', 'a', 'mfa')]);
    expect(run(p, req('a', 'anything')).outcome).toBe('denied');
    expect(run(p, req('b', 'anything')).outcome).toBe('approved');
  });
  it('object gates every relation type on the request data classes', () => {
    const ts = [...terms, dataClass('pii', { value: 'pii*' }), dataClass('phi')];
    const cases: Array<[PolicyRelation, string]> = [
      [permits('r', 'a', 'x', { object: 'pii' }), 'permit'],
      [forbids('r', 'a', 'x', { object: 'pii' }), 'forbid'],
      [requires('r', 'x', 'mfa', { object: 'pii' }), 'requirement_unsatisfied'],
      [{ ...conflicts('r', 'x', 'y'), object: 'pii' }, 'conflict'],
    ];
    for (const [relation, effect] of cases) {
      const p = pol('strict', ts, [relation]);
      const base = { session_approved_actions: ['y'] };
      expect(run(p, req('a', 'x', { ...base, data_classes: ['pii_email'] })).matched.map((m) => m.effect)).toEqual([effect]);
      expect(run(p, req('a', 'x', { ...base, data_classes: ['phi', 'pii'] })).matched.map((m) => m.effect)).toEqual([effect]);
      expect(run(p, req('a', 'x', { ...base, data_classes: ['phi'] })).matched).toEqual([]);
      expect(run(p, req('a', 'x', base)).matched).toEqual([]);
    }
  });
  it('object names an implicit data class matched by id', () => {
    const p = pol('strict', [...terms, implicit('data_class:secret', 'data_class')], [
      forbids('f', 'a', 'x', { object: 'data_class:secret' }),
    ]);
    expect(run(p, req('a', 'x', { data_classes: ['secret'] })).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { data_classes: ['secrets'] })).matched).toEqual([]);
  });
  it('object is matched by rule 2 even when the object term is not typed data_class', () => {
    const p = pol('strict', [...terms, implicit('secret', 'context')], [forbids('f', 'a', 'x', { object: 'secret' })]);
    expect(run(p, req('a', 'x', { data_classes: ['secret'] })).outcome).toBe('denied');
    expect(run(p, req('a', 'x')).matched).toEqual([]);
    const dangling = pol('strict', terms, [forbids('f', 'a', 'x', { object: 'nowhere' })]);
    expect(run(dangling, req('a', 'x', { data_classes: ['nowhere'] })).matched).toEqual([]);
  });
});

describe('conflicts (separation of duties)', () => {
  const terms = [actor('a'), action('create_payment'), action('approve_payment'), action('approve_*', { value: 'approve_*' })];
  const p = pol('strict', terms, [
    permits('p1', 'a', 'create_payment'),
    permits('p2', 'a', 'approve_payment'),
    conflicts('c1', 'create_payment', 'approve_payment'),
  ]);

  it('denies X when Y was stated approved (dry run: inside every window)', () => {
    const r = run(p, req('a', 'create_payment', { session_approved_actions: ['read', 'approve_payment'] }));
    expect(r.outcome).toBe('denied');
    expect(r.matched.find((m) => m.relation_id === 'c1')).toStrictEqual({
      relation_id: 'c1',
      relation_type: 'conflicts',
      effect: 'conflict',
      conflicting_action: 'approve_payment',
      justification: null,
    });
    expect(r.reason).toBe(
      'denied: conflicts relation "c1" (create_payment ↔ approve_payment): "approve_payment" was approved for this actor within 24h',
    );
  });
  it('denies Y when X was approved (symmetric)', () => {
    const r = run(p, req('a', 'approve_payment', { session_approved_actions: ['action:create_payment'] }));
    expect(r.outcome).toBe('denied');
    expect(r.matched.find((m) => m.effect === 'conflict')!.conflicting_action).toBe('action:create_payment');
  });
  it('does not apply without a conflicting approval, or for the same action', () => {
    expect(run(p, req('a', 'create_payment')).outcome).toBe('approved');
    expect(run(p, req('a', 'create_payment', { session_approved_actions: [] })).outcome).toBe('approved');
    expect(run(p, req('a', 'create_payment', { session_approved_actions: ['create_payment'] })).outcome).toBe('approved');
    expect(run(p, req('a', 'create_payment', { session_approved_actions: ['approve_payments'] })).outcome).toBe('approved');
  });
  it('names the first conflicting approved action in request order', () => {
    const q = pol('strict', terms, [conflicts('c1', 'create_payment', 'approve_*')]);
    const r = run(q, req('a', 'create_payment', { session_approved_actions: ['read', 'approve_b', 'approve_a'] }));
    expect(r.matched[0]!.conflicting_action).toBe('approve_b');
  });
  it('matches via implied terms on both sides', () => {
    const q = pol('strict', [...terms, action('pay_vendor'), action('sign_off')], [
      implies('i1', 'pay_vendor', 'create_payment'),
      implies('i2', 'sign_off', 'approve_payment'),
      conflicts('c1', 'create_payment', 'approve_payment'),
    ]);
    expect(run(q, req('a', 'pay_vendor', { session_approved_actions: ['sign_off'] })).matched[0]!.conflicting_action).toBe(
      'sign_off',
    );
    expect(run(q, req('a', 'sign_off', { session_approved_actions: ['pay_vendor'] })).outcome).toBe('denied');
    expect(run(q, req('a', 'pay_vendor', { session_approved_actions: ['read'] })).matched).toEqual([]);
  });
  it('lists a relation once when both ends match', () => {
    const q = pol('strict', [actor('a'), action('x', { value: 'do*' }), action('y', { value: 'do_*' })], [conflicts('c1', 'x', 'y')]);
    const r = run(q, req('a', 'do_it', { session_approved_actions: ['do_that'] }));
    expect(r.matched).toHaveLength(1);
    expect(r.matched[0]!.conflicting_action).toBe('do_that');
  });
  it('denies even in permissive mode and over a permit', () => {
    const q = pol('permissive', terms, [conflicts('c1', 'create_payment', 'approve_payment')]);
    expect(run(q, req('a', 'approve_payment', { session_approved_actions: ['create_payment'] })).outcome).toBe('denied');
    expect(run(q, req('a', 'approve_payment')).outcome).toBe('approved');
  });
  it('matches an implicit conflicts end by id without prefix', () => {
    const q = pol('strict', [actor('a'), implicit('action:x', 'action'), implicit('action:y', 'action')], [conflicts('c1', 'action:x', 'action:y')]);
    expect(run(q, req('a', 'x', { session_approved_actions: ['y'] })).outcome).toBe('denied');
  });
});

describe('modes × (no match, permit, forbid, both)', () => {
  const terms = [actor('a'), action('x')];
  const table: Array<[PolicyMode, string, PolicyRelation[], string, boolean]> = [
    ['strict', 'no match', [], 'denied', true],
    ['strict', 'permit', [permits('p', 'a', 'x')], 'approved', false],
    ['strict', 'forbid', [forbids('f', 'a', 'x')], 'denied', false],
    ['strict', 'both', [permits('p', 'a', 'x'), forbids('f', 'a', 'x')], 'denied', false],
    ['permissive', 'no match', [], 'approved', true],
    ['permissive', 'permit', [permits('p', 'a', 'x')], 'approved', false],
    ['permissive', 'forbid', [forbids('f', 'a', 'x')], 'denied', false],
    ['permissive', 'both', [permits('p', 'a', 'x'), forbids('f', 'a', 'x')], 'denied', false],
    ['paranoid', 'no match', [], 'denied', true],
    ['paranoid', 'permit', [permits('p', 'a', 'x')], 'approved', false],
    ['paranoid', 'forbid', [forbids('f', 'a', 'x')], 'denied', false],
    ['paranoid', 'both', [permits('p', 'a', 'x'), forbids('f', 'a', 'x')], 'denied', false],
  ];
  for (const [mode, label, relations, outcome, defaulted] of table) {
    it(`${mode} / ${label} → ${outcome}`, () => {
      const r = run(pol(mode, terms, relations), req('a', 'x', { risk: { level: 'low', score: 10 } }));
      expect(r.outcome).toBe(outcome);
      expect(r.mode).toBe(mode);
      expect(r.default_applied).toBe(defaulted);
      expect(r.escalation_triggers).toEqual([]);
    });
  }
  it('default reasons name the mode', () => {
    expect(run(pol('strict', terms, []), req('a', 'x')).reason).toBe('denied: no relation permits this request (strict mode)');
    expect(run(pol('paranoid', terms, []), req('a', 'x')).reason).toBe('denied: no relation permits this request (paranoid mode)');
    expect(run(pol('permissive', terms, []), req('a', 'x')).reason).toBe('approved: nothing forbids this request (permissive mode)');
  });
  it('a non-matching relation leaves the default applied', () => {
    const r = run(pol('strict', terms, [permits('p', 'a', 'x')]), req('b', 'x'));
    expect(r.default_applied).toBe(true);
    expect(r.matched).toEqual([]);
  });
});

describe('precedence (denied ≻ escalated ≻ conditional ≻ approved)', () => {
  const terms = [actor('a'), action('x'), action('y'), ctx('mfa')];
  const rels = {
    deny: forbids('r_d', 'a', 'x'),
    escalate: requires('r_e', 'x', 'human_approval'),
    conditional: permits('r_c', 'a', 'x', { conditions: ['redact:pii'] }),
    approve: permits('r_a', 'a', 'x'),
  };
  const order = ['deny', 'escalate', 'conditional', 'approve'] as const;
  const outcomeOf = { deny: 'denied', escalate: 'escalated', conditional: 'conditional', approve: 'approved' };
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      const hi = order[i]!;
      const lo = order[j]!;
      for (const mode of ['strict', 'permissive', 'paranoid'] as const) {
        it(`${hi} beats ${lo} (${mode})`, () => {
          const r = run(pol(mode, terms, [rels[hi], rels[lo]]), req('a', 'x'));
          expect(r.outcome).toBe(outcomeOf[hi]);
          expect(r.matched).toHaveLength(2);
        });
      }
    }
  }
  it('requirement_unsatisfied and conflict deny over escalation and permits', () => {
    const p = pol('strict', terms, [rels.escalate, rels.approve, requires('r_m', 'x', 'mfa'), conflicts('r_z', 'x', 'y')]);
    expect(run(p, req('a', 'x')).outcome).toBe('denied');
    expect(run(p, req('a', 'x', { context: { mfa: true } })).outcome).toBe('escalated');
    expect(run(p, req('a', 'x', { context: { mfa: true }, session_approved_actions: ['y'] })).outcome).toBe('denied');
  });
});

describe('conditions', () => {
  const terms = [actor('a'), actor('g', { value: '*' }), action('x')];
  it('a permit with conditions gives conditional with sorted, unique union', () => {
    const p = pol('strict', terms, [
      permits('p1', 'a', 'x', { conditions: ['redact:pii', 'max_rows:100'] }),
      permits('p2', 'g', 'x', { conditions: ['max_rows:100', 'audit'] }),
      permits('p3', 'g', 'x'),
    ]);
    const r = run(p, req('a', 'x'));
    expect(r.outcome).toBe('conditional');
    expect(r.conditions).toEqual(['audit', 'max_rows:100', 'redact:pii']);
    expect(r.reason).toBe('conditional: permits relation "p1" (a → x) (and 1 more) with conditions audit, max_rows:100, redact:pii');
  });
  it('only matched permits contribute', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x', { conditions: ['c1'] }), permits('p2', 'g', 'x', { conditions: ['c2'] })]);
    expect(run(p, req('b', 'x')).conditions).toEqual(['c2']);
  });
  it('permits without conditions approve with no conditions', () => {
    const r = run(pol('strict', terms, [permits('p1', 'a', 'x')]), req('a', 'x'));
    expect(r.outcome).toBe('approved');
    expect(r.conditions).toEqual([]);
  });
  it('a denial drops conditions', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x', { conditions: ['c'] }), forbids('f', 'a', 'x')]);
    expect(run(p, req('a', 'x')).conditions).toEqual([]);
  });
  it('an escalation keeps conditions (from a conditional, and alongside human approval)', () => {
    const p = pol('strict', terms, [permits('p1', 'a', 'x', { conditions: ['c'] })]);
    const r = run(p, req('a', 'x', { risk: { level: 'critical', score: 90 } }));
    expect(r.outcome).toBe('escalated');
    expect(r.conditions).toEqual(['c']);
    const q = pol('strict', terms, [permits('p1', 'a', 'x', { conditions: ['c'] }), requires('q', 'x', 'human_approval')]);
    expect(run(q, req('a', 'x')).conditions).toEqual(['c']);
  });
  it('conditions on non-permit relations are ignored', () => {
    const p = pol('permissive', terms, [requires('q', 'x', 'mfa', { conditions: ['zzz'] })]);
    const r = run(p, req('a', 'x', { context: { mfa: true } }));
    expect(r.outcome).toBe('approved');
    expect(r.conditions).toEqual([]);
  });
});

describe('requires in strict and permissive, with and without permits', () => {
  const terms = [actor('a'), action('x'), ctx('mfa')];
  const matrix: Array<[PolicyMode, boolean, 'sat' | 'unsat' | 'human', string, boolean]> = [
    ['strict', false, 'sat', 'denied', true],
    ['strict', false, 'unsat', 'denied', false],
    ['strict', false, 'human', 'escalated', false],
    ['strict', true, 'sat', 'approved', false],
    ['strict', true, 'unsat', 'denied', false],
    ['strict', true, 'human', 'escalated', false],
    ['permissive', false, 'sat', 'approved', true],
    ['permissive', false, 'unsat', 'denied', false],
    ['permissive', false, 'human', 'escalated', false],
    ['permissive', true, 'sat', 'approved', false],
    ['permissive', true, 'unsat', 'denied', false],
    ['permissive', true, 'human', 'escalated', false],
  ];
  for (const [mode, withPermit, kind, outcome, defaulted] of matrix) {
    it(`${mode}, ${withPermit ? 'with' : 'without'} permit, ${kind} → ${outcome}`, () => {
      const relations = [requires('q', 'x', kind === 'human' ? 'human_approval' : 'mfa')];
      if (withPermit) relations.push(permits('p', 'a', 'x'));
      const r = run(pol(mode, terms, relations), req('a', 'x', { context: { mfa: kind === 'sat' } }));
      expect(r.outcome).toBe(outcome);
      expect(r.default_applied).toBe(defaulted);
      expect(r.escalation_triggers).toEqual(kind === 'human' ? ['policy_requires_approval'] : []);
    });
  }
});

describe('risk: paranoid levels and the ≥ 80 threshold', () => {
  const terms = [actor('a'), action('x')];
  const permit = [permits('p', 'a', 'x')];
  const conditional = [permits('p', 'a', 'x', { conditions: ['c'] })];
  for (const [level, escalates] of [
    ['low', false],
    ['medium', false],
    ['high', true],
    ['critical', true],
  ] as const) {
    it(`paranoid at ${level} risk ${escalates ? 'escalates' : 'keeps'} approvals and conditionals`, () => {
      const r = run(pol('paranoid', terms, permit), req('a', 'x', { risk: { level, score: 50 } }));
      expect(r.outcome).toBe(escalates ? 'escalated' : 'approved');
      expect(r.escalation_triggers).toEqual(escalates ? ['paranoid_mode'] : []);
      if (escalates) expect(r.reason).toBe(`escalated: paranoid mode escalates high-risk approvals (risk level ${level})`);
      const c = run(pol('paranoid', terms, conditional), req('a', 'x', { risk: { level, score: 50 } }));
      expect(c.outcome).toBe(escalates ? 'escalated' : 'conditional');
    });
    it(`strict and permissive ignore the ${level} level`, () => {
      expect(run(pol('strict', terms, permit), req('a', 'x', { risk: { level, score: 50 } })).outcome).toBe('approved');
      expect(run(pol('permissive', terms, []), req('a', 'x', { risk: { level, score: 50 } })).outcome).toBe('approved');
    });
  }
  it('paranoid never turns a denial into an escalation', () => {
    const r = run(pol('paranoid', terms, []), req('a', 'x', { risk: { level: 'critical', score: 95 } }));
    expect(r.outcome).toBe('denied');
    expect(r.escalation_triggers).toEqual([]);
  });
  it('paranoid with no risk given approves', () => {
    expect(run(pol('paranoid', terms, permit), req('a', 'x')).outcome).toBe('approved');
  });
  for (const mode of ['strict', 'permissive', 'paranoid'] as const) {
    it(`${mode}: score 79 does not escalate, 80 does, a denial stays denied`, () => {
      const p = pol(mode, terms, permit);
      expect(run(p, req('a', 'x', { risk: { level: 'medium', score: 79 } })).outcome).toBe('approved');
      const r = run(p, req('a', 'x', { risk: { level: 'medium', score: 80 } }));
      expect(r.outcome).toBe('escalated');
      expect(r.escalation_triggers).toEqual(['risk_threshold']);
      expect(r.reason).toBe('escalated: risk score 80 ≥ 80');
      const denied = run(pol(mode, terms, [forbids('f', 'a', 'x')]), req('a', 'x', { risk: { level: 'critical', score: 100 } }));
      expect(denied.outcome).toBe('denied');
      expect(denied.escalation_triggers).toEqual([]);
      expect(denied.reason).toContain('"f"');
    });
  }
  it('score ≥ 80 escalates a permissive default approval and a conditional', () => {
    const r = run(pol('permissive', terms, []), req('a', 'x', { risk: { level: 'low', score: 85 } }));
    expect(r.outcome).toBe('escalated');
    expect(r.default_applied).toBe(true);
    expect(r.reason).toBe('escalated: risk score 85 ≥ 80');
    expect(run(pol('strict', terms, conditional), req('a', 'x', { risk: { level: 'low', score: 85 } })).outcome).toBe('escalated');
  });
  it('score ≥ 80 never overrides the strict default denial', () => {
    expect(run(pol('strict', terms, []), req('a', 'x', { risk: { level: 'critical', score: 99 } })).outcome).toBe('denied');
  });
  it('lists every applicable trigger in order', () => {
    const p = pol('paranoid', terms, permit);
    const r = run(p, req('a', 'x', { risk: { level: 'critical', score: 90 } }));
    expect(r.escalation_triggers).toEqual(['paranoid_mode', 'risk_threshold']);
    expect(r.reason).toBe(
      'escalated: paranoid mode escalates high-risk approvals (risk level critical); risk score 90 ≥ 80',
    );
    const q = pol('paranoid', terms, [...permit, requires('q', 'x', 'human_approval')]);
    const s = run(q, req('a', 'x', { risk: { level: 'high', score: 80 } }));
    // Paranoid escalates approvals: the policy's own outcome is already an escalation.
    expect(s.escalation_triggers).toEqual(['policy_requires_approval', 'risk_threshold']);
    expect(s.reason).toBe('escalated: relation "q" requires human approval; risk score 80 ≥ 80');
  });
});

describe('reasons', () => {
  const terms = [actor('a'), action('x'), ctx('mfa')];
  it('names the deciding relation by id and type', () => {
    expect(run(pol('strict', terms, [forbids('r_f', 'a', 'x')]), req('a', 'x')).reason).toBe(
      'denied: forbids relation "r_f" (a → x)',
    );
    expect(run(pol('strict', terms, [permits('r_p', 'a', 'x')]), req('a', 'x')).reason).toBe(
      'approved: permits relation "r_p" (a → x)',
    );
  });
  it('names the first deciding relation by relation_id and counts the rest', () => {
    const p = pol('strict', terms, [forbids('r_2', 'a', 'x'), requires('r_1', 'x', 'mfa'), forbids('r_3', 'a', 'x'), permits('r_0', 'a', 'x')]);
    expect(run(p, req('a', 'x')).reason).toBe(
      'denied: requirement "mfa" of relation "r_1" is not met (context.mfa must be true) (and 2 more)',
    );
    expect(run(p, req('a', 'x', { context: { mfa: true } })).reason).toBe('denied: forbids relation "r_2" (a → x) (and 1 more)');
  });
  it('mentions the object', () => {
    const p = pol('strict', [...terms, dataClass('pii')], [forbids('r_f', 'a', 'x', { object: 'pii' })]);
    expect(run(p, req('a', 'x', { data_classes: ['pii'] })).reason).toBe('denied: forbids relation "r_f" (a → x, data class pii)');
  });
});

describe('matched ordering', () => {
  it('is sorted by relation_id whatever the input order', () => {
    const terms = [actor('a'), action('x'), ctx('mfa')];
    const relations = [permits('b', 'a', 'x'), requires('a1', 'x', 'mfa'), forbids('c', 'a', 'x'), permits('a0', 'a', 'x')];
    const p: NormalizedPolicy = { policy_id: 'p', name: 'n', version: null, mode: 'strict', terms, relations };
    const r = run(p, req('a', 'x'));
    expect(r.matched.map((m) => m.relation_id)).toEqual(['a0', 'a1', 'b', 'c']);
  });
});

describe('the DESIGN seed example', () => {
  const seed = pol(
    'strict',
    [
      actor('ai_agent', { value: 'ai_agent:*' }),
      action('read_customer'),
      action('delete_records'),
      action('bulk_export'),
      implicit('human_approval', 'context'),
    ],
    [
      permits('r_permit_read', 'ai_agent', 'read_customer'),
      forbids('r_forbid_delete', 'ai_agent', 'delete_records'),
      requires('r_requires_export', 'bulk_export', 'human_approval'),
    ],
  );
  it('approves ai_agent:assistant reading a customer', () => {
    const r = run(seed, req('ai_agent:assistant', 'read_customer'));
    expect(r).toStrictEqual({
      outcome: 'approved',
      reason: 'approved: permits relation "r_permit_read" (ai_agent → read_customer)',
      mode: 'strict',
      matched: [{ relation_id: 'r_permit_read', relation_type: 'permits', effect: 'permit', justification: null }],
      conditions: [],
      default_applied: false,
      escalation_triggers: [],
      matched_terms: ['ai_agent', 'read_customer'],
    });
  });
  it('denies deleting records', () => {
    const r = run(seed, req('ai_agent:assistant', 'delete_records'));
    expect(r.outcome).toBe('denied');
    expect(r.reason).toBe('denied: forbids relation "r_forbid_delete" (ai_agent → delete_records)');
  });
  it('escalates a bulk export', () => {
    const r = run(seed, req('ai_agent:assistant', 'bulk_export'));
    expect(r.outcome).toBe('escalated');
    expect(r.escalation_triggers).toEqual(['policy_requires_approval']);
    expect(r.reason).toBe('escalated: relation "r_requires_export" requires human approval');
  });
  it('denies other actors and actions by default (strict)', () => {
    expect(run(seed, req('human:alice', 'read_customer')).outcome).toBe('denied');
    expect(run(seed, req('ai_agent:assistant', 'update_customer')).reason).toBe(
      'denied: no relation permits this request (strict mode)',
    );
  });
});

describe('determinism', () => {
  it('gives deep-equal results for repeated evaluations and does not mutate inputs', () => {
    const p = pol('strict', [actor('a'), action('x')], [permits('p', 'a', 'x', { conditions: ['b', 'a'] })]);
    const snapshot = structuredClone(p);
    const compiled = compilePolicy(p);
    const request = req('a', 'x', { data_classes: ['z'], session_approved_actions: ['y'], context: { k: true } });
    const first = evaluate(compiled, request);
    expect(evaluate(compiled, request)).toStrictEqual(first);
    expect(first.conditions).toEqual(['a', 'b']);
    expect(p).toStrictEqual(snapshot);
    first.matched.pop();
    expect(evaluate(compiled, request).matched).toHaveLength(1); // results share no mutable state
  });
});

describe('glob index (trie by literal prefix)', () => {
  // Nested and shared literal prefixes, *-first globs, a suffix that overlaps the prefix, several *, and
  // code units beyond ASCII (a surrogate pair): every request value must match exactly what rule 2 says.
  const patterns = [
    '*', '*-x', 'a*', 'ab*', 'ab*ba', 'abc*', 'abc*d*e', 'ab*c', 'team-1-*', 'team-1*', 'team-12-*', 'team-*-lead',
    'é*', '😀*', '😀a*b', 'ab*b*', 'abc',
  ];
  const terms = patterns.map((value, i) => actor(`g${String(i).padStart(2, '0')}`, { value }));
  const p = pol('strict', [...terms, action('x')], terms.map((t) => permits(`p_${t.term_id}`, t.term_id, 'x')));
  const values = [
    '', 'a', 'ab', 'aba', 'abba', 'abab', 'abc', 'abcd', 'abcde', 'abcxdxe', 'abxc', 'abbb', 'b', 'x-x', '-x',
    'team-1-', 'team-1-7', 'team-12-3', 'team-123', 'team-7-lead', 'team-1-lead', 'é', 'éa', '😀', '😀ab', '😀a', '\ud83d',
  ];

  it('matches each value exactly as the naive scan does', () => {
    const compiled = compilePolicy(p);
    for (const v of values) {
      const fast = evaluate(compiled, req(v, 'x'));
      expect(evaluateNaive(p, req(v, 'x'))).toStrictEqual(fast);
      const expected = terms.filter((t) => termMatchesValue(t, v)).map((t) => t.term_id);
      expect(fast.matched_terms.filter((id) => id.startsWith('g'))).toEqual(expected);
    }
  });
  it('indexes globs of each type separately', () => {
    const q = pol('strict', [actor('a1', { value: 'ab*' }), action('x1', { value: 'ab*' })], [permits('r', 'a1', 'x1')]);
    expect(run(q, req('abc', 'zz')).matched_terms).toEqual(['a1']);
    expect(run(q, req('zz', 'abd')).matched_terms).toEqual(['x1']);
    expect(run(q, req('abc', 'abd')).outcome).toBe('approved');
  });
  it('matches session-approved actions through the glob index too (conflicts)', () => {
    const q = pol('strict', [action('x'), action('yglob', { value: 'write:*' })], [conflicts('c', 'x', 'yglob')]);
    expect(run(q, req('a', 'x', { session_approved_actions: ['read:1', 'write:2'] })).matched[0]).toMatchObject({
      effect: 'conflict',
      conflicting_action: 'write:2',
    });
  });
});

describe('relation index by (source, target)', () => {
  it('finds only the relations whose source and target both matched, for a broad source with many targets', () => {
    const actions = Array.from({ length: 50 }, (_, i) => action(`act${i}`, { value: `do:${i}` }));
    const p = pol(
      'strict',
      [actor('everyone', { value: '*' }), actor('alice'), ...actions],
      [
        ...actions.map((a, i) => forbids(`f${String(i).padStart(2, '0')}`, 'everyone', a.term_id)),
        permits('p1', 'alice', 'act7'),
        permits('p2', 'alice', 'act7', { conditions: ['audit'] }), // two relations on one pair
      ],
    );
    const r = run(p, req('alice', 'do:7'));
    expect(r.matched.map((m) => m.relation_id)).toEqual(['f07', 'p1', 'p2']);
    expect(run(p, req('bob', 'do:8')).matched.map((m) => m.relation_id)).toEqual(['f08']);
    expect(run(p, req('bob', 'nothing')).default_applied).toBe(true);
  });
  it('handles a relation from a term to itself, targets of any type, implied ends and object gating', () => {
    const p = pol(
      'strict',
      [actor('a', { value: 'bot*' }), action('x'), action('cat'), dataClass('pii'), dataClass('phi')],
      [
        permits('p_self', 'a', 'a'),
        permits('p_dc', 'a', 'pii'),
        implies('i1', 'x', 'cat'),
        implies('i2', 'phi', 'pii'),
        forbids('f_cat', 'a', 'cat', { object: 'pii' }),
        permits('p_x', 'a', 'x', { object: 'phi' }),
        requires('q', 'a', 'mfa'),
      ],
    );
    const withPhi = run(p, req('bot1', 'x', { data_classes: ['phi'], context: { mfa: true } }));
    expect(withPhi.matched.map((m) => m.relation_id)).toEqual(['f_cat', 'p_dc', 'p_self', 'p_x', 'q']);
    const without = run(p, req('bot1', 'x'));
    expect(without.matched.map((m) => m.relation_id)).toEqual(['p_self', 'q']);
  });
});
