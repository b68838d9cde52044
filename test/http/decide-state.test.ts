/**
 * The state a decision starts from (issue 16): the halt state and the active policy come from the
 * process's memory (no read before the transaction), and the decision's transaction re-checks both in
 * ledger order, for every outcome. Two apps on one database are two processes on the SQLite file (no
 * notices: the transaction's re-check is what keeps them right) or two replicas on PostgreSQL (a
 * LISTEN/NOTIFY notice keeps the other's memory current).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, tempDir, testStore, TEST_START, type TestApp, type TestStore } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const SEED_V2 = { ...SEED, name: 'The example of the original Lexecon, second version' };
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };
const DELETE = { actor: 'ai_agent:assistant', proposed_action: 'delete_records', tool: 'crm' };

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });

/**
 * Run `meanwhile` once, when the next decision has been evaluated and goes to the ledger: what it does
 * commits between that decision's evaluation and its transaction.
 */
function beforeNextDecisionCommits(ledger: LedgerService, meanwhile: () => Promise<unknown>): { ran: () => boolean } {
  const appendAll = ledger.appendAll.bind(ledger);
  let ran = false;
  ledger.appendAll = async (events, options) => {
    if (!ran && events[0]?.eventType === 'decision') {
      ran = true;
      ledger.appendAll = appendAll;
      await meanwhile();
    }
    return appendAll(events, options);
  };
  return { ran: () => ran };
}

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the halt state and active policy a decision starts from', () => {
  let store: TestStore;
  let a: TestApp;
  let b: TestApp;
  let agent: string;
  let lead: string;
  let operator: string;
  let executive: string;
  let seedHash: string;
  const clock = new ManualClock(TEST_START);

  beforeAll(async () => {
    store = await testStore(tempDir());
    a = await buildTestApp({ store, clock });
    b = await buildTestApp({ store, clock });
    lead = await seedSession(a, 'governance_lead');
    const loaded = await post(a, '/policies/load', lead, SEED);
    expect(loaded.statusCode).toBe(201);
    seedHash = loaded.json().version_hash;
    agent = (await createAgentKey(a)).secret;
    operator = (await createTestUser(a, 'operator')).token;
    executive = (await createTestUser(a, 'executive')).token;
  }, 60_000);
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await store?.close();
  });

  /** Back to the seed policy, not halted, on both apps. */
  async function reset(): Promise<void> {
    if ((await a.services.oversight.status()).halted) {
      expect((await post(a, '/api/governance/resume', executive, { reason: 'test reset' })).statusCode).toBe(201);
    }
    if ((await a.services.policies.activeHash()) !== seedHash) expect((await post(a, '/policies/load', lead, SEED)).statusCode).toBe(201);
    for (const t of [a, b]) {
      expect((await post(t, '/decide', agent, READ)).json()).toMatchObject({ outcome: 'approved', policy: { version_hash: seedHash } });
    }
  }

  it('the memory follows this process’s stop, resume and load at once', async () => {
    await reset();
    expect(a.services.halt.memory.peek()?.value).toBe(false);
    expect(a.services.policies.memory.peek()?.value).toBe(seedHash);

    const stop = await post(a, '/api/governance/stop', operator, { reason: 'memory follows' });
    expect(stop.statusCode).toBe(201);
    expect(a.services.halt.memory.peek()).toEqual({ value: true, seq: stop.json().tokens_invalid_before });
    expect((await post(a, '/decide', agent, READ)).json()).toMatchObject({ outcome: 'denied', reason: 'halted', capability_token: null });

    expect((await post(a, '/api/governance/resume', executive, { reason: 'memory follows' })).statusCode).toBe(201);
    expect(a.services.halt.memory.peek()?.value).toBe(false);
    expect((await post(a, '/decide', agent, READ)).json()).toMatchObject({ outcome: 'approved' });

    const v2 = await post(a, '/policies/load', lead, SEED_V2);
    expect(v2.statusCode).toBe(201);
    const [activation] = (await a.services.ledger.listEntries({ eventType: 'policy_loaded', limit: 1000 })).slice(-1);
    expect(a.services.policies.memory.peek()).toEqual({ value: v2.json().version_hash, seq: expect.any(Number) });
    expect(a.services.policies.memory.peek()!.seq).toBeGreaterThanOrEqual(activation!.seq);
    expect((await post(a, '/decide', agent, READ)).json().policy.version_hash).toBe(v2.json().version_hash);
  });

  for (const [name, request, before] of [
    ['approved', READ, 'approved'],
    ['escalated', BULK, 'escalated'],
    ['denied', DELETE, 'denied'],
  ] as const) {
    it(`a stop (by the other process) committed between a decision's evaluation and its commit: the halted denial, not ${name}`, async () => {
      await reset();
      expect((await post(b, '/decide', agent, request)).json().outcome).toBe(before);
      const escalationsBefore = (await b.services.ledger.listEntries({ eventType: 'escalation_created', limit: 1000 })).length;
      let stopSeq = -1;
      const hook = beforeNextDecisionCommits(b.services.ledger, async () => {
        const stop = await post(a, '/api/governance/stop', operator, { reason: `stop during a ${name} decision` });
        expect(stop.statusCode).toBe(201);
        stopSeq = stop.json().tokens_invalid_before;
      });
      const d = (await post(b, '/decide', agent, request)).json();
      expect(hook.ran()).toBe(true);
      expect(d.ledger.seq).toBeGreaterThan(stopSeq);
      expect(d).toMatchObject({ outcome: 'denied', reason: 'halted', capability_token: null, escalation_id: null });
      // Nothing of the evaluation made before the stop went in: one decision entry, no escalation.
      const decisions = await b.services.ledger.listEntries({ eventType: 'decision', limit: 1000 });
      expect(decisions.filter((e) => JSON.parse(e.dataJson).decision_id === d.decision_id).map((e) => e.seq)).toEqual([d.ledger.seq]);
      expect((await b.services.ledger.listEntries({ eventType: 'escalation_created', limit: 1000 })).length).toBe(escalationsBefore);
      // The other process's memory learnt the stop from its own transaction (or the notice).
      expect(b.services.halt.memory.peek()?.value).toBe(true);
    });
  }

  it('a stop in this process committed between the evaluation and the commit: the halted denial', async () => {
    await reset();
    const hook = beforeNextDecisionCommits(a.services.ledger, () => post(a, '/api/governance/stop', operator, { reason: 'same process' }));
    const d = (await post(a, '/decide', agent, BULK)).json();
    expect(hook.ran()).toBe(true);
    expect(d).toMatchObject({ outcome: 'denied', reason: 'halted', escalation_id: null });
  });

  it('a resume committed between the evaluation (halted) and the commit: decided with the policy', async () => {
    await reset();
    expect((await post(a, '/api/governance/stop', operator, { reason: 'then resumed' })).statusCode).toBe(201);
    expect((await post(b, '/decide', agent, READ)).json()).toMatchObject({ reason: 'halted' });
    const hook = beforeNextDecisionCommits(b.services.ledger, () => post(a, '/api/governance/resume', executive, { reason: 'resumed meanwhile' }));
    const d = (await post(b, '/decide', agent, READ)).json();
    expect(hook.ran()).toBe(true);
    expect(d).toMatchObject({ outcome: 'approved', policy: { version_hash: seedHash } });
    expect(typeof d.capability_token).toBe('string');
  });

  it('a policy activated by the other process: the next decision here uses it (in ledger order), and the memory follows', async () => {
    await reset();
    const v2 = await post(a, '/policies/load', lead, SEED_V2);
    expect(v2.statusCode).toBe(201);
    const v2Hash = v2.json().version_hash as string;
    const [loadedEntry] = (await a.services.ledger.listEntries({ eventType: 'policy_loaded', limit: 1000 })).slice(-1);
    expect(JSON.parse(loadedEntry!.dataJson).version_hash).toBe(v2Hash);
    if (store.backend === 'postgres') {
      // A replica hears of it by the notice, before any decision.
      await until('the other replica’s memory names the new version', () => b.services.policies.memory.peek()?.value === v2Hash);
    }
    const d = (await post(b, '/decide', agent, READ)).json();
    expect(d.ledger.seq).toBeGreaterThan(loadedEntry!.seq);
    expect(d.policy.version_hash).toBe(v2Hash);
    expect(b.services.policies.memory.peek()?.value).toBe(v2Hash);
  });

  it('a policy activated between the evaluation and the commit: decided again with it', async () => {
    await reset();
    let v2Hash = '';
    const hook = beforeNextDecisionCommits(b.services.ledger, async () => {
      const v2 = await post(a, '/policies/load', lead, SEED_V2);
      expect(v2.statusCode).toBe(201);
      v2Hash = v2.json().version_hash;
    });
    const d = (await post(b, '/decide', agent, READ)).json();
    expect(hook.ran()).toBe(true);
    expect(d.policy.version_hash).toBe(v2Hash);
    // The token's decision names that version too (the stored record, not only the answer).
    const stored = (await b.app.inject({ method: 'GET', url: `/decide/${d.decision_id}`, headers: bearer(await seedSession(b, 'auditor')) })).json();
    expect(stored.policy.version_hash).toBe(v2Hash);
  });

  it('on PostgreSQL a stop by one replica reaches the other’s memory by the notice, before any decision there', async () => {
    if (store.backend !== 'postgres') return;
    await reset();
    const stop = await post(a, '/api/governance/stop', operator, { reason: 'notice' });
    expect(stop.statusCode).toBe(201);
    await until('the other replica’s memory is halted', () => b.services.halt.memory.peek()?.value === true);
    expect(b.services.halt.memory.peek()!.seq).toBe(stop.json().tokens_invalid_before);
  });

  it('on PostgreSQL a replica whose LISTEN connection was lost re-reads the state when it is back (notices sent meanwhile are lost)', async () => {
    if (store.backend !== 'postgres') return;
    await reset();
    expect(b.services.halt.memory.peek()?.value).toBe(false);
    // A change no notice announces (as one sent while the connection was down), then the connection drops.
    await store.withPort(async (port) => {
      await port.run('UPDATE halt_state SET halted = 1 WHERE slot = 1');
      const listeners = await port.all<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'lexecon-listen' AND datname = current_database()",
      );
      expect(listeners.length).toBe(2);
      for (const l of listeners) await port.one('SELECT pg_terminate_backend(?)', [l.pid]);
    });
    try {
      // No decision runs meanwhile (no transaction re-check, no TTL re-read): only the re-read on reconnect.
      await until('the other replica’s memory is halted after its LISTEN reconnected', () => b.services.halt.memory.peek()?.value === true);
    } finally {
      await store.withPort((port) => port.run('UPDATE halt_state SET halted = 0 WHERE slot = 1'));
      await a.services.halt.memory.refresh();
      await b.services.halt.memory.refresh();
    }
  });
});
