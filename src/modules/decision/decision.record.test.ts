import { serializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import type { EscalationRecord } from '../escalation/escalation.repo.js';
import type { TokenRecord } from '../tokens/tokens.repo.js';
import { decisionJson, decisionJsonParts } from './decision.json.js';
import { toRecordDto, toRecordJson, type RecordState } from './decision.record.js';
import type { DecisionRecordRow } from './decision.repo.js';
import { DecisionRecordSchema, type DecisionResponse } from './decision.schemas.js';

/** What GET /decide/:decision_id's 200 serializer (fastify-type-provider-zod) writes. */
const zodRecord = serializerCompiler({ schema: DecisionRecordSchema, method: 'GET', url: '/decide/:decision_id' } as never) as (d: unknown) => string;

const NOW = '2026-12-08T12:00:00.000Z';

function decision(overrides: Partial<DecisionResponse> = {}): DecisionResponse {
  return {
    decision_id: 'dec_01JH0000000000000000000001',
    request_id: 'req-"1"\\',
    outcome: 'escalated',
    allowed: false,
    reason: 'escalated: "r2" requires approval \u2028 é',
    explanation: {
      mode: 'paranoid',
      matched: [{ relation_id: 'r2', relation_type: 'requires', effect: 'requires_human_approval' }],
      default_applied: false,
      escalation_triggers: ['policy_requires_approval'],
    },
    conditions: ['redact:pii'],
    risk: {
      overall_score: 85,
      risk_level: 'critical',
      dimensions: { security: 90, privacy: 85 },
      factors: [{ source: 'data_class', key: 'credentials', dimension: 'security', value: 90 }],
      requires_escalation: true,
    },
    policy: { policy_id: 'seed-example', version_hash: 'b'.repeat(64), mode: 'paranoid' },
    capability_token: 'cap_never_stored',
    token_expires_at: null,
    escalation_id: 'esc_01JH0000000000000000000003',
    ledger: { seq: 42, entry_id: 'ent_01JH0000000000000000000002', entry_hash: 'c'.repeat(64) },
    timestamp: '2026-12-08T00:00:00.000Z',
    ...overrides,
  };
}

/** A row as POST /decide stores it: the response's text with a null token. */
function row(d: DecisionResponse, response = decisionJson(decisionJsonParts(d), null)): DecisionRecordRow {
  return { decisionId: d.decision_id, principalId: 'key_1', actor: 'ai_agent:a"b', action: 'read:x', tool: 'crm', outcome: d.outcome, response };
}

const escalation = (resolution: EscalationRecord['resolution']): EscalationRecord => ({
  escalationId: 'esc_01JH0000000000000000000003',
  decisionId: 'dec_01JH0000000000000000000001',
  status: resolution === null ? 'pending' : 'resolved',
  priority: 'critical',
  trigger: 'policy_requires_approval',
  escalatedTo: ['approver'],
  contextSummary: null,
  contextSummarySource: null,
  slaDeadline: '2026-12-09T00:00:00.000Z',
  slaMissed: 0,
  slaBreachRecordedAt: null,
  createdBy: 'key_1',
  createdAt: '2026-12-08T00:00:00.000Z',
  openedBy: 'system',
  assignedBy: 'system',
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: resolution === null ? null : '2026-12-08T01:00:00.000Z',
  resolvedBy: resolution === null ? null : 'usr_2',
  resolution,
  notes: null,
  updatedAt: '2026-12-08T01:00:00.000Z',
  version: 2,
});

const token = (revoked: boolean, expiresAt: string): RecordState['token'] => ({
  record: { jti: 'tok_1', decisionId: 'dec_01JH0000000000000000000001', expiresAt } as TokenRecord,
  revoked,
});

const states: Array<[string, DecisionResponse, RecordState]> = [
  ['escalated, case open', decision(), { token: undefined, escalation: escalation(null), overrides: [], now: NOW }],
  ['escalated, approved with obligations (conditional), token live', decision(), { token: token(false, '2026-12-08T13:00:00.000Z'), escalation: escalation('approved'), overrides: [], now: NOW }],
  ['escalated, approved without obligations', decision({ conditions: [] }), { token: token(false, '2026-12-08T13:00:00.000Z'), escalation: escalation('approved'), overrides: [], now: NOW }],
  ['escalated, denied', decision(), { token: undefined, escalation: escalation('denied'), overrides: [], now: NOW }],
  [
    'approved, token revoked and expired, overridden (active, expired, pending)',
    decision({ outcome: 'approved', allowed: true, conditions: [], escalation_id: null, token_expires_at: '2026-12-08T00:05:00.000Z' }),
    {
      token: token(true, '2026-12-08T00:05:00.000Z'),
      escalation: undefined,
      overrides: [
        { overrideId: 'ovr_1', newOutcome: 'denied', status: 'active', authorizedBy: 'usr_2', createdAt: '2026-12-08T02:00:00.000Z', effectiveAt: '2026-12-08T02:00:00.000Z', expiresAt: null },
        { overrideId: 'ovr_2', newOutcome: 'approved', status: 'active', authorizedBy: 'usr_3', createdAt: '2026-12-08T03:00:00.000Z', effectiveAt: '2026-12-08T03:00:00.000Z', expiresAt: '2026-12-08T04:00:00.000Z' },
        { overrideId: 'ovr_3', newOutcome: 'conditional', status: 'pending_confirmation', authorizedBy: 'usr_"4', createdAt: '2026-12-08T05:00:00.000Z', effectiveAt: null, expiresAt: null },
      ],
      now: NOW,
    },
  ],
  [
    'denied, no policy',
    decision({ outcome: 'denied', conditions: [], policy: null, escalation_id: null, explanation: { mode: 'strict', matched: [], default_applied: true, escalation_triggers: [] } }),
    { token: undefined, escalation: undefined, overrides: [], now: NOW },
  ],
];

describe('toRecordJson: a record\'s text with the stored decision spliced in', () => {
  it.each(states)('%s: the serializer\'s bytes of toRecordDto', (_name, d, state) => {
    const r = row(d);
    const json = toRecordJson(r, state);
    expect(json).toBe(zodRecord(toRecordDto(r, state)));
    expect(JSON.parse(json)).toEqual(toRecordDto(r, state));
  });

  it('reads the obligations for an approved escalation (effective outcome conditional)', () => {
    const [, d, state] = states[1]!;
    expect((JSON.parse(toRecordJson(row(d), state)) as { effective_outcome: string }).effective_outcome).toBe('conditional');
  });

  it('parses and writes in full a stored text not in the stored form', () => {
    const d = decision();
    const state = states[0]![2];
    // Token property absent, properties in another order, an unknown property: what the serializer writes.
    const { capability_token: _t, ...rest } = d;
    const odd = row(d, JSON.stringify({ extra: 1, ...rest }));
    expect(toRecordJson(odd, state)).toBe(zodRecord(toRecordDto(odd, state)));
    const { timestamp, ...others } = d;
    const reordered = row(d, JSON.stringify({ timestamp, ...others, capability_token: null }));
    expect(toRecordJson(reordered, state)).toBe(zodRecord(toRecordDto(reordered, state)));
  });
});
