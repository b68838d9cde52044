import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { Exclusive } from '../../platform/exclusive.js';
import { SingleFlight } from '../../platform/single-flight.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { Queryable, Transaction } from '../../platform/db/port.js';
import type { IdFactory } from '../../platform/ids.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import type { DecisionChanges } from '../decision/decision.changes.js';
import { shownDecision } from '../decision/decision.shown.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { OverrideReader, OverrideSummary } from '../decision/decision.service.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import type { EventSink, LedgerEvent, LedgerService } from '../ledger/ledger.service.js';
import type { SignedIntervention } from '../oversight/intervention.js';
import type { InterventionService, VerifiedIntervention } from '../oversight/intervention.service.js';
import type { Outcome } from '../policy/policy.model.js';
import type { TokenService } from '../tokens/tokens.service.js';
import { HaltedMeanwhile, halted, invalidField, MAX_ATTEMPTS, pendingConflict, StateChanged } from './override.errors.js';
import {
  allowsAction,
  grantsPermission,
  DEFAULT_OVERRIDE_TYPE,
  expiryProblem,
  holdingOverride,
  lapsesAt,
  statusAt,
  type OverrideStatus,
  type OverrideType,
} from './override.model.js';
import type { EscalationRepo } from '../escalation/escalation.repo.js';
import { effectiveOutcome } from '../decision/effective-outcome.js';
import type { OverrideFilter, OverrideRecord, OverrideRepo } from './override.repo.js';
import { OverrideSweep, type OverrideSweepReport } from './override.sweep.js';
import { noTokenChange, OverrideTokens, type TokenPlan } from './override.tokens.js';
import { OverrideTransitions } from './override.transitions.js';

export { EXPIRY_ACTOR, type OverrideSweepReport } from './override.sweep.js';

export interface OverrideSettings {
  /** `LEXECON_OVERRIDE_TWO_PERSON`: an override takes effect only once a second executive or admin confirms it. */
  twoPerson: boolean;
}

export interface OverrideServiceDeps {
  repo: OverrideRepo;
  /** One decision as `GET /decide/:id` shows it, with its effective outcome (404 when unknown). */
  decisions: { get(decisionId: string): Promise<DecisionRecordDto> };
  /**
   * The decision's escalation: its resolution counts in the effective outcome, which the transaction
   * of a change re-computes from the rows as they stand in it (`effectiveIn`).
   */
  escalations: Pick<EscalationRepo, 'byDecision'>;
  tokens: TokenService;
  interventions: InterventionService;
  /** `drain`: a change that lost a race waits for the winner to commit before it reads again. */
  ledger: EventSink & Pick<LedgerService, 'drain'>;
  /** Long-poll notices: a decision's effective outcome may have changed. */
  changes: DecisionChanges;
  /** Whether the stop button is pressed (read from the store; inside a ledger hook pass its `tx`). */
  halted: (q?: Queryable) => Promise<boolean>;
  clock: Clock;
  ids: IdFactory;
  logger: FastifyBaseLogger;
  settings: OverrideSettings;
  /** The lapse sweep as one run across replicas (each lapse is conditional anyway). */
  exclusive?: Exclusive;
}

export interface CreateOverrideInput {
  decisionId: string;
  newOutcome: Outcome;
  /** Trimmed, at least 20 characters (the route's schema checks it). */
  justification: string;
  overrideType?: OverrideType | undefined;
  expiresAt?: string | undefined;
  /** Obligations of an override to `conditional` (default: the decision's own). */
  conditions?: readonly string[] | undefined;
}

/** An override as the routes show it: the record, its status now, the decision's effective outcome, its signed records. */
export interface OverrideView {
  override: OverrideRecord;
  status: OverrideStatus;
  effectiveOutcome: Outcome;
  interventions: VerifiedIntervention[];
}

/** What createOnce decided before the transaction; the transaction re-checks it. */
interface CreateDraft {
  decision: DecisionRecordDto;
  /** The decision's effective outcome the override was asked against. */
  original: Outcome;
  at: string;
  expiresAt: string | null;
  conditions: readonly string[];
  twoPerson: boolean;
  overrideId: string;
  overrideType: OverrideType;
  status: 'pending_confirmation' | 'active';
  lapse: string | null;
  plan: TokenPlan;
  record: SignedIntervention;
}

/**
 * Audited overrides (issue 7, DESIGN §10). An executive or admin changes a decision's effective
 * outcome with a justification; under the two-person rule a second, different executive or admin must
 * confirm it before it takes effect. Every intervention (override, confirmation, rejection) is an
 * Ed25519-signed record; every change is ledgered (`override_created`, `override_confirmed`,
 * `override_rejected`, `override_expired`, and `token_revoked` when it revokes the decision's token)
 * and written with its rows in one transaction. The decision's own outcome never changes: its effective
 * outcome is computed from the overrides in effect (`effectiveOutcome`). Also the decision service's
 * {@link OverrideReader}.
 *
 * Separation of duties: an override is not held to the policy's `conflicts` relations (an escalation's
 * approval is: decision.sod.ts). It is the deliberate exception path (role, justification, two-person
 * rule), so it may give an actor approvals on both sides of a conflicts relation on purpose; from when it
 * takes effect it counts as an approval of the actor for later decisions and cases.
 */
export class OverrideService implements OverrideReader {
  private readonly sweeps: SingleFlight<OverrideSweepReport>;
  private readonly lapseListeners: Array<(at: string) => void> = [];
  private readonly tokenPlans: OverrideTokens;
  private readonly transitions: OverrideTransitions;

  constructor(private readonly deps: OverrideServiceDeps) {
    const now = (): string => this.now();
    this.tokenPlans = new OverrideTokens({ ...deps, now });
    this.transitions = new OverrideTransitions({
      ...deps,
      plans: this.tokenPlans,
      now,
      committed: (decisionId, lapse) => this.committed(decisionId, lapse),
      effectiveIn: (decision, tx) => this.effectiveIn(decision, tx),
    });
    const sweep = new OverrideSweep({ ...deps, now, lapseOnce: (overrideId, at) => this.transitions.lapseOnce(overrideId, at) });
    const exclusive = deps.exclusive;
    this.sweeps = new SingleFlight(async () => {
      if (!exclusive) return sweep.once();
      const run = await exclusive('override-lapse-sweep', () => sweep.once());
      // Another replica is sweeping now: count it as skipped, so the timer retries soon, not at once.
      return run.ran ? run.value : { expired: [], skipped: 1 };
    });
  }

  /** Call `listener` with the lapse time of each override created or confirmed (the sweeper's timer). */
  onLapseScheduled(listener: (at: string) => void): void {
    this.lapseListeners.push(listener);
  }

  /** The earliest lapse time of a pending or active override, or null. */
  nextLapse(): Promise<string | null> {
    return this.deps.repo.nextLapse();
  }

  /**
   * `OverrideReader`: a decision's overrides in the order they took effect, each with its status now;
   * `q` reads them inside a transaction.
   */
  async forDecision(decisionId: string, q?: Queryable): Promise<OverrideSummary[]> {
    const now = this.now();
    return (await this.deps.repo.forDecision(decisionId, q)).map((o) => summary(o, now));
  }

  /** {@link forDecision} for a page of decisions, in one query: by decision id (none: absent). */
  async forDecisions(decisionIds: readonly string[]): Promise<Map<string, OverrideSummary[]>> {
    const now = this.now();
    const out = new Map<string, OverrideSummary[]>();
    for (const [id, list] of await this.deps.repo.forDecisions(decisionIds)) out.set(id, list.map((o) => summary(o, now)));
    return out;
  }

  async get(overrideId: string): Promise<OverrideView> {
    const o = await this.deps.repo.byId(overrideId);
    if (!o) throw errors.notFound('Override', overrideId);
    return this.view(o);
  }

  /** Newest first; `nextCursor` continues with older overrides. */
  async list(filter: Omit<OverrideFilter, 'now'>): Promise<{ items: OverrideView[]; nextCursor: string | null }> {
    const rows = await this.deps.repo.list({ ...filter, now: this.now(), limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    const items: OverrideView[] = [];
    for (const o of page) items.push(await this.view(o));
    return {
      items,
      nextCursor: rows.length > filter.limit ? page[page.length - 1]!.overrideId : null,
    };
  }

  /**
   * `POST /api/governance/override`. 404 unknown decision; 400 `expires_at` not in (now, now + 90 days]
   * or a conditional override without obligations; 409 `OUTCOME_UNCHANGED` (the new outcome is the
   * effective one), `OVERRIDE_PENDING` (another waits for confirmation), `HALTED` (allowing an action
   * while decisions are halted).
   */
  async create(input: CreateOverrideInput, user: UserPrincipal): Promise<OverrideView> {
    const overrideId = await this.retrying(() => this.createOnce(input, user));
    return this.get(overrideId);
  }

  /**
   * `POST /api/governance/override/:id/confirm` (two-person rule): a different executive or admin makes
   * a pending override take effect. 403 `SAME_PERSON`; 409 `NOT_PENDING`, `OVERRIDE_EXPIRED` (its
   * confirmation window or expiry passed), `OVERRIDE_STALE` (the decision's effective outcome is no
   * longer the one the override was asked against), `HALTED`.
   */
  async confirm(overrideId: string, justification: string, user: UserPrincipal): Promise<OverrideView> {
    await this.retrying(() => this.transitions.confirmOnce(overrideId, justification, user));
    return this.get(overrideId);
  }

  /**
   * `POST /api/governance/override/:id/reject`: an executive or admin refuses a pending override (its
   * author withdraws it). 409 `NOT_PENDING`.
   */
  async reject(overrideId: string, justification: string, user: UserPrincipal): Promise<OverrideView> {
    await this.retrying(() => this.transitions.rejectOnce(overrideId, justification, user));
    return this.get(overrideId);
  }

  /**
   * Lapse every pending or active override whose time has come: status `expired`, an `override_expired`
   * entry, and, when the effective outcome it reverts to no longer allows the action, the decision's
   * token revoked (`token_revoked`), in one transaction per override. The state is in the database, so
   * a sweep after a restart catches up. Concurrent calls share one sweep.
   */
  sweep(): Promise<OverrideSweepReport> {
    return this.sweeps.run();
  }

  /** Wait for a sweep in progress, if any (at shutdown). */
  async idle(): Promise<void> {
    await this.sweeps.idle();
  }

  // ---------------------------------------------------------------- create

  private async createOnce(input: CreateOverrideInput, user: UserPrincipal): Promise<string> {
    const decision = await this.deps.decisions.get(input.decisionId);
    const decisionId = decision.decision_id;
    const nowMs = this.deps.clock.now();
    const at = new Date(nowMs).toISOString();
    if (input.expiresAt !== undefined) {
      const problem = expiryProblem(input.expiresAt, nowMs);
      if (problem) throw invalidField('expires_at', problem);
    }
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString();
    const conditions = this.tokenPlans.conditionsFor(input, decision);
    const original = decision.effective_outcome;
    if (input.newOutcome === original) {
      throw new AppError(409, 'OUTCOME_UNCHANGED', `The decision's effective outcome is already '${original}'`, {
        effective_outcome: original,
      });
    }
    const pending = await this.deps.repo.pendingFor(decisionId);
    if (pending) throw pendingConflict(pending);
    const twoPerson = await this.needsSecondPerson(decisionId, original, input.newOutcome, at);
    if (!twoPerson && allowsAction(input.newOutcome) && (await this.deps.halted())) throw halted();

    const overrideId = this.deps.ids.next('ovr');
    const overrideType = input.overrideType ?? DEFAULT_OVERRIDE_TYPE;
    const status = twoPerson ? 'pending_confirmation' : 'active';
    const lapse = lapsesAt({ status, createdAt: at, expiresAt });
    const plan = twoPerson
      ? noTokenChange(await this.tokenPlans.tokenFingerprint(decisionId))
      : await this.tokenPlans.planTokens(decisionId, input.newOutcome, conditions, true);
    const record = this.deps.interventions.sign(
      {
        kind: 'override',
        decisionId,
        scope: `decision:${decisionId}`,
        justification: input.justification,
        shown: { decision: shownDecision(decision) },
        details: {
          override_id: overrideId,
          original_outcome: original,
          new_outcome: input.newOutcome,
          conditions,
          override_type: overrideType,
          expires_at: expiresAt,
          two_person: twoPerson,
        },
      },
      user,
    );
    const draft: CreateDraft = { decision, original, at, expiresAt, conditions, twoPerson, overrideId, overrideType, status, lapse, plan, record };
    await this.deps.ledger.appendAll(this.createdEvents(input, user, draft), {
      withEntries: (entries, tx) => this.insertCreated(tx!, entries[0]!, input, user, draft),
    });
    this.committed(decisionId, lapse);
    return overrideId;
  }

  /** The `override_created` entry, and the `token_revoked` entry when the override revokes the decision's token. */
  private createdEvents(input: CreateOverrideInput, user: UserPrincipal, draft: CreateDraft): LedgerEvent[] {
    const { decision, original, at, expiresAt, conditions, twoPerson, overrideId, overrideType, status, plan, record } = draft;
    const decisionId = decision.decision_id;
    const events: LedgerEvent[] = [
      {
        eventType: 'override_created',
        data: {
          override_id: overrideId,
          decision_id: decisionId,
          original_outcome: original,
          new_outcome: input.newOutcome,
          conditions,
          override_type: overrideType,
          status,
          authorized_by: user.userId,
          authorized_role: user.role,
          justification_sha256: sha256Hex(input.justification),
          expires_at: expiresAt,
          effective_at: twoPerson ? null : at,
          intervention_id: record.interventionId,
          kid: record.kid,
          signature: record.signature,
          token_issued: plan.mint,
          token_revoked: plan.revoke?.jti ?? null,
        },
      },
      ...this.tokenPlans.revocationEvents(plan, user.userId, overrideId, input.newOutcome),
    ];
    return events;
  }

  /** Inside the transaction: re-check what createOnce decided, then write the override, its record and its token effect. */
  private async insertCreated(
    tx: Transaction,
    entry: StoredEntry,
    input: CreateOverrideInput,
    user: UserPrincipal,
    draft: CreateDraft,
  ): Promise<void> {
    const { decision, original, at, expiresAt, conditions, twoPerson, overrideId, overrideType, status, lapse, plan, record } = draft;
    const decisionId = decision.decision_id;
    // Re-read inside the transaction: another override, a resolution or a token change since.
    if ((await this.effectiveIn(decision, tx)) !== original) throw new StateChanged();
    if (await this.deps.repo.pendingFor(decisionId, tx)) throw new StateChanged();
    // An override took hold of the decision (or stopped holding it) meanwhile: the rule may differ.
    if ((await this.needsSecondPerson(decisionId, original, input.newOutcome, at, tx)) !== twoPerson) throw new StateChanged();
    if (!twoPerson && allowsAction(input.newOutcome) && (await this.deps.halted(tx))) throw new HaltedMeanwhile();
    await this.deps.repo.insert(tx, {
      overrideId,
      decisionId,
      originalOutcome: original,
      newOutcome: input.newOutcome,
      conditions: [...conditions],
      overrideType,
      justification: input.justification,
      authorizedBy: user.userId,
      authorizedRole: user.role,
      twoPerson,
      status,
      createdAt: at,
      expiresAt,
      lapsesAt: lapse,
      effectiveAt: twoPerson ? null : at,
      effectiveSeq: twoPerson ? null : entry.seq,
      confirmedBy: null,
      confirmedRole: null,
      confirmedAt: null,
      closedAt: null,
      closedBy: null,
      interventionId: record.interventionId,
      confirmationInterventionId: null,
      tokenIssued: plan.mint,
      tokenRevoked: plan.revoke?.jti ?? null,
      ledgerSeq: entry.seq,
      ledgerEntryHash: entry.entryHash,
    });
    await this.deps.interventions.insert(tx, record);
    await this.tokenPlans.applyTokens(tx, plan, decision, conditions, entry, user.userId, overrideId, input.newOutcome);
  }

  /**
   * Whether an override of the decision from `from` to `to` waits for a second person. One person is
   * never enough to turn a denial into permission ({@link grantsPermission}), whatever the setting;
   * `LEXECON_OVERRIDE_TWO_PERSON` extends the rule to every override.
   */
  private async needsSecondPerson(decisionId: string, from: Outcome, to: Outcome, at: string, q?: Queryable): Promise<boolean> {
    if (this.deps.settings.twoPerson) return true;
    const fromOverride = holdingOverride(await this.deps.repo.forDecision(decisionId, q), at) !== undefined;
    return grantsPermission(from, to, fromOverride);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * The decision's effective outcome now, from its escalation and overrides as they stand in the
   * transaction `tx` (the decision's own outcome and obligations never change), as `GET /decide/:id`
   * computes it. Inside a ledger hook this sees the batch's own writes and, on PostgreSQL, whatever
   * another replica committed before the batch took the chain head lock.
   */
  private async effectiveIn(decision: DecisionRecordDto, tx: Queryable): Promise<Outcome> {
    const decisionId = decision.decision_id;
    const escalation = (await this.deps.escalations.byDecision(decisionId, tx))[0];
    return effectiveOutcome({
      outcome: decision.outcome,
      escalationResolution: escalation?.resolution ?? null,
      conditions: decision.conditions,
      overrides: await this.forDecision(decisionId, tx),
      now: this.now(),
    });
  }

  private async view(o: OverrideRecord): Promise<OverrideView> {
    const interventions: VerifiedIntervention[] = [];
    for (const id of [o.interventionId, o.confirmationInterventionId]) {
      if (id !== null) interventions.push(await this.deps.interventions.get(id));
    }
    return {
      override: o,
      status: statusAt(o, this.now()),
      effectiveOutcome: (await this.deps.decisions.get(o.decisionId)).effective_outcome,
      interventions,
    };
  }

  /** After a commit: wake long-polls on the decision and tell the sweeper of a new lapse time. */
  private committed(decisionId: string, lapse: string | null): void {
    this.deps.changes.notify(decisionId);
    if (lapse !== null) for (const listener of this.lapseListeners) listener(lapse);
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (err instanceof HaltedMeanwhile) throw halted();
        if (!(err instanceof StateChanged)) throw err;
        if (attempt >= MAX_ATTEMPTS) throw errors.conflict('The decision changed while the override was being recorded; retry');
        // This append was rejected before the batch holding the change that won committed: wait for it.
        await this.deps.ledger.drain();
      }
    }
  }

  private now(): string {
    return isoTimestamp(this.deps.clock);
  }
}

/** An override as a decision record shows it, its status at `now`. */
function summary(o: OverrideRecord, now: string): OverrideSummary {
  return {
    overrideId: o.overrideId,
    newOutcome: o.newOutcome,
    status: statusAt(o, now),
    effectiveAt: o.effectiveAt,
    expiresAt: o.expiresAt,
    authorizedBy: o.authorizedBy,
    createdAt: o.createdAt,
  };
}
