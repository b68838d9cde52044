import { serializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { decisionJson, decisionJsonParts } from './decision.json.js';
import { DecisionResponseSchema, type DecisionResponse } from './decision.schemas.js';

/** What the route's 200 serializer (fastify-type-provider-zod) writes. */
const zodSerialize = serializerCompiler({ schema: DecisionResponseSchema, method: 'POST', url: '/decide' } as never) as (d: unknown) => string;

function decision(overrides: Partial<DecisionResponse> = {}): DecisionResponse {
  return {
    decision_id: 'dec_01JH0000000000000000000001',
    request_id: null,
    outcome: 'approved',
    allowed: true,
    reason: 'approved: permits relation "r1" (ai_agent → read_customer)',
    explanation: {
      mode: 'strict',
      matched: [{ relation_id: 'r1', relation_type: 'permits', effect: 'permit' }],
      default_applied: false,
      escalation_triggers: [],
    },
    conditions: [],
    risk: {
      overall_score: 14,
      risk_level: 'low',
      dimensions: { privacy: 70 },
      factors: [{ source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 }],
      requires_escalation: false,
    },
    policy: { policy_id: 'seed-example', version_hash: 'b'.repeat(64), mode: 'strict' },
    capability_token: 'cap_eyJhY3QiOiJyZWFkIn0_' + 'A'.repeat(86),
    token_expires_at: '2026-12-08T00:05:00.000Z',
    escalation_id: null,
    ledger: { seq: 42, entry_id: 'ent_01JH0000000000000000000002', entry_hash: 'c'.repeat(64) },
    timestamp: '2026-12-08T00:00:00.000Z',
    ...overrides,
  };
}

const cases: Array<[string, DecisionResponse]> = [
  ['approved', decision()],
  [
    'conditional',
    decision({
      outcome: 'conditional',
      conditions: ['redact:pii', 'max_rows:100', 'q"uote\\d', 'é東😀\u2028'],
      request_id: 'req-"1"\\',
    }),
  ],
  [
    'escalated',
    decision({
      outcome: 'escalated',
      allowed: false,
      capability_token: null,
      token_expires_at: null,
      escalation_id: 'esc_01JH0000000000000000000003',
      explanation: {
        mode: 'paranoid',
        matched: [
          { relation_id: 'r1', relation_type: 'permits', effect: 'permit' },
          { relation_id: 'r\n2', relation_type: 'requires', effect: 'requires_human_approval' },
        ],
        default_applied: false,
        escalation_triggers: ['policy_requires_approval', 'risk_threshold'],
      },
      risk: {
        overall_score: 85,
        risk_level: 'critical',
        dimensions: { security: 90, privacy: 85, compliance: 80, operational: 70, reputational: 70, financial: 70 },
        factors: [
          { source: 'data_class', key: 'credentials', dimension: 'security', value: 90 },
          { source: 'risk_level_floor', key: 'risk_level:5', value: 80 },
        ],
        requires_escalation: true,
      },
    }),
  ],
  [
    'denied (no policy, lone surrogate and control characters in the reason)',
    decision({
      outcome: 'denied',
      allowed: false,
      reason: 'halted \uD800 \u0001\t',
      explanation: { mode: 'strict', matched: [], default_applied: true, escalation_triggers: [] },
      risk: { overall_score: 1, risk_level: 'low', dimensions: {}, factors: [], requires_escalation: false },
      policy: null,
      capability_token: null,
      token_expires_at: null,
    }),
  ],
];

describe('decisionJson: the bytes of the route\'s zod serializer, serialised once', () => {
  it.each(cases)('%s', (_name, d) => {
    const parts = decisionJsonParts(d);
    expect(decisionJson(parts, d.capability_token)).toBe(zodSerialize(d));
    // The stored copy: the same text with a null token, whatever the token.
    expect(decisionJson(parts, null)).toBe(zodSerialize({ ...d, capability_token: null }));
    expect(JSON.parse(decisionJson(parts, d.capability_token))).toEqual(d);
  });

  it('leaves out what the schema does not know, as the serializer does', () => {
    const d = { ...decision(), extra: 1, risk: { ...decision().risk, extra: 2 } } as DecisionResponse;
    expect(decisionJson(decisionJsonParts(d), d.capability_token)).toBe(zodSerialize(d));
  });
});
