import type { DbPort } from '../../platform/db/port.js';
import type { OverrideFact, ResolutionFact } from './oversight-metrics.js';

/** A half-open window [since, until) of RFC 3339 (ms, Z) times. */
export interface Window {
  since: string;
  until: string;
}

const DECISIONS = 'SELECT count(*) AS n FROM decisions WHERE created_at >= ? AND created_at < ?';
// Overrides that took effect (pending, rejected or lapsed-unconfirmed ones changed nothing).
const OVERRIDES = 'SELECT authorized_by AS "authorizedBy" FROM overrides WHERE effective_at >= ? AND effective_at < ?';
const RESOLUTIONS = `SELECT resolved_by AS "resolvedBy", resolution, created_at AS "createdAt",
    CASE WHEN acknowledged_by = resolved_by THEN acknowledged_at END AS "acknowledgedAt", resolved_at AS "resolvedAt"
  FROM escalations WHERE status = 'resolved' AND resolved_at >= ? AND resolved_at < ?`;
const OPENED = 'SELECT count(*) AS n FROM escalations WHERE created_at >= ? AND created_at < ?';
const BREACHES = `SELECT count(*) AS n FROM escalations WHERE created_at >= ? AND created_at < ? AND (
    sla_missed > 0
    OR (status = 'resolved' AND resolved_at > sla_deadline)
    OR (status <> 'resolved' AND sla_deadline < ?))`;

/**
 * The read model behind the oversight metrics: counts and facts from the decisions, overrides and
 * escalations tables (owned by their modules; read here only, never written).
 */
export class OversightMetricsRepo {
  constructor(private readonly db: DbPort) {}

  private async count(sql: string, params: string[]): Promise<number> {
    return (await this.db.one<{ n: number }>(sql, params))!.n;
  }

  decisions(w: Window): Promise<number> {
    return this.count(DECISIONS, [w.since, w.until]);
  }

  overrides(w: Window): Promise<OverrideFact[]> {
    return this.db.all<OverrideFact>(OVERRIDES, [w.since, w.until]);
  }

  resolutions(w: Window): Promise<ResolutionFact[]> {
    return this.db.all<ResolutionFact>(RESOLUTIONS, [w.since, w.until]);
  }

  escalationsOpened(w: Window): Promise<number> {
    return this.count(OPENED, [w.since, w.until]);
  }

  /** Cases opened in the window whose SLA was missed at least once, as of `now`. */
  slaBreaches(w: Window, now: string): Promise<number> {
    return this.count(BREACHES, [w.since, w.until, now]);
  }
}
