/**
 * The wire types of the routes `LexeconClient` calls, written by hand (snake_case, as on the wire).
 * Nothing here imports server code, not even a type: the emitted `.d.ts` must stand alone (the token
 * claims come from ./verify.js, the client's own offline verifier). A type-level test
 * (test/client/types.test.ts) holds them to the server's zod schemas.
 */
import type { CapabilityClaims } from './verify.js';


export type Outcome = 'approved' | 'denied' | 'escalated' | 'conditional';
export type PolicyMode = 'strict' | 'permissive' | 'paranoid';
export type RelationType = 'permits' | 'forbids' | 'requires' | 'implies' | 'conflicts';
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export type RiskDimension = 'security' | 'privacy' | 'compliance' | 'operational' | 'reputational' | 'financial';
export type EscalationTrigger = 'risk_threshold' | 'policy_requires_approval' | 'paranoid_mode' | 'manual';

/** The body of `POST /decide` (limits: DESIGN §4 / DOCUMENTATION "Decision requests"). */
export interface DecisionRequest {
  /** Who acts, e.g. `ai_agent:assistant`; an API key may decide only for actors its pattern allows. */
  actor: string;
  /** e.g. `read:customer_profile`. */
  proposed_action: string;
  /** The tool that will carry the action out; bound into the token. */
  tool: string;
  user_intent?: string;
  resource?: string;
  data_classes?: string[];
  /** 1–5: a floor on the risk score. */
  risk_level?: number;
  /** Free-form facts (≤ 64 KiB serialized, depth ≤ 5): a claim, not evidence. */
  context?: Record<string, unknown>;
  /**
   * Idempotency key (printable ASCII without spaces, ≤ 128): the same id from the same caller answers the
   * original decision. `LexeconClient.decide` generates one when none is given.
   */
  request_id?: string;
}

export interface LedgerRef {
  seq: number;
  entry_id: string;
  entry_hash: string;
}

export interface MatchedRelation {
  relation_id: string;
  relation_type: RelationType;
  effect: 'permit' | 'forbid' | 'requirement_satisfied' | 'requirement_unsatisfied' | 'requires_human_approval' | 'conflict';
}

export interface RiskFactor {
  source: 'data_class' | 'action_verb' | 'action_bulk' | 'policy_term' | 'explicit' | 'risk_level_floor';
  key: string;
  dimension?: RiskDimension;
  value: number;
}

export interface DecisionRisk {
  overall_score: number;
  risk_level: RiskLevel;
  dimensions: Partial<Record<RiskDimension, number>>;
  factors: RiskFactor[];
  requires_escalation: boolean;
}

/** The answer of `POST /decide` (always 200, whatever the outcome). */
export interface Decision {
  decision_id: string;
  request_id: string | null;
  outcome: Outcome;
  /** True only for approved and conditional. */
  allowed: boolean;
  reason: string;
  explanation: {
    mode: PolicyMode;
    matched: MatchedRelation[];
    default_applied: boolean;
    escalation_triggers: ('policy_requires_approval' | 'paranoid_mode' | 'risk_threshold')[];
  };
  /** Obligations the caller must honour (conditional only). */
  conditions: string[];
  risk: DecisionRisk;
  /** null when no policy decided (none loaded, or decisions halted: then denied). */
  policy: { policy_id: string; version_hash: string; mode: PolicyMode } | null;
  /** Approved and conditional only: the Ed25519-signed capability token (DESIGN §5). */
  capability_token: string | null;
  token_expires_at: string | null;
  escalation_id: string | null;
  ledger: LedgerRef;
  timestamp: string;
}

export interface EscalationSummary {
  escalation_id: string;
  /** `pending` and `acknowledged` cases are open. */
  status: 'pending' | 'acknowledged' | 'resolved';
  priority: 'critical' | 'high' | 'medium' | 'low';
  trigger: EscalationTrigger;
  escalated_to: string[];
  sla_deadline: string;
  opened_by: string;
  assigned_by: string;
  resolution: 'approved' | 'denied' | 'deferred' | null;
  resolved_by: string | null;
  resolved_at: string | null;
}

export interface OverrideSummary {
  override_id: string;
  new_outcome: Outcome;
  status: 'pending_confirmation' | 'active' | 'expired' | 'rejected';
  authorized_by: string;
  created_at: string;
  effective_at: string | null;
  expires_at: string | null;
}

/** A stored decision as `GET /decide/:decision_id` answers it. */
export interface DecisionRecord extends Decision {
  /** The token string, shown only to the agent whose API key asked (for an escalated decision, once approved). */
  capability_token: string | null;
  actor: string;
  action: string;
  tool: string;
  requested_by: string;
  token: { jti: string; expires_at: string; revoked: boolean } | null;
  /** The outcome after escalation resolution or an active override. */
  effective_outcome: Outcome;
  escalation: EscalationSummary | null;
  overrides: OverrideSummary[];
}

/**
 * A decision read on its own (`GET /decide/:decision_id`): its record and what was asked with, from the
 * stored raw request. Once retention purged it, `user_intent` and `data_classes` are null and
 * `request_purged` is true.
 */
export interface DecisionDetail extends DecisionRecord {
  /** The request's `user_intent` as sent; null when none was sent, or when purged. */
  user_intent: string | null;
  /** The request's `data_classes` as sent ([] when none); null when purged (unknown). */
  data_classes: string[] | null;
  request_purged: boolean;
}

/** Why `POST /decide/verify` refuses a token (or `ok`). */
export type TokenVerifyReason =
  | 'ok'
  | 'malformed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'unknown_token'
  | 'revoked'
  | 'revoked_by_stop'
  | 'not_yet_valid'
  | 'expired'
  | 'action_mismatch'
  | 'tool_mismatch';

/** The claims of a capability token as `POST /decide/verify` answers them: the claims `lexecon/verify` reads offline. */
export type TokenClaimsDto = CapabilityClaims;

/** The answer of `POST /decide/verify` (online: sees revocation). */
export interface TokenVerification {
  valid: boolean;
  reason: TokenVerifyReason;
  /** Present once the signature checked out. */
  claims: TokenClaimsDto | null;
}

/** The body of `POST /policies/evaluate` (a dry run: no ledger entry, no token). */
export interface EvaluateRequest {
  actor: string;
  action: string;
  resource?: string;
  data_classes?: string[];
  context?: Record<string, unknown>;
  risk?: { level: RiskLevel; score: number };
  session_approved_actions?: string[];
  approval_history?: { action: string; approved_at: string; decision_id?: string }[];
  /** RFC 3339 UTC with milliseconds. */
  at?: string;
  version_hash?: string;
}

export interface Evaluation {
  policy_id: string;
  version_hash: string;
  mode: PolicyMode;
  outcome: Outcome;
  reason: string;
  matched: {
    relation_id: string;
    relation_type: RelationType;
    effect: string;
    requirement?: string;
    conflicting_action?: string;
    conflicting_decision_id?: string;
    justification: string | null;
  }[];
  conditions: string[];
  default_applied: boolean;
  escalation_triggers: string[];
  matched_terms: string[];
}

/** One key of `GET /api/governance/keys`. */
export interface PublicKeyDto {
  /** First 16 hex characters of the SHA-256 of the SPKI DER. */
  kid: string;
  alg: 'Ed25519' | 'RSA-PSS-SHA256';
  public_key_pem: string;
  status: 'active' | 'retired';
  created_at: string;
  retired_at?: string;
}

/** The answer of `GET /api/governance/keys`. */
export interface KeysResponse {
  keys: PublicKeyDto[];
}

/** The server's error envelope (DESIGN §8). */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
  request_id: string;
}
