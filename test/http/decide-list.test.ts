import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionDetailSchema, DecisionListSchema } from '../../src/modules/decision/decision.schemas.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * GET /decide reads what happened to a page's decisions per kind for the whole page (tokens,
 * escalations, overrides, the stop's cut-off), not per decision: every item must be exactly the record
 * GET /decide/:id gives for it (the per-decision path), whatever happened to it.
 */
const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const JUSTIFICATION = 'Customer complaint reviewed by legal; the action is required by contract';

describe('GET /decide: a page read in batches is the records read one by one', () => {
  let t: TestApp;
  let agent: string;
  let executive: TestUser;
  let auditor: TestUser;
  const ids = {} as Record<'approved' | 'denied' | 'escalated' | 'overridden' | 'revoked' | 'beforeStop' | 'whileHalted' | 'afterStop', string>;

  const post = (url: string, token: string, payload: object): Promise<LightMyRequestResponse> =>
    t.app.inject({ method: 'POST', url, headers: bearer(token), payload });
  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: bearer(auditor.token) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  /** GET /decide/:id as a page lists it: its record without the detail's request fields (DecisionDetailSchema). */
  const record = async (id: string) => {
    const { user_intent: _i, data_classes: _c, request_purged: _p, ...rest } = await get(`/decide/${id}`);
    return rest;
  };
  const decide = async (body: object) => {
    const res = await post('/decide', agent, body);
    expect(res.statusCode, res.body).toBe(200);
    t.clock.advance(10);
    return res.json() as { decision_id: string; outcome: string; capability_token: string | null };
  };

  beforeAll(async () => {
    t = await buildTestApp();
    const lead = await seedSession(t, 'governance_lead');
    expect((await post('/policies/load', lead, SEED)).statusCode).toBe(201);
    agent = (await createAgentKey(t)).secret;
    executive = await createTestUser(t, 'executive');
    auditor = await createTestUser(t, 'auditor');

    ids.approved = (await decide(READ)).decision_id;
    ids.denied = (await decide({ ...READ, proposed_action: 'delete_records' })).decision_id;
    ids.escalated = (await decide({ ...READ, proposed_action: 'bulk_export' })).decision_id;
    // Approved, then overridden to denied: its token is revoked by the override.
    ids.overridden = (await decide(READ)).decision_id;
    const o = await post('/api/governance/override', executive.token, { decision_id: ids.overridden, new_outcome: 'denied', justification: JUSTIFICATION });
    expect(o.statusCode, o.body).toBe(201);
    // Approved, its token revoked by hand.
    ids.revoked = (await decide({ ...READ, actor: 'ai_agent:other' })).decision_id;
    const jti = (await get(`/decide/${ids.revoked}`)).token.jti as string;
    expect((await post(`/api/governance/tokens/${jti}/revoke`, executive.token, { reason: 'test' })).statusCode).toBe(201);
    // Approved before a stop (its token is invalidated by it), then the stop is lifted; one approved after.
    ids.beforeStop = (await decide(READ)).decision_id;
    expect((await post('/api/governance/stop', executive.token, { reason: 'drill' })).statusCode).toBe(201);
    ids.whileHalted = (await decide(READ)).decision_id;
    expect((await post('/api/governance/resume', executive.token, { reason: 'drill over' })).statusCode).toBe(201);
    ids.afterStop = (await decide(READ)).decision_id;
  });
  afterAll(() => t.app.close());

  it('every item equals GET /decide/:id (but for its request fields), with tokens (revoked by hand, by an override, by a stop), escalations and overrides', async () => {
    const page = await get('/decide?limit=100');
    expect(page.next_cursor).toBeNull();
    expect(page.items).toHaveLength(Object.keys(ids).length);
    for (const item of page.items) expect(item).toEqual(await record(item.decision_id));

    const byId = new Map<string, Record<string, any>>(page.items.map((i: Record<string, any>) => [i.decision_id, i]));
    // Every token issued before the stop is invalidated by it (ledger order).
    expect(byId.get(ids.approved)).toMatchObject({ effective_outcome: 'approved', token: { revoked: true }, escalation: null, overrides: [] });
    expect(byId.get(ids.denied)).toMatchObject({ effective_outcome: 'denied', token: null });
    expect(byId.get(ids.escalated)).toMatchObject({ effective_outcome: 'escalated', token: null, escalation: { status: 'pending' } });
    expect(byId.get(ids.overridden)).toMatchObject({ outcome: 'approved', effective_outcome: 'denied', token: { revoked: true } });
    expect(byId.get(ids.overridden)!.overrides).toEqual([expect.objectContaining({ new_outcome: 'denied', status: 'active' })]);
    expect(byId.get(ids.revoked)).toMatchObject({ token: { revoked: true } });
    expect(byId.get(ids.beforeStop)).toMatchObject({ token: { revoked: true } });
    expect(byId.get(ids.whileHalted)).toMatchObject({ outcome: 'denied', token: null });
    expect(byId.get(ids.afterStop)).toMatchObject({ token: { revoked: false } });
    // Newest first.
    expect(page.items.map((i: { decision_id: string }) => i.decision_id)).toEqual(
      [...page.items.map((i: { decision_id: string }) => i.decision_id)].sort().reverse(),
    );
  });

  it('the page and each record are the bytes of their zod serializers (hand-written, the stored decision spliced in)', async () => {
    const zodList = serializerCompiler({ schema: DecisionListSchema, method: 'GET', url: '/decide' } as never) as (d: unknown) => string;
    const zodRecord = serializerCompiler({ schema: DecisionDetailSchema, method: 'GET', url: '/decide/:id' } as never) as (d: unknown) => string;
    for (const url of ['/decide?limit=100', '/decide?limit=3', '/decide?outcome=escalated']) {
      const res = await t.app.inject({ method: 'GET', url, headers: bearer(auditor.token) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toBe(zodList(JSON.parse(res.body)));
    }
    for (const id of Object.values(ids)) {
      for (const token of [auditor.token, agent]) {
        const res = await t.app.inject({ method: 'GET', url: `/decide/${id}`, headers: bearer(token) });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.body).toBe(zodRecord(JSON.parse(res.body)));
      }
    }
  });

  it('pages of 1, 3 and 5 walked by cursor give the same items in the same order', async () => {
    const all = (await get('/decide?limit=100')).items;
    for (const limit of [1, 3, 5]) {
      const walked: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: unknown[]; next_cursor: string | null } = await get(`/decide?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        walked.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(walked).toEqual(all);
    }
  });

  it('filters select the same records (actor, outcome)', async () => {
    const other = await get('/decide?actor=ai_agent:other');
    expect(other.items).toEqual([await record(ids.revoked)]);
    const escalated = await get('/decide?outcome=escalated');
    expect(escalated.items).toEqual([await record(ids.escalated)]);
  });
});

describe('GET /decide: newest first by (timestamp, decision_id), with or without since/until, paged by cursor', () => {
  let t: TestApp;
  let agent: string;
  let auditor: string;
  /** decision_id → its timestamp, in the order decided. */
  const made: Array<{ id: string; at: string; actor: string }> = [];

  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: bearer(auditor) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Array<{ decision_id: string; timestamp: string; actor: string }>; next_cursor: string | null };
  };
  const walk = async (query: string, limit: number) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/decide?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((i) => i.decision_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return ids;
  };
  /** What a window must list: its decisions by timestamp then id, newest first. */
  const expected = (since: string | undefined, until: string | undefined, actor?: string) =>
    made
      .filter((d) => (since === undefined || d.at >= since) && (until === undefined || d.at < until) && (actor === undefined || d.actor === actor))
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
      .map((d) => d.id);

  beforeAll(async () => {
    t = await buildTestApp();
    const lead = await seedSession(t, 'governance_lead');
    expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED })).statusCode).toBe(201);
    agent = (await createAgentKey(t)).secret;
    auditor = await seedSession(t, 'auditor');
    const decideAt = async (actor: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: { ...READ, actor } });
      expect(res.statusCode, res.body).toBe(200);
      const d = res.json() as { decision_id: string; timestamp: string };
      made.push({ id: d.decision_id, at: d.timestamp, actor });
    };
    for (let i = 0; i < 12; i++) {
      await decideAt(i % 3 === 0 ? 'ai_agent:a' : 'ai_agent:b');
      // Pairs share a timestamp: the id breaks the tie.
      if (i % 2 === 1) t.clock.advance(1000);
    }
    // The clock set back: this decision's id sorts after every other (monotonic ids), its timestamp before most.
    t.clock.set('2026-11-25T10:00:02.500Z');
    await decideAt('ai_agent:a');
  });
  afterAll(() => t.app.close());

  it('no window, a window, `since` alone and `until` alone list their decisions by timestamp, in pages of any size', async () => {
    const windows: Array<[string | undefined, string | undefined]> = [
      [undefined, undefined],
      ['2026-11-25T10:00:01.000Z', '2026-11-25T10:00:04.000Z'],
      ['2026-11-25T10:00:02.000Z', undefined],
      [undefined, '2026-11-25T10:00:03.000Z'],
      ['2026-11-25T09:00:00.000Z', '2026-11-25T11:00:00.000Z'],
    ];
    for (const [since, until] of windows) {
      const query = [since && `since=${since}`, until && `until=${until}`].filter(Boolean).join('&');
      const want = expected(since, until);
      expect(want.length).toBeGreaterThan(2);
      expect((await get(`/decide?${query}&limit=100`)).items.map((i) => i.decision_id)).toEqual(want);
      for (const limit of [1, 2, 5]) expect(await walk(query, limit)).toEqual(want);
      // With another filter too.
      expect(await walk(`${query}&actor=ai_agent:a`, 2)).toEqual(expected(since, until, 'ai_agent:a'));
      expect(await walk(`${query}&outcome=approved&actor=ai_agent:b`, 3)).toEqual(expected(since, until, 'ai_agent:b'));
    }
  });

  it('the decision made with the clock set back is listed at its timestamp, not at its id', async () => {
    const late = made[made.length - 1]!;
    const listed = (await get('/decide?limit=100')).items.map((i) => i.decision_id);
    // Its id is the greatest (monotonic ids), its timestamp is not the latest.
    expect([...listed].sort().reverse()[0]).toBe(late.id);
    expect(listed.indexOf(late.id)).toBeGreaterThan(0);
    expect(listed).toEqual(expected(undefined, undefined));
  });

  it('a cursor that is no decision continues with nothing', async () => {
    const unknown = `dec_${'0'.repeat(26)}`;
    expect(await get(`/decide?since=2026-11-25T09:00:00.000Z&cursor=${unknown}`)).toEqual({ items: [], next_cursor: null });
  });
});
