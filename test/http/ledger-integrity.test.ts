import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteLedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import {
  bearer,
  buildTestApp,
  createAgentKey,
  dropLedgerGuards,
  seedSession,
  tempDir,
  type TestApp,
} from '../helpers/build-test-app.js';

/**
 * Issue 14 C9: the ledger's append-only guards are re-created at every start, and the chain's tail is
 * checked before serving; a broken tail makes /ready fail and every append (and so every decision) 503.
 * C11 (a): full-chain verification is single-flight and cached while the head is unchanged, shared by
 * GET /ledger/verify and the Art 12 report.
 */

const GUARDS = ['ledger_entries_no_delete', 'ledger_entries_no_replace', 'ledger_entries_no_update'];
const triggers = (db: Db) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entries' ORDER BY name").pluck().all();
const entryCount = (db: Db) => db.prepare('SELECT count(*) FROM ledger_entries').pluck().get() as number;

interface Logged {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function logCapture() {
  const lines: Logged[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Logged) } };
}

const POLICY = {
  policy_id: 'p',
  terms: [
    { id: 'agent', type: 'actor', value: 'ai_agent:*' },
    { id: 'read_customer', type: 'action' },
  ],
  relations: [{ type: 'permits', source: 'agent', target: 'read_customer' }],
};
const DECIDE = { actor: 'ai_agent:a', proposed_action: 'read_customer', tool: 'crm' };

/** A database file with a policy, an agent key and a few decisions; the first app is closed. */
async function populated(): Promise<{ dir: string; file: string; agent: string }> {
  const dir = tempDir();
  const file = path.join(dir, 'lexecon.db');
  const first = await buildTestApp({ env: { LEXECON_DATA_DIR: dir }, db: openDatabase(file) });
  const agent = (await createAgentKey(first)).secret;
  const lead = await seedSession(first, 'governance_lead');
  expect((await first.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: POLICY })).statusCode).toBe(201);
  for (let i = 0; i < 5; i++) {
    const res = await first.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: DECIDE });
    expect(res.statusCode).toBe(200);
  }
  await first.app.close();
  first.db.close();
  return { dir, file, agent };
}

let open: TestApp | undefined;
afterEach(async () => {
  await open?.app.close();
  open?.db.close();
  open = undefined;
});

describe('ledger guards and tail check at start', () => {
  it('dropped triggers and an altered entry in the tail: guards back, /ready 503, decisions 503 and nothing appended', async () => {
    const { dir, file, agent } = await populated();
    const db = openDatabase(file);
    dropLedgerGuards(db);
    const head = db.prepare('SELECT max(seq) FROM ledger_entries').pluck().get() as number;
    // Not the head (the old start-up check looked at the head only): an entry a few places before it.
    const altered = head - 3;
    const changed = db
      .prepare(`UPDATE ledger_entries SET data = json_set(data, '$.tampered', 1) WHERE seq = ?`)
      .run(altered).changes;
    expect(changed).toBe(1);
    expect(triggers(db)).toEqual([]);
    db.close();

    const log = logCapture();
    open = await buildTestApp({ env: { LEXECON_DATA_DIR: dir, LEXECON_LOG_LEVEL: 'info' }, db: openDatabase(file), logStream: log.stream });
    const t = open;
    expect(triggers(t.db)).toEqual(GUARDS);
    const warning = log.lines.find((l) => l.level === 40 && l.msg.includes('append-only guards were missing'));
    expect(warning).toMatchObject({ guards: expect.arrayContaining([{ name: 'ledger_entries_no_update', problem: 'missing' }]) });
    const error = log.lines.find((l) => l.level === 50 && l.msg.includes(`seq ${altered}`));
    expect(error?.msg).toContain('refusing ledger writes');

    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', checks: { ledger: { ok: false, detail: expect.stringContaining(`seq ${altered}`) } } });

    const before = entryCount(t.db);
    const res = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: DECIDE });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'LEDGER_CORRUPT', message: expect.any(String) }, request_id: expect.any(String) });
    expect(entryCount(t.db)).toBe(before);
    // The guards are live again: the tampered row cannot be "repaired" quietly through SQL either.
    expect(() => t.db.prepare('UPDATE ledger_entries SET data = data WHERE seq = ?').run(altered)).toThrow(/append-only/);
  });

  it('an intact database starts ready, with no warning, and keeps appending', async () => {
    const { dir, file, agent } = await populated();
    const log = logCapture();
    open = await buildTestApp({ env: { LEXECON_DATA_DIR: dir, LEXECON_LOG_LEVEL: 'info' }, db: openDatabase(file), logStream: log.stream });
    const t = open;
    expect(log.lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(triggers(t.db)).toEqual(GUARDS);
    const [startup] = (await t.services.ledger.listEntries({ eventType: 'system_startup', limit: 10 })).slice(-1);
    expect(JSON.parse(startup!.dataJson).ledger_guards_repaired).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const res = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: DECIDE });
    expect(res.statusCode).toBe(200);
  });

  it('a trigger replaced by a look-alike that does nothing, and a foreign trigger that drops appends, are repaired', async () => {
    const { dir, file } = await populated();
    const db = openDatabase(file);
    dropLedgerGuards(db);
    db.exec(`CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries WHEN 0 BEGIN SELECT RAISE(ABORT, 'x'); END;
      CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
      CREATE TRIGGER swallow BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(IGNORE); END;`);
    db.close();
    const log = logCapture();
    open = await buildTestApp({ env: { LEXECON_DATA_DIR: dir, LEXECON_LOG_LEVEL: 'info' }, db: openDatabase(file), logStream: log.stream });
    const t = open;
    expect(triggers(t.db)).toEqual(GUARDS);
    const warning = log.lines.find((l) => l.level === 40 && l.msg.includes('append-only guards'));
    expect(warning?.guards).toEqual(
      expect.arrayContaining([
        { name: 'swallow', problem: 'foreign' },
        { name: 'ledger_entries_no_update', problem: 'altered' },
        { name: 'ledger_entries_no_replace', problem: 'missing' },
      ]),
    );
    expect(warning?.guards).toHaveLength(3);
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    // Recorded where it cannot be lost with the log: the system_startup entry of this start.
    const [startup] = (await t.services.ledger.listEntries({ eventType: 'system_startup', limit: 10 })).slice(-1);
    expect(JSON.parse(startup!.dataJson).ledger_guards_repaired).toEqual(warning?.guards);
    const before = entryCount(t.db);
    await t.services.ledger.append('decision', { n: 1 });
    expect(entryCount(t.db)).toBe(before + 1);
  });

  it('a full verification that finds a break deeper in the chain makes the ledger refuse appends', async () => {
    open = await buildTestApp();
    const t = open;
    for (let i = 0; i < 5; i++) await t.services.ledger.append('decision', { i });
    dropLedgerGuards(t.db);
    t.db.prepare(`UPDATE ledger_entries SET data = json_set(data, '$.tampered', 1) WHERE seq = 2`).run();
    const report = (await t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(await seedSession(t)) })).json();
    expect(report).toMatchObject({ valid: false, first_invalid: { seq: 2 } });
    await expect(t.services.ledger.append('decision', {})).rejects.toMatchObject({ statusCode: 503, code: 'LEDGER_CORRUPT' });
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
  });
});

describe('full-chain verification is shared', () => {
  /** Full passes over the chain: verification pages that start at the genesis entry. */
  function countFullPasses() {
    const spy = vi.spyOn(SqliteLedgerRepo.prototype, 'verificationRows');
    return { passes: () => spy.mock.calls.filter(([after]) => after === -1).length, restore: () => spy.mockRestore() };
  }

  it('concurrent callers of /ledger/verify and the Art 12 report share one computation; a moved head or an old report recomputes', async () => {
    open = await buildTestApp();
    const t = open;
    for (let i = 0; i < 50; i++) await t.services.ledger.append('decision', { i });
    const auditor = await seedSession(t, 'auditor');
    const spy = countFullPasses();
    try {
      const verify = () => t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(auditor) });
      const art12 = () => t.app.inject({ method: 'GET', url: '/api/governance/eu-ai-act/article-12', headers: bearer(auditor) });
      const responses = await Promise.all([...Array.from({ length: 8 }, verify), art12(), art12()]);
      for (const r of responses) expect(r.statusCode).toBe(200);
      expect(spy.passes()).toBe(1);
      const heads = new Set(responses.map((r, i) => (i >= 8 ? r.json().ledger_verification.head_hash : r.json().head_hash)));
      expect(heads.size).toBe(1);

      // Again within the cache period, head unchanged: no new computation.
      expect((await verify()).json()).toMatchObject({ valid: true });
      expect((await art12()).statusCode).toBe(200);
      expect(spy.passes()).toBe(1);

      // The head moved: the next caller gets a fresh report of the new head.
      const receipt = await t.services.ledger.append('decision', { more: true });
      expect((await verify()).json()).toMatchObject({ valid: true, head_seq: receipt.seq, head_hash: receipt.entryHash });
      expect(spy.passes()).toBe(2);

      // The report grew old: recomputed even though the head did not move.
      t.clock.advance(6_000);
      expect((await verify()).statusCode).toBe(200);
      expect(spy.passes()).toBe(3);
    } finally {
      spy.restore();
    }
  });
});
