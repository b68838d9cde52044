import { EventEmitter } from 'node:events';

/**
 * In-process notice that a decision's effective outcome may have changed (an escalation resolved, an
 * override created, confirmed or expired), for `GET /decide/:decision_id?wait=N` long-polls. The state
 * itself is always read from the store; this only says when to read it again.
 */
const CLOSE = Symbol('close');

export class DecisionChanges {
  private readonly emitter = new EventEmitter();
  private closed = false;

  constructor() {
    // Many agents may wait on decisions at once; each waiter removes its listener when done.
    this.emitter.setMaxListeners(0);
  }

  notify(decisionId: string): void {
    this.emitter.emit(decisionId);
  }

  /** Resolves at the next notice for `decisionId`, or after `ms`, or at shutdown, whichever comes first. */
  waitFor(decisionId: string, ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(decisionId, done);
        this.emitter.off(CLOSE, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(decisionId, done);
      this.emitter.on(CLOSE, done);
    });
  }

  /** Shutdown: every waiter answers now (with the state as it is), and no new wait starts. */
  close(): void {
    this.closed = true;
    this.emitter.emit(CLOSE);
  }
}
