import type { Db } from '../../platform/db/connection.js';
import type { OverrideFact, ResolutionFact } from './oversight-metrics.js';

/** A half-open window [since, until) of RFC 3339 (ms, Z) times. */
export interface Window {
  since: string;
  until: string;
}

/**
 * The read model behind the oversight metrics: counts and facts from the decisions, overrides and
 * escalations tables (owned by their modules; read here only, never written).
 */
export class SqliteOversightMetricsRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      decisions: db.prepare('SELECT count(*) FROM decisions WHERE created_at >= ? AND created_at < ?').pluck(),
      overrides: db.prepare(
        // Overrides that took effect (pending, rejected or lapsed-unconfirmed ones changed nothing).
        'SELECT authorized_by AS authorizedBy FROM overrides WHERE effective_at >= ? AND effective_at < ?',
      ),
      resolutions: db.prepare(
        `SELECT resolved_by AS resolvedBy, resolution, created_at AS createdAt,
           CASE WHEN acknowledged_by = resolved_by THEN acknowledged_at END AS acknowledgedAt, resolved_at AS resolvedAt
         FROM escalations WHERE status = 'resolved' AND resolved_at >= ? AND resolved_at < ?`,
      ),
      opened: db.prepare('SELECT count(*) FROM escalations WHERE created_at >= ? AND created_at < ?').pluck(),
      breaches: db
        .prepare(
          `SELECT count(*) FROM escalations WHERE created_at >= @since AND created_at < @until AND (
             sla_missed > 0
             OR (status = 'resolved' AND resolved_at > sla_deadline)
             OR (status <> 'resolved' AND sla_deadline < @now))`,
        )
        .pluck(),
    };
  }

  decisions(w: Window): number {
    return this.stmts.decisions.get(w.since, w.until) as number;
  }

  overrides(w: Window): OverrideFact[] {
    return this.stmts.overrides.all(w.since, w.until) as OverrideFact[];
  }

  resolutions(w: Window): ResolutionFact[] {
    return this.stmts.resolutions.all(w.since, w.until) as ResolutionFact[];
  }

  escalationsOpened(w: Window): number {
    return this.stmts.opened.get(w.since, w.until) as number;
  }

  /** Cases opened in the window whose SLA was missed at least once, as of `now`. */
  slaBreaches(w: Window, now: string): number {
    return this.stmts.breaches.get({ ...w, now }) as number;
  }
}
