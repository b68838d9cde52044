import type { Exclusive } from '../../platform/exclusive.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { Queryable } from '../../platform/db/port.js';
import type { IdFactory } from '../../platform/ids.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import type { EventSink } from '../ledger/ledger.service.js';
import {
  formatHoldScope,
  parseHoldScope,
  reportDueAt,
  reportOverdue,
  retentionCutoff,
  type HoldScope,
  type IncidentCategory,
} from './retention.core.js';
import { ExportCleanup, type ExportPackages } from './retention.exports.js';
import type { HoldRecord, IncidentRecord, RetentionRepo, RunRecord } from './retention.repo.js';

export interface RetentionSettings {
  retentionDays: number;
  /** Seconds between two timer runs; 0: no timer. */
  intervalS: number;
  /** Payloads deleted per transaction (default 500); the run yields to the event loop between batches. */
  batchSize?: number;
}

export interface RetentionServiceDeps {
  repo: RetentionRepo;
  ledger: EventSink;
  clock: Clock;
  ids: IdFactory;
  logger: FastifyBaseLogger;
  settings: RetentionSettings;
  /** Evidence packages to clean up; without it a run leaves export files alone. */
  exportPackages?: ExportPackages | undefined;
  /** A run as one run across replicas (every purge is conditional anyway). */
  exclusive?: Exclusive;
}

/** Progress of a run, after each committed batch. */
export interface RunProgress {
  batches: number;
  purged: number;
}

export interface RunOptions {
  trigger: RunRecord['trigger'];
  /** The user who asked (API), or null (timer, CLI). */
  requestedBy: string | null;
  onProgress?: (p: RunProgress) => void;
}

export interface NewIncident {
  title: string;
  category: IncidentCategory;
  awareAt: string;
  description?: string | undefined;
  decisionIds?: readonly string[] | undefined;
}

/** An incident as answered: the record, its evidence hold and whether its report is overdue now. */
export interface IncidentView extends IncidentRecord {
  holdId: string | null;
  reportOverdue: boolean;
}

const DEFAULT_BATCH = 500;
/** The timer's first run after a start never comes sooner than this (the app settles first)… */
const FIRST_RUN_MIN_DELAY_S = 60;
/** …and, on a database with no run yet, no later than this. */
const FIRST_RUN_MAX_DELAY_S = 3600;
/** How often a batch is retried when a hold arrived between selecting and deleting it. */
const MAX_BATCH_RETRIES = 3;

/** A batch's payloads changed under it (a hold arrived): nothing was deleted, select again. */
class BatchRaced extends Error {}

const digestOrNull = (text: string | null | undefined) => (text ? sha256Hex(text) : null);

/**
 * Legal holds, the retention job and Art 73 incidents. Every change is written in the ledger
 * transaction that records it (`withEntries`). Ledger data holds ids, scopes, counts and SHA-256
 * digests of free text (reasons, titles, descriptions), never the text itself.
 */
export class RetentionService {
  private readonly batchSize: number;
  private running: Promise<RunRecord> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** start() is reading the last run (its timer is not set yet). */
  private starting = false;
  /** stop() was called since the last start(). */
  private stopped = false;
  private readonly exportCleanup: ExportCleanup;

  constructor(private readonly deps: RetentionServiceDeps) {
    this.batchSize = deps.settings.batchSize ?? DEFAULT_BATCH;
    this.exportCleanup = new ExportCleanup(deps.repo, deps.exportPackages, deps.logger);
  }

  get settings(): RetentionSettings {
    return this.deps.settings;
  }

  // ---------------------------------------------------------------- legal holds

  async createHold(input: { scope: string; reason: string }, by: UserPrincipal): Promise<HoldRecord> {
    const parsed = parseHoldScope(input.scope);
    if (!parsed.ok) throw errors.validation('Invalid hold scope', [{ path: 'scope', message: parsed.problem }]);
    const scope = parsed.scope;
    if (scope.kind === 'decision' && !(await this.deps.repo.decisionExists(scope.decisionId))) {
      throw errors.notFound('Decision', scope.decisionId);
    }
    const record: HoldRecord = {
      holdId: this.deps.ids.next('hld'),
      scope: formatHoldScope(scope),
      reason: input.reason,
      createdBy: by.userId,
      createdAt: isoTimestamp(this.deps.clock),
      releasedBy: null,
      releasedAt: null,
      incidentId: null,
      ledgerSeq: -1,
    };
    await this.deps.ledger.append('legal_hold_created', this.holdCreatedData(record), {
      withEntries: async ([entry], tx) => {
        record.ledgerSeq = entry!.seq;
        await this.deps.repo.insertHold(tx!, record, scope);
      },
    });
    return record;
  }

  async releaseHold(holdId: string, by: UserPrincipal): Promise<HoldRecord> {
    const hold = await this.getHold(holdId);
    if (hold.incidentId !== null) {
      throw new AppError(409, 'HOLD_OF_INCIDENT', `Hold '${holdId}' protects incident ${hold.incidentId}: close the incident to release it`);
    }
    if (hold.releasedAt !== null) throw new AppError(409, 'HOLD_RELEASED', `Hold '${holdId}' was released at ${hold.releasedAt}`);
    const at = isoTimestamp(this.deps.clock);
    await this.deps.ledger.append(
      'legal_hold_released',
      { hold_id: holdId, scope: hold.scope, released_by: by.userId, incident_id: null },
      {
        withEntries: async (_entries, tx) => {
          if (!(await this.deps.repo.releaseHold(tx!, holdId, by.userId, at))) {
            throw new AppError(409, 'HOLD_RELEASED', `Hold '${holdId}' was released meanwhile`);
          }
        },
      },
    );
    return this.getHold(holdId);
  }

  async getHold(holdId: string): Promise<HoldRecord> {
    const hold = await this.deps.repo.hold(holdId);
    if (!hold) throw errors.notFound('Legal hold', holdId);
    return hold;
  }

  async listHolds(filter: { active?: boolean | undefined; beforeId?: string | undefined; limit: number }): Promise<{
    items: HoldRecord[];
    nextCursor: string | null;
  }> {
    const rows = await this.deps.repo.holds({ ...filter, limit: filter.limit + 1 });
    const items = rows.slice(0, filter.limit);
    return { items, nextCursor: rows.length > filter.limit ? items[items.length - 1]!.holdId : null };
  }

  private holdCreatedData(h: HoldRecord): Record<string, unknown> {
    return {
      hold_id: h.holdId,
      scope: h.scope,
      reason_sha256: sha256Hex(h.reason),
      created_by: h.createdBy,
      incident_id: h.incidentId,
    };
  }

  // ---------------------------------------------------------------- Art 73 incidents

  async createIncident(input: NewIncident, by: UserPrincipal): Promise<IncidentView> {
    const now = this.deps.clock.now();
    const aware = Date.parse(input.awareAt);
    if (aware > now) {
      throw errors.validation('Invalid incident', [{ path: 'aware_at', message: 'must not be in the future' }]);
    }
    const decisionIds = [...new Set(input.decisionIds ?? [])].sort();
    for (const id of decisionIds) if (!(await this.deps.repo.decisionExists(id))) throw errors.notFound('Decision', id);
    const createdAt = new Date(now).toISOString();
    const incidentId = this.deps.ids.next('inc');
    const awareAt = new Date(aware).toISOString();
    const incident: Omit<IncidentRecord, 'status' | 'initialReportSubmittedAt' | 'closedBy' | 'closedAt' | 'closeNotes'> = {
      incidentId,
      title: input.title,
      category: input.category,
      description: input.description ?? null,
      awareAt,
      reportDueAt: reportDueAt(input.category, awareAt),
      createdBy: by.userId,
      createdAt,
      ledgerSeq: -1,
      decisionIds,
    };
    const scope: HoldScope = { kind: 'incident', incidentId };
    const hold: HoldRecord = {
      holdId: this.deps.ids.next('hld'),
      scope: formatHoldScope(scope),
      reason: `Evidence hold for EU AI Act Art 73 incident ${incidentId}`,
      createdBy: by.userId,
      createdAt,
      releasedBy: null,
      releasedAt: null,
      incidentId,
      ledgerSeq: -1,
    };
    await this.deps.ledger.appendAll(
      [
        {
          eventType: 'incident_created',
          data: {
            incident_id: incidentId,
            category: incident.category,
            aware_at: awareAt,
            report_due_at: incident.reportDueAt,
            title_sha256: sha256Hex(incident.title),
            description_sha256: digestOrNull(incident.description),
            decision_ids: decisionIds,
            hold_id: hold.holdId,
            created_by: by.userId,
          },
        },
        { eventType: 'legal_hold_created', data: this.holdCreatedData(hold) },
      ],
      {
        withEntries: async ([incidentEntry, holdEntry], tx) => {
          incident.ledgerSeq = incidentEntry!.seq;
          hold.ledgerSeq = holdEntry!.seq;
          await this.deps.repo.insertIncident(tx!, incident);
          await this.deps.repo.insertHold(tx!, hold, scope);
        },
      },
    );
    return this.getIncident(incidentId);
  }

  async closeIncident(incidentId: string, notes: string | undefined, by: UserPrincipal): Promise<IncidentView> {
    const incident = await this.getIncident(incidentId);
    if (incident.status !== 'open') throw new AppError(409, 'INCIDENT_CLOSED', `Incident '${incidentId}' is already closed`);
    const hold = await this.deps.repo.activeHoldOfIncident(incidentId);
    const at = isoTimestamp(this.deps.clock);
    const events = [
      {
        eventType: 'incident_closed',
        data: { incident_id: incidentId, closed_by: by.userId, notes_sha256: digestOrNull(notes), hold_id: hold?.holdId ?? null },
      },
      ...(hold
        ? [{ eventType: 'legal_hold_released', data: { hold_id: hold.holdId, scope: hold.scope, released_by: by.userId, incident_id: incidentId } }]
        : []),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: async (_entries, tx) => {
        if (!(await this.deps.repo.closeIncident(tx!, incidentId, by.userId, at, notes ?? null))) {
          throw new AppError(409, 'INCIDENT_CLOSED', `Incident '${incidentId}' was closed meanwhile`);
        }
        if (hold && !(await this.deps.repo.releaseHold(tx!, hold.holdId, by.userId, at))) {
          throw new AppError(409, 'HOLD_RELEASED', `Hold '${hold.holdId}' was released meanwhile`);
        }
      },
    });
    return this.getIncident(incidentId);
  }

  /** Record when the initial (possibly incomplete) Art 73 report was submitted to the authority. */
  async recordInitialReport(incidentId: string, submittedAt: string, by: UserPrincipal): Promise<IncidentView> {
    const incident = await this.getIncident(incidentId);
    if (incident.initialReportSubmittedAt !== null) {
      throw new AppError(409, 'REPORT_RECORDED', `Incident '${incidentId}' has its initial report recorded at ${incident.initialReportSubmittedAt}`);
    }
    const at = Date.parse(submittedAt);
    if (at > this.deps.clock.now()) {
      throw errors.validation('Invalid report time', [{ path: 'initial_report_submitted_at', message: 'must not be in the future' }]);
    }
    if (at < Date.parse(incident.awareAt)) {
      throw errors.validation('Invalid report time', [
        { path: 'initial_report_submitted_at', message: 'must not be before the incident\'s aware_at' },
      ]);
    }
    const iso = new Date(at).toISOString();
    await this.deps.ledger.append(
      'incident_report_submitted',
      { incident_id: incidentId, submitted_at: iso, report_due_at: incident.reportDueAt, on_time: iso <= incident.reportDueAt, recorded_by: by.userId },
      {
        withEntries: async (_entries, tx) => {
          if (!(await this.deps.repo.recordInitialReport(tx!, incidentId, iso))) {
            throw new AppError(409, 'REPORT_RECORDED', `Incident '${incidentId}' had its initial report recorded meanwhile`);
          }
        },
      },
    );
    return this.getIncident(incidentId);
  }

  async getIncident(incidentId: string): Promise<IncidentView> {
    const r = await this.deps.repo.incident(incidentId);
    if (!r) throw errors.notFound('Incident', incidentId);
    return this.view(r);
  }

  async listIncidents(filter: { status?: 'open' | 'closed' | undefined; beforeId?: string | undefined; limit: number }): Promise<{
    items: IncidentView[];
    nextCursor: string | null;
  }> {
    const rows = await this.deps.repo.incidents({ ...filter, limit: filter.limit + 1 });
    const items: IncidentView[] = [];
    for (const r of rows.slice(0, filter.limit)) items.push(await this.view(r));
    return { items, nextCursor: rows.length > filter.limit ? items[items.length - 1]!.incidentId : null };
  }

  private async view(r: IncidentRecord): Promise<IncidentView> {
    const hold = await this.deps.repo.activeHoldOfIncident(r.incidentId);
    const now = this.deps.clock.now();
    return {
      ...r,
      holdId: hold?.holdId ?? null,
      reportOverdue: r.status === 'open' && reportOverdue(r.reportDueAt, r.initialReportSubmittedAt, now),
    };
  }

  // ---------------------------------------------------------------- the retention job

  /**
   * One retention run: deletes, in batches, the raw payloads (`decision_payloads`) older than
   * `retentionDays` that no active hold covers, and the sessions past their expiry. Never touches
   * ledger entries, decisions rows or anything held. Each batch but the last commits with a
   * `retention_batch` entry; the last one (possibly empty) commits with the run's `retention_run` entry
   * (counts purged/held, cutoff) and its `retention_runs` row. Yields to the event loop between batches.
   * 409 `RETENTION_RUNNING` while another run is in progress.
   */
  run(options: RunOptions): Promise<RunRecord> {
    if (this.running) throw new AppError(409, 'RETENTION_RUNNING', 'A retention run is in progress');
    const exclusive = this.deps.exclusive;
    const run = (
      exclusive
        ? exclusive('retention-run', () => this.runNow(options)).then((r) => {
            if (!r.ran) throw new AppError(409, 'RETENTION_RUNNING', 'A retention run is in progress on another replica');
            return r.value;
          })
        : this.runNow(options)
    ).finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async runNow(options: RunOptions): Promise<RunRecord> {
    const { repo, ledger, clock, ids, settings } = this.deps;
    const runId = ids.next('ret');
    const startedAt = isoTimestamp(clock);
    const cutoff = retentionCutoff(clock.now(), settings.retentionDays);
    let purged = 0;
    let batches = 0;
    let retries = 0;
    for (;;) {
      const batch = await repo.purgeable(cutoff, this.batchSize);
      const last = batch.length < this.batchSize;
      try {
        if (!last) {
          await ledger.append(
            'retention_batch',
            { run_id: runId, batch: batches + 1, cutoff, purged: batch.length, decision_ids_sha256: sha256Hex(batch.join('\n')) },
            { withEntries: (_entries, tx) => this.deleteBatch(tx!, batch, cutoff) },
          );
          purged += batch.length;
          batches += 1;
          options.onProgress?.({ batches, purged });
          await yieldToEventLoop();
          continue;
        }
        const finishedAt = isoTimestamp(clock);
        const held = await repo.countHeld(cutoff);
        const exportsDue = await this.exportCleanup.due(cutoff);
        const exportsHeld = await this.exportCleanup.heldCount(cutoff);
        const sessionsPurged = await repo.countExpiredSessions(finishedAt);
        const record: RunRecord = {
          runId,
          trigger: options.trigger,
          requestedBy: options.requestedBy,
          retentionDays: settings.retentionDays,
          cutoff,
          startedAt,
          finishedAt,
          purged: purged + batch.length,
          held,
          sessionsPurged,
          batches: batches + 1,
          ledgerSeq: -1,
        };
        await ledger.append(
          'retention_run',
          {
            run_id: runId,
            trigger: record.trigger,
            requested_by: record.requestedBy,
            retention_days: record.retentionDays,
            cutoff,
            purged: record.purged,
            purged_in_last_batch: batch.length,
            decision_ids_sha256: sha256Hex(batch.join('\n')),
            held,
            sessions_purged: record.sessionsPurged,
            batches: record.batches,
            // Evidence packages older than the retention period and not held: deleted right after this
            // entry commits (a file deletion cannot be rolled back, so it follows its record).
            export_files_removed: exportsDue.map((e) => e.exportId),
            exports_held: exportsHeld,
          },
          {
            withEntries: async ([entry], tx) => {
              await this.deleteBatch(tx!, batch, cutoff);
              if ((await repo.countHeld(cutoff, tx!)) !== held) throw new BatchRaced();
              if ((await repo.deleteExpiredSessions(tx!, finishedAt)) !== record.sessionsPurged) throw new BatchRaced();
              // A hold that arrived meanwhile keeps its exports: select again.
              const stillDue = new Set((await this.exportCleanup.due(cutoff, tx!)).map((e) => e.exportId));
              if (exportsDue.some((e) => !stillDue.has(e.exportId))) throw new BatchRaced();
              record.ledgerSeq = entry!.seq;
              await repo.insertRun(tx!, record);
            },
          },
        );
        const exportFiles = this.exportCleanup.remove(exportsDue);
        options.onProgress?.({ batches: record.batches, purged: record.purged });
        this.deps.logger.info(
          { run_id: runId, purged: record.purged, held, sessions_purged: record.sessionsPurged, cutoff, ...exportFiles, exports_held: exportsHeld },
          'retention run finished',
        );
        return record;
      } catch (err) {
        if (!(err instanceof BatchRaced) || ++retries > MAX_BATCH_RETRIES) throw err;
      }
    }
  }

  private async deleteBatch(tx: Queryable, ids: readonly string[], cutoff: string): Promise<void> {
    if (!(await this.deps.repo.deletePayloads(tx, ids, cutoff))) throw new BatchRaced();
  }

  /** The settings, the active holds' count and the last runs (newest first). */
  async status(limit = 10): Promise<{ settings: RetentionSettings & { batchSize: number }; lastRuns: RunRecord[]; activeHolds: number }> {
    return {
      settings: { ...this.deps.settings, batchSize: this.batchSize },
      lastRuns: await this.deps.repo.runs(limit),
      activeHolds: await this.deps.repo.countActiveHolds(),
    };
  }

  // ---------------------------------------------------------------- the timer

  /**
   * Start the timer (`intervalS`, daily by default; `unref()`ed, so it never keeps the process alive).
   * Resilient to restarts: the first run comes `intervalS` after the last recorded run (at least
   * {@link FIRST_RUN_MIN_DELAY_S} after start), or {@link FIRST_RUN_MAX_DELAY_S} after start when there
   * was none, so a process restarted more often than `intervalS` still purges. A tick while a run is in
   * progress is skipped.
   */
  async start(): Promise<void> {
    const intervalS = this.deps.settings.intervalS;
    if (intervalS === 0 || this.timer || this.starting) return;
    this.starting = true;
    this.stopped = false;
    let last: RunRecord | undefined;
    try {
      last = (await this.deps.repo.runs(1))[0];
    } finally {
      this.starting = false;
    }
    // stop() came while the last run was read: no timer.
    if (this.stopped || this.timer) return;
    const delayS = last
      ? Math.max(FIRST_RUN_MIN_DELAY_S, (Date.parse(last.finishedAt) + intervalS * 1000 - this.deps.clock.now()) / 1000)
      : Math.min(intervalS, FIRST_RUN_MAX_DELAY_S);
    this.schedule(Math.min(delayS, intervalS));
  }

  private schedule(delayS: number): void {
    this.timer = setTimeout(() => {
      const done = this.running ? Promise.resolve() : this.run({ trigger: 'timer', requestedBy: null }).then(() => undefined);
      done
        .catch((err: unknown) => this.deps.logger.error({ err }, 'retention run failed'))
        .finally(() => {
          if (this.timer) this.schedule(this.deps.settings.intervalS);
        });
    }, delayS * 1000);
    this.timer.unref();
  }

  /** Stop the timer and wait for a run in progress (before the ledger closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
