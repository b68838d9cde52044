import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';
import { failInsertsInto } from '../helpers/tamper.js';

/**
 * The decision and its ledger entry are written in one transaction: a failure injected between them
 * (after the entry, in the decision's own writes) or in the ledger write itself leaves neither.
 */
let t: TestApp;
let key: string;

const BODY = { actor: 'ai_agent:a', proposed_action: 'read_customer', tool: 'crm' };
const snapshot = async () => ({
  ledger: await countRows(t, 'ledger_entries'),
  decisions: await countRows(t, 'decisions'),
  tokens: await countRows(t, 'capability_tokens'),
  escalations: await countRows(t, 'escalations'),
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
  // [where, table whose inserts fail, condition on NEW]
  const injections: Array<[string, string, string?]> = [
    ['the decision row', 'decisions'],
    ['the token row', 'capability_tokens'],
    ['the escalation row', 'escalations'],
    ['the ledger entry', 'ledger_entries', "NEW.event_type = 'decision'"],
    ['the escalation_created entry', 'ledger_entries', "NEW.event_type = 'escalation_created'"],
  ];
  for (const [where, table, when] of injections) {
    it(`a failure in ${where} leaves nothing, answers 500 without internals, and the next decision works`, async () => {
      const before = await snapshot();
      const removeInjection = await failInsertsInto(t, table, when);
      const failed = await Promise.all([decide(), decide({ ...BODY, proposed_action: 'bulk_export' })]);
      expect(failed.some((r) => r.statusCode === 500)).toBe(true);
      for (const r of failed.filter((x) => x.statusCode === 500)) {
        expect(r.json().error.code).toBe('INTERNAL_ERROR');
        expect(r.body).not.toContain('injected');
      }
      const succeeded = failed.filter((r) => r.statusCode === 200).length;
      const after = await snapshot();
      // Whatever succeeded wrote its decision and entries; whatever failed wrote nothing at all.
      expect(after.decisions - before.decisions).toBe(succeeded);
      expect(after.ledger - before.ledger).toBe(
        failed.filter((r) => r.statusCode === 200).reduce((n, r) => n + (r.json().outcome === 'escalated' ? 2 : 1), 0),
      );
      const ok200 = failed.filter((r) => r.statusCode === 200).map((r) => r.json());
      expect(after.tokens - before.tokens).toBe(ok200.filter((b) => b.capability_token !== null).length);
      expect(after.escalations - before.escalations).toBe(ok200.filter((b) => b.outcome === 'escalated').length);
      await removeInjection();
      const ok = await decide({ ...BODY, request_id: 'after' });
      expect(ok.statusCode).toBe(200);
      const verify = (await t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(await seedSession(t)) })).json();
      expect(verify.valid).toBe(true);
      const entry = await t.services.ledger.getEntry(ok.json().ledger.entry_id);
      expect(JSON.parse(entry!.dataJson).decision_id).toBe(ok.json().decision_id);
    });
  }
});
