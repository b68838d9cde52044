import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { RetentionRepo } from '../../src/modules/retention/retention.repo.js';
import { RetentionService, type RunProgress } from '../../src/modules/retention/retention.service.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

// Config refusal of LEXECON_RETENTION_DAYS < 183 (Art 19(1), 26(6)) is tested in src/config.test.ts.

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const DAY = 86_400_000;
const RETENTION_DAYS = 183;
const HOLDS = '/api/governance/holds';
const INCIDENTS = '/api/governance/eu-ai-act/incidents';

const post = (t: TestApp, url: string, token: string, payload?: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

async function setup(): Promise<{ t: TestApp; agent: string }> {
  const t = await buildTestApp({ env: { LEXECON_RETENTION_DAYS: String(RETENTION_DAYS) } });
  const lead = await seedSession(t, 'governance_lead');
  expect((await post(t, '/policies/load', lead, SEED)).statusCode).toBe(201);
  return { t, agent: (await createAgentKey(t)).secret };
}

async function decide(t: TestApp, agent: string, actor = 'ai_agent:assistant'): Promise<string> {
  const res = await post(t, '/decide', agent, {
    actor,
    proposed_action: 'read_customer',
    tool: 'crm',
    user_intent: 'look up Jane Doe, jane@example.com',
    context: { customer_email: 'jane@example.com' },
  });
  expect(res.statusCode).toBe(200);
  return res.json().decision_id;
}

const hasPayload = (t: TestApp, id: string) =>
  t.db.prepare('SELECT count(*) FROM decision_payloads WHERE decision_id = ?').pluck().get(id) === 1;
const decisionsCount = (t: TestApp) => t.db.prepare('SELECT count(*) FROM decisions').pluck().get() as number;
const ledgerCount = (t: TestApp) => t.db.prepare('SELECT count(*) FROM ledger_entries').pluck().get() as number;

async function entries(t: TestApp, token: string, eventType: string): Promise<Array<{ seq: number; data: Record<string, unknown> }>> {
  const res = await get(t, `/ledger/entries?event_type=${eventType}&limit=1000`, token);
  expect(res.statusCode).toBe(200);
  return res.json().entries;
}

describe('retention, legal holds and Art 73 incidents', () => {
  let t: TestApp;
  let agent: string;
  let old: string; // past retention, unheld
  let held: string; // past retention, under a decision hold
  let incidentDecision: string; // past retention, named by an incident
  let fresh: string; // within retention
  let admin: string;
  let lead: string;
  let executive: string;
  let auditor: string;
  let decisionHold: string;
  let incidentId: string;

  beforeAll(async () => {
    ({ t, agent } = await setup());
    old = await decide(t, agent);
    held = await decide(t, agent);
    incidentDecision = await decide(t, agent);
    t.clock.advance(100 * DAY);
    fresh = await decide(t, agent);
    t.clock.advance(84 * DAY); // the first three are now 184 days old, `fresh` 84
    admin = (await createTestUser(t, 'admin')).token;
    lead = (await createTestUser(t, 'governance_lead')).token;
    executive = (await createTestUser(t, 'executive')).token;
    auditor = (await createTestUser(t, 'auditor')).token;
  });

  it('places a legal hold (governance_lead), ledgered with the scope and a digest of the reason', async () => {
    const res = await post(t, HOLDS, lead, { scope: `decision:${held}`, reason: 'Litigation hold, case 2026-117' });
    expect(res.statusCode).toBe(201);
    const hold = res.json();
    expect(hold).toMatchObject({ scope: `decision:${held}`, active: true, released_at: null, incident_id: null });
    decisionHold = hold.hold_id;
    const [entry] = (await entries(t, auditor, 'legal_hold_created')).slice(-1);
    expect(entry!.seq).toBe(hold.ledger.seq);
    expect(entry!.data).toMatchObject({ hold_id: decisionHold, scope: `decision:${held}`, created_by: expect.stringMatching(/^usr_/) });
    expect(JSON.stringify(entry!.data)).not.toContain('Litigation');
  });

  it('refuses holds from other roles and malformed or unknown scopes', async () => {
    for (const token of [executive, auditor]) {
      expect((await post(t, HOLDS, token, { scope: 'all', reason: 'x' })).statusCode).toBe(403);
    }
    const bad = await post(t, HOLDS, lead, { scope: 'period:2026-02-01T00:00:00Z/2026-01-01T00:00:00Z', reason: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].message).toMatch(/end after it starts/);
    expect((await post(t, HOLDS, lead, { scope: `incident:inc_01JDAAAAAAAAAAAAAAAAAAAAAA`, reason: 'x' })).statusCode).toBe(400);
    expect((await post(t, HOLDS, lead, { scope: 'decision:dec_01JDAAAAAAAAAAAAAAAAAAAAAA', reason: 'x' })).statusCode).toBe(404);
  });

  it('records an Art 73 incident with its due date and an evidence hold on the related decisions', async () => {
    const awareAt = new Date(t.clock.now() - 3_600_000).toISOString();
    const res = await post(t, INCIDENTS, executive, {
      title: 'Agent exported records of a deceased patient',
      category: 'death',
      aware_at: awareAt,
      description: 'Patient record of Jane Doe was used',
      decision_ids: [incidentDecision],
    });
    expect(res.statusCode).toBe(201);
    const incident = res.json();
    expect(incident).toMatchObject({
      status: 'open',
      category: 'death',
      report_deadline_days: 10,
      report_due_at: new Date(Date.parse(awareAt) + 10 * DAY).toISOString(),
      report_overdue: false,
      decision_ids: [incidentDecision],
      hold_id: expect.stringMatching(/^hld_/),
    });
    incidentId = incident.incident_id;
    const hold = (await get(t, `${HOLDS}/${incident.hold_id}`, auditor)).json();
    expect(hold).toMatchObject({ scope: `incident:${incidentId}`, incident_id: incidentId, active: true });

    const [created] = (await entries(t, auditor, 'incident_created')).slice(-1);
    expect(created!.data).toMatchObject({ incident_id: incidentId, category: 'death', decision_ids: [incidentDecision], hold_id: hold.hold_id });
    expect(JSON.stringify(created!.data)).not.toMatch(/Jane|deceased/);
    const [holdEntry] = (await entries(t, auditor, 'legal_hold_created')).slice(-1);
    expect(holdEntry!.seq).toBe(created!.seq + 1);
    expect(holdEntry!.data).toMatchObject({ hold_id: hold.hold_id, incident_id: incidentId });

    expect((await get(t, `${INCIDENTS}/${incidentId}`, auditor)).json().incident_id).toBe(incidentId);
    expect((await get(t, `${INCIDENTS}?status=open`, auditor)).json().items.map((i: { incident_id: string }) => i.incident_id)).toContain(incidentId);
  });

  it('refuses incidents from other roles, in the future, or naming unknown decisions', async () => {
    const body = { title: 'x', category: 'serious_incident', aware_at: new Date(t.clock.now()).toISOString() };
    for (const token of [auditor, await seedSession(t, 'approver'), await seedSession(t, 'operator')]) {
      expect((await post(t, INCIDENTS, token, body)).statusCode).toBe(403);
    }
    expect((await post(t, INCIDENTS, lead, { ...body, aware_at: new Date(t.clock.now() + 60_000).toISOString() })).statusCode).toBe(400);
    expect((await post(t, INCIDENTS, lead, { ...body, category: 'minor' })).statusCode).toBe(400);
    expect((await post(t, INCIDENTS, lead, { ...body, decision_ids: ['dec_01JDAAAAAAAAAAAAAAAAAAAAAA'] })).statusCode).toBe(404);
  });

  it('an incident hold is released only by closing the incident', async () => {
    const holdId = (await get(t, `${INCIDENTS}/${incidentId}`, auditor)).json().hold_id;
    const res = await post(t, `${HOLDS}/${holdId}/release`, admin);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('HOLD_OF_INCIDENT');
  });

  it('a run purges only the unheld payloads past retention; decisions and the ledger stay and verify', async () => {
    const decisionsBefore = decisionsCount(t);
    const ledgerBefore = ledgerCount(t);
    expect((await post(t, '/api/governance/retention/run', lead)).statusCode).toBe(403);
    const res = await post(t, '/api/governance/retention/run', admin);
    expect(res.statusCode).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({
      trigger: 'api',
      purged: 1,
      held: 2,
      retention_days: RETENTION_DAYS,
      cutoff: new Date(t.clock.now() - RETENTION_DAYS * DAY).toISOString(),
      batches: 1,
    });
    expect(hasPayload(t, old)).toBe(false);
    expect(hasPayload(t, held)).toBe(true);
    expect(hasPayload(t, incidentDecision)).toBe(true);
    expect(hasPayload(t, fresh)).toBe(true);
    expect(decisionsCount(t)).toBe(decisionsBefore);
    expect(ledgerCount(t)).toBe(ledgerBefore + 1);

    const [entry] = (await entries(t, auditor, 'retention_run')).slice(-1);
    expect(entry!.seq).toBe(run.ledger.seq);
    expect(entry!.data).toMatchObject({ run_id: run.run_id, purged: 1, held: 2, cutoff: run.cutoff, retention_days: RETENTION_DAYS });

    const decision = await get(t, `/decide/${old}`, auditor);
    expect(decision.statusCode).toBe(200);
    expect(decision.json().outcome).toBe('approved');
    const verify = (await get(t, '/ledger/verify', auditor)).json();
    expect(verify.valid).toBe(true);
  });

  it('closing the incident releases its hold; the next run purges the related payload', async () => {
    expect((await post(t, `${INCIDENTS}/${incidentId}/close`, executive, {})).statusCode).toBe(403);
    const res = await post(t, `${INCIDENTS}/${incidentId}/close`, lead, { notes: 'Reported to the authority; root cause fixed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'closed', hold_id: null, closed_by: expect.stringMatching(/^usr_/) });
    expect((await post(t, `${INCIDENTS}/${incidentId}/close`, lead, {})).json().error.code).toBe('INCIDENT_CLOSED');
    const [closed] = (await entries(t, auditor, 'incident_closed')).slice(-1);
    const [released] = (await entries(t, auditor, 'legal_hold_released')).slice(-1);
    expect(released!.seq).toBe(closed!.seq + 1);
    expect(released!.data).toMatchObject({ incident_id: incidentId });

    const run = (await post(t, '/api/governance/retention/run', admin)).json();
    expect(run).toMatchObject({ purged: 1, held: 1 });
    expect(hasPayload(t, incidentDecision)).toBe(false);
    expect(hasPayload(t, held)).toBe(true);
  });

  it('releasing a legal hold (governance_lead, admin) lets the next run purge; releasing twice is a conflict', async () => {
    expect((await post(t, `${HOLDS}/${decisionHold}/release`, auditor)).statusCode).toBe(403);
    const res = await post(t, `${HOLDS}/${decisionHold}/release`, admin);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ active: false, released_by: expect.stringMatching(/^usr_/) });
    expect((await post(t, `${HOLDS}/${decisionHold}/release`, lead)).json().error.code).toBe('HOLD_RELEASED');
    const [released] = (await entries(t, auditor, 'legal_hold_released')).slice(-1);
    expect(released!.data).toMatchObject({ hold_id: decisionHold, incident_id: null });

    const run = (await post(t, '/api/governance/retention/run', admin)).json();
    expect(run).toMatchObject({ purged: 1, held: 0 });
    expect(hasPayload(t, held)).toBe(false);
    expect(hasPayload(t, fresh)).toBe(true);
    expect((await get(t, '/ledger/verify', auditor)).json().valid).toBe(true);
  });

  it('lists holds for every human role and shows settings and last runs', async () => {
    const approver = await seedSession(t, 'approver');
    const list = await get(t, `${HOLDS}?active=false`, approver);
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toHaveLength(2);
    expect((await get(t, `${HOLDS}?active=true`, approver)).json().items).toHaveLength(0);
    const status = (await get(t, '/api/governance/retention', approver)).json();
    expect(status).toMatchObject({ retention_days: RETENTION_DAYS, interval_s: 86_400, active_holds: 0 });
    expect(status.last_runs).toHaveLength(3);
    expect(status.last_runs[0].held).toBe(0);
  });

  it('records the initial report once (governance_lead, admin), ledgered with whether it met the deadline', async () => {
    const awareAt = new Date(t.clock.now() - 3 * DAY).toISOString();
    const created = (await post(t, INCIDENTS, lead, { title: 'Grid outage', category: 'critical_infrastructure', aware_at: awareAt })).json();
    expect(created.report_overdue).toBe(true); // 2 days from awareness
    const url = `${INCIDENTS}/${created.incident_id}`;
    const at = new Date(t.clock.now() - DAY / 2).toISOString(); // 12 h after the 2-day deadline
    expect((await t.app.inject({ method: 'PATCH', url, headers: bearer(executive), payload: { initial_report_submitted_at: at } })).statusCode).toBe(403);
    const res = await t.app.inject({ method: 'PATCH', url, headers: bearer(lead), payload: { initial_report_submitted_at: at } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ initial_report_submitted_at: at, report_overdue: false });
    const again = await t.app.inject({ method: 'PATCH', url, headers: bearer(lead), payload: { initial_report_submitted_at: at } });
    expect(again.json().error.code).toBe('REPORT_RECORDED');
    const [entry] = (await entries(t, auditor, 'incident_report_submitted')).slice(-1);
    expect(entry!.data).toMatchObject({ incident_id: created.incident_id, on_time: false });
  });
});

describe('hold scopes in the purge, batches and sessions', () => {
  it('actor, period and all scopes keep what they cover', async () => {
    const { t, agent } = await setup();
    const lead = await seedSession(t, 'governance_lead');
    const start = new Date(t.clock.now()).toISOString();
    const inPeriod = await decide(t, agent);
    t.clock.advance(DAY);
    const otherActor = await decide(t, agent, 'ai_agent:other');
    const plain = await decide(t, agent);
    t.clock.advance(200 * DAY);
    const lead2 = await seedSession(t, 'governance_lead');
    expect((await post(t, HOLDS, lead2, { scope: 'actor:ai_agent:other', reason: 'audit' })).statusCode).toBe(201);
    const periodTo = new Date(Date.parse(start) + 1000).toISOString();
    expect((await post(t, HOLDS, lead2, { scope: `period:${start}/${periodTo}`, reason: 'audit' })).statusCode).toBe(201);
    const run = await t.services.retention.run({ trigger: 'cli', requestedBy: null });
    expect(run).toMatchObject({ purged: 1, held: 2 });
    expect([hasPayload(t, inPeriod), hasPayload(t, otherActor), hasPayload(t, plain)]).toEqual([true, true, false]);

    const all = (await post(t, HOLDS, lead2, { scope: 'all', reason: 'regulator request' })).json();
    expect(all.scope).toBe('all');
    t.clock.advance(DAY);
    expect(await t.services.retention.run({ trigger: 'cli', requestedBy: null })).toMatchObject({ purged: 0, held: 2 });
    expect(lead).toBeTruthy();
    await t.app.close();
  });

  it('keeps the payload of a decision whose case is still open (its approval is checked against it) until the case closes', async () => {
    const { t, agent } = await setup();
    const res = await post(t, '/decide', agent, { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' });
    expect(res.json()).toMatchObject({ outcome: 'escalated' });
    const { decision_id: escalated, escalation_id: escalationId } = res.json();
    const plain = await decide(t, agent);
    t.clock.advance(200 * DAY);
    expect(await t.services.retention.run({ trigger: 'cli', requestedBy: null })).toMatchObject({ purged: 1, held: 0 });
    expect([hasPayload(t, escalated), hasPayload(t, plain)]).toEqual([true, false]);

    // The SLA monitor has moved the case up the chain meanwhile: an admin resolves it.
    const admin = await seedSession(t, 'admin');
    const resolved = await post(t, `/api/governance/escalation/${escalationId}/resolve`, admin, { outcome: 'denied', notes: 'not needed any more' });
    expect(resolved.statusCode, resolved.body).toBe(201);
    t.clock.advance(DAY);
    expect(await t.services.retention.run({ trigger: 'cli', requestedBy: null })).toMatchObject({ purged: 1 });
    expect(hasPayload(t, escalated)).toBe(false);
    await t.app.close();
  });

  it('purges in batches, each committed with a ledger entry, and reports progress; expired sessions go too', async () => {
    const { t, agent } = await setup();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await decide(t, agent));
    const sessionsBefore = t.db.prepare('SELECT count(*) FROM sessions').pluck().get() as number;
    expect(sessionsBefore).toBeGreaterThan(0);
    t.clock.advance((RETENTION_DAYS + 1) * DAY);
    const retention = new RetentionService({
      repo: new RetentionRepo(t.services.port),
      ledger: t.services.ledger,
      clock: t.clock,
      ids: createIdFactory(t.clock),
      logger: pino({ level: 'silent' }),
      settings: { retentionDays: RETENTION_DAYS, intervalS: 0, batchSize: 2 },
    });
    const progress: RunProgress[] = [];
    const run = await retention.run({ trigger: 'cli', requestedBy: null, onProgress: (p) => progress.push(p) });
    expect(run).toMatchObject({ purged: 5, held: 0, batches: 3, sessionsPurged: sessionsBefore });
    expect(progress).toEqual([
      { batches: 1, purged: 2 },
      { batches: 2, purged: 4 },
      { batches: 3, purged: 5 },
    ]);
    for (const id of ids) expect(hasPayload(t, id)).toBe(false);
    expect(t.db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(0);
    const batches = t.db.prepare("SELECT data FROM ledger_entries WHERE event_type = 'retention_batch' ORDER BY seq").pluck().all() as string[];
    expect(batches.map((d) => JSON.parse(d))).toMatchObject([
      { run_id: run.runId, batch: 1, purged: 2 },
      { run_id: run.runId, batch: 2, purged: 2 },
    ]);
    expect((await t.services.ledger.verify()).valid).toBe(true);
    // A second run right away finds nothing.
    expect(await retention.run({ trigger: 'cli', requestedBy: null })).toMatchObject({ purged: 0, batches: 1 });
    await t.app.close();
  });

  it('refuses a second run while one is in progress', async () => {
    const { t } = await setup();
    const first = t.services.retention.run({ trigger: 'cli', requestedBy: null });
    expect(() => t.services.retention.run({ trigger: 'cli', requestedBy: null })).toThrow(/in progress/);
    await first;
    await t.app.close();
  });
});
