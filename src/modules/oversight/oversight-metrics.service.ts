import type { Clock } from '../../platform/clock.js';
import { errors } from '../../platform/errors.js';
import { computeOversightMetrics, type OversightMetrics } from './oversight-metrics.js';
import type { SqliteOversightMetricsRepo } from './oversight-metrics.repo.js';

const DEFAULT_WINDOW_MS = 30 * 86_400_000;

/** `GET /api/governance/oversight/metrics`: the pure core over one window's rows. */
export class OversightMetricsService {
  constructor(private readonly deps: { repo: SqliteOversightMetricsRepo; clock: Clock; rubberStampS: number }) {}

  /**
   * Window [since, until), default the last 30 days up to and including now (until = now + 1 ms);
   * 400 when since is not before until.
   */
  metrics(since?: string, until?: string): OversightMetrics & { since: string; until: string } {
    const nowMs = this.deps.clock.now();
    const untilMs = until === undefined ? nowMs + 1 : Date.parse(until);
    const sinceMs = since === undefined ? untilMs - DEFAULT_WINDOW_MS : Date.parse(since);
    if (!(sinceMs < untilMs)) {
      throw errors.validation('Invalid querystring', [{ in: 'querystring', field: 'since', message: 'must be before until', code: 'custom' }]);
    }
    const w = { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString() };
    const { repo } = this.deps;
    return {
      ...w,
      ...computeOversightMetrics({
        decisions: repo.decisions(w),
        overrides: repo.overrides(w),
        resolutions: repo.resolutions(w),
        escalationsOpened: repo.escalationsOpened(w),
        slaBreaches: repo.slaBreaches(w, new Date(nowMs).toISOString()),
        rubberStampS: this.deps.rubberStampS,
      }),
    };
  }
}
