import { sha256Hex } from '../../platform/crypto/sha256.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import { shownDecision } from '../decision/decision.shown.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { ApprovalConflictCheck } from '../decision/decision.sod.js';
import type { SignedIntervention } from '../oversight/intervention.js';
import { ConflictMeanwhile, escalationErrors, HaltedMeanwhile, StateChanged } from './escalation.errors.js';
import { slaDeadline, type FinalResolution, type ResolverRole } from './escalation.model.js';
import type { EscalationRecord } from './escalation.repo.js';
import type { EscalationServiceDeps, ResolutionResult } from './escalation.service.js';

/** The token effect of a resolution: the token an approval minted, the token a denial revoked. */
export type TokenEffects = Pick<ResolutionResult, 'tokenJti' | 'tokenRevoked'>;

/** The separation-of-duties check of an approval, once it could be made. */
export type SodCheck = Extract<ApprovalConflictCheck, { checkable: true }>;

export interface EscalationResolutionDeps
  extends Pick<
    EscalationServiceDeps,
    'repo' | 'decisions' | 'overrides' | 'tokens' | 'interventions' | 'ledger' | 'changes' | 'halted' | 'ids' | 'settings'
  > {
  now: () => string;
}

/**
 * The steps of a resolution once `EscalationService.resolve` has checked who resolves and how: the
 * separation-of-duties check of an approval, the move up the chain by a reviewer (`escalated_further`),
 * and the close (`approved`, `denied`, `deferred`) with its token effects and its separation-of-duties
 * recheck inside the ledger transaction. Each throws `StateChanged` when the case changed under it.
 */
export class EscalationResolution {
  constructor(private readonly deps: EscalationResolutionDeps) {}

  /**
   * Separation of duties for approving the case's decision now (DESIGN §4 `conflicts`): the decision was
   * judged against the actor's approvals when it was made, but not against those given while its case was
   * open. 409 `CONFLICTS_WITH_APPROVAL` when a conflicts relation applies now; 409 `APPROVAL_UNCHECKABLE`
   * when it cannot be judged (the request purged). The check returned is made again inside the approval's
   * ledger transaction. Overrides are not held to it: they are the deliberate exception.
   */
  async sodCheck(c: EscalationRecord, decision: DecisionRecordDto): Promise<SodCheck> {
    const check = await this.deps.decisions.approvalCheck(c.decisionId, this.deps.now());
    if (!check.checkable) throw escalationErrors.approvalUncheckable(c, decision, check.reason);
    if (check.conflicts.length > 0) throw escalationErrors.conflictsWithApproval(c, decision, check.conflicts);
    return check;
  }

  /** `escalated_further`: the case moves to `nextRole` with a new SLA; the reviewer becomes its assigner. */
  async moveUpByReviewer(
    c: EscalationRecord,
    nextRole: ResolverRole,
    record: SignedIntervention,
    notes: string,
    user: UserPrincipal,
  ): Promise<void> {
    const at = record.at;
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
        opened_by: c.openedBy,
        assigned_by: user.userId,
        previous_sla_deadline: c.slaDeadline,
        sla_deadline: deadline,
        intervention_id: record.interventionId,
        notes_sha256: sha256Hex(notes),
      },
      {
        withEntries: async ([entry], tx) => {
          const change = { escalatedTo: to, assignedBy: user.userId, slaDeadline: deadline, missedSla: false, at };
          if (!(await this.deps.repo.moveUp(tx!, c.escalationId, c.version, change))) throw new StateChanged();
          await this.deps.interventions.insert(tx!, record);
          await this.deps.repo.insertEvent(tx!, c.escalationId, 'escalated', at, user.userId, user.role, entry!, {
            reason: 'resolution',
            from: c.escalatedTo,
            to,
            assigned_by: user.userId,
            previous_sla_deadline: c.slaDeadline,
            sla_deadline: deadline,
            intervention_id: record.interventionId,
            notes,
          });
        },
      },
    );
  }

  /**
   * `approved`, `denied`, `deferred`: close the case, with the token effect in the same transaction
   * (an approval mints the decision's token unless it has one or an override holds; a denial revokes it).
   * An approval's separation-of-duties check (`sod`) is repeated inside the transaction: an approval of
   * the same actor committed since the first check (ahead of this entry) refuses it.
   */
  async close(
    c: EscalationRecord,
    decision: DecisionRecordDto,
    outcome: FinalResolution,
    record: SignedIntervention,
    notes: string,
    user: UserPrincipal,
    sod: SodCheck | undefined,
  ): Promise<TokenEffects> {
    const at = record.at;
    const held = await this.deps.tokens.recordForDecision(c.decisionId);
    // An active override decides the effective outcome over any resolution: then the token stays as it is.
    const overridden = overrideHolds(decision);
    // A denied decision's case is never approved (checked by resolve); minting says so again.
    const mayMint = outcome === 'approved' && decision.outcome !== 'denied';
    const jti = mayMint && !held && !overridden ? this.deps.ids.next('tok') : null;
    const revoking = outcome === 'denied' && !overridden && held && held.revokedAt === null ? held.jti : null;
    const data = {
      escalation_id: c.escalationId,
      decision_id: c.decisionId,
      outcome,
      resolved_by: user.userId,
      role: user.role,
      opened_by: c.openedBy,
      assigned_by: c.assignedBy,
      intervention_id: record.interventionId,
      notes_sha256: sha256Hex(notes),
      token_jti: jti,
      token_revoked: revoking,
    };
    await this.deps.ledger.append('escalation_resolved', data, {
      withEntries: async ([entry], tx) => {
        if (sod !== undefined) {
          const conflicts = await sod.recheck(tx!);
          if (conflicts.length > 0) throw new ConflictMeanwhile(conflicts);
        }
        const closed = await this.deps.repo.resolve(tx!, c.escalationId, c.version, { resolution: outcome, by: user.userId, at, notes });
        if (!closed) throw new StateChanged();
        // An override took effect or lapsed since the read above: decide the token effects again.
        const holds = (await this.deps.overrides.forDecision(c.decisionId, tx!)).some((o) => o.status === 'active');
        if (holds !== overridden) throw new StateChanged();
        // The decision's token changed since the read above (minted or revoked by another request).
        if (fingerprint(await this.deps.tokens.recordForDecision(c.decisionId, tx!)) !== fingerprint(held)) throw new StateChanged();
        if (jti !== null) {
          // A stop committed since the check above: no token may be minted after it.
          if (await this.deps.halted(tx!)) throw new HaltedMeanwhile();
          // NOTE: `led` names this escalation_resolved entry, the step that allowed the action.
          // The decision's resource is not stored, so the token carries no `res`.
          await this.deps.tokens.issue(tx!, {
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
          const revoked = await this.deps.tokens.revokeForDecision(tx!, c.decisionId, user.userId, `escalation ${c.escalationId} denied`);
          // Revoked by someone else meanwhile: this entry would claim a revocation it did not make.
          if (revoked !== revoking) throw new StateChanged();
        }
        await this.deps.interventions.insert(tx!, record);
        await this.deps.repo.insertEvent(tx!, c.escalationId, 'resolved', at, user.userId, user.role, entry!, {
          outcome,
          intervention_id: record.interventionId,
          notes,
          token_jti: jti,
          token_revoked: revoking,
        });
      },
    });
    this.deps.changes.notify(c.decisionId);
    return { tokenJti: jti, tokenRevoked: revoking };
  }
}

/** The token state a close was planned on (`jti:revoked_at`, empty when none). */
function fingerprint(t: { jti: string; revokedAt: string | null } | undefined | null): string {
  return t ? `${t.jti}:${t.revokedAt ?? ''}` : '';
}

/** Whether an override is in effect on the decision now (it then decides the effective outcome). */
function overrideHolds(d: DecisionRecordDto): boolean {
  return d.overrides.some((o) => o.status === 'active');
}

/** What the reviewer judged: the decision's stored reason, explanation and risk, and the case. */
export function shownToReviewer(c: EscalationRecord, d: DecisionRecordDto): Record<string, unknown> {
  return {
    decision: shownDecision(d),
    escalation: {
      escalation_id: c.escalationId,
      status: c.status,
      priority: c.priority,
      trigger: c.trigger,
      escalated_to: c.escalatedTo,
      sla_deadline: c.slaDeadline,
      opened_by: c.openedBy,
      assigned_by: c.assignedBy,
      // What the opener wrote; an agent's summary is its claim about itself, never evidence.
      context_summary: c.contextSummary === null ? null : { text: c.contextSummary, source: c.contextSummarySource },
    },
  };
}
