import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { SingleFlight } from '../../platform/single-flight.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import { idPattern, type IdFactory } from '../../platform/ids.js';
import { mayActFor } from '../auth/actor-binding.js';
import { principalId, type Principal, type UserPrincipal } from '../auth/auth.guard.js';
import type { UserRecord } from '../auth/auth.repo.js';
import type { DecisionChanges } from '../decision/decision.changes.js';
import { shownDecision } from '../decision/decision.shown.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { EventSink, LedgerService } from '../ledger/ledger.service.js';
import type { InterventionService, VerifiedIntervention } from '../oversight/intervention.service.js';
import type { TokenService } from '../tokens/tokens.service.js';
import {
  chainLevel,
  mayHandle,
  nextChainRole,
  priorityForRisk,
  RESOLVER_ROLES,
  slaDeadline,
  type EscalationPriority,
  type EscalationTrigger,
  type FinalResolution,
  type ResolutionOutcome,
  type ResolverRole,
  type SlaHours,
} from './escalation.model.js';
import type { EscalationEvent, EscalationFilter, EscalationRecord, SqliteEscalationRepo } from './escalation.repo.js';

export interface EscalationSettings {
  /** SLA hours per priority (`LEXECON_ESCALATION_SLA_HOURS`). */
  slaHours: SlaHours;
  /** The escalation chain, lowest level first (`LEXECON_ESCALATION_CHAIN`). */
  chain: readonly ResolverRole[];
}

export interface EscalationServiceDeps {
  repo: SqliteEscalationRepo;
  /** One decision as `GET /decide/:id` shows it (404 when unknown). */
  decisions: { get(decisionId: string): DecisionRecordDto };
  tokens: TokenService;
  interventions: InterventionService;
  users: { userById(userId: string): Promise<Pick<UserRecord, 'userId' | 'role' | 'disabled'> | undefined> };
  /** `drain`: a change that lost a race waits for the winner to commit before it reads again. */
  ledger: EventSink & Pick<LedgerService, 'drain'>;
  changes: DecisionChanges;
  /** Whether the stop button is pressed (read from the store). */
  halted: () => boolean;
  clock: Clock;
  ids: IdFactory;
  logger: FastifyBaseLogger;
  settings: EscalationSettings;
}

export interface CreateEscalationInput {
  decisionId: string;
  trigger: EscalationTrigger;
  priority?: EscalationPriority | undefined;
  escalatedTo?: readonly string[] | undefined;
  contextSummary?: string | undefined;
}

export interface EscalationDetail {
  escalation: EscalationRecord;
  decision: DecisionRecordDto;
  history: EscalationEvent[];
  /** The signed records of its resolutions and moves by hand, each verified now. */
  interventions: VerifiedIntervention[];
}

export interface ResolutionResult {
  escalation: EscalationRecord;
  interventionId: string;
  /** The capability token minted by an approval (its id), else null. */
  tokenJti: string | null;
  /** The decision's token revoked by a denial, else null. */
  tokenRevoked: string | null;
  effectiveOutcome: DecisionRecordDto['effective_outcome'];
}

export interface SweepReport {
  /** Cases moved to the next level of the chain. */
  escalated: number;
  /** Cases at the top of the chain whose miss was ledgered. */
  breached: number;
  /** Cases that changed meanwhile or failed (logged); the next sweep sees them again if still overdue. */
  skipped: number;
}

/** A conditional update found the case changed since it was read: this append is dropped. */
class StateChanged extends Error {}
/** A stop committed between the check and the transaction of an approval. */
class HaltedMeanwhile extends Error {}

const MAX_ATTEMPTS = 5;
const SWEEP_PAGE = 200;
const USER_ID = idPattern('usr');

/**
 * The escalation workflow (DESIGN §10): open a case by hand, list and read cases, acknowledge and
 * resolve them, and the SLA sweep that moves overdue cases up the escalation chain. Every change of a
 * case is written, with its history row (and, for a resolution, the signed intervention record and the
 * capability token), inside the transaction of its ledger entry. A timeout never resolves a case.
 */
export class EscalationService {
  private readonly sweeps = new SingleFlight(() => this.sweepOnce());

  constructor(private readonly deps: EscalationServiceDeps) {}

  get settings(): EscalationSettings {
    return this.deps.settings;
  }

  /**
   * `POST /api/governance/escalation`. An agent may escalate only a decision its own key asked for or
   * whose actor its pattern allows (any other decision answers 404, as an unknown one). At most one
   * escalation per decision (409 `ALREADY_ESCALATED`).
   */
  async create(input: CreateEscalationInput, principal: Principal): Promise<EscalationRecord> {
    const decision = this.deps.decisions.get(input.decisionId);
    if (
      principal.kind === 'agent' &&
      decision.requested_by !== principal.keyId &&
      !mayActFor(principal, decision.actor)
    ) {
      throw errors.notFound('Decision', input.decisionId);
    }
    this.assertNotEscalated(input.decisionId);
    const escalatedTo = input.escalatedTo ? await this.checkAssignees(input.escalatedTo) : [this.deps.settings.chain[0]!];
    const priority = input.priority ?? priorityForRisk(decision.risk.risk_level);
    const escalationId = this.deps.ids.next('esc');
    const at = isoTimestamp(this.deps.clock);
    const deadline = slaDeadline(priority, Date.parse(at), this.deps.settings.slaHours);
    const by = principalId(principal);
    const row = {
      escalationId,
      decisionId: input.decisionId,
      priority,
      trigger: input.trigger,
      escalatedTo,
      contextSummary: input.contextSummary ?? null,
      slaDeadline: deadline,
      createdBy: by,
      createdAt: at,
    };
    try {
      await this.deps.ledger.append(
        'escalation_created',
        {
          escalation_id: escalationId,
          decision_id: input.decisionId,
          priority,
          trigger: input.trigger,
          escalated_to: escalatedTo,
          sla_deadline: deadline,
          created_by: by,
          context_summary_sha256: input.contextSummary === undefined ? null : sha256Hex(input.contextSummary),
        },
        { withEntries: ([entry]) => this.deps.repo.insertPending(row, entry!, principal.role) },
      );
    } catch (err) {
      if (isDuplicateEscalation(err)) {
        // Opened concurrently, maybe in the same group commit (then re-queued): let it commit, then say so.
        await new Promise((resolve) => setImmediate(resolve));
        this.assertNotEscalated(input.decisionId);
      }
      throw err;
    }
    return this.deps.repo.byId(escalationId)!;
  }

  /** One case with its decision (explanation, risk factors, effective outcome) and history; 404 when unknown. */
  get(escalationId: string): EscalationDetail {
    const escalation = this.find(escalationId);
    return {
      escalation,
      decision: this.deps.decisions.get(escalation.decisionId),
      history: this.deps.repo.history(escalationId),
      interventions: this.deps.interventions
        .list({ decisionId: escalation.decisionId, kind: 'escalation_resolution', limit: 100 })
        .items.filter((i) => i.record.scope === `escalation:${escalationId}`)
        .reverse(),
    };
  }

  /** Newest first; `assignedTo` keeps the cases escalated to that user (by id or by role). */
  list(
    filter: Omit<EscalationFilter, 'assignedToAny' | 'overdueAt' | 'limit'> & {
      limit: number;
      assignedTo?: Pick<UserPrincipal, 'userId' | 'role'> | undefined;
      overdue?: boolean | undefined;
    },
  ): { items: EscalationRecord[]; nextCursor: string | null } {
    const rows = this.deps.repo.list({
      status: filter.status,
      priority: filter.priority,
      decisionId: filter.decisionId,
      assignedToAny: filter.assignedTo && [filter.assignedTo.userId, filter.assignedTo.role],
      overdueAt: filter.overdue ? this.now() : undefined,
      beforeId: filter.beforeId,
      limit: filter.limit + 1,
    });
    return page(rows, filter.limit);
  }

  /** Open cases past their deadline now, most overdue first; the cursor is the last case's id. */
  violations(limit: number, cursor: string | undefined): { items: EscalationRecord[]; nextCursor: string | null } {
    return page(this.deps.repo.violations(this.now(), limit + 1, cursor), limit);
  }

  now(): string {
    return isoTimestamp(this.deps.clock);
  }

  /**
   * Acknowledge a case: the assigned user (or an executive or admin) has taken it up. The SLA keeps
   * running. 409 `ALREADY_RESOLVED`, `ALREADY_ACKNOWLEDGED`.
   */
  async acknowledge(escalationId: string, user: UserPrincipal, attempt = 1): Promise<EscalationRecord> {
    const c = this.find(escalationId);
    this.assertMayHandle(c, user);
    if (c.status === 'resolved') throw alreadyResolved(c);
    if (c.status === 'acknowledged') {
      throw new AppError(409, 'ALREADY_ACKNOWLEDGED', `Escalation '${c.escalationId}' was acknowledged by ${c.acknowledgedBy}`, {
        acknowledged_by: c.acknowledgedBy,
        acknowledged_at: c.acknowledgedAt,
      });
    }
    const at = this.now();
    try {
      await this.deps.ledger.append(
        'escalation_acknowledged',
        { escalation_id: c.escalationId, decision_id: c.decisionId, by: user.userId, role: user.role, sla_deadline: c.slaDeadline },
        {
          withEntries: ([entry]) => {
            if (!this.deps.repo.acknowledge(c.escalationId, c.version, at, user.userId)) throw new StateChanged();
            this.deps.repo.insertEvent(c.escalationId, 'acknowledged', at, user.userId, user.role, entry!, {});
          },
        },
      );
    } catch (err) {
      if (err instanceof StateChanged) return this.retry(attempt, () => this.acknowledge(escalationId, user, attempt + 1));
      throw err;
    }
    return this.find(escalationId);
  }

  /**
   * Resolve a case as the session user: the assigned user (listed, or holding a listed role), an
   * executive or an admin (403 `NOT_ASSIGNED` otherwise). `approved`, `denied` and `deferred` close it
   * (409 `ALREADY_RESOLVED` afterwards); `escalated_further` moves it to the next level of the chain
   * with a new SLA (409 `CHAIN_EXHAUSTED` at the top). Each is a signed intervention record. An approval
   * mints the decision's capability token (unless it has one; 409 `HALTED` while decisions are halted);
   * a denial revokes a token the decision holds.
   */
  async resolve(
    escalationId: string,
    input: { outcome: ResolutionOutcome; notes: string },
    user: UserPrincipal,
    attempt = 1,
  ): Promise<ResolutionResult> {
    const c = this.find(escalationId);
    this.assertMayHandle(c, user);
    if (c.status === 'resolved') throw alreadyResolved(c);
    if (input.outcome === 'approved' && this.deps.halted()) throw halted();
    const decision = this.deps.decisions.get(c.decisionId);
    const nextRole = input.outcome === 'escalated_further' ? nextChainRole(await this.level(c), this.deps.settings.chain) : null;
    if (input.outcome === 'escalated_further' && nextRole === null) {
      throw new AppError(
        409,
        'CHAIN_EXHAUSTED',
        `Escalation '${c.escalationId}' is at the top of the escalation chain (${this.deps.settings.chain.join(' → ')}); resolve it`,
        { escalated_to: c.escalatedTo },
      );
    }
    const record = this.deps.interventions.sign(
      {
        kind: 'escalation_resolution',
        decisionId: c.decisionId,
        scope: `escalation:${c.escalationId}`,
        justification: input.notes,
        shown: shownToReviewer(c, decision),
        details: { escalation_id: c.escalationId, outcome: input.outcome },
      },
      user,
    );
    const at = record.at;
    const notesSha256 = sha256Hex(input.notes);
    let tokenJti: string | null = null;
    let tokenRevoked: string | null = null;
    try {
      if (nextRole !== null) {
        const to = [nextRole];
        const deadline = slaDeadline(c.priority, Date.parse(at), this.deps.settings.slaHours);
        await this.deps.ledger.append(
          'escalation_escalated',
          {
            escalation_id: c.escalationId,
            decision_id: c.decisionId,
            reason: 'resolution',
            by: user.userId,
            role: user.role,
            from: c.escalatedTo,
            to,
            previous_sla_deadline: c.slaDeadline,
            sla_deadline: deadline,
            intervention_id: record.interventionId,
            notes_sha256: notesSha256,
          },
          {
            withEntries: ([entry]) => {
              if (!this.deps.repo.moveUp(c.escalationId, c.version, { escalatedTo: to, slaDeadline: deadline, missedSla: false, at })) {
                throw new StateChanged();
              }
              this.deps.interventions.insertSync(record);
              this.deps.repo.insertEvent(c.escalationId, 'escalated', at, user.userId, user.role, entry!, {
                reason: 'resolution',
                from: c.escalatedTo,
                to,
                previous_sla_deadline: c.slaDeadline,
                sla_deadline: deadline,
                intervention_id: record.interventionId,
                notes: input.notes,
              });
            },
          },
        );
      } else {
        const outcome = input.outcome as FinalResolution;
        const held = this.deps.tokens.recordForDecision(c.decisionId);
        // An active override decides the effective outcome over any resolution: then the token stays as it is.
        const overridden = overrideHolds(decision);
        tokenJti = outcome === 'approved' && !held && !overridden ? this.deps.ids.next('tok') : null;
        tokenRevoked = outcome === 'denied' && !overridden && held && held.revokedAt === null ? held.jti : null;
        const jti = tokenJti;
        const revoking = tokenRevoked;
        const data = {
          escalation_id: c.escalationId,
          decision_id: c.decisionId,
          outcome,
          resolved_by: user.userId,
          role: user.role,
          intervention_id: record.interventionId,
          notes_sha256: notesSha256,
          token_jti: jti,
          token_revoked: revoking,
        };
        await this.deps.ledger.append('escalation_resolved', data, {
          withEntries: ([entry]) => {
            const closed = this.deps.repo.resolve(c.escalationId, c.version, { resolution: outcome, by: user.userId, at, notes: input.notes });
            if (!closed) throw new StateChanged();
            // An override took effect or lapsed since the read above: decide the token effects again.
            if (overrideHolds(this.deps.decisions.get(c.decisionId)) !== overridden) throw new StateChanged();
            if (jti !== null) {
              // A stop committed since the check above: no token may be minted after it.
              if (this.deps.halted()) throw new HaltedMeanwhile();
              // NOTE: `led` names this escalation_resolved entry, the step that allowed the action.
              // The decision's resource is not stored, so the token carries no `res`.
              this.deps.tokens.issueSync({
                jti,
                decisionId: c.decisionId,
                actor: decision.actor,
                action: decision.action,
                tool: decision.tool,
                conditions: decision.conditions,
                ledgerEntry: entry!,
              });
            }
            if (revoking !== null) {
              const revoked = this.deps.tokens.revokeForDecisionSync(c.decisionId, user.userId, `escalation ${c.escalationId} denied`);
              // Revoked by someone else meanwhile: this entry would claim a revocation it did not make.
              if (revoked !== revoking) throw new StateChanged();
            }
            this.deps.interventions.insertSync(record);
            this.deps.repo.insertEvent(c.escalationId, 'resolved', at, user.userId, user.role, entry!, {
              outcome,
              intervention_id: record.interventionId,
              notes: input.notes,
              token_jti: jti,
              token_revoked: revoking,
            });
          },
        });
        this.deps.changes.notify(c.decisionId);
      }
    } catch (err) {
      if (err instanceof StateChanged) return this.retry(attempt, () => this.resolve(escalationId, input, user, attempt + 1));
      if (err instanceof HaltedMeanwhile) throw halted();
      throw err;
    }
    return {
      escalation: this.find(escalationId),
      interventionId: record.interventionId,
      tokenJti,
      tokenRevoked,
      effectiveOutcome: this.deps.decisions.get(c.decisionId).effective_outcome,
    };
  }

  /**
   * The SLA monitor's step: every open case past its deadline moves to the next level of the chain
   * with a new SLA from now (`escalation_escalated`, reason `sla_timeout`); a case at the top of the
   * chain stays where it is and its miss is ledgered once (`escalation_sla_breached`). Never approves
   * nor denies anything. The state is in the database, so a sweep after a restart catches up on
   * everything that fell due meanwhile. Concurrent calls share one sweep.
   */
  sweep(): Promise<SweepReport> {
    return this.sweeps.run();
  }

  /** Wait for a sweep in progress, if any (at shutdown). */
  async idle(): Promise<void> {
    await this.sweeps.idle();
  }

  private async sweepOnce(): Promise<SweepReport> {
    const report: SweepReport = { escalated: 0, breached: 0, skipped: 0 };
    const now = this.now();
    let after: EscalationRecord | undefined;
    for (;;) {
      const cases = this.deps.repo.overdue(now, SWEEP_PAGE, after);
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
    const level = await this.level(c);
    const next = nextChainRole(level, this.deps.settings.chain);
    try {
      if (next !== null) {
        const to = [next];
        const deadline = slaDeadline(c.priority, Date.parse(now), this.deps.settings.slaHours);
        const change = {
          reason: 'sla_timeout',
          from: c.escalatedTo,
          to,
          previous_sla_deadline: c.slaDeadline,
          sla_deadline: deadline,
        };
        await this.deps.ledger.append(
          'escalation_escalated',
          {
            escalation_id: c.escalationId,
            decision_id: c.decisionId,
            ...change,
            by: SLA_MONITOR,
            role: null,
            intervention_id: null,
            notes_sha256: null,
          },
          {
            withEntries: ([entry]) => {
              if (!this.deps.repo.moveUp(c.escalationId, c.version, { escalatedTo: to, slaDeadline: deadline, missedSla: true, at: now })) {
                throw new StateChanged();
              }
              this.deps.repo.insertEvent(c.escalationId, 'escalated', now, SLA_MONITOR, null, entry!, change);
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
          withEntries: ([entry]) => {
            if (!this.deps.repo.recordBreach(c.escalationId, c.version, now)) throw new StateChanged();
            this.deps.repo.insertEvent(c.escalationId, 'sla_breached', now, SLA_MONITOR, null, entry!, breach);
          },
        },
      );
      return 'breached';
    } catch (err) {
      if (err instanceof StateChanged) return 'skipped';
      throw err;
    }
  }

  private find(escalationId: string): EscalationRecord {
    const c = this.deps.repo.byId(escalationId);
    if (!c) throw errors.notFound('Escalation', escalationId);
    return c;
  }

  private assertNotEscalated(decisionId: string): void {
    const existing = this.deps.repo.byDecision(decisionId)[0];
    if (existing) {
      throw new AppError(409, 'ALREADY_ESCALATED', `Decision '${decisionId}' already has escalation '${existing.escalationId}'`, {
        escalation_id: existing.escalationId,
        status: existing.status,
      });
    }
  }

  private assertMayHandle(c: EscalationRecord, user: UserPrincipal): void {
    if (!mayHandle(user, c.escalatedTo)) {
      throw new AppError(
        403,
        'NOT_ASSIGNED',
        `Escalation '${c.escalationId}' is not assigned to you; it is escalated to ${c.escalatedTo.join(', ')}`,
        { escalated_to: c.escalatedTo },
      );
    }
  }

  /** The case's level in the chain (its assignees' roles; users' roles as they are now). */
  private async level(c: EscalationRecord): Promise<number> {
    const roles = new Map<string, string>();
    for (const who of c.escalatedTo) {
      if (!USER_ID.test(who)) continue;
      const user = await this.deps.users.userById(who);
      if (user) roles.set(who, user.role);
    }
    return chainLevel(c.escalatedTo, (id) => roles.get(id), this.deps.settings.chain);
  }

  /**
   * `escalated_to` of a case opened by hand: role names that may resolve escalations, and ids of
   * enabled users holding such a role (400 listing every problem). Duplicates are dropped.
   */
  private async checkAssignees(list: readonly string[]): Promise<string[]> {
    const problems: Array<{ in: 'body'; field: string; message: string; code: 'custom' }> = [];
    const unique = [...new Set(list)];
    for (const [i, who] of list.entries()) {
      const problem = await this.assigneeProblem(who);
      if (problem) problems.push({ in: 'body', field: `escalated_to.${i}`, message: problem, code: 'custom' });
    }
    if (problems.length > 0) throw errors.validation('Invalid body', problems);
    return unique;
  }

  private async assigneeProblem(who: string): Promise<string | undefined> {
    const resolvers = RESOLVER_ROLES.join(', ');
    if ((RESOLVER_ROLES as readonly string[]).includes(who)) return undefined;
    if (!USER_ID.test(who)) return `must be a user id (usr_…) or a role that may resolve escalations (${resolvers})`;
    const user = await this.deps.users.userById(who);
    if (!user) return `no user '${who}'`;
    if (user.disabled) return `user '${who}' is disabled`;
    if (!(RESOLVER_ROLES as readonly string[]).includes(user.role)) {
      return `user '${who}' holds role '${user.role}', which may not resolve escalations (${resolvers})`;
    }
    return undefined;
  }

  /**
   * Run a request again after its conditional update found the case changed. It first waits for the
   * ledger to drain: when the change came from an append of the same group commit, the ledger rolled
   * that transaction back and re-queued the other appends, which must commit before the case is re-read.
   */
  private async retry<T>(attempt: number, again: () => Promise<T>): Promise<T> {
    if (attempt >= MAX_ATTEMPTS) throw errors.conflict('The escalation changed while this request was processed; repeat it');
    await this.deps.ledger.drain();
    return again();
  }
}

/** Whether an override is in effect on the decision now (it then decides the effective outcome). */
function overrideHolds(d: DecisionRecordDto): boolean {
  return d.overrides.some((o) => o.status === 'active');
}

/** Who the history and the ledger name for the SLA monitor's steps. */
export const SLA_MONITOR = 'sla_monitor';

/** What the reviewer judged: the decision's stored reason, explanation and risk, and the case. */
function shownToReviewer(c: EscalationRecord, d: DecisionRecordDto): Record<string, unknown> {
  return {
    decision: shownDecision(d),
    escalation: {
      escalation_id: c.escalationId,
      status: c.status,
      priority: c.priority,
      trigger: c.trigger,
      escalated_to: c.escalatedTo,
      sla_deadline: c.slaDeadline,
    },
  };
}

function page(rows: EscalationRecord[], limit: number): { items: EscalationRecord[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.escalationId : null };
}

function alreadyResolved(c: EscalationRecord): AppError {
  return new AppError(409, 'ALREADY_RESOLVED', `Escalation '${c.escalationId}' was already resolved (${c.resolution})`, {
    resolution: c.resolution,
    resolved_by: c.resolvedBy,
    resolved_at: c.resolvedAt,
  });
}

function halted(): AppError {
  return new AppError(
    409,
    'HALTED',
    'Decisions are halted (POST /api/governance/stop): an approval would mint a capability token; resume first, or deny or defer',
  );
}

/** SQLite's error for a second escalation of the same decision (escalations_decision is unique). */
function isDuplicateEscalation(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    err.message.includes('escalations.decision_id')
  );
}
