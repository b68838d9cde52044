import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import type { Transaction } from '../../platform/db/port.js';
import { AppError, errors, translateDatabaseError } from '../../platform/errors.js';
import { SingleFlight } from '../../platform/single-flight.js';
import {
  checkEntry,
  EVENT_TYPE_PATTERN,
  genesisEntry,
  nextEntry,
  type ChainHead,
  type StoredEntry,
} from './ledger.chain.js';
import type { LedgerMetrics } from './ledger.metrics.js';
import {
  LedgerConflictError,
  type EntryFilter,
  type EntryHook,
  type GuardRepair,
  type LedgerRepo,
  type SequencedAppend,
  type SequencedOutcome,
} from './ledger.repo.js';
import { checkAnchor, checkTail, type HeadAnchor } from './ledger.tail-check.js';
import { verifyLedger, type VerifyReport } from './ledger.verify.js';

export type { HeadAnchor } from './ledger.tail-check.js';

/** What an append resolves to, once its entry is durably committed. */
export interface AppendReceipt {
  seq: number;
  entryId: string;
  entryHash: string;
  timestamp: string;
}

export type LedgerStatus =
  | { state: 'starting' }
  | { state: 'ok'; headSeq: number; headHash: string }
  | { state: 'corrupt'; reason: string }
  | { state: 'closed' };

/** A `withEntries` hook threw: which append of the batch, and what it threw. */
class EntryHookError extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super('a withEntries hook failed');
  }
}

/** One event of {@link LedgerService.appendAll}. */
export interface LedgerEvent {
  eventType: string;
  data: Record<string, unknown>;
}

/** Options of one append. */
export interface AppendOptions {
  /**
   * The module's own writes that must be durable together with the appended entries or not at all (a
   * decision and its `decision` entry): run synchronously inside the transaction that commits them,
   * right after they are inserted, with the final entries (seq, hash) in the order given. If it throws,
   * this append rejects with that error and nothing of it is kept; the other appends of its batch are
   * committed without it. (A failure of the ledger itself still rejects the whole batch.)
   *
   * On a store that sequences in its own transaction (PostgreSQL: `LedgerRepo.appendSequenced`) the
   * hook also gets that transaction, for the module's repository to write through, and may return a
   * promise. On SQLite it gets no handle (the module writes through its synchronous repository, on the
   * same connection) and must not return a promise: that append is rejected.
   */
  withEntries?: (entries: readonly StoredEntry[], tx?: Transaction) => void | Promise<void>;
}

/** Where a module writes its governance events: the ledger (services get this, not the whole LedgerService). */
export interface EventSink {
  append(eventType: string, data: Record<string, unknown>, options?: AppendOptions): Promise<AppendReceipt>;
  /** Append consecutive entries atomically (all in one transaction, no other entry between them). */
  appendAll(events: readonly LedgerEvent[], options?: AppendOptions): Promise<AppendReceipt[]>;
}

export interface LedgerServiceDeps {
  repo: LedgerRepo;
  clock: Clock;
  logger: FastifyBaseLogger;
  metrics?: LedgerMetrics | undefined;
  /** Most appends committed in one transaction (1 gives one transaction per append, the bench baseline). */
  maxBatchSize?: number;
  /** How many entries before the head are re-hashed and re-linked at start (default {@link TAIL_CHECK_ENTRIES}). */
  tailCheckEntries?: number;
  /** How long a full verification is reused while the head has not moved (default {@link VERIFY_CACHE_MS}). */
  verifyCacheMs?: number;
  /** Where the last signed checkpoint comes from (see {@link HeadAnchor}); none by default. */
  anchor?: HeadAnchor | undefined;
  /**
   * Told after every committed batch (the Merkle tree's integrator, issue 19, counts the entries waiting
   * for it). Runs after the commit, off the transaction; it must not throw.
   */
  onCommitted?: ((entries: readonly StoredEntry[]) => void) | undefined;
}

/** Entries before the head checked at every start (with the genesis entry). */
export const TAIL_CHECK_ENTRIES = 1000;
/** How long `verifyCached` reuses a full verification of an unchanged head. */
export const VERIFY_CACHE_MS = 5000;

interface Pending {
  /** One or more events, committed consecutively in one transaction. */
  events: Array<{ eventType: string; dataJson: string }>;
  timestamp: string;
  withEntries: AppendOptions['withEntries'];
  resolve: (receipts: AppendReceipt[]) => void;
  reject: (err: unknown) => void;
}

/**
 * The ledger's single writer. Appends are queued; one sequencer assigns seq and hashes in order and
 * commits every append waiting in the same event-loop turn in one transaction (group commit). Each
 * append's promise resolves only after its batch committed; a failed batch rejects all of its appends
 * and leaves the head where it was.
 */
export class LedgerService {
  private readonly repo: LedgerRepo;
  private readonly clock: Clock;
  private readonly logger: FastifyBaseLogger;
  private readonly metrics: LedgerMetrics | undefined;
  private readonly maxBatchSize: number;

  private readonly tailCheckEntries: number;
  private readonly verifyCacheMs: number;
  private readonly anchor: HeadAnchor | undefined;
  private readonly onCommitted: ((entries: readonly StoredEntry[]) => void) | undefined;
  private readonly verification = new SingleFlight(() => this.verifyNow());
  private lastVerification: { report: VerifyReport; atMs: number } | undefined;
  private verificationsRun = 0;

  private repairedGuards: readonly GuardRepair[] = [];
  private head: ChainHead | undefined;
  private statusValue: LedgerStatus = { state: 'starting' };
  private queue: Pending[] = [];
  private flushScheduled = false;
  private flushing = false;
  /** The next sequenced batch isolates each append in a savepoint (a hook of the last one failed). */
  private isolateNext = false;
  private idleWaiters: (() => void)[] = [];

  constructor(deps: LedgerServiceDeps) {
    this.repo = deps.repo;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
    this.maxBatchSize = deps.maxBatchSize ?? 1000;
    this.tailCheckEntries = deps.tailCheckEntries ?? TAIL_CHECK_ENTRIES;
    this.verifyCacheMs = deps.verifyCacheMs ?? VERIFY_CACHE_MS;
    this.anchor = deps.anchor;
    this.onCommitted = deps.onCommitted;
  }

  get status(): LedgerStatus {
    return this.statusValue;
  }

  /**
   * The append-only guards `start` found missing, altered or foreign and repaired: tamper evidence that
   * `start` records in a `ledger_guards_repaired` entry (the warning alone would be lost with the log), and
   * the server names again in its `system_startup` entry.
   */
  get guardRepairs(): readonly GuardRepair[] {
    return this.repairedGuards;
  }

  /**
   * Before serving: re-create the store's append-only guards when they were dropped or altered (logged
   * as a warning: that is tamper evidence), load the head, creating the genesis entry on an empty
   * ledger, and check the chain's tail: the genesis entry and the last {@link TAIL_CHECK_ENTRIES}
   * entries are re-hashed and re-linked, and the head must contain the last recorded checkpoint (when an
   * anchor is configured). A failed check does not throw: it is logged at error level, the ledger
   * refuses every append (503 `LEDGER_CORRUPT`) and reports itself not ready, and reads still work.
   */
  async start(): Promise<void> {
    const repairs = (await this.repo.ensureGuards?.()) ?? [];
    this.repairedGuards = repairs;
    if (repairs.length > 0) {
      this.logger.warn(
        { guards: repairs },
        'ledger append-only guards were missing or altered and have been re-created: someone with write access to the database changed its schema; verify the whole chain (GET /ledger/verify, lexecon verify-ledger)',
      );
    }
    let head = await this.repo.head();
    if (!head) {
      head = await this.createGenesis();
    }
    const problem = (await checkTail(this.repo, head, this.tailCheckEntries)) ?? (await checkAnchor(this.repo, this.anchor, head));
    if (problem) {
      this.markCorrupt(problem.seq, problem.reason);
      return;
    }
    this.head = { seq: head.seq, entryHash: head.entryHash };
    this.statusValue = { state: 'ok', headSeq: head.seq, headHash: head.entryHash };
    this.metrics?.entries.set(head.seq + 1);
    // The repair is tamper evidence: it goes into the chain whoever started the ledger (the server or a
    // CLI command), so that the next start, finding the guards in place, cannot make it disappear.
    if (repairs.length > 0) {
      await this.append('ledger_guards_repaired', { guards: repairs.map((r) => ({ name: r.name, problem: r.problem })) });
    }
  }

  /**
   * The genesis entry of an empty ledger. Replicas starting together on one database create it once:
   * the store refuses the others' (LedgerConflictError), which then read the winner's.
   */
  private async createGenesis(): Promise<StoredEntry> {
    const genesis = genesisEntry(isoTimestamp(this.clock));
    try {
      await this.repo.appendBatch([genesis]);
    } catch (err) {
      const existing = err instanceof LedgerConflictError ? await this.repo.head() : undefined;
      if (!existing) throw err;
      return existing;
    }
    this.logger.info({ entry_hash: genesis.entryHash }, 'ledger genesis created');
    return genesis;
  }

  /**
   * Refuse every append from now on (until a restart finds the chain intact), and say why at error level.
   * Public for the checks of derived data that find the ledger cut short (the Merkle tree's integrator).
   */
  markCorrupt(seq: number, reason: string): void {
    if (this.statusValue.state === 'corrupt' || this.statusValue.state === 'closed') return;
    this.statusValue = { state: 'corrupt', reason };
    this.logger.error({ seq }, `${reason}; refusing ledger writes until it is repaired`);
  }

  /**
   * Append an event. Resolves after the entry is durably committed. `data` is canonicalized now, so a
   * value that cannot be hashed (non-finite number, non-plain object) rejects this call alone.
   */
  append(eventType: string, data: Record<string, unknown>, options: AppendOptions = {}): Promise<AppendReceipt> {
    return this.enqueue([{ eventType, data }], options, (receipts) => receipts[0]!);
  }

  /**
   * Append several events as consecutive entries in one transaction (no other entry between them, all
   * or none), e.g. a decision and the escalation it opens. Resolves with their receipts, in order.
   */
  appendAll(events: readonly LedgerEvent[], options: AppendOptions = {}): Promise<AppendReceipt[]> {
    return this.enqueue(events, options, (receipts) => receipts);
  }

  private enqueue<T>(events: readonly LedgerEvent[], options: AppendOptions, pick: (r: AppendReceipt[]) => T): Promise<T> {
    const unavailable = this.writeRefusal();
    if (unavailable) return Promise.reject(unavailable);
    if (events.length === 0) return Promise.reject(new TypeError('nothing to append'));
    const prepared: Pending['events'] = [];
    for (const { eventType, data } of events) {
      if (!EVENT_TYPE_PATTERN.test(eventType)) {
        return Promise.reject(new TypeError(`invalid ledger event type '${eventType}'`));
      }
      try {
        prepared.push({ eventType, dataJson: canonicalize(data) });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const timestamp = isoTimestamp(this.clock);
    return new Promise<T>((resolve, reject) => {
      const done = (receipts: AppendReceipt[]) => resolve(pick(receipts));
      this.queue.push({ events: prepared, timestamp, withEntries: options.withEntries, resolve: done, reject });
      this.scheduleFlush();
    });
  }

  /** Wait until every append queued so far has been committed or rejected. */
  drain(): Promise<void> {
    if (!this.flushing && !this.flushScheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuse new appends and wait for the queued ones to commit. */
  async close(): Promise<void> {
    if (this.statusValue.state === 'ok' || this.statusValue.state === 'starting') {
      this.statusValue = { state: 'closed' };
    }
    await this.drain();
  }

  /**
   * Verify the whole chain, genesis to the current head. One computation at a time: callers arriving
   * while one runs share its report. A chain found invalid makes the ledger refuse appends (it never
   * extends a chain known to be broken).
   */
  verify(): Promise<VerifyReport> {
    return this.verification.run();
  }

  /**
   * Like {@link verify}, but a report younger than `verifyCacheMs` is reused while the head (seq and
   * hash) is the one it verified: for reads any human may repeat (`GET /ledger/verify`, the Art 12 report).
   */
  async verifyCached(): Promise<VerifyReport> {
    const last = this.lastVerification;
    if (last && this.clock.now() - last.atMs < this.verifyCacheMs) {
      const head = await this.repo.head();
      if ((head?.seq ?? null) === last.report.headSeq && (head?.entryHash ?? null) === last.report.headHash) return last.report;
    }
    return this.verify();
  }

  /** Full verifications computed so far (shared and cached calls do not count): for tests and metrics. */
  get verificationCount(): number {
    return this.verificationsRun;
  }

  private async verifyNow(): Promise<VerifyReport> {
    const atMs = this.clock.now();
    this.verificationsRun++;
    const report = await verifyLedger(this.repo);
    this.lastVerification = { report, atMs };
    if (report.firstInvalid) {
      this.markCorrupt(report.firstInvalid.seq, `ledger verification failed at seq ${report.firstInvalid.seq}: ${report.firstInvalid.reason}`);
    }
    return report;
  }

  getEntry(entryId: string): Promise<StoredEntry | undefined> {
    return this.repo.byEntryId(entryId);
  }

  listEntries(filter: EntryFilter): Promise<StoredEntry[]> {
    return this.repo.list(filter);
  }

  private writeRefusal(): AppError | undefined {
    switch (this.statusValue.state) {
      case 'ok':
        return undefined;
      case 'corrupt':
        return errors.unavailable('LEDGER_CORRUPT', 'The ledger failed its integrity check; writes are refused');
      case 'closed':
        return errors.unavailable('SHUTTING_DOWN', 'The server is shutting down', 1);
      case 'starting':
        return errors.unavailable('NOT_READY', 'The ledger is still starting', 1);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: every request handled in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxBatchSize);
    if (this.repo.appendSequenced) {
      await this.flushSequenced(batch, this.repo.appendSequenced.bind(this.repo));
      return;
    }
    let head = this.head!;
    const entries: StoredEntry[] = [];
    const groups = batch.map((p) => {
      const group = p.events.map((ev) => {
        const entry = nextEntry(head, ev.eventType, ev.dataJson, p.timestamp);
        head = entry;
        return entry;
      });
      entries.push(...group);
      return group;
    });
    // Each append's hook runs after the last of its entries is inserted.
    let hooks: Array<EntryHook | undefined> | undefined;
    batch.forEach((p, i) => {
      const hook = p.withEntries;
      if (!hook) return;
      hooks ??= new Array<EntryHook | undefined>(entries.length);
      const group = groups[i]!;
      hooks[group[group.length - 1]!.seq - entries[0]!.seq] = () => {
        let result: void | Promise<void>;
        try {
          result = hook(group);
        } catch (err) {
          throw new EntryHookError(i, err);
        }
        if (result instanceof Promise) {
          result.catch(() => undefined);
          throw new EntryHookError(i, new TypeError('a withEntries hook on a synchronous store must not be async'));
        }
      };
    });
    const started = process.hrtime.bigint();
    try {
      await this.repo.appendBatch(entries, hooks);
    } catch (err) {
      if (err instanceof LedgerConflictError && (await this.catchUp())) {
        // Another writer (the CLI on the same database) appended first: chain after its entries.
        this.queue.unshift(...batch);
        this.afterFlush();
        return;
      }
      if (err instanceof EntryHookError) {
        // A module's own writes failed, not the ledger: reject that append alone and commit the others
        // (nothing of the failed transaction was kept and the head did not move).
        batch[err.index]!.reject(err.cause);
        this.queue.unshift(...batch.filter((_, i) => i !== err.index));
        this.afterFlush();
        return;
      }
      this.logger.error({ err, batch_size: batch.length }, 'ledger batch failed; its appends are rejected');
      if (err instanceof LedgerConflictError && this.statusValue.state === 'ok') {
        this.statusValue = { state: 'corrupt', reason: `ledger head moved under this process: ${err.message}` };
      }
      for (const p of batch) p.reject(err);
      this.afterFlush();
      return;
    }
    this.head = { seq: head.seq, entryHash: head.entryHash };
    if (this.statusValue.state === 'ok') {
      this.statusValue = { state: 'ok', headSeq: head.seq, headHash: head.entryHash };
    }
    this.recordMetrics(entries, started);
    batch.forEach((p, i) => {
      p.resolve(groups[i]!.map((e) => ({ seq: e.seq, entryId: e.entryId, entryHash: e.entryHash, timestamp: e.timestamp })));
    });
    this.afterFlush();
  }

  /**
   * One batch on a store that sequences in its transaction (several replicas on one database): the
   * store numbers and hashes the entries after the head it locked, runs the hooks with its transaction,
   * and commits. A hook that throws rejects its own append; the others are queued again at the front
   * (in order) and go in the next transaction. A failure of the store rejects the whole batch, nothing
   * of it kept; an unreachable database gives a 503 (DATABASE_UNAVAILABLE), and the next batch tries
   * again, so the ledger recovers by itself when the database returns.
   */
  private async flushSequenced(batch: Pending[], appendSequenced: (a: readonly SequencedAppend[]) => Promise<StoredEntry[][]>): Promise<void> {
    if (this.isolateNext && this.repo.appendIsolated) {
      this.isolateNext = false;
      await this.flushIsolated(batch, this.repo.appendIsolated.bind(this.repo));
      return;
    }
    const appends: SequencedAppend[] = batch.map((p, i) => {
      const hook = p.withEntries;
      return {
        events: p.events.map((ev) => ({ eventType: ev.eventType, dataJson: ev.dataJson, timestamp: p.timestamp })),
        withEntries:
          hook &&
          (async (entries: readonly StoredEntry[], tx: Transaction) => {
            try {
              await hook(entries, tx);
            } catch (err) {
              throw new EntryHookError(i, err);
            }
          }),
      };
    });
    const started = process.hrtime.bigint();
    let groups: StoredEntry[][];
    try {
      groups = await appendSequenced(appends);
    } catch (err) {
      if (err instanceof EntryHookError) {
        batch[err.index]!.reject(err.cause);
        this.queue.unshift(...batch.filter((_, i) => i !== err.index));
        // More hooks of these appends may fail the same way (e.g. every decision behind a stop): the
        // next batch isolates each append, so that they fail one by one in ONE transaction instead of
        // one transaction each.
        this.isolateNext = true;
      } else {
        this.logger.error({ err, batch_size: batch.length }, 'ledger batch failed; its appends are rejected');
        const rejection = translateDatabaseError(err) ?? err;
        for (const p of batch) p.reject(rejection);
      }
      this.afterFlush();
      return;
    }
    const entries = groups.flat();
    const last = entries[entries.length - 1]!;
    if (!this.head || last.seq > this.head.seq) this.head = { seq: last.seq, entryHash: last.entryHash };
    if (this.statusValue.state === 'ok') {
      this.statusValue = { state: 'ok', headSeq: this.head.seq, headHash: this.head.entryHash };
    }
    this.recordMetrics(entries, started);
    batch.forEach((p, i) => {
      p.resolve(groups[i]!.map((e) => ({ seq: e.seq, entryId: e.entryId, entryHash: e.entryHash, timestamp: e.timestamp })));
    });
    this.afterFlush();
  }

  /**
   * A batch after a hook failure: each append in a savepoint, so an append whose hook throws is
   * rejected alone and the others commit in the same transaction. A failure of the store rejects all.
   */
  private async flushIsolated(batch: Pending[], appendIsolated: (a: readonly SequencedAppend[]) => Promise<SequencedOutcome[]>): Promise<void> {
    const appends: SequencedAppend[] = batch.map((p) => ({
      events: p.events.map((ev) => ({ eventType: ev.eventType, dataJson: ev.dataJson, timestamp: p.timestamp })),
      withEntries: p.withEntries && (async (entries: readonly StoredEntry[], tx: Transaction) => p.withEntries!(entries, tx)),
    }));
    const started = process.hrtime.bigint();
    let outcomes: SequencedOutcome[];
    try {
      outcomes = await appendIsolated(appends);
    } catch (err) {
      this.logger.error({ err, batch_size: batch.length }, 'ledger batch failed; its appends are rejected');
      const rejection = translateDatabaseError(err) ?? err;
      for (const p of batch) p.reject(rejection);
      this.afterFlush();
      return;
    }
    const entries = outcomes.flatMap((o) => (o.ok ? o.entries : []));
    const last = entries[entries.length - 1];
    if (last && (!this.head || last.seq > this.head.seq)) this.head = { seq: last.seq, entryHash: last.entryHash };
    if (this.statusValue.state === 'ok' && this.head) {
      this.statusValue = { state: 'ok', headSeq: this.head.seq, headHash: this.head.entryHash };
    }
    if (entries.length > 0) this.recordMetrics(entries, started);
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.entries.map((e) => ({ seq: e.seq, entryId: e.entryId, entryHash: e.entryHash, timestamp: e.timestamp })));
      else p.reject(o.error);
    });
    this.afterFlush();
  }

  /**
   * Move this process's head past entries another writer on the same database committed, checking each
   * one's seq, id, link and hash. False (and the ledger marked corrupt) when there are none or one fails.
   */
  private async catchUp(): Promise<boolean> {
    let head = this.head!;
    let advanced = false;
    for (;;) {
      const entries = await this.repo.range(head.seq, Number.MAX_SAFE_INTEGER, 1000);
      for (const entry of entries) {
        const finding = checkEntry(entry, head.seq + 1, head.entryHash);
        if (finding) {
          this.statusValue = { state: 'corrupt', reason: `entry written by another process failed its check: ${finding.reason}` };
          return false;
        }
        head = { seq: entry.seq, entryHash: entry.entryHash };
        advanced = true;
      }
      if (entries.length < 1000) break;
    }
    if (!advanced) return false;
    this.logger.info({ from_seq: this.head!.seq, to_seq: head.seq }, 'ledger head moved by another writer; continuing after it');
    this.head = head;
    this.statusValue = { state: 'ok', headSeq: head.seq, headHash: head.entryHash };
    return true;
  }

  private afterFlush(): void {
    this.flushing = false;
    if (this.queue.length > 0) {
      this.scheduleFlush();
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private recordMetrics(entries: StoredEntry[], started: bigint): void {
    if (entries.length > 0) this.onCommitted?.(entries);
    const m = this.metrics;
    if (!m) return;
    m.commitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    m.batchSize.observe(entries.length);
    m.entries.set(entries[entries.length - 1]!.seq + 1);
    for (const e of entries) m.appends.inc({ event_type: e.eventType });
  }
}
