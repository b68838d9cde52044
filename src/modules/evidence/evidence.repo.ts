import type { DbPort, Queryable, Row, SqlValue } from '../../platform/db/port.js';
import { readSnapshot } from '../../platform/db/snapshot.js';
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

// Aliases are quoted: PostgreSQL folds unquoted identifiers to lower case.
const EXPORT_COLUMNS = `export_id AS "exportId", period_from AS "from", period_to AS "to", include, counts, file_name AS "fileName",
  sha256, tagmanifest_sha256 AS "tagmanifestSha256", size, first_seq AS "firstSeq", last_seq AS "lastSeq",
  head_before_seq AS "headBeforeSeq", head_before_hash AS "headBeforeHash", head_after_seq AS "headAfterSeq",
  head_after_hash AS "headAfterHash", created_by AS "createdBy", created_role AS "createdRole", created_at AS "createdAt",
  ledger_seq AS "ledgerSeq", ledger_entry_hash AS "ledgerEntryHash"`;

function toRecord(r: ExportRow): EvidenceExportRecord {
  return { ...r, include: JSON.parse(r.include) as ExportKind[], counts: JSON.parse(r.counts) as Record<string, number> };
}

const hashOrNull = (text: string | null): string | null => (text === null ? null : sha256Hex(text));

const SQL = {
  entryHash: 'SELECT entry_hash FROM ledger_entries WHERE seq = ?',
  liveSeq: 'SELECT max(seq) AS seq FROM ledger_entries',
  firstSeqFrom: 'SELECT min(seq) AS seq FROM ledger_entries WHERE timestamp >= ?',
  lastSeqBefore: 'SELECT max(seq) AS seq FROM ledger_entries WHERE timestamp < ?',
  entries: `SELECT seq, entry_id AS "entryId", event_type AS "eventType", timestamp, data AS "dataJson", previous_hash AS "previousHash",
    entry_hash AS "entryHash" FROM ledger_entries WHERE seq BETWEEN ? AND ? ORDER BY seq`,
  decisions: `SELECT decision_id, principal_id, request_digest, actor, action, tool, outcome, risk_score, risk_level,
      policy_version_hash, ledger_seq, ledger_entry_hash, created_at
    FROM decisions WHERE created_at >= ? AND created_at < ? ORDER BY ledger_seq, decision_id`,
  escalations: `SELECT escalation_id, decision_id, status, priority, trigger, escalated_to, sla_deadline, sla_missed,
      sla_breach_recorded_at, created_by, created_at, opened_by, assigned_by, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
      resolution, notes
    FROM escalations WHERE created_at >= ? AND created_at < ? ORDER BY created_at, escalation_id`,
  // The events of the same escalations, in one query (grouped per escalation in TypeScript).
  escalationEvents: `SELECT escalation_id, event, at, "by", role, ledger_seq, ledger_entry_hash FROM escalation_events
    WHERE escalation_id IN (SELECT escalation_id FROM escalations WHERE created_at >= ? AND created_at < ?)
    ORDER BY escalation_id, event_seq`,
  overrides: `SELECT override_id, decision_id, original_outcome, new_outcome, override_type, justification, authorized_by,
      authorized_role, two_person, status, created_at, expires_at, effective_at, effective_seq, confirmed_by,
      confirmed_role, confirmed_at, closed_at, closed_by, intervention_id, confirmation_intervention_id,
      ledger_seq, ledger_entry_hash
    FROM overrides WHERE created_at >= ? AND created_at < ? ORDER BY ledger_seq, override_id`,
  interventions: `SELECT intervention_id, kind, actor_user_id, actor_role, at, decision_id, scope, justification, shown, details, kid, signature
    FROM interventions WHERE at >= ? AND at < ? ORDER BY at, intervention_id`,
  activePolicy: 'SELECT version_hash FROM active_policy WHERE slot = 1',
  policies: `SELECT version_hash, version_id, policy_id, name, version, mode, terms_count, relations_count, loaded_by, loaded_at, document
    FROM policy_versions WHERE loaded_at < ? ORDER BY loaded_at, version_id`,
  insert: `INSERT INTO evidence_exports (export_id, period_from, period_to, include, counts, file_name, sha256, tagmanifest_sha256,
      size, first_seq, last_seq, head_before_seq, head_before_hash, head_after_seq, head_after_hash, created_by,
      created_role, created_at, ledger_seq, ledger_entry_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  get: `SELECT ${EXPORT_COLUMNS} FROM evidence_exports WHERE export_id = ?`,
  list: `SELECT ${EXPORT_COLUMNS} FROM evidence_exports ORDER BY export_id DESC LIMIT ?`,
  listBefore: `SELECT ${EXPORT_COLUMNS} FROM evidence_exports WHERE export_id < ? ORDER BY export_id DESC LIMIT ?`,
} as const;

/**
 * Reads for exports (ids, hashes, outcomes and times only: never decision payloads, and free-text
 * justifications as their SHA-256) and the `evidence_exports` table.
 */
export class EvidenceRepo {
  constructor(private readonly db: DbPort) {}

  /** Everything a package holds for [from, to), in one read transaction (a consistent snapshot). */
  snapshot(from: string, to: string, include: readonly ExportKind[]): Promise<EvidenceSnapshot> {
    return readSnapshot(this.db, (tx) => this.read(tx, from, to, include));
  }

  private async read(q: Queryable, from: string, to: string, include: readonly ExportKind[]): Promise<EvidenceSnapshot> {
    const seqOf = async (sql: string, ...p: SqlValue[]): Promise<number | null> => (await q.one<{ seq: number | null }>(sql, p))?.seq ?? null;
    const headAt = async (seq: number | null): Promise<SegmentHead> => {
      if (seq === null || seq < 0) return { seq: null, entry_hash: GENESIS_PREVIOUS_HASH };
      const row = await q.one<{ entry_hash: string }>(SQL.entryHash, [seq]);
      return { seq, entry_hash: row!.entry_hash };
    };
    const liveSeq = await seqOf(SQL.liveSeq);
    const firstSeq = await seqOf(SQL.firstSeqFrom, from);
    const lastSeq = await seqOf(SQL.lastSeqBefore, to);
    let entries: StoredEntry[] = [];
    let head: LedgerHeadDoc;
    if (firstSeq !== null && lastSeq !== null && firstSeq <= lastSeq) {
      if (include.includes('ledger')) entries = await q.all<StoredEntry>(SQL.entries, [firstSeq, lastSeq]);
      const before = await headAt(firstSeq - 1);
      head = { head_before: before, head_after: await headAt(lastSeq), live_head: await headAt(liveSeq), first_seq: firstSeq, last_seq: lastSeq };
    } else {
      // No entry in the period: the segment is empty, positioned after the last entry before `from`.
      const at = await headAt(await seqOf(SQL.lastSeqBefore, from));
      head = { head_before: at, head_after: at, live_head: await headAt(liveSeq), first_seq: null, last_seq: null };
    }

    const records: EvidenceSnapshot['records'] = {};
    if (include.includes('decisions')) {
      records.decisions = await q.all(SQL.decisions, [from, to]);
    }
    if (include.includes('escalations')) {
      const rows = await q.all<Row & { escalation_id: string; escalated_to: string; notes: string | null }>(SQL.escalations, [from, to]);
      const events = new Map<string, Row[]>();
      for (const { escalation_id, ...e } of await q.all<Row & { escalation_id: string }>(SQL.escalationEvents, [from, to])) {
        let list = events.get(escalation_id);
        if (!list) events.set(escalation_id, (list = []));
        list.push(e);
      }
      records.escalations = rows.map(({ notes, escalated_to, ...r }) => ({
        ...r,
        escalated_to: JSON.parse(escalated_to) as unknown,
        notes_sha256: hashOrNull(notes),
        events: events.get(r.escalation_id) ?? [],
      }));
    }
    if (include.includes('overrides')) {
      const rows = await q.all<Row & { justification: string; two_person: number }>(SQL.overrides, [from, to]);
      records.overrides = rows.map(({ justification, two_person, ...r }) => ({
        ...r,
        two_person: two_person === 1,
        justification_sha256: sha256Hex(justification),
      }));
    }
    if (include.includes('interventions')) {
      const rows = await q.all<Row & { justification: string; shown: string; details: string }>(SQL.interventions, [from, to]);
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
      const active = (await q.one<{ version_hash: string }>(SQL.activePolicy))?.version_hash;
      const rows = await q.all<Row & { document: string }>(SQL.policies, [to]);
      records.policies = rows.map(({ document, ...r }) => ({
        ...r,
        document_sha256: sha256Hex(document),
        active_at_export: r.version_hash === active,
      }));
    }
    return { entries, head, records };
  }

  /** Store an export's metadata, inside the ledger transaction `tx` of its `export_created` entry. */
  async insert(tx: Queryable, r: EvidenceExportRecord): Promise<void> {
    await tx.run(SQL.insert, [
      r.exportId,
      r.from,
      r.to,
      JSON.stringify(r.include),
      JSON.stringify(r.counts),
      r.fileName,
      r.sha256,
      r.tagmanifestSha256,
      r.size,
      r.firstSeq,
      r.lastSeq,
      r.headBeforeSeq,
      r.headBeforeHash,
      r.headAfterSeq,
      r.headAfterHash,
      r.createdBy,
      r.createdRole,
      r.createdAt,
      r.ledgerSeq,
      r.ledgerEntryHash,
    ]);
  }

  async get(exportId: string): Promise<EvidenceExportRecord | undefined> {
    const row = await this.db.one<ExportRow>(SQL.get, [exportId]);
    return row && toRecord(row);
  }

  /** Newest first; `beforeId` is the cursor (the last id of the previous page). */
  async list(opts: { beforeId?: string | undefined; limit: number }): Promise<EvidenceExportRecord[]> {
    const rows =
      opts.beforeId === undefined
        ? await this.db.all<ExportRow>(SQL.list, [opts.limit])
        : await this.db.all<ExportRow>(SQL.listBefore, [opts.beforeId, opts.limit]);
    return rows.map(toRecord);
  }
}
