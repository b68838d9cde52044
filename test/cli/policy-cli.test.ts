import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/connection.js';
import { bearer, buildTestApp, seedSession, tempDir } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';



const EXAMPLES = fs
  .readdirSync(path.join(REPO_ROOT, 'policies'))
  .filter((f) => f.endsWith('.json') && !f.endsWith('.cases.json'))
  .sort();

describe('the example policies', () => {
  it('exist for the industries the docs promise', () => {
    expect(EXAMPLES).toEqual(expect.arrayContaining(['enterprise-general.json', 'financial-services.json', 'healthcare-hipaa.json', 'gdpr.json']));
  });

  it.each(EXAMPLES)('%s is valid and passes its cases with lexecon test-policy', (file) => {
    const policy = `policies/${file}`;
    const cases = policy.replace(/\.json$/, '.cases.json');
    const valid = lexecon(['validate-policy', '--policy-file', policy]);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/is valid\n {2}version_hash [0-9a-f]{64}\n/);
    const run = lexecon(['test-policy', '--policy-file', policy, '--cases', cases]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('FAIL');
    expect(run.stdout).toMatch(/^\d+ passed, 0 failed/m);
  });
});

describe('validate-policy and test-policy', () => {
  it('lists every problem of an invalid policy and exits 1', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ policy_id: 'bad', mode: 'lenient', terms: [{ term_id: 'x', term_type: 'wizard' }], relations: [] }));
    const r = lexecon(['validate-policy', '--policy-file', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('$.mode');
    expect(r.stdout).toContain('$.terms[0].term_type');
  });

  it('reports a failing case with the reason and exits 1; a missing file exits 2', () => {
    const dir = tempDir();
    const cases = path.join(dir, 'cases.json');
    fs.writeFileSync(cases, JSON.stringify([{ name: 'wrong on purpose', request: { actor: 'ai_agent:a', action: 'delete_records' }, expect: 'approved' }]));
    const r = lexecon(['test-policy', '--policy-file', 'policies/seed-example.json', '--cases', cases]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL wrong on purpose: expected approved, got denied \(/m);
    expect(r.stdout).toContain('0 passed, 1 failed');
    const missing = lexecon(['test-policy', '--policy-file', 'policies/none.json', '--cases', cases]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read policies/none.json');
  });
});

describe('load-policy', () => {
  it('loads into the local database; a server on that database uses it for the next request, without a restart', async () => {
    const file = path.join(tempDir(), 'lexecon.db');
    const t = await buildTestApp({ db: openDatabase(file) });
    try {
      const token = await seedSession(t, 'governance_lead');
      const r = await lexeconAsync(['load-policy', '--db', file, '--policy-file', 'policies/seed-example.json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^policy seed-example loaded and active\n {2}version_hash ([0-9a-f]{64})\n/);
      const hash = /version_hash ([0-9a-f]{64})/.exec(r.stdout)![1];
      const dry = await t.app.inject({
        method: 'POST',
        url: '/policies/evaluate',
        headers: bearer(token),
        payload: { actor: 'ai_agent:a', action: 'read_customer' },
      });
      expect(dry.json()).toMatchObject({ version_hash: hash, outcome: 'approved' });
      // The server's own ledger writes continue after the CLI's entry.
      const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(token), payload: JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/gdpr.json'), 'utf8')) });
      expect(load.statusCode).toBe(201);
      const events = await t.services.ledger.listEntries({ eventType: 'policy_loaded', limit: 10 });
      expect(events.map((e) => JSON.parse(e.dataJson).loaded_by)).toEqual(['cli', expect.stringMatching(/^usr_/)]);
      expect((await t.services.ledger.verify()).valid).toBe(true);
    } finally {
      await t.app.close();
    }
  });

  it('loads into a running server with --url and --token, and shows its problems when invalid', async () => {
    const t = await buildTestApp();
    try {
      const token = await seedSession(t, 'governance_lead');
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const ok = await lexeconAsync(['load-policy', '--url', url, '--token', token, '--policy-file', 'policies/financial-services.json']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('policy financial-services loaded and active');
      expect((await t.services.policies.summaries()).active?.policyId).toBe('financial-services');

      const bad = path.join(tempDir(), 'bad.json');
      fs.writeFileSync(bad, JSON.stringify({ policy_id: 'bad', terms: [], relations: [{ type: 'hates', source: 'a', target: 'b' }] }));
      const invalid = await lexeconAsync(['load-policy', '--url', url, '--token', token, '--policy-file', bad]);
      expect(invalid.code).toBe(1);
      expect(invalid.stdout).toContain('$.relations[0].type: must be one of permits');

      const denied = await lexeconAsync(['load-policy', '--url', url, '--token', 'lxs_' + 'A'.repeat(43), '--policy-file', 'policies/gdpr.json']);
      expect(denied.code).toBe(2);
      expect(denied.stderr).toContain('401');
    } finally {
      await t.app.close();
    }
  });
});
