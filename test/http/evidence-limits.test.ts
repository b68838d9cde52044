import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errors } from '../../src/platform/errors.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';

/**
 * Issue 14 C11 (b) and (c): evidence exports are built at most two at a time per process (429 with
 * Retry-After beyond, the slot released however a build ends, no partial file left), and the retention
 * job deletes the stored packages of exports older than the retention period unless a legal hold covers
 * them, ledgering what it deleted in the run's entry.
 */
const EXPORTS = '/api/governance/evidence/exports';
const PERIOD = { from: '2026-11-24T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };
const DAY = 86_400_000;

let t: TestApp;
afterEach(async () => {
  vi.restoreAllMocks();
  await t.app.close();
});

const exportsDir = () => path.join(t.config.dataDir, 'exports');
const files = () => (fs.existsSync(exportsDir()) ? fs.readdirSync(exportsDir()).sort() : []);
const create = (token: string, period: { from: string; to: string } = PERIOD): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url: EXPORTS, headers: bearer(token), payload: period });

/** Hold every `export_created` append until the returned release is called. */
function holdExportAppends() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const ledger = t.services.ledger;
  const original = ledger.append.bind(ledger);
  const spy = vi.spyOn(ledger, 'append').mockImplementation(async (type, data, options) => {
    if (type === 'export_created') await gate;
    return original(type, data, options);
  });
  const waiting = () => spy.mock.calls.filter(([type]) => type === 'export_created').length;
  return { release, waiting };
}

describe('concurrent evidence exports are capped', () => {
  it('two build at once; more are refused with 429 EXPORTS_BUSY and Retry-After; the slots come back', async () => {
    t = await buildTestApp();
    const auditor = await seedSession(t, 'auditor');
    const held = holdExportAppends();
    const first = [create(auditor), create(auditor)];
    await vi.waitFor(() => expect(held.waiting()).toBe(2));

    const refused = await Promise.all([create(auditor), create(auditor), create(auditor)]);
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.json()).toEqual({
        error: { code: 'EXPORTS_BUSY', message: '2 evidence exports are being built; retry in 5 s' },
        request_id: expect.any(String),
      });
    }
    held.release();
    for (const r of await Promise.all(first)) expect(r.statusCode, r.body).toBe(201);
    expect(files()).toHaveLength(2);
    expect((await create(auditor)).statusCode).toBe(201);
  });

  it('a failed export releases its slot and leaves no file behind', async () => {
    t = await buildTestApp();
    const auditor = await seedSession(t, 'auditor');
    const ledger = t.services.ledger;
    const original = ledger.append.bind(ledger);
    vi.spyOn(ledger, 'append').mockImplementation(async (type, data, options) => {
      if (type === 'export_created') throw errors.unavailable('LEDGER_CORRUPT', 'injected');
      return original(type, data, options);
    });
    for (let i = 0; i < 3; i++) expect((await create(auditor)).statusCode).toBe(503);
    expect(files()).toEqual([]);
    vi.restoreAllMocks();
    expect((await create(auditor)).statusCode).toBe(201);
    expect(files()).toHaveLength(1);
  });
});

describe('retention deletes old export files', () => {
  it('removes the package of an export older than the retention period, keeps held and recent ones, ledgers it', async () => {
    t = await buildTestApp({ env: { LEXECON_RETENTION_DAYS: '183' } });
    const lead = await seedSession(t, 'governance_lead');
    const oldExport = (await create(lead)).json();
    const heldPeriod = { from: '2026-10-01T00:00:00.000Z', to: '2026-10-02T00:00:00.000Z' };
    const heldExport = (await create(lead, heldPeriod)).json();
    const hold = await t.app.inject({
      method: 'POST',
      url: '/api/governance/holds',
      headers: bearer(lead),
      payload: { scope: 'period:2026-09-30T12:00:00.000Z/2026-10-01T12:00:00.000Z', reason: 'litigation over the October incident' },
    });
    expect(hold.statusCode, hold.body).toBe(201);

    t.clock.advance(200 * DAY);
    // Sessions seeded before the jump have expired: fresh ones.
    const lead2 = await seedSession(t, 'governance_lead');
    const reader = await seedSession(t, 'admin');
    const recentExport = (await create(lead2)).json();
    // A package a crashed export left half-written two hours ago, and one being written right now.
    const stale = path.join(exportsDir(), `evd_${'0'.repeat(26)}.tar.4242.tmp`);
    const fresh = path.join(exportsDir(), `evd_${'1'.repeat(26)}.tar.4243.tmp`);
    fs.writeFileSync(stale, 'partial');
    fs.writeFileSync(fresh, 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
    expect(files()).toHaveLength(5);

    const run = await t.services.retention.run({ trigger: 'api', requestedBy: null });
    expect(files()).toEqual([`${heldExport.export_id}.tar`, `${recentExport.export_id}.tar`, path.basename(fresh)].sort());

    const entry = (await t.services.ledger.listEntries({ eventType: 'retention_run', limit: 10 })).at(-1)!;
    expect(entry.seq).toBe(run.ledgerSeq);
    expect(JSON.parse(entry.dataJson)).toMatchObject({ export_files_removed: [oldExport.export_id], exports_held: 1 });

    // The record stays (and its ledger entry); only the stored package is gone.
    expect((await t.app.inject({ method: 'GET', url: `${EXPORTS}/${oldExport.export_id}`, headers: bearer(reader) })).statusCode).toBe(200);
    const download = await t.app.inject({ method: 'GET', url: `${EXPORTS}/${oldExport.export_id}/download`, headers: bearer(reader) });
    expect(download.json().error.code).toBe('EXPORT_FILE_MISSING');

    // Nothing left to remove: the next run names no file.
    await t.services.retention.run({ trigger: 'api', requestedBy: null });
    const next = (await t.services.ledger.listEntries({ eventType: 'retention_run', limit: 10 })).at(-1)!;
    expect(JSON.parse(next.dataJson)).toMatchObject({ export_files_removed: [], exports_held: 1 });
  });

  it('a hold on a decision created in the export period keeps the package; releasing it lets the next run remove it', async () => {
    t = await buildTestApp({ env: { LEXECON_RETENTION_DAYS: '183' } });
    const lead = await seedSession(t, 'governance_lead');
    const agent = (await createAgentKey(t)).secret;
    const policy = {
      policy_id: 'p',
      terms: [
        { id: 'agent', type: 'actor', value: 'ai_agent:*' },
        { id: 'read', type: 'action' },
      ],
      relations: [{ type: 'permits', source: 'agent', target: 'read' }],
    };
    expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy })).statusCode).toBe(201);
    const decided = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: { actor: 'ai_agent:a', proposed_action: 'read', tool: 'crm' } });
    const decisionId = decided.json().decision_id as string;
    const exp = (await create(lead)).json();
    const hold = (
      await t.app.inject({ method: 'POST', url: '/api/governance/holds', headers: bearer(lead), payload: { scope: `decision:${decisionId}`, reason: 'dispute' } })
    ).json();
    expect(hold.hold_id).toMatch(/^hld_/);
    t.clock.advance(200 * DAY);
    await t.services.retention.run({ trigger: 'api', requestedBy: null });
    expect(files()).toEqual([`${exp.export_id}.tar`]);
    const released = await t.app.inject({
      method: 'POST',
      url: `/api/governance/holds/${hold.hold_id}/release`,
      headers: bearer(await seedSession(t, 'governance_lead')),
      payload: {},
    });
    expect(released.statusCode, released.body).toBe(200);
    await t.services.retention.run({ trigger: 'api', requestedBy: null });
    expect(files()).toEqual([]);
  });
});
