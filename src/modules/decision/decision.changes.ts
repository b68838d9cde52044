import { EventEmitter } from 'node:events';

/**
 * Notice that a decision's effective outcome may have changed (an escalation resolved, an override
 * created, confirmed or expired), for `GET /decide/:decision_id?wait=N` long-polls. The state itself is
 * always read from the store; a notice only says when to read it again, so a lost notice costs a waiter
 * its timeout, never a wrong answer.
 *
 * Two implementations: `InProcessDecisionChanges` (one process: SQLite, today's wiring) and
 * `PgDecisionChanges` (decision.changes.pg.ts: replicas on one PostgreSQL database, LISTEN/NOTIFY).
 */
export interface DecisionChanges {
  /**
   * Wake the waiters on `decisionId`, here and (PostgreSQL) on every replica. Call it after the
   * change has committed: the notice is immediate.
   */
  notify(decisionId: string): void;
  /**
   * Resolves at the next notice for `decisionId`, or after `ms`, or at shutdown, or when `signal`
   * aborts, whichever comes first. The waiter is registered when this is called: a caller that reads
   * the state asynchronously registers first and reads after (aborting the wait when it needs none), so
   * that a notice sent while it reads is not missed.
   */
  waitFor(decisionId: string, ms: number, signal?: AbortSignal): Promise<void>;
  /** Shutdown: every waiter answers now (with the state as it is), and no new wait starts. */
  close(): void | Promise<void>;
}

const CLOSE = Symbol('close');

/** This process's waiters, keyed by decision id (shared by both implementations). */
export class LocalWaiters {
  protected readonly emitter = new EventEmitter();
  private closed = false;

  constructor() {
    // Many agents may wait on decisions at once; each waiter removes its listener when done.
    this.emitter.setMaxListeners(0);
  }

  /** Wake this process's waiters on `decisionId`. */
  wake(decisionId: string): void {
    this.emitter.emit(decisionId);
  }

  /** How many waiters are on `decisionId` now. */
  waiting(decisionId: string): number {
    return this.emitter.listenerCount(decisionId);
  }

  waitFor(decisionId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(decisionId, done);
        this.emitter.off(CLOSE, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(decisionId, done);
      this.emitter.on(CLOSE, done);
      signal?.addEventListener('abort', done);
    });
  }

  /** Every waiter answers now, and no new wait starts. */
  closeWaiters(): void {
    this.closed = true;
    this.emitter.emit(CLOSE);
  }
}

/**
 * One process (SQLite): a notice is an in-process event. Callers notify after their transaction has
 * committed, so a waiter never re-reads a state that is not yet visible.
 */
export class InProcessDecisionChanges extends LocalWaiters implements DecisionChanges {
  notify(decisionId: string): void {
    this.wake(decisionId);
  }

  close(): void {
    this.closeWaiters();
  }
}
