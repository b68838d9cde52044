/**
 * The escalation lists (`GET /api/governance/escalation`, `…/sla/violations`) name each case's decision:
 * its `actor`, `proposed_action` and `tool`, read for the whole page in one query (never one per case),
 * so that a queue row says who wants to do what. Runs on SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const ESC = '/api/governance/escalation';
const HOUR = 3_600_000;

/** Three escalated decisions of different actors, actions and tools (bulk_export requires approval; credentials score ≥ 80). */
const REQUESTS = [
  { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' },
  { actor: 'ai_agent:reporter', proposed_action: 'bulk_export', tool: 'warehouse' },
  { actor: 'ai_agent:helpdesk', proposed_action: 'read_customer', tool: 'ticketing', data_classes: ['credentials'] },
];

const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('escalation list items: actor, proposed_action, tool', () => {
  let t: TestApp;
  let approver: string;
  /** escalation id → the request that opened it */
  const opened = new Map<string, (typeof REQUESTS)[number]>();

  beforeAll(async () => {
    t = await buildTestApp({ env: { LEXECON_SLA_CHECK_INTERVAL_S: '0' } });
    const lead = await seedSession(t, 'governance_lead');
    expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED })).statusCode).toBe(201);
    const agent = await createAgentKey(t, 'ai_agent:*');
    approver = await seedSession(t, 'approver');
    for (const body of REQUESTS) {
      const res = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent.secret), payload: body });
      expect(res.json().outcome, res.body).toBe('escalated');
      opened.set(res.json().escalation_id, body);
    }
  });
  afterAll(() => vi.restoreAllMocks());

  it('each item names its decision, read in one query for the page', async () => {
    const all = vi.spyOn(t.port, 'all');
    const res = await get(t, `${ESC}?status=open`, approver);
    expect(res.statusCode, res.body).toBe(200);
    const subjectReads = all.mock.calls.filter(([sql]) => /FROM decisions WHERE decision_id IN/.test(sql)).length;
    all.mockRestore();
    expect(subjectReads).toBe(1);
    const items = res.json().items as Array<Record<string, unknown>>;
    expect(items).toHaveLength(REQUESTS.length);
    for (const item of items) {
      const sent = opened.get(item['escalation_id'] as string)!;
      expect(item).toMatchObject({ actor: sent.actor, proposed_action: sent.proposed_action, tool: sent.tool });
    }
  });

  it('a page of one, then the next by cursor: each with its own decision', async () => {
    const first = (await get(t, `${ESC}?limit=1`, approver)).json();
    expect(first.items).toHaveLength(1);
    const second = (await get(t, `${ESC}?limit=1&cursor=${first.next_cursor}`, approver)).json();
    for (const item of [first.items[0], second.items[0]]) {
      const sent = opened.get(item.escalation_id)!;
      expect(item).toMatchObject({ actor: sent.actor, proposed_action: sent.proposed_action, tool: sent.tool });
    }
    expect(second.items[0].escalation_id).not.toBe(first.items[0].escalation_id);
  });

  it('an empty page reads nothing more and answers no items', async () => {
    const res = await get(t, `${ESC}?status=resolved`, approver);
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([]);
  });

  it('the OpenAPI document: both lists\' items are EscalationListItem (with actor, proposed_action, tool)', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of ['/api/governance/escalation', '/api/governance/escalation/sla/violations']) {
      expect(doc.paths[p].get.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/EscalationList');
    }
    const schemas = doc.components.schemas;
    expect(schemas.EscalationList.properties.items.items.$ref).toBe('#/components/schemas/EscalationListItem');
    const item = schemas.EscalationListItem;
    for (const k of ['actor', 'proposed_action', 'tool']) expect(item.properties[k].type, k).toBe('string');
    expect(item.required).toEqual(expect.arrayContaining(['actor', 'proposed_action', 'tool', 'escalation_id', 'sla_deadline']));
    // The other routes' escalation is unchanged.
    expect(schemas.Escalation.properties).not.toHaveProperty('proposed_action');
  });

  it('the SLA violations list names them too', async () => {
    t.clock.advance(48 * HOUR); // past every deadline (critical 2 h, medium 24 h); the monitor is off
    const res = await get(t, `${ESC}/sla/violations`, await seedSession(t, 'approver'));
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as Array<Record<string, unknown>>;
    expect(items).toHaveLength(REQUESTS.length);
    for (const item of items) {
      const sent = opened.get(item['escalation_id'] as string)!;
      expect(item).toMatchObject({ actor: sent.actor, proposed_action: sent.proposed_action, tool: sent.tool, overdue: true });
    }
  });
});
