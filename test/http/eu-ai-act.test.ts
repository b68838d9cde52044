import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const BASE = '/api/governance/eu-ai-act';

const PROFILE = {
  provider: 'Acme Lending SA',
  system_name: 'CreditAssist',
  system_version: '3.1.0',
  intended_purpose: 'Assist loan officers in assessing the creditworthiness of natural persons',
  classification: 'annex_iii',
  deployment_forms: ['SaaS API'],
  annex_iv_inputs: {
    '1.f': { not_applicable_justification: 'Stand-alone software, not a product component' },
    '8': { document_sha256: 'ab'.repeat(32) },
  },
};

const CASES = [
  { name: 'reads are fine', request: { actor: 'ai_agent:assistant', action: 'read_customer' }, expect: 'approved' },
  { name: 'deletes are not', request: { actor: 'ai_agent:assistant', action: 'delete_records' }, expect: 'denied' },
];

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const put = (t: TestApp, url: string, token: string, payload: object) => t.app.inject({ method: 'PUT', url, headers: bearer(token), payload });
const get = (t: TestApp, url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

async function entriesOf(t: TestApp, eventType: string): Promise<Array<Record<string, unknown>>> {
  const entries = await t.services.ledger.listEntries({ eventType, limit: 1000 });
  return entries.map((e) => JSON.parse(e.dataJson) as Record<string, unknown>);
}

describe('EU AI Act', () => {
  let t: TestApp;
  let lead: string;
  let auditor: TestUser;
  let executive: TestUser;
  let operator: TestUser;
  let agent: string;

  beforeAll(async () => {
    t = await buildTestApp({ env: { LEXECON_ESCALATION_SLA_HOURS: 'medium=1', LEXECON_SESSION_IDLE_S: '86400' } });
    lead = await seedSession(t, 'governance_lead');
    auditor = await createTestUser(t, 'auditor');
    executive = await createTestUser(t, 'executive');
    operator = await createTestUser(t, 'operator');
    agent = (await createAgentKey(t)).secret;
  });
  afterAll(() => t.app.close());

  it('the system profile: 404 before, versioned on every PUT, ledgered with version and hash only, roles enforced', async () => {
    expect((await get(t, `${BASE}/system-profile`, auditor.token)).statusCode).toBe(404);
    expect((await get(t, `${BASE}/technical-documentation`, auditor.token)).json().error.code).toBe('SYSTEM_PROFILE_MISSING');
    expect((await put(t, `${BASE}/system-profile`, auditor.token, PROFILE)).statusCode).toBe(403);
    expect((await put(t, `${BASE}/system-profile`, operator.token, PROFILE)).statusCode).toBe(403);
    const bad = await put(t, `${BASE}/system-profile`, lead, { ...PROFILE, annex_iv_inputs: { '7': { text: 'Conforms to prEN 18229-1' } } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toMatch(/draft standard/);
    expect((await put(t, `${BASE}/system-profile`, lead, { ...PROFILE, classification: 'minimal' })).statusCode).toBe(400);
    expect((await put(t, `${BASE}/system-profile`, lead, { ...PROFILE, annex_iv_inputs: { '1.f': { not_applicable_justification: ' ' } } })).statusCode).toBe(400);

    const first = await put(t, `${BASE}/system-profile`, lead, PROFILE);
    expect(first.statusCode).toBe(200);
    const { version, profile_sha256, ledger_seq, updated_by, updated_at, ...content } = first.json();
    expect(version).toBe(1);
    expect(profile_sha256).toBe(sha256Hex(canonicalize(content)));
    expect(content).toEqual(PROFILE);
    const second = (await put(t, `${BASE}/system-profile`, lead, { ...PROFILE, system_version: '3.2.0' })).json();
    expect(second).toMatchObject({ version: 2, system_version: '3.2.0' });
    expect(second.profile_sha256).not.toBe(profile_sha256);
    expect((await get(t, `${BASE}/system-profile`, auditor.token)).json()).toMatchObject({ version: 2, system_version: '3.2.0' });

    const versions = (await get(t, `${BASE}/system-profile/versions?limit=1`, auditor.token)).json();
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([2]);
    expect(versions.next_cursor).toBe('2');
    const older = (await get(t, `${BASE}/system-profile/versions?cursor=2`, auditor.token)).json();
    expect(older).toMatchObject({ items: [{ version: 1, profile_sha256 }], next_cursor: null });

    const ledgered = await entriesOf(t, 'system_profile_updated');
    expect(ledgered).toEqual([
      { version: 1, profile_sha256, previous_sha256: null, classification: 'annex_iii', updated_by },
      { version: 2, profile_sha256: second.profile_sha256, previous_sha256: profile_sha256, classification: 'annex_iii', updated_by },
    ]);
    expect(JSON.stringify(ledgered)).not.toContain('Acme');
    expect(JSON.stringify(ledgered)).not.toContain('creditworthiness');
    expect(ledger_seq).toBeGreaterThan(0);
    expect(updated_at).toBe(new Date(t.clock.now()).toISOString());
  });

  it('Art 11: generated items reflect real data; the hash is stable and flips on change; markdown', async () => {
    const before = (await get(t, `${BASE}/technical-documentation`, auditor.token)).json();
    expect(before.legal_basis).toMatchObject({ applies_from: '2027-12-02', regulation: { celex: '32024R1689' } });
    expect(before.items).toHaveLength(23);
    expect(before.items.find((i: { key: string }) => i.key === '2.g').status).toBe('manual_input_required');
    expect(before.items.find((i: { key: string }) => i.key === '1.f')).toMatchObject({ status: 'not_applicable', justification: expect.any(String) });
    expect(before.items.find((i: { key: string }) => i.key === '8')).toMatchObject({ status: 'manual_input_required', content: { manual_input: { document_sha256: 'ab'.repeat(32) } } });
    expect(before.items.find((i: { key: string }) => i.key === '1.a').content.version_chain.policy_versions).toEqual([]);

    // Same data, same hash (generated_at is not hashed, even when the clock moves).
    t.clock.advance(1000);
    const again = (await get(t, `${BASE}/technical-documentation`, auditor.token)).json();
    expect(again.generated_at).not.toBe(before.generated_at);
    expect(again.document_sha256).toBe(before.document_sha256);
    const { document_sha256: _h, generated_at: _g, ...hashed } = again;
    expect(sha256Hex(canonicalize(hashed))).toBe(again.document_sha256);

    // Loading a policy: 1.a lists its hash, 6 its policy_loaded entry, and the hash flips.
    const load = await post(t, '/policies/load', lead, SEED);
    expect(load.statusCode).toBe(201);
    const versionHash = load.json().version_hash as string;
    const loaded = (await get(t, `${BASE}/technical-documentation`, auditor.token)).json();
    expect(loaded.document_sha256).not.toBe(before.document_sha256);
    const chain = loaded.items.find((i: { key: string }) => i.key === '1.a').content.version_chain;
    expect(chain).toMatchObject({ active_policy_version_hash: versionHash, policy_versions: [{ version_hash: versionHash }], system_profile: { version: 2 } });
    expect(chain.configuration_sha256).toBe(sha256Hex(canonicalize(chain.configuration)));
    const changes = loaded.items.find((i: { key: string }) => i.key === '6').content.change_log;
    expect(changes.map((c: { event_type: string }) => c.event_type)).toEqual(['system_profile_updated', 'system_profile_updated', 'policy_loaded']);
    expect(changes[2]).toMatchObject({ subject_hash: versionHash, entry_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // A recorded, signed test run: 2.g generated and verified.
    expect((await post(t, `${BASE}/test-runs`, auditor.token, { cases: CASES })).statusCode).toBe(403);
    const run = await post(t, `${BASE}/test-runs`, lead, { cases: [...CASES, { name: 'wrong on purpose', request: { actor: 'ai_agent:assistant', action: 'delete_records' }, expect: 'approved' }] });
    expect(run.statusCode).toBe(201);
    expect(run.json()).toMatchObject({ policy_version_hash: versionHash, total: 3, passed: 2, failed: 1, verified: true });
    expect(run.json().cases[2]).toMatchObject({ name: 'wrong on purpose', passed: false, misses: ['expected approved, got denied'] });
    const pk = t.services.keys.publicKeyObject(run.json().kid)!;
    expect(pk).toBeDefined();
    const [recorded] = await entriesOf(t, 'policy_test_recorded');
    expect(recorded).toMatchObject({ run_id: run.json().run_id, policy_version_hash: versionHash, passed: 2, failed: 1, record_sha256: run.json().record_sha256 });
    expect((await post(t, `${BASE}/test-runs`, lead, { policy_version_hash: 'f'.repeat(64), cases: CASES })).statusCode).toBe(404);

    const documented = (await get(t, `${BASE}/technical-documentation`, auditor.token)).json();
    const g = documented.items.find((i: { key: string }) => i.key === '2.g');
    expect(g).toMatchObject({ status: 'generated', content: { signed_test_runs: [{ run_id: run.json().run_id, verified: true, passed: 2, failed: 1 }] } });

    // Oversight measures actually configured (2.e, 3) and post-market metrics (9) from decisions.
    const e = documented.items.find((i: { key: string }) => i.key === '2.e').content.oversight_measures;
    expect(e).toMatchObject({ escalation_chain: ['approver', 'executive', 'admin'], stop_button_available: true, stop_roles: ['operator', 'executive', 'admin'] });
    expect((await post(t, '/decide', agent, READ)).json().outcome).toBe('approved');
    expect((await post(t, '/decide', agent, { ...READ, proposed_action: 'delete_records' })).json().outcome).toBe('denied');
    const withDecisions = (await get(t, `${BASE}/technical-documentation`, auditor.token)).json();
    expect(withDecisions.items.find((i: { key: string }) => i.key === '9').content.post_market_metrics).toMatchObject({
      decisions: 2,
      decisions_by_outcome: { approved: 1, denied: 1 },
      deny_rate: 0.5,
    });
    expect(withDecisions.items.find((i: { key: string }) => i.key === '5').content.risk_register.decisions_total).toBe(2);

    // as_of fixes the data: a document as of before the policy was loaded does not list it.
    const early = (await get(t, `${BASE}/technical-documentation?as_of=${encodeURIComponent(before.generated_at)}`, auditor.token)).json();
    expect(early.as_of).toBe(before.generated_at);
    expect(early.items.find((i: { key: string }) => i.key === '1.a').content.version_chain.policy_versions).toEqual([]);

    const md = await get(t, `${BASE}/technical-documentation?format=markdown`, auditor.token);
    expect(md.statusCode).toBe(200);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    expect(md.body).toContain(`document_sha256: \`${withDecisions.document_sha256}\``);
    expect(md.body).toContain('### 2.g Validation');
    expect(md.body).toContain(versionHash);
    expect(md.body).not.toMatch(/prEN\s*18229|DIS\s*24970/i);
    const viaAccept = await t.app.inject({ method: 'GET', url: `${BASE}/technical-documentation`, headers: { ...bearer(auditor.token), accept: 'text/markdown' } });
    expect(viaAccept.headers['content-type']).toMatch(/^text\/markdown/);
  });

  it('Art 12: taxonomy counts per event type and purpose, retention, holds, ledger verification', async () => {
    const r = (await get(t, `${BASE}/article-12`, auditor.token)).json();
    const count = (type: string) => r.per_event_type.find((e: { event_type: string }) => e.event_type === type).count;
    expect(count('system_profile_updated')).toBe(2);
    expect(count('policy_loaded')).toBe(1);
    expect(count('decision')).toBe(2);
    expect(count('policy_test_recorded')).toBe(1);
    expect(r.untagged_event_types).toEqual([]);
    const tagged = r.per_event_type.reduce((n: number, e: { count: number }) => n + e.count, 0);
    expect(r.total_entries).toBe(tagged);
    const a = r.per_event_type.filter((e: { purposes: string[] }) => e.purposes.includes('a')).reduce((n: number, e: { count: number }) => n + e.count, 0);
    expect(r.per_purpose.a).toBe(a);
    expect(r.retention).toEqual({ retention_days: expect.any(Number), floor_days: 183, meets_floor: true });
    expect(r.legal_holds).toEqual({ tracked: true, active: [] });
    const hold = await post(t, '/api/governance/holds', lead, { scope: 'all', reason: 'Litigation 2026-114' });
    expect(hold.statusCode).toBe(201);
    const held = (await get(t, `${BASE}/article-12`, auditor.token)).json();
    expect(held.legal_holds.active).toEqual([expect.objectContaining({ hold_id: hold.json().hold_id, scope: 'all', reason: 'Litigation 2026-114' })]);
    expect((await post(t, `/api/governance/holds/${hold.json().hold_id}/release`, lead, { reason: 'settled' })).statusCode).toBeLessThan(300);
    expect((await get(t, `${BASE}/article-12`, auditor.token)).json().legal_holds.active).toEqual([]);
    expect(r.ledger_verification).toMatchObject({ valid: true, first_invalid: null });
    expect(r.ledger_verification.entries_checked).toBeGreaterThan(5);

    // A window before everything counts nothing.
    const empty = (await get(t, `${BASE}/article-12?until=2020-01-01T00:00:00Z`, auditor.token)).json();
    expect(empty.total_entries).toBe(0);
    expect((await get(t, `${BASE}/article-12?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z`, auditor.token)).statusCode).toBe(400);
    const md = await get(t, `${BASE}/article-12?format=markdown`, auditor.token);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    expect(md.body).toContain('system_profile_updated');
  });

  it('Art 14: escalations, SLA breaches, overrides, rubber stamps and stops', async () => {
    t.clock.advance(1000);
    const since = new Date(t.clock.now()).toISOString();
    const approver = await createTestUser(t, 'approver');
    const escalate = async () => (await post(t, '/decide', agent, { ...READ, proposed_action: 'bulk_export' })).json().escalation_id as string;
    const [fast, open] = [await escalate(), await escalate()];
    expect(open).toMatch(/^esc_/);
    t.clock.advance(2000);
    expect((await post(t, `/api/governance/escalation/${fast}/resolve`, approver.token, { outcome: 'approved', notes: 'ok' })).statusCode).toBe(201);
    const approved = (await post(t, '/decide', agent, READ)).json();
    t.clock.advance(3_600_000 + 1000);
    expect(
      (await post(t, '/api/governance/override', executive.token, { decision_id: approved.decision_id, new_outcome: 'denied', justification: 'Consent withdrawn by the customer.' }))
        .statusCode,
    ).toBe(201);
    expect((await post(t, '/api/governance/stop', operator.token, { reason: 'drill' })).statusCode).toBe(201);
    expect((await post(t, '/api/governance/resume', executive.token, { reason: 'drill over' })).statusCode).toBe(201);

    const r = (await get(t, `${BASE}/article-14?since=${encodeURIComponent(since)}`, auditor.token)).json();
    expect(r.figures).toMatchObject({
      decisions: 3,
      escalations_opened: 2,
      escalations_resolved: 1,
      sla_breaches: 1,
      median_time_to_resolution_s: 2,
      overrides: 1,
      override_rate: 0.3333,
      rubber_stamp_approvals: 1,
      rubber_stamp_rate: 1,
      stops: 1,
      resumes: 1,
    });
    expect(r.measures.map((m: { point: string }) => m.point)).toEqual(['14(4)(a)', '14(4)(b)', '14(4)(c)', '14(4)(d)', '14(4)(e)']);
    expect(r.measures[4]).toMatchObject({ configuration: { halted_now: false, stop_roles: ['operator', 'executive', 'admin'], resume_roles: ['executive', 'admin'] }, figures: { stops: 1, resumes: 1 } });
    expect(r.measures[3].configuration.override_roles).toEqual(['executive', 'admin']);
    const md = await get(t, `${BASE}/article-14?format=markdown&since=${encodeURIComponent(since)}`, auditor.token);
    expect(md.body).toContain('14(4)(e)');
  });
});

describe('EU AI Act Art 11 status in the compliance framework', () => {
  let t: TestApp;
  afterAll(() => t.app.close());

  it('is not satisfied while Annex IV items lack content (naming them), even with a signed export; satisfied once every item has content', async () => {
    t = await buildTestApp();
    const lead = await seedSession(t, 'governance_lead');
    const auditor = await seedSession(t, 'auditor');
    for (const role of ['admin', 'executive', 'approver', 'operator'] as const) await createTestUser(t, role);
    expect((await post(t, '/policies/load', lead, SEED)).statusCode).toBe(201);
    // A signed export exists: before this fix, that alone made Art 11 and Annex IV "satisfied".
    await t.services.ledger.append('export_created', { export_id: 'evd_test', entries: 3 });
    const art11 = async (id = 'Art 11') => {
      const res = await get(t, `/api/governance/compliance/frameworks/eu-ai-act/controls/${encodeURIComponent(id)}`, auditor);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { status: string; reason: string | null; evidence: Array<{ kind: string; holds: boolean }> };
    };

    const noProfile = await art11();
    expect(noProfile.status).toBe('not_satisfied');
    expect(noProfile.reason).toContain('annex_iv_complete: no system profile');
    expect(noProfile.evidence.find((e) => e.kind === 'exports_signed')).toMatchObject({ holds: true });

    // The profile of the issue: 8 items with content (6 generated, 1.f not applicable, 8 attached), 15 without.
    expect((await put(t, `${BASE}/system-profile`, lead, PROFILE)).statusCode).toBe(200);
    const doc = (await get(t, `${BASE}/technical-documentation`, auditor)).json() as { items: Array<{ key: string; status: string; content?: { manual_input?: unknown } }> };
    const empty = doc.items.filter((i) => i.status === 'manual_input_required' && i.content?.manual_input === undefined).map((i) => i.key);
    expect(empty).toHaveLength(15);
    for (const id of ['Art 11', 'Annex IV']) {
      const partial = await art11(id);
      expect(partial.status, id).toBe('not_satisfied');
      expect(partial.reason, id).toContain('annex_iv_complete: 15 of 23 Annex IV items have no content');
      for (const key of empty) expect(partial.reason, key).toMatch(new RegExp(`(: |; )${key.replace('.', '\\.')} `));
      expect(partial.reason).not.toMatch(/(: |; )1\.f /);
    }

    const md = (await get(t, `${BASE}/technical-documentation?format=markdown`, auditor)).body;
    expect(md).toContain('## Completeness\n\n**15 of 23 Annex IV items have no content yet**, so this documentation does not meet Art 11: 1.b (');

    // The operator supplies every missing item: Art 11 is satisfied.
    const inputs: Record<string, { text: string }> = {};
    for (const key of empty) inputs[key] = { text: `Described in the provider's file, section ${key}.` };
    const complete = { ...PROFILE, annex_iv_inputs: { ...PROFILE.annex_iv_inputs, ...inputs } };
    expect((await put(t, `${BASE}/system-profile`, lead, complete)).statusCode).toBe(200);
    expect((await art11()).status).toBe('satisfied');
    expect((await art11('Annex IV')).status).toBe('satisfied');
    expect((await get(t, `${BASE}/technical-documentation?format=markdown`, auditor)).body).toContain('## Completeness\n\nEvery one of the 23 Annex IV items has content');
  });
});

describe('Art 12 and Art 14 in Markdown: reports a compliance officer reads', () => {
  let t: TestApp;
  let auditor: string;
  let since: string;
  afterAll(() => t.app.close());

  beforeAll(async () => {
    t = await buildTestApp();
    since = new Date(t.clock.now()).toISOString();
    const lead = await seedSession(t, 'governance_lead');
    auditor = await seedSession(t, 'auditor');
    const quickStart = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/quick-start.json'), 'utf8'));
    expect((await post(t, '/policies/load', lead, quickStart)).statusCode).toBe(201);
    const agentKey = (await createAgentKey(t)).secret;
    const decide = async (action: string) => (await post(t, '/decide', agentKey, { actor: 'ai_agent:assistant', proposed_action: action, tool: 'crm' })).json();
    for (const action of ['read_customer', 'email_customer', 'delete_records']) await decide(action);
    const escalated = await decide('bulk_export');
    await decide('bulk_export');
    const approver = await createTestUser(t, 'approver');
    t.clock.advance(2000);
    expect((await post(t, `/api/governance/escalation/${escalated.escalation_id}/resolve`, approver.token, { outcome: 'approved', notes: 'ok' })).statusCode).toBe(201);
    const operator = await createTestUser(t, 'operator');
    const executive = await createTestUser(t, 'executive');
    expect((await post(t, '/api/governance/stop', operator.token, { reason: 'drill' })).statusCode).toBe(201);
    expect((await post(t, '/api/governance/resume', executive.token, { reason: 'drill over' })).statusCode).toBe(201);
    expect((await post(t, '/api/governance/holds', lead, { scope: 'all', reason: 'Litigation 2026-114' })).statusCode).toBe(201);
  });

  const both = async (article: string) => {
    const url = `${BASE}/${article}?since=${encodeURIComponent(since)}`;
    const json = (await get(t, url, auditor)).json();
    const md = await get(t, `${url}&format=markdown`, auditor);
    expect(md.statusCode).toBe(200);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    return { json, md: md.body };
  };

  it('Art 12: title, period, summary sentences, tables with the real counts, integrity, what is not shown', async () => {
    const { json, md } = await both('article-12');
    expect(md.startsWith('# EU AI Act Art 12: record-keeping report\n\nPeriod: from 2026-11-25 10:00:00 UTC up to (not including) ')).toBe(true);
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '# EU AI Act Art 12: record-keeping report',
      '## Summary',
      '## What the records serve (Art 12(2))',
      '## Events recorded',
      '## Retention and legal holds',
      '## Integrity of the record',
      '## What this report does not show',
    ]);
    expect(md).toContain(`${json.total_entries} events were recorded in the period`);
    expect(md).toContain(`every hash and link intact`);
    expect(md).toContain('which meets the minimum of 183 days');
    expect(md).toContain('1 legal hold is active');
    const decisions = json.per_event_type.find((e: { event_type: string }) => e.event_type === 'decision');
    expect(decisions.count).toBe(5);
    expect(md).toContain(`| decision | ${decisions.description} | (a) (b) | 5 |`);
    expect(md).toContain('| intervention | Stop or resume: a halt is a risk situation and an oversight action | (a) (c) | 2 |');
    expect(md).toContain(`| (a) | Risk situations (Art 79(1)) and substantial modification | ${json.per_purpose.a} |`);
    expect(md).toContain(`| (c) | Deployer monitoring of the operation (Art 26(5)) | ${json.per_purpose.c} |`);
    expect(md).toMatch(/\| hld_\w+ \| all \| Litigation 2026-114 \| usr_\w+ \| 2026-11-25 10:00:02 UTC \|/);
    expect(md).toContain('| hash chain | intact |');
    expect(md).toContain(`| entries checked | ${json.ledger_verification.entries_checked} |`);
    expect(md).toContain(`| last entry hash | ${json.ledger_verification.head_hash} |`);
    // Not a JSON-to-bullets dump.
    expect(md).not.toMatch(/^\s*- \*\*\w+\*\*:/m);
    expect(md).not.toContain('per_event_type');
  });

  it('Art 14: summary of decisions and oversight, each Art 14(4) point with configuration and explained figures, what needs attention', async () => {
    const { json, md } = await both('article-14');
    expect(json.figures).toMatchObject({ decisions: 5, escalations_opened: 2, escalations_resolved: 1, stops: 1, resumes: 1 });
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '# EU AI Act Art 14: human oversight report',
      '## Summary',
      '## Measures by Art 14(4) point',
      '### Art 14(4)(a): Understand the capacities and limitations of the system and monitor its operation',
      '### Art 14(4)(b): Remain aware of automation bias',
      '### Art 14(4)(c): Correctly interpret the output',
      '### Art 14(4)(d): Decide not to use, disregard, override or reverse the output',
      '### Art 14(4)(e): Intervene or interrupt the system through a stop button so that it halts in a safe state',
      '## Figures over the period',
      '## What needs attention',
      '## What this report does not show',
    ]);
    expect(md).toContain('5 decisions were taken in the period: 1 approved, 1 approved with conditions, 1 denied and 2 escalated to a person.');
    expect(md).toContain('2 escalations were opened and 1 resolved, half of them within 2 s. None missed its deadline.');
    expect(md).toContain('stopped the system 1 time and resumed it 1 time.');
    expect(md).toContain('The system is running now (not stopped).');
    expect(md).toContain('| roles that may stop the system | operator, executive, admin |');
    expect(md).toContain('| escalation chain (in order) | approver, executive, admin |');
    expect(md).toContain('| stops | 1 | times a person stopped the system |');
    expect(md).toContain('| median time to resolution | 2 s | half of the resolved escalations took at most this long |');
    expect(md).toContain(`| rubber stamp rate | ${Math.round(json.figures.rubber_stamp_rate * 1000) / 10}% |`);
    expect(md).toContain('- 1 escalation opened in the period is not resolved in it.');
    expect(md).not.toMatch(/^\s*- \*\*\w+\*\*:/m);
  });
});
