/**
 * The console's one door to the API: the public routes, with the signed-in user's own bearer session.
 * The token lives in this object only (memory): never localStorage, sessionStorage nor a cookie, so a
 * script injected later cannot read a stored copy, and closing or reloading the tab ends its use here
 * (ARCHITECTURE.md, "Oversight console", threat model).
 */

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface UserSummary {
  user_id: string;
  username: string;
  role: string;
  mfa_enabled: boolean;
  mfa_enrollment_required: boolean;
}

export interface SessionGrant {
  token: string;
  expires_at: string;
  user: UserSummary;
}

export interface HaltStatus {
  halted: boolean;
  since: string | null;
  reason: string | null;
  by: string | null;
}

export interface Escalation {
  escalation_id: string;
  decision_id: string;
  status: 'pending' | 'acknowledged' | 'resolved';
  priority: 'critical' | 'high' | 'medium' | 'low';
  trigger: string;
  escalated_to: string[];
  context_summary: string | null;
  context_summary_source: 'agent_claim' | 'user' | null;
  sla_deadline: string;
  overdue: boolean;
  sla_missed: number;
  created_by: string;
  created_at: string;
  opened_by: string;
  assigned_by: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: 'approved' | 'denied' | 'deferred' | null;
  notes: string | null;
}

/** A case as the escalation list answers it: with its decision's actor, action and tool. */
export interface EscalationListItem extends Escalation {
  actor: string;
  proposed_action: string;
  tool: string;
}

export interface RiskFactor {
  source: string;
  key: string;
  dimension?: string;
  value: number;
}

export interface DecisionRecord {
  decision_id: string;
  outcome: string;
  effective_outcome: string;
  reason: string;
  actor: string;
  action: string;
  tool: string;
  requested_by: string;
  explanation: {
    mode: string;
    matched: Array<{ relation_id: string; relation_type: string; effect: string }>;
    default_applied: boolean;
    escalation_triggers: string[];
  };
  conditions: string[];
  risk: { overall_score: number; risk_level: string; dimensions: Record<string, number>; factors: RiskFactor[] };
  policy: { policy_id: string; version_hash: string; mode: string } | null;
  token: { jti: string; expires_at: string; revoked: boolean } | null;
  ledger: { seq: number; entry_id: string; entry_hash: string };
  timestamp: string;
}

export interface HistoryEvent {
  event: string;
  at: string;
  by: string;
  role: string | null;
  details: Record<string, unknown>;
  ledger: { seq: number; entry_hash: string };
}

export interface Intervention {
  intervention_id: string;
  kind: string;
  actor: { user_id: string; role: string };
  at: string;
  justification: string;
  details: Record<string, unknown>;
  kid: string;
  verification: 'valid' | 'bad_signature' | 'unknown_kid';
}

/**
 * What a decision read on its own adds (GET /decide/:id, a case's `decision`): the request's intent and
 * data classes as the agent sent them; both null with `request_purged` once retention deleted the request.
 */
export interface DecisionRequestShown {
  user_intent: string | null;
  data_classes: string[] | null;
  request_purged: boolean;
}

export interface EscalationDetail extends Escalation {
  decision: DecisionRecord & DecisionRequestShown;
  history: HistoryEvent[];
  interventions: Intervention[];
}

export interface ResolutionResult extends Escalation {
  intervention_id: string;
  effective_outcome: string;
  token_jti: string | null;
}

export type ResolveOutcome = 'approved' | 'denied' | 'deferred' | 'escalated_further';

/**
 * A small fetch wrapper. `onUnauthorized` runs on any 401 from a call made with a session (expired,
 * revoked or ended elsewhere): the app goes back to sign-in, keeping what the user typed.
 */
export class Api {
  #token: string | null = null;

  constructor(private readonly onUnauthorized: () => void) {}

  get signedIn(): boolean {
    return this.#token !== null;
  }

  setToken(token: string | null): void {
    this.#token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const hadSession = this.#token !== null;
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: ApiErrorBody } | undefined)?.error;
      const apiError = new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `The server answered ${res.status}.`, err?.details);
      if (res.status === 401 && hadSession && apiError.code === 'UNAUTHORIZED') {
        this.#token = null;
        this.onUnauthorized();
      }
      throw apiError;
    }
    return json as T;
  }

  login(username: string, password: string, totp?: string): Promise<SessionGrant> {
    return this.request('POST', '/auth/login', { username, password, ...(totp ? { totp } : {}) });
  }
  oidcCallback(provider: string, search: string): Promise<SessionGrant> {
    return this.request('GET', `/auth/oidc/${encodeURIComponent(provider)}/callback${search}`);
  }
  me(): Promise<{ user: UserSummary & { email: string | null }; session: { session_id: string; expires_at: string } }> {
    return this.request('GET', '/auth/me');
  }
  logout(): Promise<void> {
    return this.request('POST', '/auth/logout');
  }
  enrollMfa(): Promise<{ secret: string; otpauth_uri: string }> {
    return this.request('POST', '/auth/mfa/enroll');
  }
  confirmMfa(code: string): Promise<{ mfa_enabled: true; recovery_codes: string[] }> {
    return this.request('POST', '/auth/mfa/confirm', { code });
  }
  status(): Promise<HaltStatus> {
    return this.request('GET', '/api/governance/status');
  }
  escalations(query: Record<string, string>): Promise<{ items: EscalationListItem[]; next_cursor: string | null }> {
    return this.request('GET', `/api/governance/escalation?${new URLSearchParams(query).toString()}`);
  }
  escalation(id: string): Promise<EscalationDetail> {
    return this.request('GET', `/api/governance/escalation/${encodeURIComponent(id)}`);
  }
  acknowledge(id: string): Promise<Escalation> {
    return this.request('POST', `/api/governance/escalation/${encodeURIComponent(id)}/acknowledge`);
  }
  resolve(id: string, outcome: ResolveOutcome, notes: string): Promise<ResolutionResult> {
    return this.request('POST', `/api/governance/escalation/${encodeURIComponent(id)}/resolve`, { outcome, notes });
  }

  // screens 3-5: decisions, overrides, stop/resume
  decisions(query: Record<string, string>): Promise<{ items: DecisionDetail[]; next_cursor: string | null }> {
    return this.request('GET', `/decide?${new URLSearchParams(query).toString()}`);
  }
  decision(id: string): Promise<DecisionDetail> {
    return this.request('GET', `/decide/${encodeURIComponent(id)}`);
  }
  ledgerEntry(entryId: string): Promise<LedgerEntry> {
    return this.request('GET', `/ledger/entries/${encodeURIComponent(entryId)}`);
  }
  ledgerEntries(query: Record<string, string>): Promise<{ entries: LedgerEntry[]; next_cursor: string | null }> {
    return this.request('GET', `/ledger/entries?${new URLSearchParams(query).toString()}`);
  }
  overrides(query: Record<string, string>): Promise<{ items: Override[]; next_cursor: string | null }> {
    return this.request('GET', `/api/governance/override?${new URLSearchParams(query).toString()}`);
  }
  createOverride(body: OverrideRequest): Promise<Override> {
    return this.request('POST', '/api/governance/override', body);
  }
  confirmOverride(id: string, justification: string): Promise<Override> {
    return this.request('POST', `/api/governance/override/${encodeURIComponent(id)}/confirm`, { justification });
  }
  rejectOverride(id: string, justification: string): Promise<Override> {
    return this.request('POST', `/api/governance/override/${encodeURIComponent(id)}/reject`, { justification });
  }
  haltState(): Promise<HaltState> {
    return this.request('GET', '/api/governance/status');
  }
  stop(reason: string): Promise<HaltState> {
    return this.request('POST', '/api/governance/stop', { reason });
  }
  resume(reason: string): Promise<HaltState> {
    return this.request('POST', '/api/governance/resume', { reason });
  }
  // screens 6-7: ledger, evidence, compliance, metrics
  /**
   * A read that answers something other than JSON (Markdown text, a tar file): the same session and
   * 401 handling as {@link request}, errors from the API's envelope.
   */
  async requestRaw(path: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    const hadSession = this.#token !== null;
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(path, { method: 'GET', headers, credentials: 'same-origin', cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.');
    }
    if (res.ok) return res;
    let err: ApiErrorBody | undefined;
    try {
      err = ((await res.json()) as { error?: ApiErrorBody }).error;
    } catch {
      err = undefined;
    }
    const apiError = new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `The server answered ${res.status}.`, err?.details);
    if (res.status === 401 && hadSession && apiError.code === 'UNAUTHORIZED') {
      this.#token = null;
      this.onUnauthorized();
    }
    throw apiError;
  }
  verifyLedger(): Promise<LedgerVerification> {
    return this.request('GET', '/ledger/verify');
  }
  evidenceExports(query: Record<string, string>): Promise<{ items: EvidenceExport[]; next_cursor: string | null }> {
    return this.request('GET', `/api/governance/evidence/exports?${new URLSearchParams(query).toString()}`);
  }
  createEvidenceExport(body: { from: string; to: string; include?: string[] }): Promise<EvidenceExport> {
    return this.request('POST', '/api/governance/evidence/exports', body);
  }
  /** The export's tar, as the server stored it. */
  async downloadEvidenceExport(exportId: string): Promise<Blob> {
    const res = await this.requestRaw(`/api/governance/evidence/exports/${encodeURIComponent(exportId)}/download`, 'application/x-tar');
    return res.blob();
  }
  systemProfile(): Promise<import('./lib/profile.js').SystemProfile> {
    return this.request('GET', '/api/governance/eu-ai-act/system-profile');
  }
  saveSystemProfile(body: import('./lib/profile.js').SystemProfileBody): Promise<import('./lib/profile.js').SystemProfile> {
    return this.request('PUT', '/api/governance/eu-ai-act/system-profile', body);
  }
  /** An EU AI Act report as Markdown: `technical-documentation` (Art 11), `article-12`, `article-14`. */
  async euAiActMarkdown(report: EuAiActReport): Promise<string> {
    const res = await this.requestRaw(`/api/governance/eu-ai-act/${report}?format=markdown`, 'text/markdown');
    return res.text();
  }
  complianceCoverage(): Promise<ComplianceCoverage> {
    return this.request('GET', '/api/governance/compliance/coverage');
  }
  oversightMetrics(query: Record<string, string>): Promise<OversightMetrics> {
    return this.request('GET', `/api/governance/oversight/metrics?${new URLSearchParams(query).toString()}`);
  }
  // administration and policies
  users(query: Record<string, string>): Promise<{ items: AdminUser[]; next_cursor: string | null }> {
    return this.request('GET', `/auth/users?${new URLSearchParams(query).toString()}`);
  }
  user(id: string): Promise<AdminUser> {
    return this.request('GET', `/auth/users/${encodeURIComponent(id)}`);
  }
  createUser(body: { username: string; email?: string; password: string; role: string }): Promise<AdminUser> {
    return this.request('POST', '/auth/users', body);
  }
  updateUser(id: string, body: UserChange): Promise<AdminUser> {
    return this.request('PATCH', `/auth/users/${encodeURIComponent(id)}`, body);
  }
  apiKeys(query: Record<string, string>): Promise<{ items: ApiKeyInfo[]; next_cursor: string | null }> {
    return this.request('GET', `/auth/api-keys?${new URLSearchParams(query).toString()}`);
  }
  createApiKey(body: { name: string; actor_pattern: string }): Promise<ApiKeyInfo & { api_key: string }> {
    return this.request('POST', '/auth/api-keys', body);
  }
  revokeApiKey(id: string): Promise<ApiKeyInfo> {
    return this.request('DELETE', `/auth/api-keys/${encodeURIComponent(id)}`);
  }
  policies(): Promise<{ items: PolicySummary[]; active_version_hash: string | null }> {
    return this.request('GET', '/policies');
  }
  policy(id: string): Promise<PolicyDetail> {
    return this.request('GET', `/policies/${encodeURIComponent(id)}`);
  }
  policyVersions(id: string): Promise<{ policy_id: string; items: PolicyVersionInfo[] }> {
    return this.request('GET', `/policies/${encodeURIComponent(id)}/versions`);
  }
  loadPolicy(document: Record<string, unknown>): Promise<PolicyLoadReport> {
    return this.request('POST', '/policies/load', document);
  }
  evaluatePolicy(body: { actor: string; action: string; data_classes?: string[] }): Promise<PolicyEvaluation> {
    return this.request('POST', '/policies/evaluate', body);
  }

}

// screens 3-5: decisions, overrides, stop/resume
/** The halt status with the signed record that set it and the latest stop's ledger seq. */
export interface HaltState extends HaltStatus {
  intervention_id: string | null;
  tokens_invalid_before: number | null;
}

export interface OverrideSummary {
  override_id: string;
  new_outcome: string;
  status: 'pending_confirmation' | 'active' | 'expired' | 'rejected';
  authorized_by: string;
  created_at: string;
  effective_at: string | null;
  expires_at: string | null;
}

/** A decision as GET /decide and GET /decide/:id answer it to a human. */
export interface DecisionDetail extends DecisionRecord {
  request_id: string | null;
  allowed: boolean;
  escalation_id: string | null;
  escalation: {
    escalation_id: string;
    status: 'pending' | 'acknowledged' | 'resolved';
    priority: string;
    trigger: string;
    escalated_to: string[];
    sla_deadline: string;
    resolution: 'approved' | 'denied' | 'deferred' | null;
    resolved_by: string | null;
    resolved_at: string | null;
  } | null;
  overrides: OverrideSummary[];
}

export interface LedgerEntry {
  seq: number;
  entry_id: string;
  event_type: string;
  timestamp: string;
  data: Record<string, unknown>;
  previous_hash: string;
  entry_hash: string;
}

export type OverrideType = 'manual' | 'emergency' | 'policy_exception' | 'risk_acceptance' | 'correction';

export interface OverrideRequest {
  decision_id: string;
  new_outcome: string;
  justification: string;
  override_type?: OverrideType;
  expires_at?: string;
  conditions?: string[];
}

export interface Override {
  override_id: string;
  decision_id: string;
  original_outcome: string;
  new_outcome: string;
  conditions: string[];
  override_type: OverrideType;
  justification: string;
  authorized_by: string;
  authorized_role: string;
  status: OverrideSummary['status'];
  two_person: boolean;
  created_at: string;
  expires_at: string | null;
  lapses_at: string | null;
  effective_at: string | null;
  confirmed_by: string | null;
  confirmed_role: string | null;
  confirmed_at: string | null;
  closed_at: string | null;
  closed_by: string | null;
  token_issued: string | null;
  token_revoked: string | null;
  effective_outcome: string;
  ledger: { seq: number; entry_id: string; entry_hash: string };
  interventions: Intervention[];
}

// screens 6-7: ledger, evidence, compliance, metrics
export interface LedgerVerification {
  valid: boolean;
  entries_checked: number;
  head_seq: number | null;
  head_hash: string | null;
  first_invalid?: { seq: number; entry_id: string; code: string; reason: string } | null;
}

export interface EvidenceExport {
  export_id: string;
  from: string;
  to: string;
  include: string[];
  counts: Record<string, number>;
  sha256: string;
  tagmanifest_sha256: string;
  size: number;
  ledger: { first_seq: number | null; last_seq: number | null } | null;
  created_by: string;
  created_role: string;
  created_at: string;
  ledger_seq: number;
  ledger_entry_hash: string;
  download_url: string;
}

export type EuAiActReport = 'technical-documentation' | 'article-12' | 'article-14';

export interface CoverageCounts {
  total: number;
  satisfied: number;
  not_satisfied: number;
  manual: number;
  not_applicable: number;
  automated_satisfied_percent: number | null;
}

export interface ComplianceCoverage {
  checked_at: string;
  totals: CoverageCounts;
  frameworks: Array<{ framework_id: string; name: string; in_scope: boolean; coverage: CoverageCounts }>;
  evidence: Array<{ kind: string; holds: boolean; detail: string; checked_at: string }>;
}

export interface ReviewerMetrics {
  user_id: string;
  resolutions: number;
  approvals: number;
  rubber_stamp_approvals: number;
  rubber_stamp_rate: number | null;
  median_time_to_resolution_s: number | null;
  overrides: number;
}

export interface OversightMetrics {
  since: string;
  until: string;
  decisions: number;
  overrides: number;
  override_rate: number | null;
  escalations_opened: number;
  escalations_resolved: number;
  median_time_to_resolution_s: number | null;
  sla_breaches: number;
  rubber_stamp_threshold_s: number;
  rubber_stamp_approvals: number;
  rubber_stamp_rate: number | null;
  reviewers: ReviewerMetrics[];
}

// administration and policies
export interface AdminUser {
  user_id: string;
  username: string;
  email: string | null;
  role: string;
  disabled: boolean;
  mfa_enabled: boolean;
  password_login: boolean;
  created_at: string;
  updated_at: string;
}

export interface UserChange {
  role?: string;
  disabled?: boolean;
  password?: string;
  mfa_reset?: true;
}

export interface ApiKeyInfo {
  key_id: string;
  name: string;
  actor_pattern: string;
  role: 'agent';
  key_prefix: string;
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'revoked';
}

export interface PolicySummary {
  policy_id: string;
  name: string;
  latest_version_hash: string;
  latest_loaded_at: string;
  versions: number;
  active: boolean;
}

export interface PolicyVersionInfo {
  version_hash: string;
  version_id: string;
  version: string | null;
  mode: string;
  terms_count: number;
  relations_count: number;
  loaded_at: string;
  loaded_by: string;
  active: boolean;
}

export interface PolicyDetail extends PolicyVersionInfo {
  policy_id: string;
  name: string;
  warnings: Array<{ path: string; message: string }>;
  terms: unknown[];
  relations: unknown[];
  risk_factors: unknown;
}

export interface PolicyLoadReport {
  policy_id: string;
  version_hash: string;
  mode: string;
  terms_loaded: number;
  relations_loaded: number;
  warnings: Array<{ path: string; message: string }>;
  created: boolean;
  activated: boolean;
}

export interface PolicyEvaluation {
  policy_id: string;
  version_hash: string;
  mode: string;
  outcome: string;
  reason: string;
  matched: Array<{ relation_id: string; relation_type: string; effect: string; requirement?: string; justification: string | null }>;
  conditions: string[];
  default_applied: boolean;
  escalation_triggers: string[];
  matched_terms: string[];
}
