import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearer, buildTestApp, seedSession } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('lexecon test-policy --record', () => {
  it('needs --url and --token', () => {
    const r = lexecon(['test-policy', '--policy-file', 'policies/seed-example.json', '--cases', 'policies/seed-example.cases.json', '--record']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--record needs --url and --token');
  });

  it('records a signed run on the server for the loaded version; refuses a version the server does not have', async () => {
    const t = await buildTestApp();
    try {
      const token = await seedSession(t, 'governance_lead');
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const args = ['test-policy', '--policy-file', 'policies/seed-example.json', '--cases', 'policies/seed-example.cases.json', '--record', '--url', url, '--token', token];

      const missing = await lexeconAsync(args);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('load it first');

      const seed = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
      const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(token), payload: seed });
      expect(load.statusCode).toBe(201);
      const ok = await lexeconAsync(args);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^recorded tst_\S+ on the server: \d+ passed, 0 failed, signed by [0-9a-f]{16} \(verified\), ledger seq \d+$/m);
      const [entry] = await t.services.ledger.listEntries({ eventType: 'policy_test_recorded', limit: 10 });
      expect(JSON.parse(entry!.dataJson)).toMatchObject({ policy_version_hash: load.json().version_hash, failed: 0 });
    } finally {
      await t.app.close();
    }
  });
});
