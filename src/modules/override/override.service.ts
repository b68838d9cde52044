import type { FastifyBaseLogger } from 'fastify';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { SingleFlight } from '../../platform/single-flight.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import type { DecisionChanges } from '../decision/decision.changes.js';
import { shownDecision } from '../decision/decision.shown.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { OverrideReader, OverrideSummary } from '../decision/decision.service.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import type { EventSink, LedgerEvent, LedgerService } from '../ledger/ledger.service.js';
import type { InterventionService, VerifiedIntervention } from '../oversight/intervention.service.js';
import type { Outcome } from '../policy/policy.model.js';
import { parseToken } from '../tokens/token.js';
import type { TokenRecord } from '../tokens/tokens.repo.js';
import type { TokenService } from '../tokens/tokens.service.js';
import {
  allowsAction,
  grantsPermission,
  DEFAULT_OVERRIDE_TYPE,
  expiryProblem,
  holdingOverride,
  lapsesAt,
  statusAt,
  tokenEffect,
  type OverrideStatus,
  type OverrideType,
} from './override.model.js';
import type { OverrideFilter, OverrideRecord, SqliteOverrideRepo } from './override.repo.js';

export interface OverrideSettings {
  /** `LEXECON_OVERRIDE_TWO_PERSON`: an override takes effect only once a second executive or admin confirms it. */
  twoPerson: boolean;
}

export interface OverrideServiceDeps {
  repo: SqliteOverrideRepo;
  /** One decision as `GET /decide/:id` shows it, with its effective outcome (404 when unknown). */
  decisions: { get(decisionId: string): DecisionRecordDto };
  tokens: TokenService;
  interventions: InterventionService;
  /** `drain`: a change that lost a race waits for the winner to commit before it reads again. */
  ledger: EventSink & Pick<LedgerService, 'drain'>;
  /** Long-poll notices: a decision's effective outcome may have changed. */
  changes: DecisionChanges;
  /** Whether the stop button is pressed (read from the store). */
  halted: () => boolean;
  clock: Clock;
  ids: IdFactory;
  logger: FastifyBaseLogger;
  settings: OverrideSettings;
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

export interface OverrideSweepReport {
  /** Overrides that lapsed in this sweep. */
  expired: string[];
  /** Due overrides that could not be lapsed now (logged; the next sweep tries again). */
  skipped: number;
}

/** Who the ledger names for what the sweeper does. */
export const EXPIRY_ACTOR = 'override_expiry';

const SWEEP_PAGE = 100;
const MAX_ATTEMPTS = 3;

/** The state read before a transaction changed under it: read again and retry. */
class StateChanged extends Error {}
class HaltedMeanwhile extends Error {}

/** What taking effect does to the decision's token, decided before the transaction and re-checked in it. */
interface TokenPlan {
  /** The jti to mint, or null. */
  mint: string | null;
  /** The token to revoke, or null. */
  revoke: TokenRecord | null;
  /** The token state the plan was made on (`jti:revoked_at`, empty when none). */
  fingerprint: string;
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
  private readonly sweeps = new SingleFlight(() => this.sweepOnce());
  private readonly lapseListeners: Array<(at: string) => void> = [];

  constructor(private readonly deps: OverrideServiceDeps) {}

  /** Call `listener` with the lapse time of each override created or confirmed (the sweeper's timer). */
  onLapseScheduled(listener: (at: string) => void): void {
    this.lapseListeners.push(listener);
  }

  /** The earliest lapse time of a pending or active override, or null. */
  nextLapse(): string | null {
    return this.deps.repo.nextLapse();
  }

  /** `OverrideReader`: a decision's overrides in the order they took effect, each with its status now. */
  forDecision(decisionId: string): OverrideSummary[] {
    const now = this.now();
    return this.deps.repo.forDecision(decisionId).map((o) => ({
      overrideId: o.overrideId,
      newOutcome: o.newOutcome,
      status: statusAt(o, now),
      effectiveAt: o.effectiveAt,
      expiresAt: o.expiresAt,
      authorizedBy: o.authorizedBy,
      createdAt: o.createdAt,
    }));
  }

  get(overrideId: string): OverrideView {
    const o = this.deps.repo.byId(overrideId);
    if (!o) throw errors.notFound('Override', overrideId);
    return this.view(o);
  }

  /** Newest first; `nextCursor` continues with older overrides. */
  list(filter: Omit<OverrideFilter, 'now'>): { items: OverrideView[]; nextCursor: string | null } {
    const rows = this.deps.repo.list({ ...filter, now: this.now(), limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((o) => this.view(o)),
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
    await this.retrying(() => this.confirmOnce(overrideId, justification, user));
    return this.get(overrideId);
  }

  /**
   * `POST /api/governance/override/:id/reject`: an executive or admin refuses a pending override (its
   * author withdraws it). 409 `NOT_PENDING`.
   */
  async reject(overrideId: string, justification: string, user: UserPrincipal): Promise<OverrideView> {
    await this.retrying(() => this.rejectOnce(overrideId, justification, user));
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

  // ---------------------------------------------------------------- create, confirm, reject

  private async createOnce(input: CreateOverrideInput, user: UserPrincipal): Promise<string> {
    const decision = this.deps.decisions.get(input.decisionId);
    const decisionId = decision.decision_id;
    const nowMs = this.deps.clock.now();
    const at = new Date(nowMs).toISOString();
    if (input.expiresAt !== undefined) {
      const problem = expiryProblem(input.expiresAt, nowMs);
      if (problem) throw invalidField('expires_at', problem);
    }
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString();
    const conditions = this.conditionsFor(input, decision);
    const original = decision.effective_outcome;
    if (input.newOutcome === original) {
      throw new AppError(409, 'OUTCOME_UNCHANGED', `The decision's effective outcome is already '${original}'`, {
        effective_outcome: original,
      });
    }
    const pending = this.deps.repo.pendingFor(decisionId);
    if (pending) throw pendingConflict(pending);
    const twoPerson = this.needsSecondPerson(decisionId, original, input.newOutcome, at);
    if (!twoPerson && allowsAction(input.newOutcome) && this.deps.halted()) throw halted();

    const overrideId = this.deps.ids.next('ovr');
    const overrideType = input.overrideType ?? DEFAULT_OVERRIDE_TYPE;
    const status = twoPerson ? 'pending_confirmation' : 'active';
    const lapse = lapsesAt({ status, createdAt: at, expiresAt });
    const plan = twoPerson ? noTokenChange(this.tokenFingerprint(decisionId)) : this.planTokens(decisionId, input.newOutcome, conditions, true);
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
      ...this.revocationEvents(plan, user.userId, overrideId, input.newOutcome),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: (entries) => {
        const entry = entries[0]!;
        // Re-read inside the transaction: another override, a resolution or a token change since.
        if (this.deps.decisions.get(decisionId).effective_outcome !== original) throw new StateChanged();
        if (this.deps.repo.pendingFor(decisionId)) throw new StateChanged();
        // An override took hold of the decision (or stopped holding it) meanwhile: the rule may differ.
        if (this.needsSecondPerson(decisionId, original, input.newOutcome, at) !== twoPerson) throw new StateChanged();
        if (!twoPerson && allowsAction(input.newOutcome) && this.deps.halted()) throw new HaltedMeanwhile();
        this.deps.repo.insert({
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
        this.deps.interventions.insertSync(record);
        this.applyTokens(plan, decision, conditions, entry, user.userId, overrideId, input.newOutcome);
      },
    });
    this.committed(decisionId, lapse);
    return overrideId;
  }

  /**
   * Whether an override of the decision from `from` to `to` waits for a second person. One person is
   * never enough to turn a denial into permission ({@link grantsPermission}), whatever the setting;
   * `LEXECON_OVERRIDE_TWO_PERSON` extends the rule to every override.
   */
  private needsSecondPerson(decisionId: string, from: Outcome, to: Outcome, at: string): boolean {
    if (this.deps.settings.twoPerson) return true;
    const fromOverride = holdingOverride(this.deps.repo.forDecision(decisionId), at) !== undefined;
    return grantsPermission(from, to, fromOverride);
  }

  private async confirmOnce(overrideId: string, justification: string, user: UserPrincipal): Promise<void> {
    const o = this.pendingOrThrow(overrideId);
    if (o.authorizedBy === user.userId) {
      throw new AppError(403, 'SAME_PERSON', 'The two-person rule needs a second person: you asked for this override', {
        authorized_by: o.authorizedBy,
      });
    }
    const decision = this.deps.decisions.get(o.decisionId);
    if (decision.effective_outcome !== o.originalOutcome) {
      throw new AppError(
        409,
        'OVERRIDE_STALE',
        `The decision's effective outcome changed since the override was asked for (now '${decision.effective_outcome}', then '${o.originalOutcome}'); reject it and ask again`,
        { effective_outcome: decision.effective_outcome, original_outcome: o.originalOutcome },
      );
    }
    if (allowsAction(o.newOutcome) && this.deps.halted()) throw halted();
    const at = this.now();
    const lapse = lapsesAt({ status: 'active', createdAt: o.createdAt, expiresAt: o.expiresAt });
    const plan = this.planTokens(o.decisionId, o.newOutcome, o.conditions, true);
    const record = this.deps.interventions.sign(
      {
        kind: 'override_confirmation',
        decisionId: o.decisionId,
        scope: `override:${overrideId}`,
        justification,
        shown: { decision: shownDecision(decision), override: shownOverride(o) },
        details: { override_id: overrideId, verdict: 'confirmed', new_outcome: o.newOutcome },
      },
      user,
    );
    const events: LedgerEvent[] = [
      {
        eventType: 'override_confirmed',
        data: {
          override_id: overrideId,
          decision_id: o.decisionId,
          original_outcome: o.originalOutcome,
          new_outcome: o.newOutcome,
          authorized_by: o.authorizedBy,
          confirmed_by: user.userId,
          confirmed_role: user.role,
          justification_sha256: sha256Hex(justification),
          effective_at: at,
          expires_at: o.expiresAt,
          intervention_id: record.interventionId,
          kid: record.kid,
          signature: record.signature,
          token_issued: plan.mint,
          token_revoked: plan.revoke?.jti ?? null,
        },
      },
      ...this.revocationEvents(plan, user.userId, overrideId, o.newOutcome),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: (entries) => {
        const entry = entries[0]!;
        if (this.deps.decisions.get(o.decisionId).effective_outcome !== o.originalOutcome) throw new StateChanged();
        if (allowsAction(o.newOutcome) && this.deps.halted()) throw new HaltedMeanwhile();
        const activation = {
          at,
          effectiveSeq: entry.seq,
          lapsesAt: lapse,
          tokenIssued: plan.mint,
          tokenRevoked: plan.revoke?.jti ?? null,
        };
        if (!this.deps.repo.activate(overrideId, { userId: user.userId, role: user.role, interventionId: record.interventionId }, activation)) {
          throw new StateChanged();
        }
        this.deps.interventions.insertSync(record);
        this.applyTokens(plan, decision, o.conditions, entry, user.userId, overrideId, o.newOutcome);
      },
    });
    this.committed(o.decisionId, lapse);
  }

  private async rejectOnce(overrideId: string, justification: string, user: UserPrincipal): Promise<void> {
    const o = this.pendingOrThrow(overrideId);
    const decision = this.deps.decisions.get(o.decisionId);
    const at = this.now();
    const withdrawn = o.authorizedBy === user.userId;
    // NOTE: the interventions table knows no rejection kind: a refusal is the confirmation step answered no.
    const record = this.deps.interventions.sign(
      {
        kind: 'override_rejection',
        decisionId: o.decisionId,
        scope: `override:${overrideId}`,
        justification,
        shown: { decision: shownDecision(decision), override: shownOverride(o) },
        details: { override_id: overrideId, verdict: 'rejected', withdrawn, new_outcome: o.newOutcome },
      },
      user,
    );
    await this.deps.ledger.append(
      'override_rejected',
      {
        override_id: overrideId,
        decision_id: o.decisionId,
        new_outcome: o.newOutcome,
        authorized_by: o.authorizedBy,
        rejected_by: user.userId,
        rejected_role: user.role,
        withdrawn,
        justification_sha256: sha256Hex(justification),
        intervention_id: record.interventionId,
        kid: record.kid,
        signature: record.signature,
      },
      {
        withEntries: () => {
          if (!this.deps.repo.reject(overrideId, at, user.userId, record.interventionId)) throw new StateChanged();
          this.deps.interventions.insertSync(record);
        },
      },
    );
    this.deps.changes.notify(o.decisionId);
  }

  /** The override if it waits for confirmation now (404, 409 `NOT_PENDING`, 409 `OVERRIDE_EXPIRED`). */
  private pendingOrThrow(overrideId: string): OverrideRecord {
    const o = this.deps.repo.byId(overrideId);
    if (!o) throw errors.notFound('Override', overrideId);
    const status = statusAt(o, this.now());
    if (o.status === 'pending_confirmation' && status === 'expired') {
      throw new AppError(409, 'OVERRIDE_EXPIRED', `Override '${overrideId}' lapsed unconfirmed at ${o.lapsesAt}`, {
        status,
        lapsed_at: o.lapsesAt,
      });
    }
    if (status !== 'pending_confirmation') {
      throw new AppError(409, 'NOT_PENDING', `Override '${overrideId}' is ${status}, not waiting for confirmation`, { status });
    }
    return o;
  }

  // ---------------------------------------------------------------- lapse

  private async sweepOnce(): Promise<OverrideSweepReport> {
    const report: OverrideSweepReport = { expired: [], skipped: 0 };
    const now = this.now();
    let after: OverrideRecord | undefined;
    for (;;) {
      const due = this.deps.repo.due(now, SWEEP_PAGE, after && { lapsesAt: after.lapsesAt!, overrideId: after.overrideId });
      if (due.length === 0) break;
      // Different decisions lapse concurrently (their appends share a group commit); one decision's in order.
      const byDecision = new Map<string, OverrideRecord[]>();
      for (const o of due) byDecision.set(o.decisionId, [...(byDecision.get(o.decisionId) ?? []), o]);
      await Promise.all(
        [...byDecision.values()].map(async (list) => {
          for (const o of list) {
            try {
              if (await this.lapse(o.overrideId, now)) report.expired.push(o.overrideId);
            } catch (err) {
              report.skipped += 1;
              this.deps.logger.warn({ err, override_id: o.overrideId }, 'override sweep could not lapse a due override');
            }
          }
        }),
      );
      if (due.length < SWEEP_PAGE) break;
      after = due[due.length - 1];
    }
    return report;
  }

  /** Lapse one override if it is still due (false when it no longer is). */
  private async lapse(overrideId: string, now: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.lapseOnce(overrideId, now);
      } catch (err) {
        if (!(err instanceof StateChanged) || attempt >= MAX_ATTEMPTS) throw err;
        await this.deps.ledger.drain();
      }
    }
  }

  private async lapseOnce(overrideId: string, now: string): Promise<boolean> {
    const o = this.deps.repo.byId(overrideId);
    if (!o || (o.status !== 'active' && o.status !== 'pending_confirmation') || o.lapsesAt === null || o.lapsesAt > now) {
      return false;
    }
    const previous = o.status;
    // The decision read now no longer counts this override (its expiry is past): what it reverts to.
    const decision = this.deps.decisions.get(o.decisionId);
    const after = decision.effective_outcome;
    const plan =
      previous === 'active'
        ? this.planTokens(o.decisionId, after, this.effectiveConditions(decision), false)
        : noTokenChange(this.tokenFingerprint(o.decisionId));
    const events: LedgerEvent[] = [
      {
        eventType: 'override_expired',
        data: {
          override_id: overrideId,
          decision_id: o.decisionId,
          previous_status: previous,
          new_outcome: o.newOutcome,
          expires_at: o.expiresAt,
          lapsed_at: o.lapsesAt,
          effective_outcome: after,
          token_revoked: plan.revoke?.jti ?? null,
        },
      },
      ...this.revocationEvents(plan, EXPIRY_ACTOR, overrideId, after),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: () => {
        if (!this.deps.repo.expire(overrideId, previous, now, EXPIRY_ACTOR)) throw new StateChanged();
        if (this.tokenFingerprint(o.decisionId) !== plan.fingerprint) throw new StateChanged();
        if (plan.revoke && this.deps.tokens.revokeForDecisionSync(o.decisionId, EXPIRY_ACTOR, revokeReason(overrideId, after)) !== plan.revoke.jti) {
          throw new StateChanged();
        }
      },
    });
    this.deps.changes.notify(o.decisionId);
    return true;
  }

  // ---------------------------------------------------------------- tokens

  /** The obligations of a conditional override: the body's, else the decision's own; 400 when none. */
  private conditionsFor(input: CreateOverrideInput, decision: DecisionRecordDto): readonly string[] {
    if (input.newOutcome !== 'conditional') {
      if (input.conditions !== undefined) throw invalidField('conditions', 'only an override to conditional carries conditions');
      return [];
    }
    const conditions = [...new Set(input.conditions ?? decision.conditions)].sort();
    if (conditions.length === 0) {
      throw invalidField('conditions', 'an override to conditional needs obligations, and the decision has none of its own');
    }
    return conditions;
  }

  /** The obligations of the decision's effective outcome: the holding override's, else the decision's own. */
  private effectiveConditions(decision: DecisionRecordDto): readonly string[] {
    const holding = holdingOverride(this.deps.repo.forDecision(decision.decision_id), this.now());
    return holding ? holding.conditions : decision.conditions;
  }

  private tokenFingerprint(decisionId: string): string {
    const t = this.deps.tokens.recordForDecision(decisionId);
    return t ? `${t.jti}:${t.revokedAt ?? ''}` : '';
  }

  private planTokens(decisionId: string, after: Outcome, conditions: readonly string[], mayMint: boolean): TokenPlan {
    const held = this.deps.tokens.tokenForDecision(decisionId);
    const fingerprint = held ? `${held.record.jti}:${held.record.revokedAt ?? ''}` : '';
    let tokenConditions: readonly string[] = [];
    if (held) {
      const parsed = parseToken(held.token);
      tokenConditions = 'error' in parsed ? [] : (parsed.payload.cnd ?? []);
    }
    const effect = tokenEffect({
      after,
      conditions,
      token: held ? { live: held.record.revokedAt === null, conditions: tokenConditions } : null,
      mayMint,
    });
    return {
      mint: effect === 'mint' ? this.deps.ids.next('tok') : null,
      revoke: effect === 'revoke' ? held!.record : null,
      fingerprint,
    };
  }

  private revocationEvents(plan: TokenPlan, by: string, overrideId: string, after: Outcome): LedgerEvent[] {
    const t = plan.revoke;
    if (!t) return [];
    return [
      {
        eventType: 'token_revoked',
        data: { jti: t.jti, decision_id: t.decisionId, actor: t.actor, action: t.action, revoked_by: by, reason: revokeReason(overrideId, after) },
      },
    ];
  }

  /** Inside the transaction: check the token state the plan was made on, then revoke or mint. */
  private applyTokens(
    plan: TokenPlan,
    decision: DecisionRecordDto,
    conditions: readonly string[],
    entry: StoredEntry,
    by: string,
    overrideId: string,
    after: Outcome,
  ): void {
    if (this.tokenFingerprint(decision.decision_id) !== plan.fingerprint) throw new StateChanged();
    if (plan.revoke && this.deps.tokens.revokeForDecisionSync(decision.decision_id, by, revokeReason(overrideId, after)) !== plan.revoke.jti) {
      throw new StateChanged();
    }
    if (plan.mint !== null) {
      // A stop committed since the checks above: no token may be minted after it.
      if (this.deps.halted()) throw new HaltedMeanwhile();
      // NOTE: `led` names the override's entry, the step that allowed the action. The decision's
      // resource is not stored, so the token carries no `res`.
      this.deps.tokens.issueSync({
        jti: plan.mint,
        decisionId: decision.decision_id,
        actor: decision.actor,
        action: decision.action,
        tool: decision.tool,
        conditions: after === 'conditional' ? conditions : [],
        ledgerEntry: entry,
      });
    }
  }

  // ---------------------------------------------------------------- helpers

  private view(o: OverrideRecord): OverrideView {
    return {
      override: o,
      status: statusAt(o, this.now()),
      effectiveOutcome: this.deps.decisions.get(o.decisionId).effective_outcome,
      interventions: [o.interventionId, o.confirmationInterventionId]
        .filter((id): id is string => id !== null)
        .map((id) => this.deps.interventions.get(id)),
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

function noTokenChange(fingerprint: string): TokenPlan {
  return { mint: null, revoke: null, fingerprint };
}

function revokeReason(overrideId: string, after: Outcome): string {
  return `override ${overrideId}: effective outcome ${after}`;
}

function invalidField(field: string, message: string): AppError {
  return errors.validation('Invalid body', [{ in: 'body', field, message, code: 'custom' }]);
}

function halted(): AppError {
  return new AppError(
    409,
    'HALTED',
    'Decisions are halted: no override may allow an action until they are resumed (POST /api/governance/resume)',
  );
}

function pendingConflict(p: OverrideRecord): AppError {
  return new AppError(
    409,
    'OVERRIDE_PENDING',
    `Override '${p.overrideId}' of this decision waits for confirmation; confirm or reject it first`,
    { override_id: p.overrideId },
  );
}

/** What the second person was shown of the override they confirm or reject. */
function shownOverride(o: OverrideRecord): Record<string, unknown> {
  return {
    override_id: o.overrideId,
    original_outcome: o.originalOutcome,
    new_outcome: o.newOutcome,
    conditions: o.conditions,
    override_type: o.overrideType,
    justification: o.justification,
    authorized_by: o.authorizedBy,
    authorized_role: o.authorizedRole,
    created_at: o.createdAt,
    expires_at: o.expiresAt,
  };
}
