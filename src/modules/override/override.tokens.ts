import type { Queryable } from '../../platform/db/port.js';
import type { IdFactory } from '../../platform/ids.js';
import type { DecisionRecordDto } from '../decision/decision.schemas.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import type { LedgerEvent } from '../ledger/ledger.service.js';
import type { Outcome } from '../policy/policy.model.js';
import { parseToken } from '../tokens/token.js';
import type { TokenRecord } from '../tokens/tokens.repo.js';
import type { TokenService } from '../tokens/tokens.service.js';
import { HaltedMeanwhile, invalidField, StateChanged } from './override.errors.js';
import { holdingOverride, tokenEffect } from './override.model.js';
import type { OverrideRepo } from './override.repo.js';
import type { CreateOverrideInput } from './override.service.js';

/** What taking effect does to the decision's token, decided before the transaction and re-checked in it. */
export interface TokenPlan {
  /** The jti to mint, or null. */
  mint: string | null;
  /** The token to revoke, or null. */
  revoke: TokenRecord | null;
  /** The token state the plan was made on (`jti:revoked_at`, empty when none). */
  fingerprint: string;
}

export interface OverrideTokensDeps {
  repo: OverrideRepo;
  tokens: TokenService;
  ids: IdFactory;
  /** Whether the stop button is pressed (read from the store; inside a ledger hook pass its `tx`). */
  halted: (q?: Queryable) => Promise<boolean>;
  now: () => string;
}

/**
 * What an override does to its decision's capability token: the obligations it carries, the plan made
 * before the transaction (mint, revoke or nothing, on the token state read then), the `token_revoked`
 * entries of that plan, and, inside the transaction, the check of that state and the revocation or mint.
 */
export class OverrideTokens {
  constructor(private readonly deps: OverrideTokensDeps) {}

  /** The obligations of a conditional override: the body's, else the decision's own; 400 when none. */
  conditionsFor(input: CreateOverrideInput, decision: DecisionRecordDto): readonly string[] {
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
  async effectiveConditions(decision: DecisionRecordDto): Promise<readonly string[]> {
    const holding = holdingOverride(await this.deps.repo.forDecision(decision.decision_id), this.deps.now());
    return holding ? holding.conditions : decision.conditions;
  }

  /** The decision's token state (`jti:revoked_at`, empty when none); `q` reads it inside a transaction. */
  async tokenFingerprint(decisionId: string, q?: Queryable): Promise<string> {
    const t = await this.deps.tokens.recordForDecision(decisionId, q);
    return t ? `${t.jti}:${t.revokedAt ?? ''}` : '';
  }

  async planTokens(decisionId: string, after: Outcome, conditions: readonly string[], mayMint: boolean): Promise<TokenPlan> {
    const held = await this.deps.tokens.tokenForDecision(decisionId);
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

  revocationEvents(plan: TokenPlan, by: string, overrideId: string, after: Outcome): LedgerEvent[] {
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
  async applyTokens(
    tx: Queryable,
    plan: TokenPlan,
    decision: DecisionRecordDto,
    conditions: readonly string[],
    entry: StoredEntry,
    by: string,
    overrideId: string,
    after: Outcome,
  ): Promise<void> {
    if ((await this.tokenFingerprint(decision.decision_id, tx)) !== plan.fingerprint) throw new StateChanged();
    if (plan.revoke) {
      const revoked = await this.deps.tokens.revokeForDecision(tx, decision.decision_id, by, revokeReason(overrideId, after));
      if (revoked !== plan.revoke.jti) throw new StateChanged();
    }
    if (plan.mint !== null) {
      // A stop committed since the checks above: no token may be minted after it.
      if (await this.deps.halted(tx)) throw new HaltedMeanwhile();
      // NOTE: `led` names the override's entry, the step that allowed the action. The decision's
      // resource is not stored, so the token carries no `res`.
      await this.deps.tokens.issue(tx, {
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
}

export function noTokenChange(fingerprint: string): TokenPlan {
  return { mint: null, revoke: null, fingerprint };
}

export function revokeReason(overrideId: string, after: Outcome): string {
  return `override ${overrideId}: effective outcome ${after}`;
}
