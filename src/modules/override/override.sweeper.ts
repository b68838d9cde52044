import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import type { OverrideService, OverrideSweepReport } from './override.service.js';

/** The longest the timer sleeps (it re-reads the next lapse time at least this often). */
const MAX_SLEEP_MS = 60_000;
/** After a sweep that could not lapse something due, wait this long before trying again. */
const RETRY_MS = 5_000;

/**
 * The override expiry timer: it sleeps until the next override's lapse time (at most a minute), then
 * runs {@link OverrideService.sweep}, so that an override's `override_expired` entry (and the token
 * revocation its lapse causes) follows its `expires_at` closely. The effective outcome does not wait
 * for it: an override past its `expires_at` no longer counts from that instant. The timer is
 * `unref()`ed and holds no state: the lapse times are in the database, and {@link start} sweeps once
 * first, so nothing that fell due while the process was down is missed.
 */
export class OverrideSweeper {
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (epoch ms of the injected clock). */
  private wakeAt = Number.POSITIVE_INFINITY;
  private running = false;
  private stopped = false;

  constructor(
    private readonly overrides: Pick<OverrideService, 'sweep' | 'idle' | 'nextLapse' | 'onLapseScheduled'>,
    private readonly clock: Clock,
    private readonly logger: FastifyBaseLogger,
  ) {
    overrides.onLapseScheduled((at) => this.wakeBy(Date.parse(at)));
  }

  /** Catch up on everything due, then arm the timer. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  /** Sweep now (tests call it with a manual clock) and re-arm the timer. */
  async sweep(): Promise<OverrideSweepReport> {
    const report = await this.overrides.sweep();
    await this.arm(report.skipped > 0 ? RETRY_MS : undefined);
    return report;
  }

  /** Stop the timer and wait for a sweep in progress (before the ledger closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.overrides.idle();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.timer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    try {
      await this.sweep();
    } catch (err) {
      this.logger.error({ err }, 'override sweep failed');
      await this.arm(RETRY_MS);
    } finally {
      this.running = false;
    }
  }

  /** Sleep until the next lapse time (or `minMs` at least), capped at a minute. */
  private async arm(minMs?: number): Promise<void> {
    if (this.stopped) return;
    const woken = this.wakeAt;
    let next: string | null;
    let retry = minMs ?? 0;
    try {
      next = await this.overrides.nextLapse();
    } catch (err) {
      // The database is unreachable: try again soon (never an unhandled rejection from the timer).
      this.logger.error({ err }, 'override sweeper could not read the next lapse time');
      next = null;
      retry = Math.max(retry, RETRY_MS);
    }
    if (this.stopped) return;
    const delay = Math.max(next === null ? MAX_SLEEP_MS : Date.parse(next) - this.clock.now(), retry);
    // A lapse scheduled while the time was being read (wakeBy) keeps its earlier wake-up.
    if (this.wakeAt !== woken && this.wakeAt <= this.clock.now() + delay) return;
    this.setTimer(delay);
  }

  /** A lapse time was scheduled: wake by then if the timer sleeps longer. */
  private wakeBy(atMs: number): void {
    if (this.stopped || atMs >= this.wakeAt) return;
    this.setTimer(atMs - this.clock.now());
  }

  private setTimer(delayMs: number): void {
    clearTimeout(this.timer);
    const delay = Math.min(Math.max(delayMs, 0), MAX_SLEEP_MS) + 1;
    this.wakeAt = this.clock.now() + delay;
    this.timer = setTimeout(() => void this.run(), delay);
    this.timer.unref();
  }
}
