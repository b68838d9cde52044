import type { Db } from '../../platform/db/connection.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { GENESIS_PREVIOUS_HASH, type StoredEntry } from '../ledger/ledger.chain.js';
import type { ExportKind, LedgerHeadDoc, SegmentHead } from './bagit.js';

/** What an export holds for a period, read in one snapshot. */
export interface EvidenceSnapshot {
  entries: StoredEntry[];
  head: LedgerHeadDoc;
  records: Partial<Record<Exclude<ExportKind, 'ledger'>, Record<string, unknown>[]>>;
}

/** One export as stored. */
export interface EvidenceExportRecord {
  exportId: string;
  from: string;
  to: string;
  include: ExportKind[];
  counts: Record<string, number>;
  fileName: string;
  sha256: string;
  tagmanifestSha256: string;
  size: number;
  firstSeq: number | null;
  lastSeq: number | null;
  headBeforeSeq: number | null;
  headBeforeHash: string;
  headAfterSeq: number | null;
  headAfterHash: string;
  createdBy: string;
  createdRole: string | null;
  createdAt: string;
  ledgerSeq: number;
  ledgerEntryHash: string;
}

type ExportRow = Omit<EvidenceExportRecord, 'include' | 'counts'> & { include: string; counts: string };

const EXPORT_COLUMNS = `export_id AS exportId, period_from AS "from", period_to AS "to", include, counts, file_name AS fileName,
  sha256, tagmanifest_sha256 AS tagmanifestSha256, size, first_seq AS firstSeq, last_seq AS lastSeq,
  head_before_seq AS headBeforeSeq, head_before_hash AS headBeforeHash, head_after_seq AS headAfterSeq,
  head_after_hash AS headAfterHash, created_by AS createdBy, created_role AS createdRole, created_at AS createdAt,
  ledger_seq AS ledgerSeq, ledger_entry_hash AS ledgerEntryHash`;

function toRecord(r: ExportRow): EvidenceExportRecord {
  return { ...r, include: JSON.parse(r.include) as ExportKind[], counts: JSON.parse(r.counts) as Record<string, number> };
}

const hashOrNull = (text: string | null): string | null => (text === null ? null : sha256Hex(text));

/**
 * Reads for exports (ids, hashes, outcomes and times only: never decision payloads, and free-text
 * justifications as their SHA-256) and the `evidence_exports` table.
 */
export class SqliteEvidenceRepo {
  constructor(private readonly db: Db) {}

  /** Everything a package holds for [from, to), in one read transaction (a consistent snapshot). */
  snapshot(from: string, to: string, include: readonly ExportKind[]): EvidenceSnapshot {
    return this.db.transaction(() => this.read(from, to, include))();
  }

  private read(from: string, to: string, include: readonly ExportKind[]): EvidenceSnapshot {
    const db = this.db;
    const one = (sql: string, ...p: unknown[]) => db.prepare(sql).pluck().get(...p) as number | null;
    const headAt = (seq: number | null): SegmentHead => {
      if (seq === null || seq < 0) return { seq: null, entry_hash: GENESIS_PREVIOUS_HASH };
      const hash = db.prepare('SELECT entry_hash FROM ledger_entries WHERE seq = ?').pluck().get(seq) as string;
      return { seq, entry_hash: hash };
    };
    const liveSeq = one('SELECT max(seq) FROM ledger_entries');
    const firstSeq = one('SELECT min(seq) FROM ledger_entries WHERE timestamp >= ?', from);
    const lastSeq = one('SELECT max(seq) FROM ledger_entries WHERE timestamp < ?', to);
    let entries: StoredEntry[] = [];
    let head: LedgerHeadDoc;
    if (firstSeq !== null && lastSeq !== null && firstSeq <= lastSeq) {
      entries = (
        db
          .prepare(
            `SELECT seq, entry_id AS entryId, event_type AS eventType, timestamp, data AS dataJson, previous_hash AS previousHash,
               entry_hash AS entryHash FROM ledger_entries WHERE seq BETWEEN ? AND ? ORDER BY seq`,
          )
          .all(firstSeq, lastSeq) as StoredEntry[]
      );
      const before = headAt(firstSeq - 1);
      head = { head_before: before, head_after: headAt(lastSeq), live_head: headAt(liveSeq), first_seq: firstSeq, last_seq: lastSeq };
    } else {
      // No entry in the period: the segment is empty, positioned after the last entry before `from`.
      const at = headAt(one('SELECT max(seq) FROM ledger_entries WHERE timestamp < ?', from));
      head = { head_before: at, head_after: at, live_head: headAt(liveSeq), first_seq: null, last_seq: null };
    }
    if (!include.includes('ledger')) entries = [];

    const records: EvidenceSnapshot['records'] = {};
    if (include.includes('decisions')) {
      records.decisions = db
        .prepare(
          `SELECT decision_id, principal_id, request_digest, actor, action, tool, outcome, risk_score, risk_level,
             policy_version_hash, ledger_seq, ledger_entry_hash, created_at
           FROM decisions WHERE created_at >= ? AND created_at < ? ORDER BY ledger_seq, decision_id`,
        )
        .all(from, to) as Record<string, unknown>[];
    }
    if (include.includes('escalations')) {
      const rows = db
        .prepare(
          `SELECT escalation_id, decision_id, status, priority, trigger, escalated_to, sla_deadline, sla_missed,
             sla_breach_recorded_at, created_by, created_at, opened_by, assigned_by, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
             resolution, notes
           FROM escalations WHERE created_at >= ? AND created_at < ? ORDER BY created_at, escalation_id`,
        )
        .all(from, to) as Array<Record<string, unknown> & { escalated_to: string; notes: string | null }>;
      const events = db.prepare(
        `SELECT event, at, by, role, ledger_seq, ledger_entry_hash FROM escalation_events WHERE escalation_id = ? ORDER BY event_seq`,
      );
      records.escalations = rows.map(({ notes, escalated_to, ...r }) => ({
        ...r,
        escalated_to: JSON.parse(escalated_to) as unknown,
        notes_sha256: hashOrNull(notes),
        events: events.all(r.escalation_id) as unknown[],
      }));
    }
    if (include.includes('overrides')) {
      const rows = db
        .prepare(
          `SELECT override_id, decision_id, original_outcome, new_outcome, override_type, justification, authorized_by,
             authorized_role, two_person, status, created_at, expires_at, effective_at, effective_seq, confirmed_by,
             confirmed_role, confirmed_at, closed_at, closed_by, intervention_id, confirmation_intervention_id,
             ledger_seq, ledger_entry_hash
           FROM overrides WHERE created_at >= ? AND created_at < ? ORDER BY ledger_seq, override_id`,
        )
        .all(from, to) as Array<Record<string, unknown> & { justification: string; two_person: number }>;
      records.overrides = rows.map(({ justification, two_person, ...r }) => ({
        ...r,
        two_person: two_person === 1,
        justification_sha256: sha256Hex(justification),
      }));
    }
    if (include.includes('interventions')) {
      const rows = db
        .prepare(
          `SELECT intervention_id, kind, actor_user_id, actor_role, at, decision_id, scope, justification, shown, details, kid, signature
           FROM interventions WHERE at >= ? AND at < ? ORDER BY at, intervention_id`,
        )
        .all(from, to) as Array<Record<string, unknown> & { justification: string; shown: string; details: string }>;
      records.interventions = rows.map(({ justification, shown, details, kid, signature, ...r }) => ({
        ...r,
        justification_sha256: sha256Hex(justification),
        shown_sha256: sha256Hex(shown),
        details_sha256: sha256Hex(details),
        kid,
        signature,
      }));
    }
    if (include.includes('policies')) {
      const active = db.prepare('SELECT version_hash FROM active_policy WHERE slot = 1').pluck().get() as string | undefined;
      const rows = db
        .prepare(
          `SELECT version_hash, version_id, policy_id, name, version, mode, terms_count, relations_count, loaded_by, loaded_at, document
           FROM policy_versions WHERE loaded_at < ? ORDER BY loaded_at, version_id`,
        )
        .all(to) as Array<Record<string, unknown> & { document: string }>;
      records.policies = rows.map(({ document, ...r }) => ({
        ...r,
        document_sha256: sha256Hex(document),
        active_at_export: r.version_hash === active,
      }));
    }
    return { entries, head, records };
  }

  /** Store an export's metadata (synchronous: call it inside the ledger append's `withEntries`). */
  insert(r: EvidenceExportRecord): void {
    this.db
      .prepare(
        `INSERT INTO evidence_exports (export_id, period_from, period_to, include, counts, file_name, sha256, tagmanifest_sha256,
           size, first_seq, last_seq, head_before_seq, head_before_hash, head_after_seq, head_after_hash, created_by,
           created_role, created_at, ledger_seq, ledger_entry_hash)
         VALUES (@exportId, @from, @to, @include, @counts, @fileName, @sha256, @tagmanifestSha256, @size, @firstSeq, @lastSeq,
           @headBeforeSeq, @headBeforeHash, @headAfterSeq, @headAfterHash, @createdBy, @createdRole, @createdAt, @ledgerSeq,
           @ledgerEntryHash)`,
      )
      .run({ ...r, include: JSON.stringify(r.include), counts: JSON.stringify(r.counts) });
  }

  get(exportId: string): EvidenceExportRecord | undefined {
    const row = this.db.prepare(`SELECT ${EXPORT_COLUMNS} FROM evidence_exports WHERE export_id = ?`).get(exportId) as ExportRow | undefined;
    return row && toRecord(row);
  }

  /** Newest first; `beforeId` is the cursor (the last id of the previous page). */
  list(opts: { beforeId?: string | undefined; limit: number }): EvidenceExportRecord[] {
    const rows = (
      opts.beforeId === undefined
        ? this.db.prepare(`SELECT ${EXPORT_COLUMNS} FROM evidence_exports ORDER BY export_id DESC LIMIT ?`).all(opts.limit)
        : this.db.prepare(`SELECT ${EXPORT_COLUMNS} FROM evidence_exports WHERE export_id < ? ORDER BY export_id DESC LIMIT ?`).all(opts.beforeId, opts.limit)
    ) as ExportRow[];
    return rows.map(toRecord);
  }
}
