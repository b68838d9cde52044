import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.compile.js';
import { evaluate, evaluateNaive } from './policy.engine.js';
import { loadPolicyDocument, policyVersionHash } from './policy.loader.js';
import type { EvaluationRequest, NormalizedPolicy } from './policy.model.js';
import { conflictWindowMs, inWindow, MAX_CONFLICT_WINDOW_MS, parseWindow, relationWindowMs, windowStart } from './policy.sod.js';

describe('parseWindow', () => {
  it('reads <n>s|m|h|d', () => {
    expect(parseWindow('30s')).toEqual({ ok: true, ms: 30_000 });
    expect(parseWindow('90m')).toEqual({ ok: true, ms: 5_400_000 });
    expect(parseWindow('24h')).toEqual({ ok: true, ms: 86_400_000 });
    expect(parseWindow('7d')).toEqual({ ok: true, ms: 604_800_000 });
    expect(parseWindow('366d')).toEqual({ ok: true, ms: MAX_CONFLICT_WINDOW_MS });
    expect(parseWindow('31622400s')).toEqual({ ok: true, ms: MAX_CONFLICT_WINDOW_MS });
  });
  it('refuses anything else, and more than 366 days', () => {
    for (const bad of ['', 'h', '24', '0h', '024h', '-1h', '1.5h', '24H', ' 24h', '24h ', '1w', '24hh', '1e3s', '123456789s', '２h']) {
      expect(parseWindow(bad).ok, bad).toBe(false);
    }
    expect(parseWindow('367d')).toEqual({ ok: false, problem: 'must be at most 366 days ("366d")' });
    expect(parseWindow('8785h').ok).toBe(false);
  });
  it('is linear on long input (no backtracking)', () => {
    const started = performance.now();
    for (let i = 0; i < 1000; i++) parseWindow('9'.repeat(100_000) + 'x');
    expect(performance.now() - started).toBeLessThan(1000);
  });
  it('window helpers: the default, the start, inside or not', () => {
    const r = { relation_id: 'c', relation_type: 'conflicts' as const, source: 'x', target: 'y', object: null, conditions: [], justification: null };
    expect(relationWindowMs(r)).toBe(86_400_000);
    expect(relationWindowMs({ ...r, window: '2h' })).toBe(7_200_000);
    expect(windowStart('2026-11-25T10:00:00.000Z', 7_200_000)).toBe('2026-11-25T08:00:00.000Z');
    const at = '2026-11-25T10:00:00.000Z';
    const a = (approved_at: string | null) => ({ action: 'y', approved_at, decision_id: undefined });
    expect(inWindow(a('2026-11-25T08:00:00.000Z'), at, 7_200_000)).toBe(true);
    expect(inWindow(a('2026-11-25T07:59:59.999Z'), at, 7_200_000)).toBe(false);
    expect(inWindow(a('2026-11-25T10:00:05.000Z'), at, 7_200_000)).toBe(true); // a clock ahead: counts
    expect(inWindow(a(null), at, 1000)).toBe(true);
    expect(inWindow(a('2020-01-01T00:00:00.000Z'), undefined, 1000)).toBe(true);
  });
});

function policy(doc: Record<string, unknown>): NormalizedPolicy {
  const out = loadPolicyDocument({ policy_id: 'sod', mode: 'permissive', terms: [], ...doc });
  if (!out.ok) throw new Error(JSON.stringify(out.problems));
  return out.policy;
}

function run(p: NormalizedPolicy, request: EvaluationRequest) {
  const fast = evaluate(compilePolicy(p), request);
  expect(evaluateNaive(p, request)).toStrictEqual(fast);
  return fast;
}

const AT = '2026-11-25T10:00:00.000Z';
const ago = (ms: number) => new Date(Date.parse(AT) - ms).toISOString();
const H = 3_600_000;

describe('conflicts against the server record (approval_history)', () => {
  const p = policy({
    terms: [
      { id: 'create_vendor', type: 'action' },
      { id: 'pay_vendor', type: 'action', value: 'pay_vendor:*' },
      { id: 'sign', type: 'action' },
      { id: 'ship', type: 'action' },
    ],
    relations: [
      { id: 'sod', type: 'conflicts', source: 'create_vendor', target: 'pay_vendor' },
      { id: 'short', type: 'conflicts', source: 'sign', target: 'ship', window: '2h' },
    ],
  });

  it('denies X for an actor approved for Y within the default 24h, naming the decision', () => {
    const r = run(p, {
      actor: 'ai_agent:clerk',
      action: 'create_vendor',
      at: AT,
      context: { session_id: 'a-brand-new-session' },
      approval_history: [{ action: 'pay_vendor:acme', approved_at: ago(23 * H), decision_id: 'dec_1' }],
    });
    expect(r.outcome).toBe('denied');
    expect(r.matched).toStrictEqual([
      {
        relation_id: 'sod',
        relation_type: 'conflicts',
        effect: 'conflict',
        conflicting_action: 'pay_vendor:acme',
        conflicting_decision_id: 'dec_1',
        justification: null,
      },
    ]);
    expect(r.reason).toBe(
      'denied: conflicts relation "sod" (create_vendor ↔ pay_vendor): "pay_vendor:acme" was approved for this actor (decision dec_1) within 24h',
    );
  });
  it('is symmetric: Y after X is denied too', () => {
    const r = run(p, {
      actor: 'a',
      action: 'pay_vendor:acme',
      at: AT,
      approval_history: [{ action: 'create_vendor', approved_at: ago(H), decision_id: 'dec_2' }],
    });
    expect(r.outcome).toBe('denied');
    expect(r.matched[0]!.conflicting_decision_id).toBe('dec_2');
  });
  it('approves outside the window, each relation with its own window', () => {
    const old = [{ action: 'pay_vendor:acme', approved_at: ago(24 * H + 1), decision_id: 'dec_3' }];
    expect(run(p, { actor: 'a', action: 'create_vendor', at: AT, approval_history: old }).outcome).toBe('approved');
    const signed = (age: number) => [{ action: 'sign', approved_at: ago(age), decision_id: 'dec_4' }];
    expect(run(p, { actor: 'a', action: 'ship', at: AT, approval_history: signed(2 * H) }).outcome).toBe('denied');
    expect(run(p, { actor: 'a', action: 'ship', at: AT, approval_history: signed(2 * H + 1) }).outcome).toBe('approved');
  });
  it('the first approval inside the window decides, stated approvals first', () => {
    const r = run(p, {
      actor: 'a',
      action: 'create_vendor',
      at: AT,
      session_approved_actions: ['read'],
      approval_history: [
        { action: 'pay_vendor:old', approved_at: ago(30 * H), decision_id: 'dec_old' },
        { action: 'pay_vendor:new', approved_at: ago(H), decision_id: 'dec_new' },
      ],
    });
    expect(r.matched[0]!.conflicting_action).toBe('pay_vendor:new');
  });
  it('conflictWindowMs: the widest window touching the matched terms, null when none', () => {
    const compiled = compilePolicy(p);
    expect(conflictWindowMs(compiled.conflictsByTerm, ['create_vendor'])).toBe(24 * H);
    expect(conflictWindowMs(compiled.conflictsByTerm, ['ship'])).toBe(2 * H);
    expect(conflictWindowMs(compiled.conflictsByTerm, ['ship', 'pay_vendor'])).toBe(24 * H);
    expect(conflictWindowMs(compiled.conflictsByTerm, ['other'])).toBeNull();
  });
});

describe('the window field in the loader', () => {
  const doc = (relation: Record<string, unknown>) => ({
    policy_id: 'w',
    terms: [],
    relations: [{ type: 'conflicts', source: 'x', target: 'y', ...relation }],
  });
  it('is kept when given and absent otherwise: the hash of a policy without one does not change', () => {
    const plain = loadPolicyDocument(doc({}));
    const windowed = loadPolicyDocument(doc({ window: '7d' }));
    if (!plain.ok || !windowed.ok) throw new Error('should load');
    expect('window' in plain.policy.relations[0]!).toBe(false);
    expect(windowed.policy.relations[0]!.window).toBe('7d');
    expect(plain.versionHash).toBe(policyVersionHash(plain.policy));
    expect(windowed.versionHash).not.toBe(plain.versionHash);
    expect(plain.warnings.some((w) => w.path.includes('window'))).toBe(false);
  });
  it('a bad window, or a window on another relation type, is a problem', () => {
    const bad = loadPolicyDocument(doc({ window: '2 weeks' }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems).toEqual([{ path: '$.relations[0].window', message: expect.stringContaining('s, m, h or d') }]);
    const tooWide = loadPolicyDocument(doc({ window: '400d' }));
    if (!tooWide.ok) expect(tooWide.problems).toEqual([{ path: '$.relations[0].window', message: 'must be at most 366 days ("366d")' }]);
    expect(tooWide.ok).toBe(false);
    const wrongType = loadPolicyDocument({ policy_id: 'w', terms: [], relations: [{ type: 'permits', source: 'a', target: 'x', window: '1h' }] });
    expect(wrongType.ok).toBe(false);
    if (!wrongType.ok) expect(wrongType.problems[0]!.message).toBe('window is only allowed on conflicts relations, not on permits');
  });
});
