import type { Clock } from '../../platform/clock.js';
import { errors } from '../../platform/errors.js';
import { computeOversightMetrics, type OversightMetrics } from './oversight-metrics.js';
import type { OversightMetricsRepo } from './oversight-metrics.repo.js';

const DEFAULT_WINDOW_MS = 30 * 86_400_000;

/** `GET /api/governance/oversight/metrics`: the pure core over one window's rows. */
export class OversightMetricsService {
  constructor(private readonly deps: { repo: OversightMetricsRepo; clock: Clock; rubberStampS: number }) {}

  /**
   * Window [since, until), default the last 30 days up to and including now (until = now + 1 ms);
   * 400 when since is not before until.
   */
  async metrics(since?: string, until?: string): Promise<OversightMetrics & { since: string; until: string }> {
    const nowMs = this.deps.clock.now();
    const untilMs = until === undefined ? nowMs + 1 : Date.parse(until);
    const sinceMs = since === undefined ? untilMs - DEFAULT_WINDOW_MS : Date.parse(since);
    if (!(sinceMs < untilMs)) {
      throw errors.validation('Invalid querystring', [{ in: 'querystring', field: 'since', message: 'must be before until', code: 'custom' }]);
    }
    const w = { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString() };
    const { repo } = this.deps;
    const [decisions, overrides, resolutions, escalationsOpened, slaBreaches] = await Promise.all([
      repo.decisions(w),
      repo.overrides(w),
      repo.resolutions(w),
      repo.escalationsOpened(w),
      repo.slaBreaches(w, new Date(nowMs).toISOString()),
    ]);
    return {
      ...w,
      ...computeOversightMetrics({ decisions, overrides, resolutions, escalationsOpened, slaBreaches, rubberStampS: this.deps.rubberStampS }),
    };
  }
}
