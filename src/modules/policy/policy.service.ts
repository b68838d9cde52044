import type { Clock } from '../../platform/clock.js';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { StateNotices } from '../../platform/db/state-notices.js';
import { LedgerOrderedState } from '../../platform/ledger-ordered-state.js';
import type { Queryable } from '../../platform/db/port.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { attestationsInputProblem } from './policy.attestation.js';
import { compilePolicy, type CompiledPolicy } from './policy.compile.js';
import { evaluate } from './policy.engine.js';
import { allWarnings, loadPolicyDocument } from './policy.loader.js';
import type { EvaluationRequest, EvaluationResult, NormalizedPolicy, PolicyProblem } from './policy.model.js';
import type { PolicyRepo, PolicySummaryRecord, PolicyVersionRecord } from './policy.repo.js';

export interface PolicyServiceDeps {
  repo: PolicyRepo;
  /** Where `policy_loaded` entries go: the ledger. */
  events: EventSink;
  clock: Clock;
  ids: IdFactory;
  /** Change notices to the other replicas (PostgreSQL) when a load activates a version; none on one process. */
  notices?: StateNotices | undefined;
  /** See {@link ACTIVE_MEMORY_TTL_MS}. */
  memoryTtlMs?: number | undefined;
}

/**
 * How long this process trusts its memory of the active version without a change notice before it
 * re-reads it (in the background). Only a hint's freshness: every decision re-checks the active version
 * in its transaction.
 */
export const ACTIVE_MEMORY_TTL_MS = 5_000;

/** What a load answers. */
export interface LoadReport {
  policyId: string;
  versionHash: string;
  mode: NormalizedPolicy['mode'];
  termsLoaded: number;
  relationsLoaded: number;
  warnings: PolicyProblem[];
  /** A new version was stored (false: this exact content was loaded before). */
  created: boolean;
  /** The active policy changed (false: this version was already active, and nothing was written). */
  activated: boolean;
}

/** A compiled version with what identifies it. */
export interface ActivePolicy {
  versionHash: string;
  compiled: CompiledPolicy;
}

/** How many compiled versions dry runs keep at hand. */
const COMPILED_CACHE_SIZE = 8;

/**
 * Policy versions and the active policy. Loading validates, normalizes and hashes the document, stores
 * the version immutably, makes it active and ledgers it, all or nothing. Decisions start from this
 * process's memory of the active version ({@link memory}: no read) and re-check it inside their ledger
 * transaction ({@link activeHash}), so a version activated by another process (the CLI, a replica) is
 * used by the next decision without a restart; compiled versions are cached by hash.
 */
export class PolicyService {
  private readonly repo: PolicyRepo;
  private readonly events: EventSink;
  private readonly clock: Clock;
  private readonly ids: IdFactory;
  private readonly notices: StateNotices | undefined;
  /**
   * This process's memory of the active version's hash (null: none), ordered by the ledger: kept current
   * by this process's loads (after they commit), other replicas' notices, what decisions read inside
   * their transactions, and a re-read after the TTL.
   */
  readonly memory: LedgerOrderedState<string | null>;
  /** The last answer of {@link known} (one object per version, not one per decision). */
  private lastKnown: ActivePolicy | undefined;
  private readonly compiled = new Map<string, CompiledPolicy>();
  /** The load in progress in this process (see {@link load}). */
  private loading: Promise<unknown> = Promise.resolve();

  constructor(deps: PolicyServiceDeps) {
    this.repo = deps.repo;
    this.events = deps.events;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.notices = deps.notices;
    this.memory = new LedgerOrderedState({ read: () => deps.repo.activeAsOf(), ttlMs: deps.memoryTtlMs ?? ACTIVE_MEMORY_TTL_MS });
  }

  /**
   * Validate, store and activate a policy document. 400 `POLICY_INVALID` with every problem (the active
   * policy unchanged); loading the active version again changes nothing and writes nothing.
   */
  async load(document: unknown, by: string): Promise<LoadReport> {
    const outcome = loadPolicyDocument(document);
    if (!outcome.ok) {
      throw new AppError(400, 'POLICY_INVALID', `The policy is invalid: ${outcome.problems.length} problem(s)`, outcome.problems);
    }
    const { policy, versionHash } = outcome;
    const warnings = allWarnings(outcome);
    // Compiled before anything is written: a policy the engine cannot use is never stored.
    const compiled = this.compile(versionHash, policy);
    const at = new Date(this.clock.now()).toISOString();
    const record: PolicyVersionRecord = {
      versionHash,
      versionId: this.ids.next('pol'),
      policyId: policy.policy_id,
      name: policy.name,
      version: policy.version,
      mode: policy.mode,
      document: canonicalize(policy),
      termsCount: policy.terms.length,
      relationsCount: policy.relations.length,
      warnings,
      loadedBy: by,
      loadedAt: at,
    };
    // Loads in this process run one at a time (they are rare): a load sees what the previous one committed.
    const run = this.loading.then(() => this.storeActivateAndLedger(record, at, by));
    this.loading = run.catch(() => undefined);
    const { stored, activated, seq } = await run;
    this.remember(versionHash, compiled);
    // Committed: decisions evaluated from now on in this process use it.
    if (seq !== undefined) this.memory.offer(versionHash, seq);
    return {
      policyId: policy.policy_id,
      versionHash,
      mode: policy.mode,
      termsLoaded: policy.terms.length,
      relationsLoaded: policy.relations.length,
      warnings,
      created: stored,
      activated,
    };
  }

  /**
   * Store the version, make it active and append `policy_loaded`, in one transaction (the repo write runs
   * in the append's `withEntries` hook): a policy is never active without its entry, nor ledgered without
   * being active. Loading the active version writes nothing. `new_version` is read before the append and
   * checked inside it; should another process's load have changed it meanwhile, the append is rolled
   * back and tried again with what the store now says.
   */
  private async storeActivateAndLedger(
    record: PolicyVersionRecord,
    at: string,
    by: string,
  ): Promise<{ stored: boolean; activated: boolean; seq?: number }> {
    for (let attempt = 0; ; attempt++) {
      let seq = -1;
      if ((await this.repo.active())?.versionHash === record.versionHash) return { stored: false, activated: false };
      const isNew = (await this.repo.byHash(record.versionHash)) === undefined;
      try {
        await this.events.append(
          'policy_loaded',
          {
            policy_id: record.policyId,
            version_hash: record.versionHash,
            mode: record.mode,
            terms: record.termsCount,
            relations: record.relationsCount,
            new_version: isNew,
            loaded_by: by,
          },
          {
            withEntries: async (entries, tx) => {
              if (tx === undefined) throw new TypeError('a withEntries hook got no ledger transaction to write through');
              const { stored, activated } = await this.repo.storeAndActivate(tx, record, at, by);
              if (!activated || stored !== isNew) throw new LoadRaced();
              seq = entries[0]!.seq;
              await this.notices?.send(tx, { kind: 'policy', seq, value: record.versionHash });
            },
          },
        );
        return { stored: isNew, activated: true, seq };
      } catch (err) {
        if (!(err instanceof LoadRaced)) throw err;
        if (attempt >= 2) throw errors.conflict('The active policy changed while loading this one; repeat the request');
      }
    }
  }

  /**
   * The active policy a decision starts from, from this process's memory, without a read or a promise:
   * null when none is active; undefined when not known here yet or not compiled yet (use {@link current}).
   */
  known(): ActivePolicy | null | undefined {
    const hash = this.memory.known();
    if (hash === undefined || hash === null) return hash;
    if (this.lastKnown?.versionHash === hash) return this.lastKnown;
    const compiled = this.compiled.get(hash);
    if (compiled === undefined) return undefined;
    this.lastKnown = { versionHash: hash, compiled };
    return this.lastKnown;
  }

  /**
   * The active policy a decision starts from, compiled, from this process's memory (no read once known);
   * with `versionHash`: that version (null: none), as a decision's transaction read it.
   */
  async current(versionHash?: string | null): Promise<ActivePolicy | undefined> {
    const fromMemory = versionHash === undefined;
    const hash = fromMemory ? await this.memory.get() : versionHash;
    if (hash === null) return undefined;
    try {
      return { versionHash: hash, compiled: await this.compiledVersion(hash) };
    } catch (err) {
      // A version this process activated in a transaction that rolled back: read what is active.
      if (!(err instanceof AppError && err.statusCode === 404)) throw err;
      await this.memory.refresh();
      const now = this.memory.peek()!.value;
      return now === null ? undefined : { versionHash: now, compiled: await this.compiledVersion(now) };
    }
  }

  /**
   * The active version's hash (null: none) read through `tx`, a ledger batch's transaction (once per
   * transaction): the authority a decision re-checks its evaluation against, in ledger order.
   */
  activeHashIn(tx: Queryable): Promise<string | null> {
    return this.repo.activeHash(tx);
  }

  /** The active policy, compiled, read from the store; undefined when none was ever loaded. */
  async active(): Promise<ActivePolicy | undefined> {
    const active = await this.repo.active();
    if (!active) return undefined;
    return { versionHash: active.versionHash, compiled: await this.compiledVersion(active.versionHash) };
  }

  /**
   * A dry run: evaluate a request against the active policy or a stored version. No ledger entry, no
   * token: the tool a policy author uses to see why. `at` defaults to now (attestations are checked and
   * conflict windows end at it); the approvals are only those the request states (no history is read).
   */
  async evaluate(
    request: EvaluationRequest,
    versionHash?: string,
  ): Promise<{ policy: NormalizedPolicy; versionHash: string; result: EvaluationResult }> {
    const hash = versionHash ?? (await this.repo.active())?.versionHash;
    if (hash === undefined) throw new AppError(409, 'NO_ACTIVE_POLICY', 'No policy is loaded yet: POST /policies/load first');
    const problem = attestationsInputProblem(request.context);
    if (problem !== undefined) {
      throw errors.validation('Invalid body', [{ in: 'body', field: 'context.attestations', message: problem, code: 'custom' }]);
    }
    const compiled = await this.compiledVersion(hash);
    const at = request.at ?? new Date(this.clock.now()).toISOString();
    return { policy: compiled.policy, versionHash: hash, result: evaluate(compiled, { ...request, at }) };
  }

  /** Every policy with its latest version, and the active version with the policy it belongs to. */
  async summaries(): Promise<{
    policies: PolicySummaryRecord[];
    active: { versionHash: string; policyId: string } | undefined;
  }> {
    const [policies, active] = await Promise.all([this.repo.policies(), this.repo.active()]);
    const owner = active && (await this.repo.byHash(active.versionHash));
    return { policies, active: owner ? { versionHash: owner.versionHash, policyId: owner.policyId } : undefined };
  }

  /** A policy's versions, newest first; 404 for an unknown policy id. */
  async versions(policyId: string): Promise<PolicyVersionRecord[]> {
    const versions = await this.repo.versions(policyId);
    if (versions.length === 0) throw errors.notFound('Policy', policyId);
    return versions;
  }

  async activeHash(): Promise<string | undefined> {
    return (await this.repo.active())?.versionHash;
  }

  /** A stored version, compiled (cached); 404 for an unknown hash. Decisions name the version they were made with. */
  async compiledVersion(versionHash: string): Promise<CompiledPolicy> {
    const cached = this.compiled.get(versionHash);
    if (cached) return cached;
    const record = await this.repo.byHash(versionHash);
    if (!record) throw errors.notFound('Policy version', versionHash);
    const compiled = this.compile(versionHash, JSON.parse(record.document) as NormalizedPolicy);
    this.remember(versionHash, compiled);
    return compiled;
  }

  private compile(versionHash: string, policy: NormalizedPolicy): CompiledPolicy {
    return this.compiled.get(versionHash) ?? compilePolicy(policy);
  }

  /** Keep a compiled version; the least recently stored goes first when the cache is full. */
  private remember(versionHash: string, compiled: CompiledPolicy): void {
    this.compiled.delete(versionHash);
    this.compiled.set(versionHash, compiled);
    if (this.compiled.size > COMPILED_CACHE_SIZE) this.compiled.delete(this.compiled.keys().next().value!);
  }
}

/** A concurrent load changed what this one found before its append: the append is rolled back and retried. */
class LoadRaced extends Error {}
