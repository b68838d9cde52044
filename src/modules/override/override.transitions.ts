import { sha256Hex } from '../../platform/crypto/sha256.js';
import type { Queryable } from '../../platform/db/port.js';
import { AppError, errors } from '../../platform/errors.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import { shownDecision } from '../decision/decision.shown.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { Outcome } from '../policy/policy.model.js';
import type { LedgerEvent } from '../ledger/ledger.service.js';
import { HaltedMeanwhile, halted, StateChanged } from './override.errors.js';
import { allowsAction, lapsesAt, statusAt } from './override.model.js';
import type { OverrideRecord } from './override.repo.js';
import type { OverrideServiceDeps } from './override.service.js';
import { EXPIRY_ACTOR } from './override.sweep.js';
import { noTokenChange, revokeReason, type OverrideTokens } from './override.tokens.js';

export interface OverrideTransitionsDeps
  extends Pick<OverrideServiceDeps, 'repo' | 'decisions' | 'tokens' | 'interventions' | 'ledger' | 'changes' | 'halted'> {
  /** The token plans and effects of a change. */
  plans: OverrideTokens;
  now: () => string;
  /** After a commit: wake long-polls on the decision and tell the sweeper of a new lapse time. */
  committed: (decisionId: string, lapse: string | null) => void;
  /** The decision's effective outcome as it stands in the transaction `tx`. */
  effectiveIn: (decision: DecisionRecordDto, tx: Queryable) => Promise<Outcome>;
}

/**
 * The state transitions of an existing override, one attempt each (the service retries them when the
 * state they read changed under them): a pending override confirmed (it takes effect) or rejected, and a
 * pending or active override lapsed.
 */
export class OverrideTransitions {
  constructor(private readonly deps: OverrideTransitionsDeps) {}

  /** One attempt of `OverrideService.confirm`: the pending override takes effect. */
  async confirmOnce(overrideId: string, justification: string, user: UserPrincipal): Promise<void> {
    const o = await this.pendingOrThrow(overrideId);
    if (o.authorizedBy === user.userId) {
      throw new AppError(403, 'SAME_PERSON', 'The two-person rule needs a second person: you asked for this override', {
        authorized_by: o.authorizedBy,
      });
    }
    const decision = await this.deps.decisions.get(o.decisionId);
    if (decision.effective_outcome !== o.originalOutcome) {
      throw new AppError(
        409,
        'OVERRIDE_STALE',
        `The decision's effective outcome changed since the override was asked for (now '${decision.effective_outcome}', then '${o.originalOutcome}'); reject it and ask again`,
        { effective_outcome: decision.effective_outcome, original_outcome: o.originalOutcome },
      );
    }
    if (allowsAction(o.newOutcome) && (await this.deps.halted())) throw halted();
    const at = this.deps.now();
    const lapse = lapsesAt({ status: 'active', createdAt: o.createdAt, expiresAt: o.expiresAt });
    const plan = await this.deps.plans.planTokens(o.decisionId, o.newOutcome, o.conditions, true);
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
      ...this.deps.plans.revocationEvents(plan, user.userId, overrideId, o.newOutcome),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: async (entries, tx) => {
        const entry = entries[0]!;
        if ((await this.deps.effectiveIn(decision, tx!)) !== o.originalOutcome) throw new StateChanged();
        if (allowsAction(o.newOutcome) && (await this.deps.halted(tx!))) throw new HaltedMeanwhile();
        const activation = {
          at,
          effectiveSeq: entry.seq,
          lapsesAt: lapse,
          tokenIssued: plan.mint,
          tokenRevoked: plan.revoke?.jti ?? null,
        };
        // Conditional on the override still pending, and so is the two-person rule's "different person":
        // the pending row read above is the one confirmed (its author cannot change).
        const by = { userId: user.userId, role: user.role, interventionId: record.interventionId };
        if (!(await this.deps.repo.activate(tx!, overrideId, by, activation))) throw new StateChanged();
        await this.deps.interventions.insert(tx!, record);
        await this.deps.plans.applyTokens(tx!, plan, decision, o.conditions, entry, user.userId, overrideId, o.newOutcome);
      },
    });
    this.deps.committed(o.decisionId, lapse);
  }

  /** One attempt of `OverrideService.reject`: the pending override is refused or withdrawn. */
  async rejectOnce(overrideId: string, justification: string, user: UserPrincipal): Promise<void> {
    const o = await this.pendingOrThrow(overrideId);
    const decision = await this.deps.decisions.get(o.decisionId);
    const at = this.deps.now();
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
        withEntries: async (_entries, tx) => {
          if (!(await this.deps.repo.reject(tx!, overrideId, at, user.userId, record.interventionId))) throw new StateChanged();
          await this.deps.interventions.insert(tx!, record);
        },
      },
    );
    this.deps.changes.notify(o.decisionId);
  }

  /** The override if it waits for confirmation now (404, 409 `NOT_PENDING`, 409 `OVERRIDE_EXPIRED`). */
  private async pendingOrThrow(overrideId: string): Promise<OverrideRecord> {
    const o = await this.deps.repo.byId(overrideId);
    if (!o) throw errors.notFound('Override', overrideId);
    const status = statusAt(o, this.deps.now());
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

  /** One attempt to lapse the override if it is still due (false when it no longer is). */
  async lapseOnce(overrideId: string, now: string): Promise<boolean> {
    const o = await this.deps.repo.byId(overrideId);
    if (!o || (o.status !== 'active' && o.status !== 'pending_confirmation') || o.lapsesAt === null || o.lapsesAt > now) {
      return false;
    }
    const previous = o.status;
    // The decision read now no longer counts this override (its expiry is past): what it reverts to.
    const decision = await this.deps.decisions.get(o.decisionId);
    const after = decision.effective_outcome;
    const plan =
      previous === 'active'
        ? await this.deps.plans.planTokens(o.decisionId, after, await this.deps.plans.effectiveConditions(decision), false)
        : noTokenChange(await this.deps.plans.tokenFingerprint(o.decisionId));
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
      ...this.deps.plans.revocationEvents(plan, EXPIRY_ACTOR, overrideId, after),
    ];
    await this.deps.ledger.appendAll(events, {
      withEntries: async (_entries, tx) => {
        // Conditional on the status read: a lapse already recorded (by another sweep or replica) is not
        // recorded twice.
        if (!(await this.deps.repo.expire(tx!, overrideId, previous, now, EXPIRY_ACTOR))) throw new StateChanged();
        if ((await this.deps.plans.tokenFingerprint(o.decisionId, tx!)) !== plan.fingerprint) throw new StateChanged();
        if (plan.revoke) {
          const revoked = await this.deps.tokens.revokeForDecision(tx!, o.decisionId, EXPIRY_ACTOR, revokeReason(overrideId, after));
          if (revoked !== plan.revoke.jti) throw new StateChanged();
        }
      },
    });
    this.deps.changes.notify(o.decisionId);
    return true;
  }
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
