import type { DbPort, Transaction } from '../../platform/db/port.js';
import { listenerFor, type ListenerHandle, type ListenerLogger, type PgListener } from '../../platform/db/pg-listener.js';
import { LocalWaiters, type DecisionChanges } from './decision.changes.js';

/** The channel every replica listens on; the payload is one decision id and nothing else. */
export const DECISION_CHANGES_CHANNEL = 'lexecon_decision_changes';

/** Decision ids are short identifiers (`dec_…`); anything else is never sent and ignored when received. */
const DECISION_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface PgDecisionChangesOptions {
  /** The database every replica uses (the LISTEN connection is opened on it, outside the pool). */
  url: string;
  /** The replica's port: notices are sent through it (pg_notify). */
  port: DbPort;
  logger: ListenerLogger;
  channel?: string;
  /** Reconnect backoff of the LISTEN connection (defaults 100 ms doubling to 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** The replica's shared LISTEN connection (subscribed to; its owner starts and closes it); none: one of its own. */
  listener?: PgListener;
}

/**
 * Replicas on one PostgreSQL database: each replica holds ONE dedicated connection LISTENing on
 * `lexecon_decision_changes`; a notice is `pg_notify(channel, decisionId)`, which PostgreSQL delivers
 * to every listening session of the database, this replica's included. Local waiters are woken both by
 * this replica's own notices (at once) and by notifications from any replica.
 *
 * Timing: `notify` sends the notice in its own statement (autocommit), so it is delivered immediately;
 * call it after the change committed. `notifyInTransaction` sends it inside the caller's transaction:
 * PostgreSQL delivers it at COMMIT, and never if the transaction rolls back — the right choice for a
 * write and its notice together.
 *
 * While the LISTEN connection is down (logged; it reconnects with backoff) notices from other replicas
 * are missed and their waiters time out: the state is always re-read from the store after a wait, so
 * a missed notice delays an answer, never falsifies it.
 */
export class PgDecisionChanges extends LocalWaiters implements DecisionChanges {
  private readonly listening: ListenerHandle;
  private readonly channel: string;
  private stopped = false;

  constructor(private readonly opts: PgDecisionChangesOptions) {
    super();
    this.channel = opts.channel ?? DECISION_CHANGES_CHANNEL;
    this.listening = listenerFor(
      {
        channel: this.channel,
        onNotification: (payload) => {
          if (DECISION_ID.test(payload)) this.wake(payload);
        },
      },
      {
        url: opts.url,
        logger: opts.logger,
        applicationName: 'lexecon-decision-changes',
        ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
        ...(opts.maxBackoffMs !== undefined && { maxBackoffMs: opts.maxBackoffMs }),
      },
      opts.listener,
    );
  }

  /**
   * Start listening and wait until the LISTEN is in place (a replica starts only once it can hear); on a
   * shared listener, its owner does that.
   */
  static async open(opts: PgDecisionChangesOptions, readyTimeoutMs = 10_000): Promise<PgDecisionChanges> {
    const changes = new PgDecisionChanges(opts);
    await changes.listening.start(readyTimeoutMs);
    return changes;
  }

  /** The LISTEN connection (its state and backend pid): for readiness reporting and tests. */
  get listenConnection(): Pick<PgListener, 'listening' | 'backendPid' | 'connects' | 'ready'> {
    return this.listening.listener;
  }

  notify(decisionId: string): void {
    checkId(decisionId);
    this.wake(decisionId);
    if (this.stopped) return;
    this.opts.port.one('SELECT pg_notify(?, ?)', [this.channel, decisionId]).catch((err: unknown) => {
      // The change is committed; only other replicas' waiters miss the hint (they time out and re-read).
      this.opts.logger.warn({ err: (err as Error).message, decisionId }, 'decision change notice not sent to other replicas');
    });
  }

  /** Notice sent in the caller's transaction: delivered to every replica at COMMIT, never on rollback. */
  async notifyInTransaction(tx: Transaction, decisionId: string): Promise<void> {
    checkId(decisionId);
    await tx.one('SELECT pg_notify(?, ?)', [this.channel, decisionId]);
  }

  /** Waiters answer now; the LISTEN connection is released (unless shared: its owner closes it). */
  async close(): Promise<void> {
    this.stopped = true;
    this.closeWaiters();
    await this.listening.close();
  }
}

function checkId(decisionId: string): void {
  if (!DECISION_ID.test(decisionId)) throw new TypeError('a decision change notice carries a decision id only');
}
