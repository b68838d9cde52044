import type { DbPort, Queryable } from '../../platform/db/port.js';

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

/** The largest version a 32-bit INTEGER column holds. */
const MAX_VERSION = 2_147_483_647;

const LATEST_PROFILE = 'SELECT * FROM system_profile_versions ORDER BY version DESC LIMIT 1';
const PROFILES = 'SELECT * FROM system_profile_versions ORDER BY version DESC LIMIT ?';
const PROFILES_BEFORE = 'SELECT * FROM system_profile_versions WHERE version < ? ORDER BY version DESC LIMIT ?';
const INSERT_PROFILE =
  'INSERT INTO system_profile_versions (version, profile, profile_sha256, updated_by, updated_at, ledger_seq) VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_RUN = `INSERT INTO policy_test_runs (run_id, policy_version_hash, total, passed, failed, at, recorded_by, record, record_sha256, kid, signature, ledger_seq)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const RUNS = 'SELECT * FROM policy_test_runs WHERE at <= ? ORDER BY at, run_id';
const POLICY_VERSIONS =
  'SELECT version_hash, policy_id, version, mode, loaded_by, loaded_at FROM policy_versions WHERE loaded_at <= ? ORDER BY loaded_at, version_hash';
const ACTIVE_POLICY = 'SELECT version_hash, activated_by, activated_at FROM active_policy WHERE slot = 1';
const LEDGER_COUNTS = 'SELECT event_type, count(*) AS n FROM ledger_entries WHERE timestamp >= ? AND timestamp < ? GROUP BY event_type';
const DECISION_COUNTS = 'SELECT outcome, risk_level, count(*) AS n FROM decisions WHERE created_at >= ? AND created_at < ? GROUP BY outcome, risk_level';
const INTERVENTION_COUNTS = 'SELECT kind, count(*) AS n FROM interventions WHERE at >= ? AND at < ? GROUP BY kind';
const ACTIVE_HOLDS =
  'SELECT hold_id, scope, reason, created_by, created_at FROM legal_holds WHERE released_at IS NULL ORDER BY created_at, hold_id';
/** Whether the legal_holds table exists: schema introspection differs per dialect (the one branch on it here). */
const HAS_LEGAL_HOLDS = {
  sqlite: "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'legal_holds'",
  postgres: "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'legal_holds'",
} as const;

/** `SELECT … WHERE event_type IN (?, …, ?)` for `n` types (one text per n: the callers pass fixed lists). */
function ledgerOfTypesSql(n: number): string {
  return `SELECT seq, event_type, timestamp, data, entry_hash FROM ledger_entries
    WHERE timestamp <= ? AND event_type IN (${Array.from({ length: n }, () => '?').join(', ')}) ORDER BY seq`;
}

/**
 * The EU AI Act module's tables (system profile versions, signed test runs) and the read-only queries
 * its reports make over the other modules' tables, on the storage port.
 */
export class EuAiActRepo {
  constructor(private readonly db: DbPort) {}

  async latestProfile(q: Queryable = this.db): Promise<ProfileVersionRow | undefined> {
    const r = await q.one(LATEST_PROFILE);
    return r && toProfile(r);
  }

  /**
   * Versions below `beforeVersion` (all when undefined), newest first. A cursor above every possible
   * version (the column is a 32-bit INTEGER on PostgreSQL, which refuses a larger parameter) reads all.
   */
  async profileVersions(beforeVersion: number | undefined, limit: number): Promise<ProfileVersionRow[]> {
    const rows =
      beforeVersion === undefined || beforeVersion > MAX_VERSION
        ? await this.db.all(PROFILES, [limit])
        : await this.db.all(PROFILES_BEFORE, [beforeVersion, limit]);
    return rows.map(toProfile);
  }

  async insertProfile(tx: Queryable, row: ProfileVersionRow): Promise<void> {
    await tx.run(INSERT_PROFILE, [row.version, row.profile, row.profileSha256, row.updatedBy, row.updatedAt, row.ledgerSeq]);
  }

  async insertTestRun(tx: Queryable, r: TestRunRow): Promise<void> {
    await tx.run(INSERT_RUN, [r.runId, r.policyVersionHash, r.total, r.passed, r.failed, r.at, r.recordedBy, r.record, r.recordSha256, r.kid, r.signature, r.ledgerSeq]);
  }

  /** Test runs recorded at or before `upTo`, oldest first. */
  async testRuns(upTo: string): Promise<TestRunRow[]> {
    return (await this.db.all(RUNS, [upTo])).map((r) => ({
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

  async policyVersions(
    upTo: string,
  ): Promise<Array<{ versionHash: string; policyId: string; version: string | null; mode: string; loadedBy: string; loadedAt: string }>> {
    return (await this.db.all(POLICY_VERSIONS, [upTo])).map((r) => ({
      versionHash: r.version_hash as string,
      policyId: r.policy_id as string,
      version: r.version as string | null,
      mode: r.mode as string,
      loadedBy: r.loaded_by as string,
      loadedAt: r.loaded_at as string,
    }));
  }

  async activePolicy(): Promise<{ versionHash: string; activatedBy: string; activatedAt: string } | undefined> {
    const r = await this.db.one<Record<string, string>>(ACTIVE_POLICY);
    return r && { versionHash: r.version_hash!, activatedBy: r.activated_by!, activatedAt: r.activated_at! };
  }

  /** Ledger entries per event type in the window. */
  async ledgerCounts(w: Window): Promise<Map<string, number>> {
    const rows = await this.db.all<{ event_type: string; n: number }>(LEDGER_COUNTS, [w.since, w.until]);
    return new Map(rows.map((r) => [r.event_type, r.n]));
  }

  /** Ledger entries of the given types at or before `upTo`, in seq order. */
  async ledgerEntriesOfTypes(types: readonly string[], upTo: string): Promise<LedgerRow[]> {
    if (types.length === 0) return [];
    const rows = await this.db.all<{ seq: number; event_type: string; timestamp: string; data: string; entry_hash: string }>(
      ledgerOfTypesSql(types.length),
      [upTo, ...types],
    );
    return rows.map((r) => ({ seq: r.seq, eventType: r.event_type, timestamp: r.timestamp, data: r.data, entryHash: r.entry_hash }));
  }

  /** Decisions in the window, counted per (outcome, risk level). */
  async decisionCounts(w: Window): Promise<Array<{ outcome: string; riskLevel: string; count: number }>> {
    const rows = await this.db.all<{ outcome: string; risk_level: string; n: number }>(DECISION_COUNTS, [w.since, w.until]);
    return rows.map((r) => ({ outcome: r.outcome, riskLevel: r.risk_level, count: r.n }));
  }

  /** Intervention records in the window, counted per kind. */
  async interventionCounts(w: Window): Promise<Map<string, number>> {
    const rows = await this.db.all<{ kind: string; n: number }>(INTERVENTION_COUNTS, [w.since, w.until]);
    return new Map(rows.map((r) => [r.kind, r.n]));
  }

  /**
   * Active legal holds (released_at null), oldest first; undefined when the legal_holds table does not
   * exist in this database (the retention module is not installed).
   */
  async activeLegalHolds(): Promise<LegalHoldRow[] | undefined> {
    const exists = await this.db.one<{ n: number }>(HAS_LEGAL_HOLDS[this.db.dialect]);
    if ((exists?.n ?? 0) === 0) return undefined;
    const rows = await this.db.all<Record<string, string>>(ACTIVE_HOLDS);
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
