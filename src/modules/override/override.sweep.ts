import type { FastifyBaseLogger } from 'fastify';
import type { LedgerService } from '../ledger/ledger.service.js';
import { MAX_ATTEMPTS, StateChanged } from './override.errors.js';
import type { OverrideRecord, OverrideRepo } from './override.repo.js';

export interface OverrideSweepReport {
  /** Overrides that lapsed in this sweep. */
  expired: string[];
  /** Due overrides that could not be lapsed now (logged; the next sweep tries again). */
  skipped: number;
}

/** Who the ledger names for what the sweeper does. */
export const EXPIRY_ACTOR = 'override_expiry';

const SWEEP_PAGE = 100;

export interface OverrideSweepDeps {
  repo: OverrideRepo;
  /** `drain`: a lapse that lost a race waits for the winner to commit before it reads again. */
  ledger: Pick<LedgerService, 'drain'>;
  logger: FastifyBaseLogger;
  now: () => string;
  /** Lapse one override if it is still due (false when it no longer is); one attempt. */
  lapseOnce: (overrideId: string, now: string) => Promise<boolean>;
}

/**
 * The override sweep's step (its timer is the OverrideSweeper, override.sweeper.ts): every pending or
 * active override whose lapse time has come lapses, a page at a time, each retried when its state
 * changed under it.
 */
export class OverrideSweep {
  constructor(private readonly deps: OverrideSweepDeps) {}

  /** One sweep over every due override. */
  async once(): Promise<OverrideSweepReport> {
    const report: OverrideSweepReport = { expired: [], skipped: 0 };
    const now = this.deps.now();
    let after: OverrideRecord | undefined;
    for (;;) {
      const due = await this.deps.repo.due(now, SWEEP_PAGE, after && { lapsesAt: after.lapsesAt!, overrideId: after.overrideId });
      if (due.length === 0) break;
      // Different decisions lapse concurrently (their appends share a group commit); one decision's in order.
      const byDecision = new Map<string, OverrideRecord[]>();
      for (const o of due) byDecision.set(o.decisionId, [...(byDecision.get(o.decisionId) ?? []), o]);
      await Promise.all(
        [...byDecision.values()].map(async (list) => {
          for (const o of list) {
            try {
              if (await this.lapse(o.overrideId, now)) report.expired.push(o.overrideId);
            } catch (err) {
              report.skipped += 1;
              this.deps.logger.warn({ err, override_id: o.overrideId }, 'override sweep could not lapse a due override');
            }
          }
        }),
      );
      if (due.length < SWEEP_PAGE) break;
      after = due[due.length - 1];
    }
    return report;
  }

  /** Lapse one override if it is still due (false when it no longer is). */
  private async lapse(overrideId: string, now: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.lapseOnce(overrideId, now);
      } catch (err) {
        if (!(err instanceof StateChanged) || attempt >= MAX_ATTEMPTS) throw err;
        await this.deps.ledger.drain();
      }
    }
  }
}
