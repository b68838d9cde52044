/**
 * DecisionRepo.insert with the other writes of its ledger transaction (the token before it, the
 * escalation after it) in one runAll, on both drivers: all of it is written, and a second decision for
 * the same (principal, request_id) answers false with nothing of its call kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionRepo, type DecisionRow } from '../../src/modules/decision/decision.repo.js';
import { EscalationRepo } from '../../src/modules/escalation/escalation.repo.js';
import { TokenRepo } from '../../src/modules/tokens/tokens.repo.js';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { UniqueViolation } from '../../src/platform/db/errors.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { rejection } from '../helpers/paths.js';

const TS = '2026-12-01T10:00:00.000Z';
const HASH = 'a'.repeat(64);

function decision(id: string, requestId: string | null, seq: number): DecisionRow {
  return {
    decisionId: id,
    principalId: 'key_1',
    requestId,
    requestDigest: 'd'.repeat(64),
    actor: 'agent',
    action: 'read',
    tool: 'fs',
    sessionId: null,
    outcome: 'escalated',
    riskScore: 10,
    riskLevel: 'low',
    policyVersionHash: null,
    ledgerSeq: seq,
    ledgerEntryHash: HASH,
    createdAt: TS,
    response: '{}',
  };
}

/** The token row and the escalation rows a decision hook writes with its decision. */
function writes(id: string, seq: number) {
  const token = new TokenRepo(null as unknown as DbPort).insertWrite({
    jti: `jti_${id}`,
    decisionId: id,
    kid: 'k1',
    actor: 'agent',
    action: 'read',
    tool: 'fs',
    issuedAt: TS,
    issuedSeq: seq,
    expiresAt: TS,
    tokenSealed: 'sealed',
  });
  const escalation = new EscalationRepo(null as unknown as DbPort).pendingWrites(
    {
      escalationId: `esc_${id}`,
      decisionId: id,
      priority: 'high',
      trigger: 'policy_requires_approval',
      escalatedTo: ['approver'],
      contextSummary: null,
      slaDeadline: TS,
      createdBy: 'key_1',
      createdAt: TS,
    },
    { seq: seq + 1, entryHash: HASH },
  );
  return { before: [token], after: escalation };
}

function contract(open: () => Promise<DbPort>): void {
  let port: DbPort;
  let repo: DecisionRepo;
  const count = async (table: string, id: string) =>
    (await port.one<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE decision_id = ?`, [id]))!.n;

  beforeAll(async () => {
    port = await open();
    await migratePort(port, allMigrations);
    repo = new DecisionRepo(port);
  });
  afterAll(async () => {
    await port.close();
  });

  it('writes the token, the decision, its payload and its escalation (case and event) together', async () => {
    const inserted = await port.transaction((tx) => repo.insert(tx, decision('dec_1', 'req_1', 1), '{"x":1}', writes('dec_1', 1)));
    expect(inserted).toBe(true);
    for (const table of ['decisions', 'decision_payloads', 'capability_tokens', 'escalations']) expect(await count(table, 'dec_1')).toBe(1);
    expect(await repo.payload('dec_1')).toBe('{"x":1}');
    expect(await port.one('SELECT event FROM escalation_events WHERE escalation_id = ?', ['esc_dec_1'])).toEqual({ event: 'created' });
  });

  it('a second decision for the same (principal, request_id): false, and nothing of its call is kept once rolled back', async () => {
    let inserted: boolean | undefined;
    const thrown = new Error('duplicate');
    const err = await rejection(
      port.transaction(async (tx) => {
        inserted = await repo.insert(tx, decision('dec_2', 'req_1', 3), '{}', writes('dec_2', 3));
        throw thrown; // what the decision hook does (DuplicateRequest)
      }),
    );
    expect(err).toBe(thrown);
    expect(inserted).toBe(false);
    for (const table of ['decisions', 'decision_payloads', 'capability_tokens', 'escalations']) expect(await count(table, 'dec_2')).toBe(0);
    // Without a request_id there is no such conflict.
    expect(await port.transaction((tx) => repo.insert(tx, decision('dec_3', null, 5), '{}'))).toBe(true);
    expect(await port.transaction((tx) => repo.insert(tx, decision('dec_4', null, 6), '{}'))).toBe(true);
  });

  it('any other unique violation is thrown, not taken for a duplicate request', async () => {
    const err = await rejection(port.transaction((tx) => repo.insert(tx, decision('dec_1', 'req_other', 7), '{}')));
    expect(err).toBeInstanceOf(UniqueViolation);
  });
}

describe('DecisionRepo.insert with its transaction’s other writes: SQLite', () => {
  contract(async () => createSqlitePort(openDatabase(':memory:')));
});

describePostgres('DecisionRepo.insert with its transaction’s other writes: PostgreSQL', () => {
  let db: FreshDatabase;
  afterAll(async () => {
    await db?.drop();
  });
  contract(async () => {
    db = await freshDatabase('lexecon_decision_insert');
    return openPostgresPort({ url: db.url, poolSize: 2 });
  });
});
