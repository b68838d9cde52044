import type { FastifyBaseLogger } from 'fastify';
import type { EscalationService } from './escalation.service.js';

/**
 * The SLA monitor's timer: every `intervalS` seconds it runs {@link EscalationService.sweep}. The timer
 * is `unref()`ed (it never keeps the process alive) and holds no state: the cases and their deadlines
 * are in the database, and the app sweeps once at start, so nothing that fell due while the process
 * was down is missed. `intervalS` 0 turns the timer off (the start-up sweep still runs).
 */
export class SlaMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly escalations: Pick<EscalationService, 'sweep' | 'idle'>,
    private readonly intervalS: number,
    private readonly logger: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.intervalS === 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.escalations.sweep().catch((err: unknown) => this.logger.error({ err }, 'SLA sweep failed'));
    }, this.intervalS * 1000);
    this.timer.unref();
  }

  /** Stop the timer and wait for a sweep in progress (before the ledger closes). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.escalations.idle();
  }
}
