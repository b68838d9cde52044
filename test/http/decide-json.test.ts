/**
 * POST /decide answers a new decision with JSON text written once (decision.json.ts), shared with the
 * copy stored in its row: the bytes must be exactly those the route's zod serializer writes for the same
 * decision, for every outcome, and the stored copy that text with a null token.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionResponseSchema } from '../../src/modules/decision/decision.schemas.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const POLICY = {
  ...SEED,
  terms: [...SEED.terms, { id: 'export_report', type: 'action' }],
  relations: [
    ...SEED.relations,
    { type: 'permits', source: 'ai_agent', target: 'export_report', conditions: ['redact:pii', 'max_rows:100', 'note:"quoted" é'] },
  ],
};

/** What the route's 200 serializer (fastify-type-provider-zod) writes for a decision. */
const zodSerialize = serializerCompiler({ schema: DecisionResponseSchema, method: 'POST', url: '/decide' } as never) as (d: unknown) => string;

let t: TestApp;
let lead: string;
let agent: { keyId: string; secret: string };

const decide = (body: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent.secret), payload: body });

async function storedResponse(decisionId: string): Promise<string> {
  const row = await t.port.one<{ response: string }>('SELECT response FROM decisions WHERE decision_id = ?', [decisionId]);
  return row!.response;
}

/** The answer is the zod serializer's bytes, with Fastify's JSON content-type; the row keeps it without the token. */
async function expectSerialisedOnce(res: LightMyRequestResponse, outcome: string): Promise<Record<string, unknown>> {
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const d = res.json() as Record<string, unknown>;
  expect(d['outcome']).toBe(outcome);
  expect(res.body).toBe(zodSerialize(d));
  expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  const stored = await storedResponse(d['decision_id'] as string);
  expect(stored).toBe(zodSerialize({ ...d, capability_token: null }));
  return d;
}

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
  agent = await createAgentKey(t, 'ai_agent:*');
});
afterAll(() => t.app.close());

describe('POST /decide: the response text', () => {
  it('denied with no policy loaded (policy null, no token): the serializer\'s bytes', async () => {
    const d = await expectSerialisedOnce(await decide({ actor: 'ai_agent:a', proposed_action: 'read_customer', tool: 'crm' }), 'denied');
    expect(d['policy']).toBeNull();
    const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: POLICY });
    expect(load.statusCode).toBe(201);
  });

  it('approved, with a token, data classes, a resource, a risk floor and escapes in the request_id', async () => {
    const d = await expectSerialisedOnce(
      await decide({
        actor: 'ai_agent:assistant',
        proposed_action: 'read_customer',
        tool: 'crm',
        resource: 'db://customers/é"1"',
        data_classes: ['pii', 'financial', 'internal'],
        risk_level: 2,
        request_id: 'req-"quoted"\\back',
      }),
      'approved',
    );
    expect(typeof d['capability_token']).toBe('string');
    expect((d['risk'] as { factors: unknown[] }).factors.length).toBeGreaterThan(2);
  });

  it('conditional, with the obligations (escaped and non-ASCII) and a token', async () => {
    const d = await expectSerialisedOnce(await decide({ actor: 'ai_agent:assistant', proposed_action: 'export_report', tool: 'reports' }), 'conditional');
    expect([...(d['conditions'] as string[])].sort()).toEqual(['max_rows:100', 'note:"quoted" é', 'redact:pii']);
  });

  it('escalated, with its escalation id and no token', async () => {
    const d = await expectSerialisedOnce(await decide({ actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'etl' }), 'escalated');
    expect(d['escalation_id']).toMatch(/^esc_/);
    expect(d['capability_token']).toBeNull();
  });

  it('denied by a forbid', async () => {
    await expectSerialisedOnce(await decide({ actor: 'ai_agent:assistant', proposed_action: 'delete_records', tool: 'db', data_classes: ['credentials'] }), 'denied');
  });

  it('a replay (same request_id, through the zod serializer) answers the very same bytes, token included', async () => {
    const body = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm', request_id: 'json-replay-1' };
    const first = await decide(body);
    await expectSerialisedOnce(first, 'approved');
    const again = await decide(body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.body).toBe(first.body);
  });
});
