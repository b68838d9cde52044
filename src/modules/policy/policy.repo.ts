import type { DbPort, Queryable, Row } from '../../platform/db/port.js';
import type { OrderedValue } from '../../platform/ledger-ordered-state.js';
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

const ACTIVE_HASH = 'SELECT version_hash FROM active_policy WHERE slot = 1';

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

/**
 * Storage of policy versions (immutable) and the one active version, on the storage port (SQLite or
 * PostgreSQL, one SQL text). The active version read through a transaction is read once per
 * transaction (see {@link activeHash}); PolicyService keeps the memory decisions start from.
 */
export class PolicyRepo {
  /** Activations written by this process (any transaction): a memo older than the last one is stale. */
  private writes = 0;
  private readonly memo = new WeakMap<Queryable, { writes: number; hash: string | null }>();

  constructor(private readonly db: DbPort) {}

  /**
   * The active version's hash (null when none), read through `tx`, a ledger batch's transaction: once
   * per transaction, as HaltRepo.get. In a batch nobody else can activate meanwhile (an activation is a
   * ledger append, which waits for the chain head the batch holds; on SQLite the batch is the only
   * writer), and this process's own activation (in that transaction, a savepoint of it, or one rolled
   * back) makes the memo stale.
   */
  async activeHash(tx: Queryable): Promise<string | null> {
    const writes = this.writes;
    const known = this.memo.get(tx);
    if (known && known.writes === writes) return known.hash;
    const row = await tx.one<{ version_hash: string }>(ACTIVE_HASH);
    const hash = row?.version_hash ?? null;
    this.memo.set(tx, { writes, hash });
    return hash;
  }

  /** The active version's hash with the ledger position it is as of (one statement, one snapshot). */
  async activeAsOf(): Promise<OrderedValue<string | null>> {
    const r = (await this.db.one<{ version_hash: string | null; seq: number | null }>(
      `SELECT (${ACTIVE_HASH}) AS version_hash, (SELECT max(seq) FROM ledger_entries) AS seq`,
    ))!;
    return { value: r.version_hash ?? null, seq: r.seq ?? -1 };
  }

  /**
   * Store a version if it is new (`stored` false when that hash is stored already) and make it active,
   * in `tx`: the ledger append's transaction (its `withEntries` hook), so that the version, its
   * activation and the `policy_loaded` entry commit together or not at all. On PostgreSQL that
   * transaction holds the ledger head lock, so concurrent loads on several replicas run one after the
   * other and each reads the active row the previous one committed.
   */
  async storeAndActivate(tx: Queryable, v: PolicyVersionRecord, at: string, by: string): Promise<{ stored: boolean; activated: boolean }> {
    this.writes++;
    try {
      return await this.storeAndActivateIn(tx, v, at, by);
    } finally {
      this.writes++;
    }
  }

  private async storeAndActivateIn(tx: Queryable, v: PolicyVersionRecord, at: string, by: string): Promise<{ stored: boolean; activated: boolean }> {
    const { changes } = await tx.run(
      `INSERT INTO policy_versions (version_hash, version_id, policy_id, name, version, mode, document, terms_count,
         relations_count, warnings, loaded_by, loaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version_hash) DO NOTHING`,
      [
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
      ],
    );
    const stored = changes === 1;
    const current = await tx.one<{ version_hash: string }>(ACTIVE_HASH);
    if (current?.version_hash === v.versionHash) return { stored, activated: false };
    await tx.run(
      `INSERT INTO active_policy (slot, version_hash, activated_by, activated_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET version_hash = excluded.version_hash, activated_by = excluded.activated_by,
         activated_at = excluded.activated_at`,
      [v.versionHash, by, at],
    );
    return { stored, activated: true };
  }

  async active(): Promise<ActivePolicyRecord | undefined> {
    const row = await this.db.one<{ version_hash: string; activated_by: string; activated_at: string }>(
      'SELECT version_hash, activated_by, activated_at FROM active_policy WHERE slot = 1',
    );
    return row ? { versionHash: row.version_hash, activatedBy: row.activated_by, activatedAt: row.activated_at } : undefined;
  }

  async byHash(versionHash: string): Promise<PolicyVersionRecord | undefined> {
    return toVersion(await this.db.one('SELECT * FROM policy_versions WHERE version_hash = ?', [versionHash]));
  }

  /** The policy's versions, newest first. */
  async versions(policyId: string): Promise<PolicyVersionRecord[]> {
    const rows = await this.db.all('SELECT * FROM policy_versions WHERE policy_id = ? ORDER BY loaded_at DESC, version_id DESC', [policyId]);
    return rows.map((r) => toVersion(r)!);
  }

  /** Every policy id with its latest version (the greatest version id: ids grow with time) and how many it has. */
  async policies(): Promise<PolicySummaryRecord[]> {
    const rows = await this.db.all<{ policy_id: string; name: string; version_hash: string; loaded_at: string; n: number }>(
      `SELECT v.policy_id, v.name, v.version_hash, v.loaded_at, counts.n
       FROM (SELECT policy_id, count(*) AS n, max(version_id) AS latest FROM policy_versions GROUP BY policy_id) AS counts
       JOIN policy_versions v ON v.version_id = counts.latest
       ORDER BY v.policy_id`,
    );
    return rows.map((r) => ({
      policyId: r.policy_id,
      name: r.name,
      latestVersionHash: r.version_hash,
      latestLoadedAt: r.loaded_at,
      versions: r.n,
    }));
  }
}
