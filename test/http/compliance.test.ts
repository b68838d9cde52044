import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC } from '../../src/platform/access.js';
import {
  bearer,
  buildTestApp,
  createAgentKey,
  createTestUser,
  seedSession,
  type TestApp,
} from '../helpers/build-test-app.js';
import { tamper } from '../helpers/tamper.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const BASE = '/api/governance/compliance';
/** Adds a `"tampered":1` member to the JSON object of the entry at seq ? (portable SQL; the data stays JSON). */
const ADD_TAMPERED_KEY =
  "UPDATE ledger_entries SET data = substr(data, 1, length(data) - 1) || CASE WHEN data = '{}' THEN '' ELSE ',' END || '\"tampered\":1}' WHERE seq = ?";

const get = (t: TestApp, url: string, token: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers: { ...bearer(token), ...headers } });
const controlUrl = (framework: string, control: string, query = '') =>
  `${BASE}/frameworks/${framework}/controls/${encodeURIComponent(control)}${query}`;

interface Control {
  control_id: string;
  status: string;
  reason: string | null;
  evidence: Array<{ kind: string; holds: boolean; detail: string; checked_at: string }>;
}

async function control(t: TestApp, token: string, framework: string, id: string, query = ''): Promise<Control> {
  const res = await get(t, controlUrl(framework, id, query), token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function loadPolicy(t: TestApp, doc: object = SEED): Promise<void> {
  const lead = await seedSession(t, 'governance_lead');
  const res = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: doc });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

/** An app with the seed policy and one enabled user of each privileged role (enrolled in MFA). */
async function configured(env: Record<string, string> = {}, beforeReady?: (t: TestApp) => void): Promise<{ t: TestApp; auditor: string }> {
  const t = await buildTestApp({ env });
  beforeReady?.(t);
  await loadPolicy(t);
  await createTestUser(t, 'admin');
  await createTestUser(t, 'executive');
  await createTestUser(t, 'approver');
  await createTestUser(t, 'operator');
  return { t, auditor: await seedSession(t, 'auditor') };
}

describe('compliance reads', () => {
  let t: TestApp;
  let auditor: string;
  beforeAll(async () => {
    ({ t, auditor } = await configured());
  });
  afterAll(() => t.app.close());

  it('lists every framework with coverage counts', async () => {
    const res = await get(t, `${BASE}/frameworks`, auditor);
    expect(res.statusCode).toBe(200);
    const { items } = res.json();
    expect(items.map((f: { framework_id: string }) => f.framework_id)).toEqual([
      'soc2',
      'iso27001',
      'gdpr',
      'hipaa',
      'pci-dss',
      'nist-csf',
      'eu-ai-act',
      'iso42001',
      'nist-ai-rmf',
    ]);
    const iso = items.find((f: { framework_id: string }) => f.framework_id === 'iso27001');
    expect(iso).toMatchObject({ name: expect.any(String), version: '2022', in_scope: true, scope: null });
    expect(iso.coverage.total).toBe(97);
    const c = iso.coverage;
    expect(c.satisfied + c.not_satisfied + c.manual + c.not_applicable).toBe(c.total);
    expect(c.manual).toBeGreaterThan(50);
  });

  it('one framework: statuses per control; organisational controls are manual', async () => {
    const res = await get(t, `${BASE}/frameworks/iso27001`, auditor);
    expect(res.statusCode).toBe(200);
    const controls: Control[] = res.json().controls;
    expect(controls).toHaveLength(97);
    const byId = new Map(controls.map((c) => [c.control_id, c]));
    expect(byId.get('A.8.15')).toMatchObject({ status: 'satisfied', reason: null });
    expect(byId.get('A.8.15')!.evidence.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['ledger_verifies', 'retention_floor', 'durability_full', 'override_authority']),
    );
    expect(byId.get('A.7.1')).toMatchObject({ status: 'manual', evidence: [] });
    // No export yet: the export-evidenced controls are not satisfied, and say why.
    expect(byId.get('A.5.35')).toMatchObject({ status: 'not_satisfied', reason: expect.stringContaining('exports_signed') });
    expect((await get(t, `${BASE}/frameworks/nope`, auditor)).statusCode).toBe(404);
  });

  it('control ids with dots, spaces and parentheses work URL-encoded', async () => {
    const art = await control(t, auditor, 'eu-ai-act', 'Art 14(4)(e)');
    expect(art).toMatchObject({ control_id: 'Art 14(4)(e)', framework_id: 'eu-ai-act', status: 'satisfied' });
    expect(art.evidence.map((e) => e.kind)).toEqual(['ledger_verifies', 'oversight_configured', 'halt_available', 'override_authority']);
    for (const e of art.evidence) expect(e).toMatchObject({ holds: true, checked_at: expect.any(String), detail: expect.any(String) });
    expect((await control(t, auditor, 'hipaa', '164.308(a)(1)(ii)(D)')).status).toBe('satisfied');
    expect((await control(t, auditor, 'pci-dss', '10.2.1.7')).status).toBe('satisfied');
    expect((await control(t, auditor, 'nist-ai-rmf', 'MANAGE 2.4')).status).toBe('satisfied');
    expect((await get(t, controlUrl('iso27001', 'A.9.2.1'), auditor)).statusCode).toBe(404);
  });

  it('answers Markdown with ?format=markdown or Accept: text/markdown', async () => {
    const md = await get(t, `${BASE}/frameworks/soc2?format=markdown`, auditor);
    expect(md.statusCode).toBe(200);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    expect(md.body).toMatch(/^# SOC 2/);
    expect(md.body).toContain('| CC3.2 | Risks identified and analysed | satisfied |');
    const viaAccept = await get(t, `${BASE}/coverage`, auditor, { accept: 'text/markdown' });
    expect(viaAccept.headers['content-type']).toMatch(/^text\/markdown/);
    expect(viaAccept.body).toContain('# Compliance coverage');
    const one = await get(t, controlUrl('gdpr', 'Art 22(3)', '?format=markdown'), auditor);
    expect(one.body).toContain('## Evidence');
    expect((await get(t, `${BASE}/frameworks?format=markdown`, auditor)).body).toContain('| framework |');
  });

  it('coverage sums every framework', async () => {
    const res = await get(t, `${BASE}/coverage`, auditor);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const sum = body.frameworks.reduce((n: number, f: { coverage: { total: number } }) => n + f.coverage.total, 0);
    expect(body.totals.total).toBe(sum);
    expect(body.totals.automated_satisfied_percent).toBeGreaterThan(0);
    expect(body.evidence.find((e: { kind: string }) => e.kind === 'exports_signed')).toMatchObject({ holds: false });
  });

  it('roles: agents are refused, anonymous callers must authenticate, every human role reads', async () => {
    const agent = (await createAgentKey(t)).secret;
    expect((await get(t, `${BASE}/frameworks`, agent)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: `${BASE}/coverage` })).statusCode).toBe(401);
    for (const role of ['approver', 'operator', 'executive'] as const) {
      expect((await get(t, `${BASE}/coverage`, await seedSession(t, role))).statusCode).toBe(200);
    }
  });

  it('an export_created entry in the ledger satisfies the export-evidenced controls', async () => {
    await t.services.ledger.append('export_created', { export_id: 'evd_test', entries: 3 });
    expect((await control(t, auditor, 'iso27001', 'A.5.35')).status).toBe('satisfied');
    expect((await control(t, auditor, 'eu-ai-act', 'Art 21(1)')).status).toBe('satisfied');
    // An export alone documents nothing: Art 11 and Annex IV also need every Annex IV item to have content.
    const annex = await control(t, auditor, 'eu-ai-act', 'Annex IV');
    expect(annex.status).toBe('not_satisfied');
    expect(annex.evidence.filter((e) => !e.holds).map((e) => e.kind)).toEqual(['annex_iv_complete']);
  });

  it('an enabled admin without MFA flips the MFA controls; disabling them restores them', async () => {
    expect((await control(t, auditor, 'iso27001', 'A.8.5')).status).toBe('satisfied');
    const lax = await createTestUser(t, 'admin', { mfa: false });
    const c = await control(t, auditor, 'iso27001', 'A.8.5');
    expect(c.status).toBe('not_satisfied');
    expect(c.reason).toContain(`mfa_privileged: enabled privileged users without MFA: ${lax.userId} (admin)`);
    expect((await control(t, auditor, 'pci-dss', '8.4.1')).status).toBe('not_satisfied');
    await t.services.auth.updateUser(lax.userId, { disabled: true }, 'system');
    expect((await control(t, auditor, 'iso27001', 'A.8.5')).status).toBe('satisfied');
  });

  it('a tampered ledger row: cached until ?refresh=true, then A.8.15 is not satisfied', async () => {
    expect((await control(t, auditor, 'iso27001', 'A.8.15')).status).toBe('satisfied');
    await tamper(t, [[ADD_TAMPERED_KEY, [1]]]);
    // The last verification is recent: a plain read does not walk the chain again.
    expect((await control(t, auditor, 'iso27001', 'A.8.15')).status).toBe('satisfied');
    const c = await control(t, auditor, 'iso27001', 'A.8.15', '?refresh=true');
    expect(c.status).toBe('not_satisfied');
    expect(c.reason).toMatch(/ledger_verifies: hash chain broken at seq 1/);
    expect((await control(t, auditor, 'pci-dss', '10.3.2')).status).toBe('not_satisfied');
    expect((await control(t, auditor, 'soc2', 'CC7.2')).status).toBe('not_satisfied');
  });
});

describe('compliance: verification is redone when old', () => {
  it('re-verifies after 15 minutes without refresh', async () => {
    const { t, auditor } = await configured();
    try {
      expect((await control(t, auditor, 'iso27001', 'A.8.15')).status).toBe('satisfied');
      await tamper(t, [[ADD_TAMPERED_KEY, [2]]]);
      t.clock.advance(14 * 60_000);
      expect((await control(t, auditor, 'iso27001', 'A.8.15')).status).toBe('satisfied');
      t.clock.advance(2 * 60_000);
      const c = await control(t, auditor, 'iso27001', 'A.8.15');
      expect(c.status).toBe('not_satisfied');
      expect(c.evidence.find((e) => e.kind === 'ledger_verifies')!.checked_at).toBe(new Date(t.clock.now()).toISOString());
    } finally {
      await t.app.close();
    }
  });
});

describe('compliance: each kind of evidence flips through the real app', () => {
  it('no active policy → policy, default-deny and risk controls not satisfied; a permissive policy breaks default deny only', async () => {
    const t = await buildTestApp();
    try {
      await createTestUser(t, 'admin');
      const auditor = await seedSession(t, 'auditor');
      const cc51 = await control(t, auditor, 'soc2', 'CC5.1');
      expect(cc51.status).toBe('not_satisfied');
      expect(cc51.reason).toContain('policy_active: no active policy');
      expect((await control(t, auditor, 'soc2', 'CC3.2')).reason).toContain('risk_scoring');
      expect((await control(t, auditor, 'pci-dss', '7.3.3')).status).toBe('not_satisfied');

      await loadPolicy(t, { ...SEED, mode: 'permissive' });
      const permissive = await control(t, auditor, 'pci-dss', '7.3.3');
      expect(permissive.status).toBe('not_satisfied');
      expect(permissive.reason).toMatch(/^default_deny: active policy mode permissive/);
      expect((await control(t, auditor, 'soc2', 'CC3.2')).status).toBe('satisfied');

      await loadPolicy(t, { ...SEED, version: '9.9.9' });
      expect((await control(t, auditor, 'pci-dss', '7.3.3')).status).toBe('satisfied');
      expect((await control(t, auditor, 'soc2', 'CC5.1')).status).toBe('satisfied');
    } finally {
      await t.app.close();
    }
  });

  it('nobody who can stop or review → oversight controls not satisfied until such users exist', async () => {
    const t = await buildTestApp();
    try {
      await loadPolicy(t);
      const auditor = await seedSession(t, 'auditor');
      const c = await control(t, auditor, 'iso27001', 'A.5.26');
      expect(c.status).toBe('not_satisfied');
      expect(c.reason).toContain('oversight_configured: no enabled user holds a chain role');
      expect(c.reason).toContain('halt_available: no enabled user holds operator, executive, admin');
      await createTestUser(t, 'approver');
      expect((await control(t, auditor, 'iso27001', 'A.5.26')).reason).not.toContain('oversight_configured');
      await createTestUser(t, 'operator');
      expect((await control(t, auditor, 'iso27001', 'A.5.26')).status).toBe('satisfied');
    } finally {
      await t.app.close();
    }
  });

  const envCases: Array<[string, Record<string, string>, string, string, string]> = [
    ['MFA not required for privileged roles', { LEXECON_MFA_REQUIRED_ROLES: '' }, 'iso27001', 'A.5.17', 'mfa_privileged: LEXECON_MFA_REQUIRED_ROLES lacks admin, executive'],
    ['the SLA monitor off', { LEXECON_SLA_CHECK_INTERVAL_S: '0' }, 'nist-csf', 'RS.MA-04', 'oversight_configured: the SLA monitor is off'],
    ['token TTL above an hour', { LEXECON_TOKEN_TTL_S: '7200' }, 'nist-csf', 'PR.AA-04', 'tokens_signed: token TTL 7200 s exceeds 3600 s'],
    ['durability normal', { LEXECON_DURABILITY: 'normal' }, 'iso27001', 'A.8.17', 'durability_full: LEXECON_DURABILITY=normal'],
    ['retention below 12 months (PCI 10.5.1)', { LEXECON_RETENTION_DAYS: '200' }, 'pci-dss', '10.5.1', 'retention_12_months: retention 200 days'],
  ];
  for (const [what, env, framework, id, reason] of envCases) {
    it(`${what} → ${framework} ${id} not satisfied`, async () => {
      const { t, auditor } = await configured(env);
      try {
        const c = await control(t, auditor, framework, id);
        expect(c.status).toBe('not_satisfied');
        expect(c.reason).toContain(reason);
      } finally {
        await t.app.close();
      }
      const good = await configured();
      try {
        await good.t.services.ledger.append('export_created', { export_id: 'evd_test' });
        expect((await control(good.t, good.auditor, framework, id)).status).toBe('satisfied');
      } finally {
        await good.t.app.close();
      }
    });
  }

  it('retention of 200 days still meets the EU AI Act floor', async () => {
    const { t, auditor } = await configured({ LEXECON_RETENTION_DAYS: '200' });
    try {
      expect((await control(t, auditor, 'eu-ai-act', 'Art 19(1)')).status).toBe('satisfied');
    } finally {
      await t.app.close();
    }
  });

  it('an anonymous route outside the DESIGN §7 set → access-control controls not satisfied', async () => {
    // Added before the app is ready, as a plugin would.
    const { t, auditor } = await configured({}, (app) => app.app.get('/debug/state', { config: { access: PUBLIC } }, async () => ({ ok: true })));
    try {
      const c = await control(t, auditor, 'iso27001', 'A.5.15');
      expect(c.status).toBe('not_satisfied');
      expect(c.reason).toContain('routes_guarded: GET /debug/state is anonymous but not in the DESIGN §7 set');
    } finally {
      await t.app.close();
    }
  });
});

describe('compliance scope', () => {
  let t: TestApp;
  let auditor: string;
  beforeAll(async () => {
    ({ t, auditor } = await configured({ LEXECON_TOKEN_TTL_S: '7200' }));
  });
  afterAll(() => t.app.close());

  const patch = (token: string, framework: string, payload: object) =>
    t.app.inject({ method: 'PATCH', url: `${BASE}/frameworks/${framework}`, headers: bearer(token), payload });

  it('only governance leads and admins change scope; out of scope needs a justification', async () => {
    expect((await patch(auditor, 'hipaa', { in_scope: false, justification: 'We process no health data anywhere.' })).statusCode).toBe(403);
    const lead = await seedSession(t, 'governance_lead');
    const short = await patch(lead, 'hipaa', { in_scope: false, justification: 'no PHI' });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.details[0]).toMatchObject({ field: 'justification' });
    expect((await patch(lead, 'hipaa', { in_scope: false })).statusCode).toBe(400);
    expect((await patch(lead, 'nope', { in_scope: true })).statusCode).toBe(404);
  });

  it('out of scope: every control not_applicable, no gaps; ledgered; back in scope reports gaps again', async () => {
    // With a 2-hour token TTL, HIPAA 164.312(d) has a gap while in scope.
    expect((await control(t, auditor, 'hipaa', '164.312(d)')).status).toBe('not_satisfied');
    const lead = await seedSession(t, 'governance_lead');
    const justification = 'We process no protected health information in this deployment.';
    const res = await patch(lead, 'hipaa', { in_scope: false, justification });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ framework_id: 'hipaa', in_scope: false, scope: { justification, ledger_seq: expect.any(Number) } });
    expect(res.json().coverage).toMatchObject({ satisfied: 0, not_satisfied: 0, manual: 0, not_applicable: 13 });

    const fw = (await get(t, `${BASE}/frameworks/hipaa`, auditor)).json();
    for (const c of fw.controls) expect(c).toMatchObject({ status: 'not_applicable', evidence: [] });
    const cov = (await get(t, `${BASE}/coverage`, auditor)).json();
    expect(cov.frameworks.find((f: { framework_id: string }) => f.framework_id === 'hipaa').coverage.not_satisfied).toBe(0);
    expect((await get(t, `${BASE}/frameworks/hipaa?format=markdown`, auditor)).body).toContain('Out of scope: We process no protected');

    const [entry] = await t.services.ledger.listEntries({ eventType: 'compliance_scope_changed', limit: 10 });
    expect(entry!.seq).toBe(res.json().scope.ledger_seq);
    expect(JSON.parse(entry!.dataJson)).toMatchObject({ framework_id: 'hipaa', in_scope: false, previous_in_scope: true, justification_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(entry!.dataJson).not.toContain('protected health');

    const back = await patch(lead, 'hipaa', { in_scope: true });
    expect(back.json()).toMatchObject({ in_scope: true, scope: { justification: null } });
    expect((await control(t, auditor, 'hipaa', '164.312(d)')).status).toBe('not_satisfied');
    expect(await t.services.ledger.listEntries({ eventType: 'compliance_scope_changed', limit: 10 })).toHaveLength(2);
  });
});
