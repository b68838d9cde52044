import type { Clock } from '../../platform/clock.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import type { SecretBox } from '../../platform/crypto/secret-box.js';
import { AppError, errors } from '../../platform/errors.js';
import type { Principal } from '../auth/auth.guard.js';
import { principalId } from '../auth/auth.guard.js';
import { mayActFor } from '../auth/actor-binding.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { Queryable, WriteStatement } from '../../platform/db/port.js';
import { encodeToken, verifyTokenOffline, type TokenClaims, type TokenVerifyReason } from './token.js';
import type { RevocationState, TokenRecord, TokenRepo, TokenState } from './tokens.repo.js';

export interface TokenServiceDeps {
  repo: TokenRepo;
  keys: KeyManager;
  clock: Clock;
  secrets: SecretBox;
  events: EventSink;
  /** Token lifetime in seconds (`LEXECON_TOKEN_TTL_S`). */
  ttlS: number;
  /**
   * The ledger seq of the latest stop's entry, or null when there never was a stop: a token whose
   * issuing entry has a lower seq is invalid for good (DESIGN §5: ledger order, never clocks). Read
   * through `q` when given (a transaction that must see the stop as it is inside it).
   */
  tokensInvalidBefore: (q?: Queryable) => Promise<number | null>;
}

/** What a decision passes to have a token issued. */
export interface IssueInput {
  jti: string;
  decisionId: string;
  actor: string;
  action: string;
  tool: string;
  resource?: string | undefined;
  /** Obligations of a conditional approval (omitted from the token when empty). */
  conditions: readonly string[];
  /**
   * The ledger entry that issues the token (the decision's, or the resolution's or override's that
   * allowed the action), in the transaction that commits it: `led` carries its hash, and its seq orders
   * the token against a stop.
   */
  ledgerEntry: { seq: number; entryHash: string };
}

/** A signed token, recorded (`issue`) or to be recorded with its write (`prepare`). */
export interface IssuedToken {
  token: string;
  claims: TokenClaims;
  expiresAt: string;
}

/** Why the server refuses a token: the offline reasons, and what only the server knows. */
export type ServerVerifyReason = TokenVerifyReason | 'revoked' | 'revoked_by_stop' | 'unknown_token';

export interface ServerVerifyResult {
  valid: boolean;
  reason: ServerVerifyReason;
  claims: TokenClaims | null;
}

export interface Revocation {
  jti: string;
  decisionId: string;
  revokedAt: string;
  revokedBy: string;
  reason: string | null;
  /** False when the token had been revoked before (nothing was written this time). */
  created: boolean;
}

const SEAL_CONTEXT = 'capability_token';

/**
 * Capability tokens on the server: issued with the active Ed25519 key inside the decision's ledger
 * transaction, verified with every known key (active and retired) plus revocation, revoked with a
 * `token_revoked` ledger entry.
 */
export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  /**
   * Sign a token and record it through `tx`, the transaction that commits the ledger entry whose hash
   * it carries in `led` (a `withEntries` hook): both are kept or neither.
   */
  async issue(tx: Queryable, input: IssueInput): Promise<IssuedToken> {
    const { write, ...issued } = this.prepare(input);
    await tx.runAll([write]);
    return issued;
  }

  /**
   * Sign a token and give the write that records it, for a caller that runs it with its own writes
   * (`runAll`) in the transaction of the ledger entry the token carries (as `issue` does): the token
   * is valid only once that write commits.
   */
  prepare(input: IssueInput): IssuedToken & { write: WriteStatement } {
    const signer = this.deps.keys.signer('Ed25519');
    const nowMs = this.deps.clock.now();
    const iat = Math.floor(nowMs / 1000);
    const claims: TokenClaims = {
      v: 1,
      jti: input.jti,
      kid: signer.kid,
      iss: 'lexecon',
      sub: input.actor,
      act: input.action,
      tool: input.tool,
      dec: input.decisionId,
      led: input.ledgerEntry.entryHash,
      iat,
      exp: iat + this.deps.ttlS,
    };
    if (input.resource !== undefined) claims.res = input.resource;
    if (input.conditions.length > 0) claims.cnd = input.conditions.slice();
    const token = encodeToken(claims, signer.sign);
    const expiresAt = new Date(claims.exp * 1000).toISOString();
    const write = this.deps.repo.insertWrite({
      jti: claims.jti,
      decisionId: input.decisionId,
      kid: claims.kid,
      actor: claims.sub,
      action: claims.act,
      tool: claims.tool,
      issuedAt: new Date(nowMs).toISOString(),
      issuedSeq: input.ledgerEntry.seq,
      expiresAt,
      tokenSealed: this.deps.secrets.seal(token, `${SEAL_CONTEXT}:${claims.jti}`),
    });
    return { token, claims, expiresAt, write };
  }

  /** The token issued for a decision (to answer a repeated request_id), if any. */
  async tokenForDecision(decisionId: string, q?: Queryable): Promise<{ token: string; record: TokenRecord } | undefined> {
    const record = await this.deps.repo.byDecision(decisionId, q);
    if (!record) return undefined;
    return { token: this.deps.secrets.open(record.tokenSealed, `${SEAL_CONTEXT}:${record.jti}`), record };
  }

  recordForDecision(decisionId: string, q?: Queryable): Promise<TokenRecord | undefined> {
    return this.deps.repo.byDecision(decisionId, q);
  }

  /**
   * Revoke the token of a decision, if it has one not yet revoked, through `tx`: the ledger transaction
   * of what revokes it (e.g. an override to denied). Returns the revoked jti, or null.
   */
  async revokeForDecision(tx: Queryable, decisionId: string, by: string, reason: string): Promise<string | null> {
    const record = await this.deps.repo.byDecision(decisionId, tx);
    if (!record || record.revokedAt !== null) return null;
    const at = new Date(this.deps.clock.now()).toISOString();
    return (await this.deps.repo.markRevoked(tx, record.jti, at, by, reason)) ? record.jti : null;
  }

  /** Whether a token was revoked, by hand or by a stop (the stop read through `q` when given). */
  async isRevoked(record: TokenRecord, q?: Queryable): Promise<boolean> {
    return record.revokedAt !== null || (await this.revokedByStop(record, q));
  }

  /**
   * The tokens of a page of decisions with whether each is revoked (as {@link isRevoked} says), by
   * decision id: two queries whatever the page's length (the tokens, then the stop's cut-off once).
   */
  async recordsForDecisions(decisionIds: readonly string[]): Promise<Map<string, { record: TokenState; revoked: boolean }>> {
    const records = await this.deps.repo.byDecisions(decisionIds);
    const out = new Map<string, { record: TokenState; revoked: boolean }>();
    if (records.length === 0) return out;
    const cutoff = await this.deps.tokensInvalidBefore();
    for (const record of records) {
      const byStop = cutoff !== null && (record.issuedSeq === null || record.issuedSeq < cutoff);
      out.set(record.decisionId, { record, revoked: record.revokedAt !== null || byStop });
    }
    return out;
  }

  /**
   * Whether a stop follows the token's issuing entry in the ledger (its seq is below the latest stop
   * entry's). Ledger order, never clocks: a token committed in the same batch as a stop, or in the
   * instant before it, is ordered by seq exactly as the ledger shows it. A token whose issuing seq is
   * unknown (recorded before seqs were) fails closed once there has been any stop.
   */
  private async revokedByStop(state: RevocationState, q?: Queryable): Promise<boolean> {
    const cutoff = await this.deps.tokensInvalidBefore(q);
    return cutoff !== null && (state.issuedSeq === null || state.issuedSeq < cutoff);
  }

  /**
   * `POST /decide/verify`: the offline checks (format, kid, signature, validity window, action/tool
   * match) with every key this server ever signed with, then revocation. Reasons in order: malformed,
   * unknown_kid, bad_signature, unknown_token, revoked, not_yet_valid, expired, action_mismatch,
   * tool_mismatch. An agent may verify only tokens for actors its key allows (403 otherwise).
   */
  async verify(
    token: string,
    match: { action?: string | undefined; tool?: string | undefined },
    principal: Principal,
  ): Promise<ServerVerifyResult> {
    const offline = verifyTokenOffline(token, (kid) => this.deps.keys.publicKeyObject(kid), {
      nowS: Math.floor(this.deps.clock.now() / 1000),
      ...(match.action === undefined ? {} : { action: match.action }),
      ...(match.tool === undefined ? {} : { tool: match.tool }),
    });
    const claims = offline.claims;
    if (!claims) return { valid: false, reason: offline.reason, claims: null };
    if (!mayActFor(principal, claims.sub)) {
      throw new AppError(403, 'ACTOR_NOT_ALLOWED', 'This API key may not verify tokens issued for that actor');
    }
    const state = await this.deps.repo.revocationState(claims.jti);
    // Signed by this server but not on record (a restored database): refuse rather than trust it.
    if (state === undefined) return { valid: false, reason: 'unknown_token', claims };
    if (state.revokedAt !== null) return { valid: false, reason: 'revoked', claims };
    if (await this.revokedByStop(state)) return { valid: false, reason: 'revoked_by_stop', claims };
    return { valid: offline.valid, reason: offline.reason, claims };
  }

  /**
   * Revoke a token for good (ledgered `token_revoked`, written in the same transaction). Revoking a
   * revoked token again changes nothing and answers the first revocation. 404 for an unknown jti.
   */
  async revoke(jti: string, reason: string | null, by: Principal): Promise<Revocation> {
    const record = await this.deps.repo.byJti(jti);
    if (!record) throw errors.notFound('Capability token', jti);
    if (record.revokedAt !== null) return existing(record);
    const at = new Date(this.deps.clock.now()).toISOString();
    const who = principalId(by);
    let created = false;
    await this.deps.events.append(
      'token_revoked',
      { jti, decision_id: record.decisionId, actor: record.actor, action: record.action, revoked_by: who, reason },
      {
        withEntries: async (_entries, tx) => {
          created = await this.deps.repo.markRevoked(tx!, jti, at, who, reason);
          // Revoked by a concurrent request between the read above and this transaction: keep its entry out.
          if (!created) throw new AlreadyRevoked();
        },
      },
    ).catch((err: unknown) => {
      if (!(err instanceof AlreadyRevoked)) throw err;
    });
    if (!created) return existing((await this.deps.repo.byJti(jti))!);
    return { jti, decisionId: record.decisionId, revokedAt: at, revokedBy: who, reason, created: true };
  }
}

class AlreadyRevoked extends Error {}

function existing(r: TokenRecord): Revocation {
  return { jti: r.jti, decisionId: r.decisionId, revokedAt: r.revokedAt!, revokedBy: r.revokedBy!, reason: r.revokeReason, created: false };
}
