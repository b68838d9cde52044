import { serializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { decisionDetailJson, decisionJson, decisionJsonParts, decisionListJson, decisionRecordJson } from './decision.json.js';
import { requestShown } from './decision.record.js';
import {
  DecisionDetailSchema,
  DecisionListSchema,
  DecisionRecordSchema,
  DecisionResponseSchema,
  type DecisionDetailDto,
  type DecisionRecordDto,
  type DecisionResponse,
} from './decision.schemas.js';

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

const zodRecord = serializerCompiler({ schema: DecisionRecordSchema, method: 'GET', url: '/decide/:decision_id' } as never) as (d: unknown) => string;
const zodList = serializerCompiler({ schema: DecisionListSchema, method: 'GET', url: '/decide' } as never) as (d: unknown) => string;

/** A record as DecisionService builds it (toRecordDto): the stored decision, its token null, then the record's own. */
function record(d: DecisionResponse, own: Partial<DecisionRecordDto> = {}): DecisionRecordDto {
  return {
    ...d,
    capability_token: null,
    actor: 'ai_agent:assistant',
    action: 'read:customer_profile',
    tool: 'crm"\\é',
    requested_by: 'key_01JH0000000000000000000009',
    token: null,
    effective_outcome: d.outcome,
    escalation: null,
    overrides: [],
    ...own,
  };
}

const escalation: NonNullable<DecisionRecordDto['escalation']> = {
  escalation_id: 'esc_01JH0000000000000000000003',
  status: 'resolved',
  priority: 'critical',
  trigger: 'risk_threshold',
  escalated_to: ['approver', 'u"ser\n'],
  sla_deadline: '2026-12-08T01:00:00.000Z',
  opened_by: 'system',
  assigned_by: 'usr_01JH0000000000000000000004',
  resolution: 'approved',
  resolved_by: 'usr_01JH0000000000000000000004',
  resolved_at: '2026-12-08T00:30:00.000Z',
};

const recordCases: Array<[string, DecisionRecordDto]> = [
  ['approved, token live, caller sees the token', record(cases[0]![1], {
    capability_token: cases[0]![1].capability_token,
    token: { jti: 'tok_01JH0000000000000000000005', expires_at: '2026-12-08T00:05:00.000Z', revoked: false },
  })],
  ['conditional, token revoked (expired too)', record(cases[1]![1], {
    token: { jti: 'tok_01JH0000000000000000000006', expires_at: '2020-01-01T00:00:00.000Z', revoked: true },
  })],
  ['escalated, resolved approved, overridden', record(cases[2]![1], {
    effective_outcome: 'denied',
    escalation,
    overrides: [
      { override_id: 'ovr_1', new_outcome: 'denied', status: 'active', authorized_by: 'usr_2', created_at: '2026-12-08T00:40:00.000Z', effective_at: '2026-12-08T00:40:00.000Z', expires_at: null },
      { override_id: 'ovr_2', new_outcome: 'approved', status: 'pending_confirmation', authorized_by: 'usr_"3', created_at: '2026-12-08T00:41:00.000Z', effective_at: null, expires_at: '2026-12-09T00:00:00.000Z' },
    ],
  })],
  ['escalated, open case', record(cases[2]![1], {
    escalation: { ...escalation, status: 'pending', resolution: null, resolved_by: null, resolved_at: null, escalated_to: [] },
  })],
  ['denied (no policy, escapes)', record(cases[3]![1])],
];

describe('decisionRecordJson, decisionListJson: the bytes of the GET routes\' zod serializers', () => {
  it.each(recordCases)('%s', (_name, r) => {
    expect(decisionRecordJson(r)).toBe(zodRecord(r));
    expect(JSON.parse(decisionRecordJson(r))).toEqual(r);
  });

  it('a page, with and without a next cursor, and an empty page', () => {
    const items = recordCases.map(([, r]) => r);
    expect(decisionListJson({ items, next_cursor: 'dec_01JH0000000000000000000001' })).toBe(zodList({ items, next_cursor: 'dec_01JH0000000000000000000001' }));
    expect(decisionListJson({ items, next_cursor: null })).toBe(zodList({ items, next_cursor: null }));
    expect(decisionListJson({ items: [], next_cursor: null })).toBe(zodList({ items: [], next_cursor: null }));
  });

  it('leaves out what the schema does not know (a stored decision with an extra property)', () => {
    const r = { ...record(cases[0]![1]), extra: 1, escalation: { ...escalation, extra: 2 } } as DecisionRecordDto;
    expect(decisionRecordJson(r)).toBe(zodRecord(r));
  });
});

const zodDetail = serializerCompiler({ schema: DecisionDetailSchema, method: 'GET', url: '/decide/:decision_id' } as never) as (d: unknown) => string;

describe('decisionDetailJson: the bytes of GET /decide/:decision_id\'s zod serializer', () => {
  const shown: Array<[string, DecisionDetailDto['user_intent'], DecisionDetailDto['data_classes'], boolean]> = [
    ['intent and data classes (escaped, non-ASCII)', 'export "Q4" for Zoë\n', ['pii', 'fin"ance', 'é'], false],
    ['none sent', null, [], false],
    ['purged by retention', null, null, true],
  ];
  it.each(shown)('%s', (_name, user_intent, data_classes, request_purged) => {
    for (const [, r] of recordCases) {
      const d: DecisionDetailDto = { ...r, user_intent, data_classes, request_purged };
      expect(decisionDetailJson(d)).toBe(zodDetail(d));
      expect(JSON.parse(decisionDetailJson(d))).toEqual(d);
    }
  });
});

describe('requestShown: the request as the agent sent it, never a guess', () => {
  it('reads user_intent and data_classes from the stored request', () => {
    const body = { actor: 'a', proposed_action: 'x', tool: 't', user_intent: 'why', data_classes: ['pii'] };
    expect(requestShown(JSON.stringify(body))).toEqual({ user_intent: 'why', data_classes: ['pii'], request_purged: false });
  });
  it('none sent: null intent, no data classes', () => {
    expect(requestShown('{"actor":"a","proposed_action":"x","tool":"t"}')).toEqual({ user_intent: null, data_classes: [], request_purged: false });
  });
  it('purged: both unknown (null), and says so', () => {
    expect(requestShown(undefined)).toEqual({ user_intent: null, data_classes: null, request_purged: true });
  });
});
