import { statementCache, type Db } from '../../platform/db/connection.js';
import type { PolicyMode, PolicyProblem } from './policy.model.js';

/** One stored policy version. `document` is the canonical JSON of the normalized policy. */
export interface PolicyVersionRecord {
  versionHash: string;
  versionId: string;
  policyId: string;
  name: string;
  version: string | null;
  mode: PolicyMode;
  document: string;
  termsCount: number;
  relationsCount: number;
  warnings: PolicyProblem[];
  loadedBy: string;
  loadedAt: string;
}

export interface ActivePolicyRecord {
  versionHash: string;
  activatedBy: string;
  activatedAt: string;
}

/** A policy id with its versions summarized. */
export interface PolicySummaryRecord {
  policyId: string;
  name: string;
  latestVersionHash: string;
  latestLoadedAt: string;
  versions: number;
}

/** Storage of policy versions and the active one. Async so a server database can stand behind it. */
export interface PolicyRepo {
  /**
   * Store a version if it is new (false when that hash is already stored) and make it active, atomically.
   * Synchronous: call it inside the ledger append's `withEntries` hook, so that the version, its
   * activation and the `policy_loaded` entry commit together or not at all.
   */
  storeAndActivate(version: PolicyVersionRecord, at: string, by: string): { stored: boolean; activated: boolean };
  active(): Promise<ActivePolicyRecord | undefined>;
  byHash(versionHash: string): Promise<PolicyVersionRecord | undefined>;
  /** The policy's versions, newest first. */
  versions(policyId: string): Promise<PolicyVersionRecord[]>;
  policies(): Promise<PolicySummaryRecord[]>;
}

type Row = Record<string, unknown>;

function toVersion(row: Row | undefined): PolicyVersionRecord | undefined {
  if (!row) return undefined;
  return {
    versionHash: row.version_hash as string,
    versionId: row.version_id as string,
    policyId: row.policy_id as string,
    name: row.name as string,
    version: row.version as string | null,
    mode: row.mode as PolicyMode,
    document: row.document as string,
    termsCount: row.terms_count as number,
    relationsCount: row.relations_count as number,
    warnings: JSON.parse(row.warnings as string) as PolicyProblem[],
    loadedBy: row.loaded_by as string,
    loadedAt: row.loaded_at as string,
  };
}

export class SqlitePolicyRepo implements PolicyRepo {
  private readonly prepared;

  constructor(private readonly db: Db) {
    this.prepared = statementCache(db);
  }

  storeAndActivate(v: PolicyVersionRecord, at: string, by: string) {
    return this.db.transaction(() => {
      const stored =
        this.prepared(
            `INSERT INTO policy_versions (version_hash, version_id, policy_id, name, version, mode, document, terms_count,
               relations_count, warnings, loaded_by, loaded_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version_hash) DO NOTHING`,
          )
          .run(
            v.versionHash,
            v.versionId,
            v.policyId,
            v.name,
            v.version,
            v.mode,
            v.document,
            v.termsCount,
            v.relationsCount,
            JSON.stringify(v.warnings),
            v.loadedBy,
            v.loadedAt,
          ).changes === 1;
      const current = this.prepared('SELECT version_hash FROM active_policy WHERE slot = 1').pluck().get() as string | undefined;
      if (current === v.versionHash) return { stored, activated: false };
      this.db
        .prepare(
          `INSERT INTO active_policy (slot, version_hash, activated_by, activated_at) VALUES (1, ?, ?, ?)
           ON CONFLICT (slot) DO UPDATE SET version_hash = excluded.version_hash, activated_by = excluded.activated_by,
             activated_at = excluded.activated_at`,
        )
        .run(v.versionHash, by, at);
      return { stored, activated: true };
    })();
  }

  async active() {
    const row = this.prepared('SELECT version_hash, activated_by, activated_at FROM active_policy WHERE slot = 1').get() as
      | Row
      | undefined;
    return row
      ? { versionHash: row.version_hash as string, activatedBy: row.activated_by as string, activatedAt: row.activated_at as string }
      : undefined;
  }

  async byHash(versionHash: string) {
    return toVersion(this.prepared('SELECT * FROM policy_versions WHERE version_hash = ?').get(versionHash) as Row | undefined);
  }

  async versions(policyId: string) {
    return (
      this.prepared('SELECT * FROM policy_versions WHERE policy_id = ? ORDER BY loaded_at DESC, version_id DESC').all(policyId) as Row[]
    ).map((r) => toVersion(r)!);
  }

  async policies() {
    const rows = this.db
      .prepare(
        `SELECT v.policy_id, v.name, v.version_hash, v.loaded_at, counts.n
         FROM (SELECT policy_id, count(*) AS n, max(version_id) AS latest FROM policy_versions GROUP BY policy_id) AS counts
         JOIN policy_versions v ON v.version_id = counts.latest
         ORDER BY v.policy_id`,
      )
      .all() as Row[];
    return rows.map((r) => ({
      policyId: r.policy_id as string,
      name: r.name as string,
      latestVersionHash: r.version_hash as string,
      latestLoadedAt: r.loaded_at as string,
      versions: r.n as number,
    }));
  }
}
