/**
 * The compliance-side repositories on the storage port (ComplianceRepo, EuAiActRepo, EvidenceRepo,
 * RetentionRepo), ONE suite run on both drivers: what each method reads and writes, with the rows
 * seeded through the port. PostgreSQL: a fresh database on the run's throwaway cluster with every
 * migration applied (`migratePort`), skipped with the reason when the machine has none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { ComplianceRepo } from '../../src/modules/compliance/compliance.repo.js';
import { EuAiActRepo } from '../../src/modules/eu-ai-act/eu-ai-act.repo.js';
import { EvidenceRepo } from '../../src/modules/evidence/evidence.repo.js';
import { RetentionRepo, type HoldRecord } from '../../src/modules/retention/retention.repo.js';
import type { HoldScope } from '../../src/modules/retention/retention.core.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { freshDatabase, postgresForTests } from '../helpers/postgres.js';

interface Backend {
  name: 'sqlite' | 'postgres';
  skipReason: string | null;
  /** A migrated, empty database and how to dispose of it. */
  open(): Promise<{ port: DbPort; close(): Promise<void> }>;
}

const provided = postgresForTests();
const backends: Backend[] = [
  {
    name: 'sqlite',
    skipReason: null,
    open: async () => {
      const db = openDatabase(':memory:');
      migrate(db, allMigrations);
      const port = createSqlitePort(db);
      return { port, close: () => port.close() };
    },
  },
  {
    name: 'postgres',
    skipReason: provided.url === null ? provided.reason : null,
    open: async () => {
      const database = await freshDatabase();
      const port = await openPostgresPort({ url: database.url, poolSize: 2 });
      await migratePort(port, allMigrations);
      return {
        port,
        close: async () => {
          await port.close();
          await database.drop();
        },
      };
    },
  },
];

const H = 'a'.repeat(64);
const day = (d: number) => `2026-01-${String(d).padStart(2, '0')}T00:00:00.000Z`;
const hex = (n: number) => n.toString(16).padStart(64, '0');

/** Ledger entries 0..3 on days 1..4 (entry 2 is an export_created), decisions dec_1..3 on days 1..3 with payloads. */
async function seed(port: DbPort): Promise<void> {
  for (let i = 0; i <= 3; i++) {
    await port.run('INSERT INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      i,
      `entry_${i}`,
      i === 2 ? 'export_created' : 'test_event',
      day(i + 1),
      '{"x":1}',
      i === 0 ? hex(0) : hex(i),
      hex(i + 1),
    ]);
  }
  for (let i = 1; i <= 3; i++) {
    await port.run(
      `INSERT INTO decisions (decision_id, principal_id, request_digest, actor, action, tool, outcome, risk_score, risk_level, ledger_seq, ledger_entry_hash, created_at, response)
       VALUES (?, 'p', 'd', ?, 'a', 't', ?, 1, 'low', ?, ?, ?, '{}')`,
      [`dec_${i}`, i === 2 ? 'agent:x' : 'agent:y', i === 3 ? 'denied' : 'approved', i, H, day(i)],
    );
    await port.run('INSERT INTO decision_payloads (decision_id, request, created_at) VALUES (?, ?, ?)', [`dec_${i}`, '{}', day(i)]);
  }
}

function hold(holdId: string, scope: string, incidentId: string | null = null): HoldRecord {
  return { holdId, scope, reason: 'r', createdBy: 'u', createdAt: day(5), releasedBy: null, releasedAt: null, incidentId, ledgerSeq: 9 };
}

for (const backend of backends) {
  const title = `compliance repositories: ${backend.name}`;
  if (backend.skipReason !== null) console.warn(`[postgres] SKIPPED '${title}': ${backend.skipReason}`);
  (backend.skipReason === null ? describe : describe.skip)(backend.skipReason === null ? title : `${title} [SKIPPED: ${backend.skipReason}]`, () => {
    let port: DbPort;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ port, close } = await backend.open());
      await seed(port);
    });
    afterEach(async () => {
      await close();
    });

    it('ComplianceRepo: a scope decision is upserted; export_created entries are counted', async () => {
      const repo = new ComplianceRepo(port);
      const scope = { frameworkId: 'soc2', changedBy: 'u', ledgerSeq: 1, ledgerEntryHash: H };
      await port.transaction((tx) => repo.putScope(tx, { ...scope, inScope: false, justification: 'x'.repeat(25), changedAt: day(1) }));
      await port.transaction((tx) => repo.putScope(tx, { ...scope, inScope: true, justification: null, changedAt: day(2) }));
      expect(await repo.scopes()).toEqual([{ frameworkId: 'soc2', inScope: true, justification: null, changedBy: 'u', changedAt: day(2), ledgerSeq: 1 }]);
      expect(await repo.exports()).toEqual({ count: 1, lastSeq: 2, lastAt: day(3) });
      expect(await repo.users()).toEqual([]);
    });

    it('EuAiActRepo: profiles newest first with a cursor (one above any 32-bit version reads all), counts, entries of types', async () => {
      const repo = new EuAiActRepo(port);
      for (const version of [1, 2, 3]) {
        await port.transaction((tx) =>
          repo.insertProfile(tx, { version, profile: '{}', profileSha256: H, updatedBy: 'u', updatedAt: day(version), ledgerSeq: version }),
        );
      }
      expect((await repo.latestProfile())?.version).toBe(3);
      expect((await repo.profileVersions(undefined, 2)).map((p) => p.version)).toEqual([3, 2]);
      expect((await repo.profileVersions(3, 10)).map((p) => p.version)).toEqual([2, 1]);
      expect((await repo.profileVersions(9_999_999_999, 10)).map((p) => p.version)).toEqual([3, 2, 1]);
      const w = { since: day(1), until: day(4) };
      expect([...(await repo.ledgerCounts(w))].sort()).toEqual([['export_created', 1], ['test_event', 2]]);
      expect(await repo.decisionCounts(w)).toEqual(
        expect.arrayContaining([
          { outcome: 'approved', riskLevel: 'low', count: 2 },
          { outcome: 'denied', riskLevel: 'low', count: 1 },
        ]),
      );
      expect((await repo.ledgerEntriesOfTypes(['export_created', 'nothing'], day(9))).map((e) => e.seq)).toEqual([2]);
      expect((await repo.ledgerEntriesOfTypes(['test_event'], day(2))).map((e) => e.seq)).toEqual([0, 1]);
      expect(await repo.activeLegalHolds()).toEqual([]);
    });

    it('EvidenceRepo: the segment of a period with its heads, escalations with their events, one read snapshot', async () => {
      await port.run(`INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, sla_deadline, created_by, created_at, updated_at)
        VALUES ('esc_1', 'dec_2', 'pending', 'high', 'manual', '["x"]', ?, 'system', ?, ?)`, [day(9), day(2), day(2)]);
      for (const event of ['created', 'acknowledged']) {
        await port.run(
          `INSERT INTO escalation_events (escalation_id, event, at, "by", role, details, ledger_seq, ledger_entry_hash) VALUES ('esc_1', ?, ?, 'u', NULL, '{}', 1, ?)`,
          [event, day(2), H],
        );
      }
      const repo = new EvidenceRepo(port);
      const snap = await repo.snapshot(day(2), day(4), ['ledger', 'decisions', 'escalations']);
      expect(snap.entries.map((e) => e.seq)).toEqual([1, 2]);
      expect(snap.head).toEqual({
        head_before: { seq: 0, entry_hash: hex(1) },
        head_after: { seq: 2, entry_hash: hex(3) },
        live_head: { seq: 3, entry_hash: hex(4) },
        first_seq: 1,
        last_seq: 2,
      });
      expect(snap.records.decisions?.map((d) => d.decision_id)).toEqual(['dec_2', 'dec_3']);
      expect(snap.records.escalations).toMatchObject([{ escalation_id: 'esc_1', escalated_to: ['x'], events: [{ event: 'created', by: 'u' }, { event: 'acknowledged' }] }]);
      const empty = await repo.snapshot('2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z', ['ledger']);
      expect(empty.head).toMatchObject({ head_before: { seq: 3 }, head_after: { seq: 3 }, first_seq: null });
    });

    it('RetentionRepo: only unheld payloads are purgeable, and the DELETE re-checks that itself', async () => {
      const repo = new RetentionRepo(port);
      const cutoff = day(9);
      expect(await repo.purgeable(cutoff, 10)).toEqual(['dec_1', 'dec_2', 'dec_3']);
      await port.transaction(async (tx) => {
        await repo.insertIncident(tx, { incidentId: 'inc_1', title: 't', category: 'death', description: null, awareAt: day(1), reportDueAt: day(11), createdBy: 'u', createdAt: day(5), ledgerSeq: 9, decisionIds: ['dec_1'] });
        const scopes: Array<[HoldRecord, HoldScope]> = [
          [hold('hld_1', 'incident:inc_1', 'inc_1'), { kind: 'incident', incidentId: 'inc_1' }],
          [hold('hld_2', 'actor:agent:x'), { kind: 'actor', actor: 'agent:x' }],
        ];
        for (const [h, s] of scopes) await repo.insertHold(tx, h, s);
      });
      expect(await repo.purgeable(cutoff, 10)).toEqual(['dec_3']);
      expect(await repo.countHeld(cutoff)).toBe(2);
      // A held id in the batch: not deleted, and the batch reports it; the caller throws, so that its
      // transaction keeps nothing of the batch (dec_3 stays too).
      const raced = new Error('raced');
      await expect(
        port.transaction(async (tx) => {
          if (!(await repo.deletePayloads(tx, ['dec_3', 'dec_1'], cutoff))) throw raced;
        }),
      ).rejects.toBe(raced);
      expect(await repo.purgeable(cutoff, 10)).toEqual(['dec_3']);
      expect(await port.transaction((tx) => repo.deletePayloads(tx, ['dec_3'], cutoff))).toBe(true);
      expect(await port.transaction((tx) => repo.deletePayloads(tx, ['dec_3'], cutoff))).toBe(false);
      const left = await port.all<{ decision_id: string }>('SELECT decision_id FROM decision_payloads ORDER BY decision_id');
      expect(left.map((r) => r.decision_id)).toEqual(['dec_1', 'dec_2']);
      // More ids than one DELETE statement takes.
      const many = Array.from({ length: 150 }, (_, i) => `dec_x${String(i).padStart(3, '0')}`);
      for (const id of many) {
        await port.run(
          `INSERT INTO decisions (decision_id, principal_id, request_digest, actor, action, tool, outcome, risk_score, risk_level, ledger_seq, ledger_entry_hash, created_at, response)
           VALUES (?, 'p', 'd', 'agent:z', 'a', 't', 'approved', 1, 'low', 1, ?, ?, '{}')`,
          [id, H, day(4)],
        );
        await port.run('INSERT INTO decision_payloads (decision_id, request, created_at) VALUES (?, ?, ?)', [id, '{}', day(4)]);
      }
      expect(await port.transaction((tx) => repo.deletePayloads(tx, many, cutoff))).toBe(true);
      expect(await repo.purgeable(cutoff, 10)).toEqual([]);
    });

    it('RetentionRepo: holds and incidents are listed, filtered and changed only once', async () => {
      const repo = new RetentionRepo(port);
      await port.transaction(async (tx) => {
        await repo.insertIncident(tx, { incidentId: 'inc_1', title: 't', category: 'death', description: null, awareAt: day(1), reportDueAt: day(11), createdBy: 'u', createdAt: day(5), ledgerSeq: 9, decisionIds: ['dec_2', 'dec_1'] });
        await repo.insertHold(tx, hold('hld_1', 'incident:inc_1', 'inc_1'), { kind: 'incident', incidentId: 'inc_1' });
        await repo.insertHold(tx, hold('hld_2', 'all'), { kind: 'all' });
        await repo.insertHold(tx, hold('hld_3', `period:${day(1)}/${day(2)}`), { kind: 'period', from: day(1), to: day(2) });
      });
      expect(await port.transaction((tx) => repo.releaseHold(tx, 'hld_3', 'u', day(6)))).toBe(true);
      expect(await port.transaction((tx) => repo.releaseHold(tx, 'hld_3', 'u', day(6)))).toBe(false);
      const ids = (hs: HoldRecord[]) => hs.map((h) => h.holdId);
      expect(ids(await repo.holds({ limit: 10 }))).toEqual(['hld_3', 'hld_2', 'hld_1']);
      expect(ids(await repo.holds({ active: true, limit: 10 }))).toEqual(['hld_2', 'hld_1']);
      expect(ids(await repo.holds({ active: false, limit: 10 }))).toEqual(['hld_3']);
      expect(ids(await repo.holds({ active: true, beforeId: 'hld_2', limit: 10 }))).toEqual(['hld_1']);
      expect(ids(await repo.holds({ limit: 1 }))).toEqual(['hld_3']);
      expect(await repo.countActiveHolds()).toBe(2);
      expect((await repo.activeHoldOfIncident('inc_1'))?.holdId).toBe('hld_1');
      expect(await repo.hold('hld_3')).toMatchObject({ releasedBy: 'u', releasedAt: day(6) });
      expect(await repo.decisionExists('dec_1')).toBe(true);
      expect(await repo.decisionExists('dec_9')).toBe(false);

      expect(await repo.incident('inc_1')).toMatchObject({ status: 'open', decisionIds: ['dec_1', 'dec_2'], initialReportSubmittedAt: null });
      expect(await port.transaction((tx) => repo.recordInitialReport(tx, 'inc_1', day(6)))).toBe(true);
      expect(await port.transaction((tx) => repo.recordInitialReport(tx, 'inc_1', day(7)))).toBe(false);
      expect(await port.transaction((tx) => repo.closeIncident(tx, 'inc_1', 'u', day(7), 'done'))).toBe(true);
      expect(await port.transaction((tx) => repo.closeIncident(tx, 'inc_1', 'u', day(7), 'done'))).toBe(false);
      expect((await repo.incidents({ status: 'closed', limit: 10 })).map((i) => [i.incidentId, i.initialReportSubmittedAt, i.closeNotes])).toEqual([['inc_1', day(6), 'done']]);
      expect(await repo.incidents({ status: 'open', limit: 10 })).toEqual([]);
      expect(await repo.incidents({ beforeId: 'inc_1', limit: 10 })).toEqual([]);
    });

    it('RetentionRepo: runs, expired sessions, and exports kept by a hold on their period', async () => {
      const repo = new RetentionRepo(port);
      const evidence = new EvidenceRepo(port);
      for (const [exportId, from, to] of [['evd_1', day(1), day(2)], ['evd_2', day(3), day(4)]] as const) {
        await port.transaction((tx) =>
          evidence.insert(tx, {
            exportId, from, to, include: ['ledger'], counts: {}, fileName: `${exportId}.tar`, sha256: H, tagmanifestSha256: H, size: 1,
            firstSeq: null, lastSeq: null, headBeforeSeq: null, headBeforeHash: H, headAfterSeq: null, headAfterHash: H,
            createdBy: 'cli', createdRole: null, createdAt: day(5), ledgerSeq: 3, ledgerEntryHash: H,
          }),
        );
      }
      expect((await evidence.list({ limit: 1 })).map((e) => e.exportId)).toEqual(['evd_2']);
      expect((await evidence.list({ beforeId: 'evd_2', limit: 5 })).map((e) => e.exportId)).toEqual(['evd_1']);
      expect(await evidence.get('evd_1')).toMatchObject({ from: day(1), to: day(2), include: ['ledger'], headBeforeSeq: null });
      await port.transaction((tx) => repo.insertHold(tx, hold('hld_1', `period:${day(3)}/${day(9)}`), { kind: 'period', from: day(3), to: day(9) }));
      expect(await repo.expiredExports(day(9))).toEqual([{ exportId: 'evd_1', fileName: 'evd_1.tar' }]);
      expect(await repo.heldExports(day(9))).toEqual(['evd_2']);

      await port.transaction((tx) =>
        repo.insertRun(tx, { runId: 'ret_1', trigger: 'cli', requestedBy: null, retentionDays: 183, cutoff: day(1), startedAt: day(5), finishedAt: day(5), purged: 2, held: 1, sessionsPurged: 0, batches: 1, ledgerSeq: 3 }),
      );
      expect(await repo.runs(5)).toEqual([
        { runId: 'ret_1', trigger: 'cli', requestedBy: null, retentionDays: 183, cutoff: day(1), startedAt: day(5), finishedAt: day(5), purged: 2, held: 1, sessionsPurged: 0, batches: 1, ledgerSeq: 3 },
      ]);
      expect(await repo.countExpiredSessions(day(9))).toBe(0);
      expect(await port.transaction((tx) => repo.deleteExpiredSessions(tx, day(9)))).toBe(0);
    });
  });
}
