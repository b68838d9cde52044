/**
 * Policies built to hurt: a glob that a backtracking RegExp takes tens of seconds over, and implies
 * chains long enough to overflow a recursive compile (issue 14, A3 and C5).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';

let t: TestApp;
let lead: string;

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
});
afterAll(() => t.app.close());

const post = (url: string, body: unknown, token = lead): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), payload: body as object });

/**
 * The pattern, and a 240-character actor it does not match though it has the pattern's literal
 * prefix and suffix (no `c`): the worst case for a backtracking `.*` RegExp, which the engine reached
 * once the prefix and suffix checks passed.
 */
const EVIL = 'ai_agent:support-*a*a*a*a*c*b';
const LONG_ACTOR = 'ai_agent:support-' + 'a'.repeat(222) + 'b';

describe('glob matching in linear time (A3)', () => {
  it("answers /decide promptly for the issue's pattern and a 240-character actor", async () => {
    const load = await post('/policies/load', {
      policy_id: 'redos',
      mode: 'strict',
      terms: [
        { id: 'support', type: 'actor', value: EVIL },
        { id: 'read', type: 'action' },
      ],
      relations: [{ type: 'permits', source: 'support', target: 'read' }],
    });
    expect(load.statusCode, load.body).toBe(201);
    const agent = await createAgentKey(t, 'ai_agent:*');
    expect(LONG_ACTOR).toHaveLength(240);

    const started = performance.now();
    const miss = await post('/decide', { actor: LONG_ACTOR, proposed_action: 'read', tool: 't' }, agent.secret);
    const hit = await post('/decide', { actor: `${LONG_ACTOR.slice(0, 238)}cb`, proposed_action: 'read', tool: 't' }, agent.secret);
    expect(`${LONG_ACTOR.slice(0, 238)}cb`).toHaveLength(240);
    const elapsed = performance.now() - started;

    expect(miss.statusCode).toBe(200);
    expect(miss.json().outcome).toBe('denied');
    expect(hit.statusCode).toBe(200);
    expect(hit.json().outcome).toBe('approved');
    expect(elapsed).toBeLessThan(2_000); // two whole decisions; the RegExp took ~50 s for the first
  });

  it('checks an API key actor pattern with the same matcher: 403 promptly, not a frozen event loop', async () => {
    const agent = await createAgentKey(t, EVIL);
    const started = performance.now();
    const res = await post('/decide', { actor: LONG_ACTOR, proposed_action: 'read', tool: 't' }, agent.secret);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ACTOR_NOT_ALLOWED');
  });
});

describe('long implies chains (C5)', () => {
  /** actor a0 implies a1 … implies a(n-1); a(n-1) may read; a(n/2) may not delete. */
  function chain(n: number, policyId: string) {
    const terms: object[] = [
      { id: 'read', type: 'action' },
      { id: 'delete', type: 'action' },
    ];
    const relations: object[] = [];
    for (let i = 0; i < n; i++) {
      terms.push({ id: `a${i}`, type: 'actor' });
      if (i > 0) relations.push({ type: 'implies', source: `a${i - 1}`, target: `a${i}` });
    }
    relations.push(
      { type: 'permits', source: `a${n - 1}`, target: 'read' },
      { type: 'permits', source: `a${n - 1}`, target: 'delete' },
      { type: 'forbids', source: `a${n >> 1}`, target: 'delete' },
    );
    return { policy_id: policyId, mode: 'strict', terms, relations };
  }

  it.each([4_000, 20_000])('loads a chain of %i implications and evaluates through it', async (n) => {
    const load = await post('/policies/load', chain(n, `chain-${n}`));
    expect(load.statusCode, load.body.slice(0, 500)).toBe(201);
    expect(load.json()).toMatchObject({ terms_loaded: n + 2, relations_loaded: n + 2, warnings: [] });

    const evaluate = (actor: string, action: string) => post('/policies/evaluate', { actor, action });
    const read = await evaluate('a0', 'read');
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ outcome: 'approved', policy_id: `chain-${n}` });
    expect(read.json().matched_terms).toHaveLength(n + 1);
    expect((await evaluate('a0', 'delete')).json().outcome).toBe('denied'); // the forbid halfway down applies
    expect((await evaluate(`a${n - 1}`, 'delete')).json().outcome).toBe('approved'); // below it, it does not

    if (n === 4_000) {
      const agent = await createAgentKey(t, 'a*');
      const decided = await post('/decide', { actor: 'a0', proposed_action: 'read', tool: 't' }, agent.secret);
      expect(decided.statusCode).toBe(200);
      expect(decided.json().outcome).toBe('approved');
    }
  });

  it('refuses a chain closed into a cycle with a 400 naming it, never a 500', async () => {
    const doc = chain(4_000, 'chain-cycle');
    doc.relations.push({ type: 'implies', source: 'a3999', target: 'a0' });
    const res = await post('/policies/load', doc);
    expect(res.statusCode).toBe(400);
    const text = JSON.stringify(res.json().error.details);
    expect(text).toContain('implies cycle: a0 → a1 → a2');
  });
});
