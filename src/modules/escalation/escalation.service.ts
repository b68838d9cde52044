import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { Exclusive } from '../../platform/exclusive.js';
import { SingleFlight } from '../../platform/single-flight.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { errors } from '../../platform/errors.js';
import type { Queryable } from '../../platform/db/port.js';
import type { IdFactory } from '../../platform/ids.js';
import { assertMayActFor } from '../auth/actor-binding.js';
import { principalId, type Principal, type UserPrincipal } from '../auth/auth.guard.js';
import type { UserRecord } from '../auth/auth.repo.js';
import type { DecisionChanges } from '../decision/decision.changes.js';
import type { DecisionSubject } from '../decision/decision.repo.js';
import type { DecisionDetailDto, DecisionRecordDto } from '../decision/decision.schemas.js';
import type { OverrideSummary } from '../decision/decision.service.js';
import type { ApprovalConflictCheck } from '../decision/decision.sod.js';
import type { EventSink, LedgerService } from '../ledger/ledger.service.js';
import type { InterventionService, VerifiedIntervention } from '../oversight/intervention.service.js';
import type { TokenService } from '../tokens/tokens.service.js';
import { EscalationAssignees } from './escalation.assignees.js';
import {
  ConflictMeanwhile,
  EscalatedMeanwhile,
  escalationErrors,
  HaltedMeanwhile,
  isDuplicateEscalation,
  StateChanged,
} from './escalation.errors.js';
import {
  allowedResolutions,
  fieldsAgentMayNotChoose,
  mayHandle,
  nextChainRole,
  ownCaseRole,
  priorityForRisk,
  slaDeadline,
  type EscalationPriority,
  type EscalationTrigger,
  type FinalResolution,
  type ResolutionOutcome,
  type ResolverRole,
  type SlaHours,
} from './escalation.model.js';
import type { EscalationEvent, EscalationFilter, EscalationRecord, EscalationRepo } from './escalation.repo.js';
import { EscalationResolution, shownToReviewer, type TokenEffects } from './escalation.resolution.js';
import { EscalationSweep, type SweepReport } from './escalation.sweep.js';

export type { SweepReport } from './escalation.sweep.js';

export interface EscalationSettings {
  /** SLA hours per priority (`LEXECON_ESCALATION_SLA_HOURS`). */
  slaHours: SlaHours;
  /** The escalation chain, lowest level first (`LEXECON_ESCALATION_CHAIN`). */
  chain: readonly ResolverRole[];
}

export interface EscalationServiceDeps {
  repo: EscalationRepo;
  decisions: {
    /** One decision as `GET /decide/:id` shows it (404 when unknown). */
    get(decisionId: string): Promise<DecisionRecordDto>;
    /** The same with the request's intent and data classes, or that retention purged them (a case's detail). */
    detail(decisionId: string): Promise<DecisionDetailDto>;
    /** Who asked to do what with which tool, for a page of cases' decisions in one query. */
    subjects(decisionIds: readonly string[]): Promise<Map<string, DecisionSubject>>;
    /** Separation of duties for an approval of the decision given at `at` (decision.sod.ts). */
    approvalCheck(decisionId: string, at: string): Promise<ApprovalConflictCheck>;
  };
  /**
   * The decision's overrides with their status now (the override module); `q` reads them inside the
   * transaction of a resolution, which re-checks whether one holds.
   */
  overrides: { forDecision(decisionId: string, q?: Queryable): Promise<OverrideSummary[]> };
  tokens: TokenService;
  interventions: InterventionService;
  users: { userById(userId: string): Promise<Pick<UserRecord, 'userId' | 'role' | 'disabled'> | undefined> };
  /** `drain`: a change that lost a race waits for the winner to commit before it reads again. */
  ledger: EventSink & Pick<LedgerService, 'drain'>;
  changes: DecisionChanges;
  /** Whether the stop button is pressed (read from the store; inside a ledger hook pass its `tx`). */
  halted: (q?: Queryable) => Promise<boolean>;
  clock: Clock;
  ids: IdFactory;
  logger: FastifyBaseLogger;
  settings: EscalationSettings;
  /** The SLA sweep as one run across replicas (each case's move is conditional anyway). */
  exclusive?: Exclusive;
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
  decision: DecisionDetailDto;
  history: EscalationEvent[];
  /** The signed records of its resolutions and moves by hand, each verified now. */
  interventions: VerifiedIntervention[];
}

/** A case as a list shows it: with its decision's subject (actor, action, tool). */
export interface ListedEscalation {
  escalation: EscalationRecord;
  subject: DecisionSubject;
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

const MAX_ATTEMPTS = 5;

/**
 * The escalation workflow (DESIGN §10): open a case by hand, list and read cases, acknowledge and
 * resolve them, and the SLA sweep that moves overdue cases up the escalation chain. Every change of a
 * case is written, with its history row (and, for a resolution, the signed intervention record and the
 * capability token), inside the transaction of its ledger entry. A timeout never resolves a case.
 */
export class EscalationService {
  private readonly sweeps: SingleFlight<SweepReport>;
  private readonly assignees: EscalationAssignees;
  private readonly resolution: EscalationResolution;

  constructor(private readonly deps: EscalationServiceDeps) {
    this.assignees = new EscalationAssignees(deps);
    this.resolution = new EscalationResolution({ ...deps, now: () => this.now() });
    const sweep = new EscalationSweep({ ...deps, level: (c) => this.assignees.level(c), now: () => this.now() });
    const exclusive = deps.exclusive;
    this.sweeps = new SingleFlight(async () => {
      if (!exclusive) return sweep.once();
      const run = await exclusive('escalation-sla-sweep', () => sweep.once());
      // Another replica is sweeping now: it moves what is due.
      return run.ran ? run.value : { escalated: 0, breached: 0, skipped: 0 };
    });
  }

  get settings(): EscalationSettings {
    return this.deps.settings;
  }

  /**
   * `POST /api/governance/escalation`. The caller opens the case and, by opening it, assigns it (to the
   * reviewers it names, else to the first role of the chain): it may then never resolve it. An agent
   * asks for review only of decisions whose actor its key's pattern allows (403 `ACTOR_NOT_ALLOWED`)
   * and chooses neither the reviewers, the priority nor a trigger other than `manual` (403
   * `AGENT_MAY_NOT_CHOOSE`); its summary is kept as its claim. A case may be opened for any decision,
   * a denied one included, but a denied decision's case can never be approved (see {@link resolve}).
   * At most one escalation per decision (409 `ALREADY_ESCALATED`).
   */
  async create(input: CreateEscalationInput, principal: Principal): Promise<EscalationRecord> {
    if (principal.kind === 'agent') {
      const fields = fieldsAgentMayNotChoose(input);
      if (fields.length > 0) throw escalationErrors.agentMayNotChoose(fields);
    }
    const decision = await this.deps.decisions.get(input.decisionId);
    if (principal.kind === 'agent') assertMayActFor(principal, decision.actor);
    await this.assertNotEscalated(input.decisionId);
    const escalatedTo = input.escalatedTo ? await this.assignees.checkAssignees(input.escalatedTo) : [this.deps.settings.chain[0]!];
    const priority = input.priority ?? priorityForRisk(decision.risk.risk_level);
    const escalationId = this.deps.ids.next('esc');
    const at = isoTimestamp(this.deps.clock);
    const deadline = slaDeadline(priority, Date.parse(at), this.deps.settings.slaHours);
    const by = principalId(principal);
    const contextSummary = input.contextSummary ?? null;
    const row = {
      escalationId,
      decisionId: input.decisionId,
      priority,
      trigger: input.trigger,
      escalatedTo,
      contextSummary,
      contextSummarySource: contextSummary === null ? null : principal.kind === 'agent' ? ('agent_claim' as const) : ('user' as const),
      slaDeadline: deadline,
      createdBy: by,
      createdAt: at,
      openedBy: by,
      assignedBy: by,
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
          opened_by: by,
          assigned_by: by,
          context_summary_sha256: contextSummary === null ? null : sha256Hex(contextSummary),
          context_summary_source: row.contextSummarySource,
        },
        {
          withEntries: async ([entry], tx) => {
            // Opened meanwhile (another request, another replica): checked under the ledger's lock.
            if ((await this.deps.repo.byDecision(input.decisionId, tx!)).length > 0) throw new EscalatedMeanwhile();
            await this.deps.repo.insertPending(tx!, row, entry!, principal.role);
          },
        },
      );
    } catch (err) {
      if (isDuplicateEscalation(err)) {
        // Opened concurrently, maybe in the same group commit (then re-queued): let it commit, then say so.
        await this.deps.ledger.drain();
        await this.assertNotEscalated(input.decisionId);
        if (err instanceof EscalatedMeanwhile) throw errors.conflict('The decision was escalated meanwhile; repeat the request');
      }
      throw err;
    }
    return (await this.deps.repo.byId(escalationId))!;
  }

  /** One case with its decision (explanation, risk factors, effective outcome) and history; 404 when unknown. */
  async get(escalationId: string): Promise<EscalationDetail> {
    const escalation = await this.find(escalationId);
    const interventions = await this.deps.interventions.list({
      decisionId: escalation.decisionId,
      kind: 'escalation_resolution',
      limit: 100,
    });
    return {
      escalation,
      decision: await this.deps.decisions.detail(escalation.decisionId),
      history: await this.deps.repo.history(escalationId),
      interventions: interventions.items
        .filter((i) => i.record.scope === `escalation:${escalationId}`)
        .reverse(),
    };
  }

  /** Newest first; `assignedTo` keeps the cases escalated to that user (by id or by role). */
  async list(
    filter: Omit<EscalationFilter, 'assignedToAny' | 'overdueAt' | 'limit'> & {
      limit: number;
      assignedTo?: Pick<UserPrincipal, 'userId' | 'role'> | undefined;
      overdue?: boolean | undefined;
    },
  ): Promise<{ items: ListedEscalation[]; nextCursor: string | null }> {
    const rows = await this.deps.repo.list({
      status: filter.status,
      priority: filter.priority,
      decisionId: filter.decisionId,
      assignedToAny: filter.assignedTo && [filter.assignedTo.userId, filter.assignedTo.role],
      overdueAt: filter.overdue ? this.now() : undefined,
      beforeId: filter.beforeId,
      limit: filter.limit + 1,
    });
    return this.withSubjects(page(rows, filter.limit));
  }

  /** Open cases past their deadline now, most overdue first; the cursor is the last case's id. */
  async violations(limit: number, cursor: string | undefined): Promise<{ items: ListedEscalation[]; nextCursor: string | null }> {
    return this.withSubjects(page(await this.deps.repo.violations(this.now(), limit + 1, cursor), limit));
  }

  /** A page's cases with their decisions' subjects, read in one query for the page (never one per case). */
  private async withSubjects(p: { items: EscalationRecord[]; nextCursor: string | null }): Promise<{ items: ListedEscalation[]; nextCursor: string | null }> {
    const subjects = await this.deps.decisions.subjects([...new Set(p.items.map((c) => c.decisionId))]);
    const items = p.items.map((escalation) => {
      const subject = subjects.get(escalation.decisionId);
      // A case refers to its decision (a foreign key), and decisions are never deleted.
      if (subject === undefined) throw new Error(`escalation ${escalation.escalationId}: decision ${escalation.decisionId} not found`);
      return { escalation, subject };
    });
    return { items, nextCursor: p.nextCursor };
  }

  now(): string {
    return isoTimestamp(this.deps.clock);
  }

  /**
   * Acknowledge a case: the assigned user (or an executive or admin) has taken it up. The SLA keeps
   * running. 409 `ALREADY_RESOLVED`, `ALREADY_ACKNOWLEDGED`.
   */
  async acknowledge(escalationId: string, user: UserPrincipal, attempt = 1): Promise<EscalationRecord> {
    const c = await this.find(escalationId);
    this.assertMayHandle(c, user);
    if (c.status === 'resolved') throw escalationErrors.alreadyResolved(c);
    assertNotOwnCase(c, user);
    if (c.status === 'acknowledged') {
      throw escalationErrors.alreadyAcknowledged(c);
    }
    const at = this.now();
    try {
      await this.deps.ledger.append(
        'escalation_acknowledged',
        { escalation_id: c.escalationId, decision_id: c.decisionId, by: user.userId, role: user.role, sla_deadline: c.slaDeadline },
        {
          withEntries: async ([entry], tx) => {
            if (!(await this.deps.repo.acknowledge(tx!, c.escalationId, c.version, at, user.userId))) throw new StateChanged();
            await this.deps.repo.insertEvent(tx!, c.escalationId, 'acknowledged', at, user.userId, user.role, entry!, {});
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
   * executive or an admin (403 `NOT_ASSIGNED` otherwise), never the one who opened or assigned it (403
   * `SELF_RESOLUTION`). A case of a decision the policy denied can never be approved (409
   * `DENIAL_NEEDS_OVERRIDE`: changing a denial is an override's job). Nor is one whose approval would give
   * its actor approvals on both sides of a `conflicts` relation inside its window (409
   * `CONFLICTS_WITH_APPROVAL`), judged at the resolution under the decision's policy version with its
   * stored request, and again inside the ledger transaction (escalation.resolution.ts); 409
   * `APPROVAL_UNCHECKABLE` when that cannot be judged. `approved`, `denied` and `deferred` close it
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
    const c = await this.find(escalationId);
    this.assertMayHandle(c, user);
    if (c.status === 'resolved') throw escalationErrors.alreadyResolved(c);
    assertNotOwnCase(c, user);
    const decision = await this.deps.decisions.get(c.decisionId);
    if (!allowedResolutions(decision.outcome).includes(input.outcome)) throw escalationErrors.denialNeedsOverride(c, decision);
    if (input.outcome === 'approved' && (await this.deps.halted())) throw escalationErrors.halted();
    const sod = input.outcome === 'approved' ? await this.resolution.sodCheck(c, decision) : undefined;
    const nextRole = input.outcome === 'escalated_further' ? nextChainRole(await this.assignees.level(c), this.deps.settings.chain) : null;
    if (input.outcome === 'escalated_further' && nextRole === null) {
      throw escalationErrors.chainExhausted(c, this.deps.settings.chain);
    }
    const record = this.deps.interventions.sign(
      {
        kind: 'escalation_resolution',
        decisionId: c.decisionId,
        scope: `escalation:${c.escalationId}`,
        justification: input.notes,
        shown: shownToReviewer(c, decision),
        details: { escalation_id: c.escalationId, outcome: input.outcome, opened_by: c.openedBy, assigned_by: c.assignedBy },
      },
      user,
    );
    let effects: TokenEffects = { tokenJti: null, tokenRevoked: null };
    try {
      if (nextRole !== null) await this.resolution.moveUpByReviewer(c, nextRole, record, input.notes, user);
      else effects = await this.resolution.close(c, decision, input.outcome as FinalResolution, record, input.notes, user, sod);
    } catch (err) {
      if (err instanceof StateChanged) return this.retry(attempt, () => this.resolve(escalationId, input, user, attempt + 1));
      if (err instanceof HaltedMeanwhile) throw escalationErrors.halted();
      if (err instanceof ConflictMeanwhile) throw escalationErrors.conflictsWithApproval(c, decision, err.conflicts);
      throw err;
    }
    return {
      escalation: await this.find(escalationId),
      interventionId: record.interventionId,
      ...effects,
      effectiveOutcome: (await this.deps.decisions.get(c.decisionId)).effective_outcome,
    };
  }

  /**
   * The SLA monitor's step (see {@link EscalationSweep}): overdue open cases move up the chain, a miss
   * at the top is ledgered once; never approves nor denies anything. Concurrent calls share one sweep.
   */
  sweep(): Promise<SweepReport> {
    return this.sweeps.run();
  }

  /** Wait for a sweep in progress, if any (at shutdown). */
  async idle(): Promise<void> {
    await this.sweeps.idle();
  }

  private async find(escalationId: string): Promise<EscalationRecord> {
    const c = await this.deps.repo.byId(escalationId);
    if (!c) throw errors.notFound('Escalation', escalationId);
    return c;
  }

  private async assertNotEscalated(decisionId: string): Promise<void> {
    const existing = (await this.deps.repo.byDecision(decisionId))[0];
    if (existing) {
      throw escalationErrors.alreadyEscalated(decisionId, existing);
    }
  }

  private assertMayHandle(c: EscalationRecord, user: UserPrincipal): void {
    if (!mayHandle(user, c.escalatedTo)) {
      throw escalationErrors.notAssigned(c);
    }
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

/** 403 `SELF_RESOLUTION` when the user opened the case or put it with its current reviewers (DESIGN §7). */
function assertNotOwnCase(c: EscalationRecord, user: UserPrincipal): void {
  const own = ownCaseRole(c, user.userId);
  if (own !== null) throw escalationErrors.selfResolution(c, own);
}

function page(rows: EscalationRecord[], limit: number): { items: EscalationRecord[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.escalationId : null };
}
