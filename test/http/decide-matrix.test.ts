import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_MODES, type Outcome, type PolicyMode } from '../../src/modules/policy/policy.model.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';

/** What the request's action meets in the policy. */
const RELATIONS = ['none', 'permit', 'permit_with_conditions', 'forbid', 'requires_human'] as const;
type Relation = (typeof RELATIONS)[number];

/** Risk as the request states it: risk_level 4 floors the score at 60 (high), 5 at 80 (critical). */
const RISKS = { low: undefined, high: 4, critical: 5 } as const;
type Risk = keyof typeof RISKS;

function policy(mode: PolicyMode) {
  return {
    policy_id: `matrix-${mode}`,
    mode,
    terms: [
      { id: 'agent', type: 'actor', value: 'ai_agent:*' },
      ...RELATIONS.map((r) => ({ id: `act_${r}`, type: 'action' })),
    ],
    relations: [
      { type: 'permits', source: 'agent', target: 'act_permit' },
      { type: 'permits', source: 'agent', target: 'act_permit_with_conditions', conditions: ['redact:pii'] },
      { type: 'forbids', source: 'agent', target: 'act_forbid' },
      { type: 'requires', source: 'act_requires_human', target: 'human_approval' },
    ],
  };
}

/** DESIGN §4, written out independently of the engine: precedence, modes, paranoid, and the ≥ 80 rule. */
function expected(mode: PolicyMode, relation: Relation, risk: Risk): Outcome {
  const base: Outcome = {
    none: mode === 'permissive' ? 'approved' : 'denied',
    permit: 'approved',
    permit_with_conditions: 'conditional',
    forbid: 'denied',
    requires_human: 'escalated',
  }[relation] as Outcome;
  if (base === 'denied') return 'denied';
  if (risk === 'critical') return 'escalated';
  if (mode === 'paranoid' && risk === 'high' && base !== 'escalated') return 'escalated';
  return base;
}

let t: TestApp;
let lead: string;
let key: string;

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
  key = (await createAgentKey(t)).secret;
});
afterAll(() => t.app.close());

describe('outcome matrix: mode × relation × risk', () => {
  for (const mode of POLICY_MODES) {
    it(`${mode} mode`, async () => {
      const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy(mode) });
      expect(load.statusCode).toBe(201);
      for (const relation of RELATIONS) {
        for (const [risk, level] of Object.entries(RISKS) as Array<[Risk, 4 | 5 | undefined]>) {
          const res = await t.app.inject({
            method: 'POST',
            url: '/decide',
            headers: bearer(key),
            payload: { actor: 'ai_agent:m', proposed_action: `act_${relation}`, tool: 't', ...(level ? { risk_level: level } : {}) },
          });
          const d = res.json();
          const want = expected(mode, relation, risk);
          expect(d.outcome, `${mode} × ${relation} × ${risk}`).toBe(want);
          expect(d.allowed).toBe(want === 'approved' || want === 'conditional');
          expect(d.capability_token === null).toBe(!d.allowed);
          expect(d.escalation_id === null).toBe(want !== 'escalated');
          // Obligations stay on an escalated decision: a human approval would carry them.
          expect(d.conditions).toEqual(relation === 'permit_with_conditions' && want !== 'denied' ? ['redact:pii'] : []);
        }
      }
    });
  }
});
