/**
 * The escalation and override repositories on the storage port: one scenario, written against the
 * port only, whose results are the same on every driver. It runs on SQLite here; once the PostgreSQL
 * migrations are in `allMigrations`, the same `contract` runs on a fresh PostgreSQL database too (the
 * SQL was checked there by hand against the PostgreSQL schema of those migrations, with identical results).
 */
import { describe, expect, it } from 'vitest';
import { isDuplicateEscalation } from '../../src/modules/escalation/escalation.errors.js';
import { EscalationRepo, type NewEscalation } from '../../src/modules/escalation/escalation.repo.js';
import { OverrideRepo, type OverrideRecord } from '../../src/modules/override/override.repo.js';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { UniqueViolation } from '../../src/platform/db/errors.js';
import { migrate } from '../../src/platform/db/migrations.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';

const entry = (seq: number) => ({ seq, entryHash: 'h'.repeat(64) });
const ids = (rows: ReadonlyArray<{ escalationId: string } | { overrideId: string }>) =>
  rows.map((r) => ('escalationId' in r ? r.escalationId : r.overrideId));

function escalation(i: number, extra: Partial<NewEscalation> = {}): NewEscalation {
  return {
    escalationId: `esc_0${i}`,
    decisionId: `dec_0${i}`,
    priority: i % 2 ? 'high' : 'low',
    trigger: 'manual',
    escalatedTo: ['approver'],
    contextSummary: null,
    slaDeadline: `2026-11-25T1${i}:00:00.000Z`,
    createdBy: 'usr_x',
    createdAt: '2026-11-25T09:00:00.000Z',
    ...extra,
  };
}

const OVERRIDE: OverrideRecord = {
  overrideId: 'ovr_01',
  decisionId: 'dec_01',
  originalOutcome: 'denied',
  newOutcome: 'approved',
  conditions: ['a'],
  overrideType: 'manual',
  justification: 'j'.repeat(20),
  authorizedBy: 'usr_a',
  authorizedRole: 'executive',
  twoPerson: true,
  status: 'pending_confirmation',
  createdAt: '2026-11-25T09:00:00.000Z',
  expiresAt: null,
  lapsesAt: '2026-11-26T09:00:00.000Z',
  effectiveAt: null,
  effectiveSeq: null,
  confirmedBy: null,
  confirmedRole: null,
  confirmedAt: null,
  closedAt: null,
  closedBy: null,
  interventionId: 'int_1',
  confirmationInterventionId: null,
  tokenIssued: null,
  tokenRevoked: null,
  ledgerSeq: 10,
  ledgerEntryHash: 'h'.repeat(64),
};

function contract(open: () => Promise<DbPort>): void {
  it('escalations: insert with history, the filters, the cursors, the counts and the conditional changes', async () => {
    const port = await open();
    const repo = new EscalationRepo(port);
    await port.transaction(async (tx) => {
      await repo.insertPending(tx, escalation(1), entry(1), 'admin');
      await repo.insertPending(tx, escalation(2, { contextSummary: 'why', contextSummarySource: 'user' }), entry(2));
      await repo.insertPending(tx, escalation(3, { escalatedTo: ['executive', 'usr_abc'] }), entry(3));
      await repo.insertPending(tx, escalation(4, { escalatedTo: ['usr_ab'] }), entry(4));
      await repo.insertPending(tx, escalation(5, { openedBy: 'usr_o', assignedBy: 'usr_o' }), entry(5));
    });
    // A second case of a decision: the unique index refuses it, recognised on every driver.
    const dup = await port
      .transaction((tx) => repo.insertPending(tx, escalation(9, { decisionId: 'dec_01' }), entry(9)))
      .then(() => undefined, (err: unknown) => err);
    expect(dup).toBeInstanceOf(UniqueViolation);
    expect(isDuplicateEscalation(dup)).toBe(true);

    expect(await repo.byId('esc_02')).toMatchObject({
      status: 'pending',
      escalatedTo: ['approver'],
      contextSummary: 'why',
      contextSummarySource: 'user',
      openedBy: 'system',
      assignedBy: 'system',
      slaMissed: 0,
      version: 0,
    });
    expect((await repo.byId('esc_05'))!.openedBy).toBe('usr_o');
    expect(ids(await repo.byDecision('dec_03'))).toEqual(['esc_03']);
    expect(await repo.history('esc_01')).toEqual([
      expect.objectContaining({ event: 'created', by: 'usr_x', role: 'admin', ledgerSeq: 1, details: expect.objectContaining({ opened_by: 'system' }) }),
    ]);

    expect(ids(await repo.list({ limit: 10 }))).toEqual(['esc_05', 'esc_04', 'esc_03', 'esc_02', 'esc_01']);
    expect(ids(await repo.list({ limit: 2, status: 'open', beforeId: 'esc_04' }))).toEqual(['esc_03', 'esc_02']);
    // Whole elements only: usr_ab is not usr_abc.
    expect(ids(await repo.list({ limit: 10, assignedToAny: ['usr_ab', 'approver'] }))).toEqual(['esc_05', 'esc_04', 'esc_02', 'esc_01']);
    expect(ids(await repo.list({ limit: 10, assignedToAny: ['usr_abc', 'nobody'] }))).toEqual(['esc_03']);
    expect(ids(await repo.list({ limit: 10, assignedToAny: [] }))).toEqual([]);
    const now = '2026-11-25T14:00:00.000Z';
    expect(ids(await repo.list({ limit: 10, priority: 'high', decisionId: 'dec_03', overdueAt: now }))).toEqual(['esc_03']);

    expect(ids(await repo.overdue(now, 2))).toEqual(['esc_01', 'esc_02']);
    expect(ids(await repo.overdue(now, 2, { slaDeadline: '2026-11-25T12:00:00.000Z', escalationId: 'esc_02' }))).toEqual(['esc_03']);
    expect(ids(await repo.violations(now, 10, undefined))).toEqual(['esc_01', 'esc_02', 'esc_03']);
    expect(ids(await repo.violations(now, 10, 'esc_01'))).toEqual(['esc_02', 'esc_03']);
    const byPriority = (rows: Array<{ priority: string }>) => [...rows].sort((a, b) => a.priority.localeCompare(b.priority));
    expect(byPriority(await repo.openCounts('2026-11-25T12:30:00.000Z'))).toEqual([
      { priority: 'high', open: 3, overdue: 1 },
      { priority: 'low', open: 2, overdue: 1 },
    ]);

    const results = await port.transaction(async (tx) => [
      await repo.acknowledge(tx, 'esc_01', 0, '2026-11-25T10:00:00.000Z', 'usr_r'),
      // The version read is stale now: nothing changes.
      await repo.acknowledge(tx, 'esc_01', 0, '2026-11-25T10:00:00.000Z', 'usr_r'),
      await repo.moveUp(tx, 'esc_01', 1, {
        escalatedTo: ['executive'],
        assignedBy: 'system',
        slaDeadline: '2026-11-26T00:00:00.000Z',
        missedSla: true,
        at: '2026-11-25T11:00:00.000Z',
      }),
      await repo.recordBreach(tx, 'esc_02', 0, '2026-11-25T11:00:00.000Z'),
      await repo.resolve(tx, 'esc_03', 0, { resolution: 'approved', by: 'usr_r', at: '2026-11-25T11:00:00.000Z', notes: 'ok' }),
      await repo.resolve(tx, 'esc_03', 1, { resolution: 'denied', by: 'usr_r', at: '2026-11-25T11:00:00.000Z', notes: 'ok' }),
    ]);
    expect(results).toEqual([true, false, true, true, true, false]);
    expect(await repo.byId('esc_01')).toMatchObject({
      status: 'pending',
      escalatedTo: ['executive'],
      slaMissed: 1,
      acknowledgedAt: null,
      version: 2,
    });
    expect(await repo.byId('esc_03')).toMatchObject({ status: 'resolved', resolution: 'approved', version: 1 });
    expect(byPriority(await repo.openCounts('2026-11-25T12:30:00.000Z'))).toEqual([
      { priority: 'high', open: 2, overdue: 0 },
      { priority: 'low', open: 2, overdue: 1 },
    ]);
    await port.close();
  });

  it('overrides: insert, the order they took effect, lapses, the status filter and the conditional changes', async () => {
    const port = await open();
    const repo = new OverrideRepo(port);
    await port.transaction(async (tx) => {
      await repo.insert(tx, OVERRIDE);
      await repo.insert(tx, {
        ...OVERRIDE,
        overrideId: 'ovr_02',
        decisionId: 'dec_02',
        twoPerson: false,
        status: 'active',
        effectiveAt: '2026-11-25T09:00:00.000Z',
        effectiveSeq: 11,
        expiresAt: '2026-11-25T10:00:00.000Z',
        lapsesAt: '2026-11-25T10:00:00.000Z',
      });
      await repo.insert(tx, { ...OVERRIDE, overrideId: 'ovr_03', decisionId: 'dec_02', status: 'rejected', closedAt: '2026-11-25T09:30:00.000Z', closedBy: 'usr_b', lapsesAt: null });
      await repo.insert(tx, { ...OVERRIDE, overrideId: 'ovr_04', decisionId: 'dec_02', twoPerson: false, status: 'active', effectiveAt: '2026-11-25T09:00:00.000Z', effectiveSeq: 5, lapsesAt: null });
    });
    expect(await repo.byId('ovr_01')).toEqual(OVERRIDE);
    // Never took effect first (NULL effective_seq, whichever end a dialect sorts NULLs to), then in ledger order.
    expect(ids(await repo.forDecision('dec_02'))).toEqual(['ovr_03', 'ovr_04', 'ovr_02']);
    expect((await repo.pendingFor('dec_01'))?.overrideId).toBe('ovr_01');
    expect(await repo.pendingFor('dec_02')).toBeUndefined();
    expect(await repo.nextLapse()).toBe('2026-11-25T10:00:00.000Z');
    expect(ids(await repo.due('2026-11-27T00:00:00.000Z', 10))).toEqual(['ovr_02', 'ovr_01']);
    expect(ids(await repo.due('2026-11-27T00:00:00.000Z', 10, { lapsesAt: '2026-11-25T10:00:00.000Z', overrideId: 'ovr_02' }))).toEqual(['ovr_01']);
    expect(ids(await repo.list({ now: '2026-11-25T11:00:00.000Z', limit: 10, status: 'expired' }))).toEqual(['ovr_02']);
    expect(ids(await repo.list({ now: '2026-11-25T09:30:00.000Z', limit: 1, status: 'active', decisionId: 'dec_02', authorizedBy: 'usr_a', beforeId: 'ovr_09' }))).toEqual(['ovr_04']);

    const results = await port.transaction(async (tx) => [
      await repo.expire(tx, 'ovr_02', 'active', '2026-11-25T11:00:00.000Z', 'override_expiry'),
      // Recorded once: a second sweep (or replica) finds nothing to change.
      await repo.expire(tx, 'ovr_02', 'active', '2026-11-25T11:00:00.000Z', 'override_expiry'),
      await repo.activate(tx, 'ovr_01', { userId: 'usr_b', role: 'admin', interventionId: 'int_2' }, {
        at: '2026-11-25T10:00:00.000Z',
        effectiveSeq: 12,
        lapsesAt: null,
        tokenIssued: 'tok_1',
        tokenRevoked: null,
      }),
      await repo.reject(tx, 'ovr_01', '2026-11-25T10:00:00.000Z', 'usr_c', 'int_3'),
    ]);
    expect(results).toEqual([true, false, true, false]);
    expect(await repo.byId('ovr_02')).toMatchObject({ status: 'expired', closedAt: '2026-11-25T10:00:00.000Z', closedBy: 'override_expiry' });
    expect(await repo.byId('ovr_01')).toMatchObject({ status: 'active', confirmedBy: 'usr_b', effectiveSeq: 12, tokenIssued: 'tok_1' });
    expect(await repo.nextLapse()).toBeNull();
    await port.close();
  });
}

describe('escalation and override repositories on SQLite', () => {
  contract(async () => {
    const db = openDatabase(':memory:');
    migrate(db, allMigrations);
    return createSqlitePort(db);
  });
});
