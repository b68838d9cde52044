import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';

/**
 * The decision and its ledger entry are written in one transaction: a failure injected between them
 * (after the entry, in the decision's own writes) or in the ledger write itself leaves neither.
 */
let t: TestApp;
let key: string;

const BODY = { actor: 'ai_agent:a', proposed_action: 'read_customer', tool: 'crm' };
const count = (table: string) => t.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
const snapshot = () => ({
  ledger: count('ledger_entries'),
  decisions: count('decisions'),
  tokens: count('capability_tokens'),
  escalations: count('escalations'),
});
const decide = (body: object = BODY) => t.app.inject({ method: 'POST', url: '/decide', headers: bearer(key), payload: body });

beforeEach(async () => {
  t = await buildTestApp();
  key = (await createAgentKey(t)).secret;
  const lead = await seedSession(t, 'governance_lead');
  await t.app.inject({
    method: 'POST',
    url: '/policies/load',
    headers: bearer(lead),
    payload: {
      policy_id: 'p',
      terms: [
        { id: 'agent', type: 'actor', value: 'ai_agent:*' },
        { id: 'read_customer', type: 'action' },
        { id: 'bulk_export', type: 'action' },
      ],
      relations: [
        { type: 'permits', source: 'agent', target: 'read_customer' },
        { type: 'requires', source: 'bulk_export', target: 'human_approval' },
      ],
    },
  });
});
afterEach(() => t.app.close());

describe('decision and ledger entry: both or neither', () => {
  const injections: Array<[string, string]> = [
    ['the decision row', `CREATE TRIGGER inject BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'injected'); END`],
    ['the token row', `CREATE TRIGGER inject BEFORE INSERT ON capability_tokens BEGIN SELECT RAISE(ABORT, 'injected'); END`],
    ['the escalation row', `CREATE TRIGGER inject BEFORE INSERT ON escalations BEGIN SELECT RAISE(ABORT, 'injected'); END`],
    [
      'the ledger entry',
      `CREATE TRIGGER inject BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'decision' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    ],
    [
      'the escalation_created entry',
      `CREATE TRIGGER inject BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'escalation_created' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    ],
  ];
  for (const [where, trigger] of injections) {
    it(`a failure in ${where} leaves nothing, answers 500 without internals, and the next decision works`, async () => {
      const before = snapshot();
      t.db.exec(trigger);
      const failed = await Promise.all([decide(), decide({ ...BODY, proposed_action: 'bulk_export' })]);
      expect(failed.some((r) => r.statusCode === 500)).toBe(true);
      for (const r of failed.filter((x) => x.statusCode === 500)) {
        expect(r.json().error.code).toBe('INTERNAL_ERROR');
        expect(r.body).not.toContain('injected');
      }
      const succeeded = failed.filter((r) => r.statusCode === 200).length;
      const after = snapshot();
      // Whatever succeeded wrote its decision and entries; whatever failed wrote nothing at all.
      expect(after.decisions - before.decisions).toBe(succeeded);
      expect(after.ledger - before.ledger).toBe(
        failed.filter((r) => r.statusCode === 200).reduce((n, r) => n + (r.json().outcome === 'escalated' ? 2 : 1), 0),
      );
      t.db.exec('DROP TRIGGER inject');
      const ok = await decide({ ...BODY, request_id: 'after' });
      expect(ok.statusCode).toBe(200);
      const verify = (await t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(await seedSession(t)) })).json();
      expect(verify.valid).toBe(true);
      const entry = await t.services.ledger.getEntry(ok.json().ledger.entry_id);
      expect(JSON.parse(entry!.dataJson).decision_id).toBe(ok.json().decision_id);
    });
  }
});
