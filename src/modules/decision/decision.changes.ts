import { EventEmitter } from 'node:events';

/**
 * In-process notice that a decision's effective outcome may have changed (an escalation resolved, an
 * override created, confirmed or expired), for `GET /decide/:decision_id?wait=N` long-polls. The state
 * itself is always read from the store; this only says when to read it again.
 */
export class DecisionChanges {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many agents may wait on decisions at once; each waiter removes its listener when done.
    this.emitter.setMaxListeners(0);
  }

  notify(decisionId: string): void {
    this.emitter.emit(decisionId);
  }

  /** Resolves at the next notice for `decisionId`, or after `ms`, whichever comes first. */
  waitFor(decisionId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(decisionId, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.on(decisionId, done);
    });
  }
}
