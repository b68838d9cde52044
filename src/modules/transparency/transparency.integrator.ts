/**
 * The Merkle tree's integrator (issue 19), the Trillian / Tessera "integrate" model: ledger entries
 * commit without any tree work (the decision's hot path does not grow), and this job extends
 * `merkle_nodes` for the committed entries in a transaction of its OWN, batched so that its commit (its
 * fsync) is shared by many entries: when {@link TreeIntegratorOptions.threshold} entries are waiting, or
 * every {@link TreeIntegratorOptions.intervalMs}, whichever comes first.
 *
 * * One writer at a time: each transaction takes the lock {@link INTEGRATOR_LOCK} (PostgreSQL: a
 *   transaction-scoped advisory lock; SQLite: its write transactions are exclusive already). A second
 *   replica waits for the first to commit, then reads the tree's size again and finds nothing (or only
 *   what came since) to do: a conflict is never an error, and never touches the decision path.
 * * Nothing is lost between a commit and its integration (a crash, a stop): the table says how far the
 *   tree got, the ledger says how far it must go; the next integration, in this process or another,
 *   takes it from there.
 * * Start-up does not wait for the tree: {@link TreeIntegrator.start} checks the stored tree against the
 *   ledger (a tree LARGER than the ledger means entries were cut off its end: `onCorrupt`), then the
 *   catch-up of a large backlog (a database from before the tree: 1 M entries) runs in the background,
 *   {@link TreeIntegratorOptions.maxLeavesPerTransaction} leaves per transaction, so `/ready` is not held
 *   and other writers on the connection get their turn between two transactions. Proofs answer for the
 *   tree size integrated so far.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { DbPort } from '../../platform/db/port.js';
import { SingleFlight } from '../../platform/single-flight.js';
import { MerkleError } from './merkle.js';
import { MerkleTreeStore, readLedgerSize, readTreeSize } from './transparency.repo.js';

/** The lock one integrator at a time holds in its transaction. */
export const INTEGRATOR_LOCK = 'lexecon:merkle-integrator';
/** Entries waiting that start an integration before the timer does. */
export const INTEGRATE_THRESHOLD = 1000;
/** Leaves added per transaction: a large backlog is caught up in several, yielding between them. */
export const MAX_LEAVES_PER_TRANSACTION = 10_000;

export interface TreeIntegratorOptions {
  port: DbPort;
  logger: FastifyBaseLogger;
  /** Milliseconds between two timed integrations (LEXECON_TREE_INTEGRATE_MS); 0: no timer (tests call {@link TreeIntegrator.integrate}). */
  intervalMs: number;
  threshold?: number;
  maxLeavesPerTransaction?: number;
  /** The stored tree is larger than the ledger (its tail was cut off): refuse ledger writes. */
  onCorrupt?: (reason: string) => void;
  store?: MerkleTreeStore;
}

export class TreeIntegrator {
  readonly store: MerkleTreeStore;
  private readonly port: DbPort;
  private readonly logger: FastifyBaseLogger;
  private readonly intervalMs: number;
  private readonly threshold: number;
  private readonly maxLeaves: number;
  private readonly onCorrupt: ((reason: string) => void) | undefined;
  private readonly flight = new SingleFlight(() => this.run());
  private timer: NodeJS.Timeout | undefined;
  /** Entries committed in this process since the last integration began (a hint, not the truth: the table is). */
  private waiting = 0;
  private again = false;
  private busy = false;
  private closed = false;
  private failed = false;
  private size = 0;

  constructor(options: TreeIntegratorOptions) {
    this.port = options.port;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs;
    this.threshold = options.threshold ?? INTEGRATE_THRESHOLD;
    this.maxLeaves = options.maxLeavesPerTransaction ?? MAX_LEAVES_PER_TRANSACTION;
    this.onCorrupt = options.onCorrupt;
    this.store = options.store ?? new MerkleTreeStore();
  }

  /** The tree size this process last integrated to, or read (another replica may be ahead). */
  get integratedSize(): number {
    return this.size;
  }

  /**
   * Check the stored tree against the ledger (not larger), then integrate in the background and on the
   * timer. Returns false when the tree is larger than the ledger (reported through `onCorrupt`; nothing runs).
   */
  async start(): Promise<boolean> {
    // The tree first, then the ledger: entries commit before they are integrated (by any replica), so
    // read in this order a larger tree can only mean entries removed from the ledger's end.
    const tree = await readTreeSize(this.port);
    const ledger = await readLedgerSize(this.port);
    if (tree > ledger) {
      this.fail(`Merkle tree: the stored Merkle tree has ${tree} leaves but the ledger has ${ledger} entries: entries were removed`);
      return false;
    }
    this.size = tree;
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => this.kick(), this.intervalMs);
      this.timer.unref();
    }
    this.kick();
    return true;
  }

  /** The ledger committed `count` entries: integrate now if enough are waiting. */
  noteCommitted(count: number): void {
    this.waiting += count;
    if (this.waiting >= this.threshold) this.kick();
  }

  /**
   * Integrate every entry committed when the call began (several transactions for a large backlog).
   * Returns the tree size reached. Concurrent calls share one run; a call during a run runs once more after it.
   */
  async integrate(): Promise<number> {
    if (this.closed) return this.size;
    if (this.busy) this.again = true;
    return this.flight.run();
  }

  /** Stop the timer and wait for a running integration (what it committed stays; the rest waits for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flight.idle();
  }

  private kick(): void {
    if (this.closed || this.failed) return;
    this.integrate().catch((err: unknown) => {
      // A database that is briefly unavailable: the next tick tries again (nothing is lost).
      if (!this.closed) this.logger.warn({ err }, 'Merkle tree integration failed; retrying on the next tick');
    });
  }

  private async run(): Promise<number> {
    this.busy = true;
    try {
      return await this.runAll();
    } finally {
      this.busy = false;
    }
  }

  private async runAll(): Promise<number> {
    do {
      this.again = false;
      this.waiting = 0;
      // The entries committed now are integrated before this returns (later ones may be too).
      const goal = await readLedgerSize(this.port);
      // Nothing new (an idle tick): no transaction at all.
      if (goal <= this.size) continue;
      for (;;) {
        let reached: number;
        try {
          reached = await this.port.transaction(async (tx) => {
            await tx.lock(INTEGRATOR_LOCK);
            return this.store.integrate(tx, this.maxLeaves);
          });
        } catch (err) {
          if (err instanceof MerkleError && /entries were removed/.test(err.message)) this.fail(`Merkle tree: ${err.message}`);
          throw err;
        }
        this.size = Math.max(this.size, reached);
        if (reached >= goal || this.closed) break;
        // A backlog: let the ledger's batches take the connection between two transactions.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } while (this.again && !this.closed);
    return this.size;
  }

  private fail(reason: string): void {
    this.failed = true;
    this.logger.error(reason);
    this.onCorrupt?.(reason);
  }
}
