import type { Db } from '../../platform/db/connection.js';

export interface ProfileVersionRow {
  version: number;
  profile: string;
  profileSha256: string;
  updatedBy: string;
  updatedAt: string;
  ledgerSeq: number;
}

export interface TestRunRow {
  runId: string;
  policyVersionHash: string;
  total: number;
  passed: number;
  failed: number;
  at: string;
  recordedBy: string;
  record: string;
  recordSha256: string;
  kid: string;
  signature: string;
  ledgerSeq: number;
}

export interface LedgerRow {
  seq: number;
  eventType: string;
  timestamp: string;
  data: string;
  entryHash: string;
}

export interface LegalHoldRow {
  holdId: string;
  scope: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

/** A half-open window [since, until) of RFC 3339 timestamps. */
export interface Window {
  since: string;
  until: string;
}

/**
 * The EU AI Act module's tables (system profile versions, signed test runs) and the read-only queries
 * its reports make over the other modules' tables. Synchronous (better-sqlite3).
 */
export class SqliteEuAiActRepo {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      latestProfile: db.prepare('SELECT * FROM system_profile_versions ORDER BY version DESC LIMIT 1'),
      profiles: db.prepare('SELECT * FROM system_profile_versions WHERE version < ? ORDER BY version DESC LIMIT ?'),
      insertProfile: db.prepare(
        'INSERT INTO system_profile_versions (version, profile, profile_sha256, updated_by, updated_at, ledger_seq) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertRun: db.prepare(
        `INSERT INTO policy_test_runs (run_id, policy_version_hash, total, passed, failed, at, recorded_by, record, record_sha256, kid, signature, ledger_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      runs: db.prepare('SELECT * FROM policy_test_runs WHERE at <= ? ORDER BY at, run_id'),
      policyVersions: db.prepare(
        'SELECT version_hash, policy_id, version, mode, loaded_by, loaded_at FROM policy_versions WHERE loaded_at <= ? ORDER BY loaded_at, version_hash',
      ),
      activePolicy: db.prepare('SELECT version_hash, activated_by, activated_at FROM active_policy WHERE slot = 1'),
      ledgerCounts: db.prepare('SELECT event_type, count(*) FROM ledger_entries WHERE timestamp >= ? AND timestamp < ? GROUP BY event_type').raw(),
      ledgerOfTypes: db.prepare(
        `SELECT seq, event_type, timestamp, data, entry_hash FROM ledger_entries
         WHERE timestamp <= ? AND event_type IN (SELECT value FROM json_each(?)) ORDER BY seq`,
      ).raw(),
      decisionsBy: db.prepare(
        `SELECT outcome, risk_level, count(*) FROM decisions WHERE created_at >= ? AND created_at < ? GROUP BY outcome, risk_level`,
      ).raw(),
      interventionKinds: db.prepare(`SELECT kind, count(*) FROM interventions WHERE at >= ? AND at < ? GROUP BY kind`).raw(),
      hasLegalHolds: db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'legal_holds'`).pluck(),
    };
  }

  latestProfile(): ProfileVersionRow | undefined {
    const r = this.s.latestProfile.get() as Record<string, unknown> | undefined;
    return r && toProfile(r);
  }

  /** Versions below `beforeVersion` (all when undefined), newest first. */
  profileVersions(beforeVersion: number | undefined, limit: number): ProfileVersionRow[] {
    return (this.s.profiles.all(beforeVersion ?? Number.MAX_SAFE_INTEGER, limit) as Record<string, unknown>[]).map(toProfile);
  }

  insertProfile(row: ProfileVersionRow): void {
    this.s.insertProfile.run(row.version, row.profile, row.profileSha256, row.updatedBy, row.updatedAt, row.ledgerSeq);
  }

  insertTestRun(r: TestRunRow): void {
    this.s.insertRun.run(r.runId, r.policyVersionHash, r.total, r.passed, r.failed, r.at, r.recordedBy, r.record, r.recordSha256, r.kid, r.signature, r.ledgerSeq);
  }

  /** Test runs recorded at or before `upTo`, oldest first. */
  testRuns(upTo: string): TestRunRow[] {
    return (this.s.runs.all(upTo) as Record<string, unknown>[]).map((r) => ({
      runId: r.run_id as string,
      policyVersionHash: r.policy_version_hash as string,
      total: r.total as number,
      passed: r.passed as number,
      failed: r.failed as number,
      at: r.at as string,
      recordedBy: r.recorded_by as string,
      record: r.record as string,
      recordSha256: r.record_sha256 as string,
      kid: r.kid as string,
      signature: r.signature as string,
      ledgerSeq: r.ledger_seq as number,
    }));
  }

  policyVersions(upTo: string): Array<{ versionHash: string; policyId: string; version: string | null; mode: string; loadedBy: string; loadedAt: string }> {
    return (this.s.policyVersions.all(upTo) as Record<string, unknown>[]).map((r) => ({
      versionHash: r.version_hash as string,
      policyId: r.policy_id as string,
      version: r.version as string | null,
      mode: r.mode as string,
      loadedBy: r.loaded_by as string,
      loadedAt: r.loaded_at as string,
    }));
  }

  activePolicy(): { versionHash: string; activatedBy: string; activatedAt: string } | undefined {
    const r = this.s.activePolicy.get() as Record<string, string> | undefined;
    return r && { versionHash: r.version_hash!, activatedBy: r.activated_by!, activatedAt: r.activated_at! };
  }

  /** Ledger entries per event type in the window. */
  ledgerCounts(w: Window): Map<string, number> {
    return new Map(this.s.ledgerCounts.all(w.since, w.until) as Array<[string, number]>);
  }

  /** Ledger entries of the given types at or before `upTo`, in seq order. */
  ledgerEntriesOfTypes(types: readonly string[], upTo: string): LedgerRow[] {
    return (this.s.ledgerOfTypes.all(upTo, JSON.stringify(types)) as Array<[number, string, string, string, string]>).map(
      ([seq, eventType, timestamp, data, entryHash]) => ({ seq, eventType, timestamp, data, entryHash }),
    );
  }

  /** Decisions in the window, counted per (outcome, risk level). */
  decisionCounts(w: Window): Array<{ outcome: string; riskLevel: string; count: number }> {
    return (this.s.decisionsBy.all(w.since, w.until) as Array<[string, string, number]>).map(([outcome, riskLevel, count]) => ({ outcome, riskLevel, count }));
  }

  /** Intervention records in the window, counted per kind. */
  interventionCounts(w: Window): Map<string, number> {
    return new Map(this.s.interventionKinds.all(w.since, w.until) as Array<[string, number]>);
  }

  /**
   * Active legal holds (released_at null), oldest first; undefined when the legal_holds table does not
   * exist in this database (the retention module is not installed).
   */
  activeLegalHolds(): LegalHoldRow[] | undefined {
    if ((this.s.hasLegalHolds.get() as number) === 0) return undefined;
    const rows = this.db
      .prepare('SELECT hold_id, scope, reason, created_by, created_at FROM legal_holds WHERE released_at IS NULL ORDER BY created_at, hold_id')
      .all() as Record<string, string>[];
    return rows.map((r) => ({ holdId: r.hold_id!, scope: r.scope!, reason: r.reason!, createdBy: r.created_by!, createdAt: r.created_at! }));
  }
}

function toProfile(r: Record<string, unknown>): ProfileVersionRow {
  return {
    version: r.version as number,
    profile: r.profile as string,
    profileSha256: r.profile_sha256 as string,
    updatedBy: r.updated_by as string,
    updatedAt: r.updated_at as string,
    ledgerSeq: r.ledger_seq as number,
  };
}
