/**
 * A decision's detail (`GET /decide/:decision_id`, and the `decision` of an escalation's detail) shows
 * what the agent asked with, `user_intent` and `data_classes`, read from the stored raw request; once
 * retention purged that request both are null and `request_purged` says why (never a guess). POST
 * /decide's answer and GET /decide's items do not carry them. Runs on SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { beforeAll, describe, expect, it } from 'vitest';
import { DecisionDetailSchema } from '../../src/modules/decision/decision.schemas.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const DAY = 86_400_000;
const RETENTION_DAYS = 183;
const ESC = '/api/governance/escalation';

/** What GET /decide/:decision_id's 200 serializer writes for a detail. */
const zodDetail = serializerCompiler({ schema: DecisionDetailSchema, method: 'GET', url: '/decide/:decision_id' } as never) as (d: unknown) => string;

const post = (t: TestApp, url: string, token: string, payload?: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

const INTENT = 'export the Q4 "churn" list for Zoë (marketing review)';
/** Escalated (requires human_approval), with an intent and two data classes. */
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm', user_intent: INTENT, data_classes: ['pii', 'financial'] };
/** Approved, nothing but the required fields. */
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };

/** GET /decide/:id: 200, the zod serializer's bytes; the parsed detail. */
async function detail(t: TestApp, id: string, token: string): Promise<Record<string, unknown>> {
  const res = await get(t, `/decide/${id}`, token);
  expect(res.statusCode, res.body).toBe(200);
  const d = res.json() as Record<string, unknown>;
  expect(res.body).toBe(zodDetail(d));
  return d;
}

describe('GET /decide/:decision_id: the request as the agent sent it', () => {
  let t: TestApp;
  let agent: string;
  let auditor: string;
  let bulk: { decision_id: string; escalation_id: string };
  let read: { decision_id: string };

  beforeAll(async () => {
    t = await buildTestApp({ env: { LEXECON_RETENTION_DAYS: String(RETENTION_DAYS), LEXECON_SLA_CHECK_INTERVAL_S: '0' } });
    expect((await post(t, '/policies/load', await seedSession(t, 'governance_lead'), SEED)).statusCode).toBe(201);
    agent = (await createAgentKey(t)).secret;
    auditor = await seedSession(t, 'auditor');
    const b = await post(t, '/decide', agent, BULK);
    expect(b.statusCode).toBe(200);
    bulk = b.json();
    expect(b.json().outcome).toBe('escalated');
    // POST /decide's answer is unchanged: the agent has just sent its request.
    expect(b.json()).not.toHaveProperty('user_intent');
    expect(b.json()).not.toHaveProperty('data_classes');
    const r = await post(t, '/decide', agent, READ);
    expect(r.json().outcome).toBe('approved');
    read = r.json();
  });

  it('a human reader sees the intent and the data classes as sent (not the risk factors\' guess)', async () => {
    const d = await detail(t, bulk.decision_id, auditor);
    expect(d).toMatchObject({ user_intent: INTENT, data_classes: ['pii', 'financial'], request_purged: false, actor: BULK.actor, action: 'bulk_export', tool: 'crm' });
  });

  it('the agent reading its own decision sees them too', async () => {
    const d = await detail(t, bulk.decision_id, agent);
    expect(d).toMatchObject({ user_intent: INTENT, data_classes: ['pii', 'financial'], request_purged: false });
  });

  it('none sent: user_intent null, data_classes [] (not purged)', async () => {
    const d = await detail(t, read.decision_id, auditor);
    expect(d).toMatchObject({ user_intent: null, data_classes: [], request_purged: false });
  });

  it("GET /decide's items do not carry them (one read of the decisions per page)", async () => {
    const res = await get(t, '/decide?limit=10', auditor);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<Record<string, unknown>>;
    expect(items.map((i) => i['decision_id'])).toContain(bulk.decision_id);
    for (const i of items) {
      expect(i).not.toHaveProperty('user_intent');
      expect(i).not.toHaveProperty('request_purged');
    }
  });

  it("the escalation's detail shows the decision's intent and data classes", async () => {
    const res = await get(t, `${ESC}/${bulk.escalation_id}`, auditor);
    expect(res.statusCode).toBe(200);
    expect(res.json().decision).toMatchObject({ decision_id: bulk.decision_id, user_intent: INTENT, data_classes: ['pii', 'financial'], request_purged: false });
  });

  it('the OpenAPI document: GET /decide/:id and a case\'s decision are DecisionDetail; POST /decide and GET /decide items are not', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ref = (op: { responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }> }) =>
      op.responses['200']!.content['application/json']!.schema.$ref;
    expect(ref(doc.paths['/decide/{decision_id}'].get)).toBe('#/components/schemas/DecisionDetail');
    expect(ref(doc.paths['/decide'].post)).toBe('#/components/schemas/Decision');
    const schemas = doc.components.schemas;
    expect(schemas.DecisionList.properties.items.items.$ref).toBe('#/components/schemas/DecisionRecord');
    expect(schemas.EscalationDetail.properties.decision.$ref).toBe('#/components/schemas/DecisionDetail');
    const detail = schemas.DecisionDetail;
    expect(detail.properties.user_intent.type).toEqual(['string', 'null']);
    expect(detail.properties.data_classes).toMatchObject({ anyOf: expect.arrayContaining([{ type: 'array', items: { type: 'string' } }, { type: 'null' }]) });
    expect(detail.properties.request_purged.type).toBe('boolean');
    expect(detail.required).toEqual(expect.arrayContaining(['user_intent', 'data_classes', 'request_purged', 'actor', 'effective_outcome']));
    for (const k of ['user_intent', 'data_classes', 'request_purged']) {
      expect(schemas.DecisionRecord.properties).not.toHaveProperty(k);
      expect(schemas.Decision.properties).not.toHaveProperty(k);
    }
  });

  it('once retention purged the request: both null and request_purged, on the decision and on its case', async () => {
    // Retention keeps the request of a decision whose case is open: close it first (a denial).
    const approver = await createTestUser(t, 'approver');
    const resolved = await post(t, `${ESC}/${bulk.escalation_id}/resolve`, approver.token, { outcome: 'denied', notes: 'no bulk export of PII' });
    expect(resolved.statusCode, resolved.body).toBe(201);
    t.clock.advance((RETENTION_DAYS + 1) * DAY);
    const admin = await createTestUser(t, 'admin');
    const run = await post(t, '/api/governance/retention/run', admin.token);
    expect(run.statusCode, run.body).toBe(201);
    expect(run.json().purged).toBe(2);
    const left = await t.port.one<{ n: number | string }>('SELECT count(*) AS n FROM decision_payloads WHERE decision_id IN (?, ?)', [bulk.decision_id, read.decision_id]);
    expect(Number(left!.n)).toBe(0);

    const fresh = await seedSession(t, 'executive');
    for (const id of [bulk.decision_id, read.decision_id]) {
      const d = await detail(t, id, fresh);
      expect(d).toMatchObject({ user_intent: null, data_classes: null, request_purged: true });
      // The decision itself stays: its actor, action, tool and outcome.
      expect(d['actor']).toBe('ai_agent:assistant');
    }
    expect(await detail(t, bulk.decision_id, agent)).toMatchObject({ user_intent: null, data_classes: null, request_purged: true, effective_outcome: 'denied' });
    const c = await get(t, `${ESC}/${bulk.escalation_id}`, fresh);
    expect(c.statusCode).toBe(200);
    expect(c.json().decision).toMatchObject({ user_intent: null, data_classes: null, request_purged: true });
  });
});
