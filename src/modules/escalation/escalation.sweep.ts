import type { FastifyBaseLogger } from 'fastify';
import type { EventSink } from '../ledger/ledger.service.js';
import { StateChanged } from './escalation.errors.js';
import { nextChainRole, slaDeadline, SYSTEM, type ResolverRole, type SlaHours } from './escalation.model.js';
import type { EscalationRecord, EscalationRepo } from './escalation.repo.js';

export interface SweepReport {
  /** Cases moved to the next level of the chain. */
  escalated: number;
  /** Cases at the top of the chain whose miss was ledgered. */
  breached: number;
  /** Cases that changed meanwhile or failed (logged); the next sweep sees them again if still overdue. */
  skipped: number;
}

/** Who the history and the ledger name for the SLA monitor's steps. */
export const SLA_MONITOR = 'sla_monitor';

const SWEEP_PAGE = 200;

export interface EscalationSweepDeps {
  repo: EscalationRepo;
  ledger: EventSink;
  logger: FastifyBaseLogger;
  settings: { slaHours: SlaHours; chain: readonly ResolverRole[] };
  /** The case's level in the chain (its assignees' roles as they are now). */
  level: (c: EscalationRecord) => Promise<number>;
  now: () => string;
}

/**
 * The SLA monitor's step: every open case past its deadline moves to the next level of the chain
 * with a new SLA from now (`escalation_escalated`, reason `sla_timeout`, assigned by `system`); a case
 * at the top of the chain stays where it is and its miss is ledgered once (`escalation_sla_breached`).
 * Never approves nor denies anything. The state is in the database, so a sweep after a restart
 * catches up on everything that fell due meanwhile.
 */
export class EscalationSweep {
  constructor(private readonly deps: EscalationSweepDeps) {}

  /** One sweep over every overdue open case, a page at a time. */
  async once(): Promise<SweepReport> {
    const report: SweepReport = { escalated: 0, breached: 0, skipped: 0 };
    const now = this.deps.now();
    let after: EscalationRecord | undefined;
    for (;;) {
      const cases = await this.deps.repo.overdue(now, SWEEP_PAGE, after);
      if (cases.length === 0) break;
      // Concurrent appends: the ledger commits them in one group.
      const results = await Promise.allSettled(cases.map((c) => this.timeOut(c, now)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') report[r.value] += 1;
        else {
          report.skipped += 1;
          this.deps.logger.warn(
            { err: r.reason, escalation_id: cases[i]!.escalationId },
            'SLA sweep could not move an overdue escalation',
          );
        }
      });
      if (cases.length < SWEEP_PAGE) break;
      after = cases[cases.length - 1];
    }
    if (report.escalated + report.breached + report.skipped > 0) this.deps.logger.info({ ...report }, 'SLA sweep');
    return report;
  }

  private async timeOut(c: EscalationRecord, now: string): Promise<keyof SweepReport> {
    const level = await this.deps.level(c);
    const next = nextChainRole(level, this.deps.settings.chain);
    try {
      if (next !== null) {
        const to = [next];
        const deadline = slaDeadline(c.priority, Date.parse(now), this.deps.settings.slaHours);
        const change = {
          reason: 'sla_timeout',
          from: c.escalatedTo,
          to,
          assigned_by: SYSTEM,
          previous_sla_deadline: c.slaDeadline,
          sla_deadline: deadline,
        };
        await this.deps.ledger.append(
          'escalation_escalated',
          {
            escalation_id: c.escalationId,
            decision_id: c.decisionId,
            ...change,
            opened_by: c.openedBy,
            by: SLA_MONITOR,
            role: null,
            intervention_id: null,
            notes_sha256: null,
          },
          {
            withEntries: async ([entry], tx) => {
              const move = { escalatedTo: to, assignedBy: SYSTEM, slaDeadline: deadline, missedSla: true, at: now };
              // Conditional on the version read: a case moved by another sweep (another replica) or a
              // reviewer meanwhile is left alone, so no case is moved twice for one miss.
              if (!(await this.deps.repo.moveUp(tx!, c.escalationId, c.version, move))) {
                throw new StateChanged();
              }
              await this.deps.repo.insertEvent(tx!, c.escalationId, 'escalated', now, SLA_MONITOR, null, entry!, change);
            },
          },
        );
        return 'escalated';
      }
      const breach = { escalated_to: c.escalatedTo, sla_deadline: c.slaDeadline };
      await this.deps.ledger.append(
        'escalation_sla_breached',
        { escalation_id: c.escalationId, decision_id: c.decisionId, ...breach, by: SLA_MONITOR },
        {
          withEntries: async ([entry], tx) => {
            if (!(await this.deps.repo.recordBreach(tx!, c.escalationId, c.version, now))) throw new StateChanged();
            await this.deps.repo.insertEvent(tx!, c.escalationId, 'sla_breached', now, SLA_MONITOR, null, entry!, breach);
          },
        },
      );
      return 'breached';
    } catch (err) {
      if (err instanceof StateChanged) return 'skipped';
      throw err;
    }
  }
}
