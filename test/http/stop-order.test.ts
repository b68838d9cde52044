import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { tokenOrderMigrations } from '../../src/modules/tokens/tokens.migrations.js';
import { ManualClock } from '../../src/platform/clock.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { portSchemaVersion } from '../../src/platform/db/port-migrations.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, TEST_START, tempDir, testStore, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * The stop button orders tokens by the ledger, never by clocks (DESIGN §5, issue 14 A2): a token is
 * invalid for good when its issuing entry's seq is below the stop entry's seq.
 */

/**
 * Put the schema version back to `version`, as a database of that age has it: SQLite keeps it in
 * `PRAGMA user_version`, PostgreSQL in `schema_migrations` (see port-migrations.ts).
 */
async function setSchemaVersion(port: DbPort, version: number): Promise<void> {
  if (port.dialect === 'sqlite') await port.exec(`PRAGMA user_version = ${version}`);
  else await port.run('DELETE FROM schema_migrations WHERE version > ?', [version]);
}

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };

/**
 * Wall time that passes while the server works: every reading is a millisecond after the previous one,
 * as on a loaded server where a stop is signed, then decisions already queued ahead of it commit (and
 * stamp their tokens) a few milliseconds later.
 */
class TickingClock extends ManualClock {
  override now(): number {
    this.advance(1);
    return super.now();
  }
}

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

async function setUp(t: TestApp) {
  const lead = await seedSession(t, 'governance_lead');
  expect((await post(t, '/policies/load', lead, SEED)).statusCode).toBe(201);
  return {
    agent: (await createAgentKey(t)).secret,
    executive: await createTestUser(t, 'executive'),
    /** The second person an override of a denial needs. */
    admin: await createTestUser(t, 'admin'),
    operator: await createTestUser(t, 'operator'),
    approver: await createTestUser(t, 'approver'),
    auditor: await seedSession(t, 'auditor'),
  };
}

describe('a stop under load (ledger order, not clocks)', () => {
  it('400 concurrent approving decisions, a stop after the 200th: every token issued before the stop entry is revoked_by_stop, none verifies', async () => {
    const t = await buildTestApp({ clock: new TickingClock(TEST_START) });
    try {
      const w = await setUp(t);
      const decides: Array<ReturnType<typeof post>> = [];
      // Requests arrive over time (one per event-loop turn), not all in one instant: the ones in flight
      // when the stop arrives are queued for the same ledger batches as the stop, ahead of it or behind it.
      const send = async (i: number) => {
        decides.push(post(t, '/decide', w.agent, { ...READ, request_id: `load-${i}` }));
        await new Promise((resolve) => setImmediate(resolve));
      };
      for (let i = 0; i < 200; i++) await send(i);
      const stop = post(t, '/api/governance/stop', w.operator.token, { reason: 'agent misbehaving under load' });
      for (let i = 200; i < 400; i++) await send(i);
      const [stopped, ...answers] = await Promise.all([stop, ...decides]);

      expect(stopped!.statusCode).toBe(201);
      const [stopEntry] = await t.services.ledger.listEntries({ eventType: 'intervention', limit: 1 });
      expect(JSON.parse(stopEntry!.dataJson)).toMatchObject({ kind: 'stop', intervention_id: stopped!.json().intervention_id });
      const cutoff = stopEntry!.seq;

      let before = 0;
      const verdicts = await Promise.all(
        answers.map(async (a) => {
          expect(a.statusCode).toBe(200);
          const d = a.json();
          if (d.ledger.seq > cutoff) {
            // Ordered after the stop: a halted denial, never a token.
            expect(d).toMatchObject({ outcome: 'denied', reason: 'halted', capability_token: null });
            return null;
          }
          before++;
          expect(d.outcome).toBe('approved');
          const v = (await post(t, '/decide/verify', w.agent, { token: d.capability_token })).json();
          expect(v).toMatchObject({ valid: false, reason: 'revoked_by_stop' });
          const record = (await get(t, `/decide/${d.decision_id}`, w.auditor)).json();
          expect(record.token.revoked).toBe(true);
          return v as { valid: boolean; reason: string };
        }),
      );
      // The race was real: decisions ordered before the stop were committed with tokens.
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(answers.length);
      const issuedBefore = verdicts.filter((v) => v !== null);
      expect(issuedBefore.filter((v) => v.reason === 'ok')).toEqual([]);
      for (const v of issuedBefore) expect(v).toEqual(expect.objectContaining({ valid: false, reason: 'revoked_by_stop' }));
      // The status names the cutoff as that seq.
      expect(stopped!.json().tokens_invalid_before).toBe(cutoff);
      expect((await get(t, '/api/governance/status', w.auditor)).json()).toMatchObject({ halted: true, tokens_invalid_before: cutoff });

      // Resuming revives none of them; a token issued after the resume (seq above the stop's) is valid.
      expect((await post(t, '/api/governance/resume', w.executive.token, { reason: 'incident closed' })).statusCode).toBe(201);
      const first = answers.find((a) => a.json().capability_token !== null)!.json();
      expect((await post(t, '/decide/verify', w.agent, { token: first.capability_token })).json().reason).toBe('revoked_by_stop');
      const after = (await post(t, '/decide', w.agent, READ)).json();
      expect(after.ledger.seq).toBeGreaterThan(cutoff);
      expect((await post(t, '/decide/verify', w.agent, { token: after.capability_token })).json()).toMatchObject({ valid: true, reason: 'ok' });
    } finally {
      await t.app.close();
    }
  });

  it('escalation approvals and override confirmations racing a stop: each is refused (409 HALTED) or mints a token ordered before the stop, which is revoked_by_stop', async () => {
    const t = await buildTestApp({ clock: new TickingClock(TEST_START) });
    try {
      const w = await setUp(t);
      const escalated = [];
      for (let i = 0; i < 20; i++) escalated.push((await post(t, '/decide', w.agent, BULK)).json());
      const denied = [];
      for (let i = 0; i < 20; i++) denied.push((await post(t, '/decide', w.agent, { ...READ, proposed_action: 'delete_records' })).json());

      // One request per event-loop turn; the stop arrives after the first 30, while they are in flight.
      const sent: Array<ReturnType<typeof post>> = [];
      const send = async (request: () => ReturnType<typeof post>) => {
        sent.push(request());
        await new Promise((resolve) => setImmediate(resolve));
      };
      // Overriding a denial takes two people: the overrides wait for confirmation; the confirmations race.
      const pending = new Map<string, string>();
      for (const d of denied) {
        const o = await post(t, '/api/governance/override', w.executive.token, {
          decision_id: d.decision_id,
          new_outcome: 'approved',
          justification: 'Retention exception approved by the data owner.',
        });
        expect(o.json()).toMatchObject({ status: 'pending_confirmation' });
        pending.set(d.decision_id, o.json().override_id);
      }
      const override = (d: { decision_id: string }) => () =>
        post(t, `/api/governance/override/${pending.get(d.decision_id)}/confirm`, w.admin.token, {
          justification: 'Checked the retention exception with the data owner.',
        });
      for (const d of escalated) {
        await send(() => post(t, `/api/governance/escalation/${d.escalation_id}/resolve`, w.approver.token, { outcome: 'approved', notes: 'export scope checked' }));
      }
      for (const d of denied.slice(0, 10)) await send(override(d));
      // The stop goes out once the first of them have committed (the others still in flight), so that
      // the race is real on either backend (PostgreSQL's round trips make the requests take longer).
      for (let i = 0; i < 500 && (await t.port.one<{ n: number }>('SELECT count(*) AS n FROM capability_tokens'))!.n === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const stop = post(t, '/api/governance/stop', w.operator.token, { reason: 'incident' });
      for (const d of denied.slice(10)) await send(override(d));
      const [stopped, ...answers] = await Promise.all([stop, ...sent]);
      expect(stopped!.statusCode).toBe(201);
      const [stopEntry] = await t.services.ledger.listEntries({ eventType: 'intervention', limit: 1 });
      const cutoff = stopEntry!.seq;

      let minted = 0;
      const decisionIds = [...escalated, ...denied].map((d) => d.decision_id as string);
      for (const [i, a] of answers.entries()) {
        if (a.statusCode === 409) {
          expect(a.json().error.code).toBe('HALTED');
          expect(await t.services.tokens.recordForDecision(decisionIds[i]!)).toBeUndefined();
          continue;
        }
        expect(a.statusCode).toBe(201);
        minted++;
        const token = (await t.services.tokens.tokenForDecision(decisionIds[i]!))!.token;
        expect((await post(t, '/decide/verify', w.agent, { token })).json()).toMatchObject({ valid: false, reason: 'revoked_by_stop' });
        expect((await t.services.tokens.recordForDecision(decisionIds[i]!))!.issuedSeq).toBeLessThan(cutoff);
      }
      // Nothing minted while halted: every token on record was issued by an entry before the stop.
      const seqs = await t.port.all<{ s: number }>('SELECT issued_seq AS s FROM capability_tokens');
      for (const { s } of seqs) expect(s).toBeLessThan(cutoff);
      // The race was real: some were ordered before the stop and minted, the late ones were refused.
      expect(minted).toBeGreaterThan(0);
      expect(minted).toBeLessThan(answers.length);
      expect(seqs.length).toBe(minted);
    } finally {
      await t.app.close();
    }
  });
});

describe('an existing database (from before the seq cutoff) after the upgrade', () => {
  it('derives each token\'s issuing seq and the stop\'s seq from the ledger; verification keeps its meaning', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const env = { LEXECON_DATA_DIR: dir };
    const first = await buildTestApp({ env, store });
    const w = await setUp(first);
    const early = (await post(first, '/decide', w.agent, READ)).json();
    const escalated = (await post(first, '/decide', w.agent, BULK)).json();
    const resolved = await post(first, `/api/governance/escalation/${escalated.escalation_id}/resolve`, w.approver.token, {
      outcome: 'approved',
      notes: 'export scope checked',
    });
    expect(resolved.statusCode).toBe(201);
    expect((await post(first, '/api/governance/stop', w.operator.token, { reason: 'incident' })).statusCode).toBe(201);
    expect((await post(first, '/api/governance/resume', w.executive.token, { reason: 'closed' })).statusCode).toBe(201);
    const late = (await post(first, '/decide', w.agent, READ)).json();
    const seqs = (t: TestApp) =>
      t.port.all<{ d: string; s: number | null }>('SELECT decision_id AS d, issued_seq AS s FROM capability_tokens ORDER BY decision_id');
    const expected = await seqs(first);
    expect(expected.map((r) => typeof r.s)).toEqual(['number', 'number', 'number']);
    const cutoff = (await first.services.oversight.status()).tokensInvalidBefore;
    await first.app.close();

    // Back to what schema 12 held: no seqs, the cutoff as a timestamp.
    await store.withPort(async (port) => {
      await port.exec('ALTER TABLE capability_tokens DROP COLUMN issued_seq; ALTER TABLE halt_state DROP COLUMN tokens_invalid_before_seq;');
      // Nor did it have the transparency log's tables (migrations 18 and 19 create them again).
      await port.exec('DROP TABLE checkpoints; DROP TABLE merkle_nodes;');
      await port.run('UPDATE halt_state SET tokens_invalid_before = ?', [TEST_START]);
      await setSchemaVersion(port, tokenOrderMigrations[0]!.version - 1);
    });

    const again = await buildTestApp({ env, store });
    try {
      expect(await portSchemaVersion(again.port)).toBe(allMigrations.length);
      expect(await seqs(again)).toEqual(expected);
      expect((await again.services.oversight.status()).tokensInvalidBefore).toBe(cutoff);
      const agent = (await createAgentKey(again)).secret;
      const verify = async (token: string) => (await post(again, '/decide/verify', agent, { token })).json().reason;
      expect(await verify(early.capability_token)).toBe('revoked_by_stop');
      expect(await verify((await again.services.tokens.tokenForDecision(escalated.decision_id))!.token)).toBe('revoked_by_stop');
      expect(await verify(late.capability_token)).toBe('ok');
    } finally {
      await again.app.close();
      await store.close();
    }
  });
});
