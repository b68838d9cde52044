/**
 * EU AI Act Art 12 (record-keeping) and Art 14 (human oversight) reports, the pure core: the event
 * taxonomy with each ledger event type's Art 12(2) purposes, the counts over a period, and the oversight
 * measures mapped to Art 14(4)(a)–(e) with their figures. No I/O.
 */

/**
 * Art 12(2): (a) identifying risk situations (Art 79(1)) and substantial modifications; (b) post-market
 * monitoring (Art 72); (c) monitoring of the operation by deployers (Art 26(5)).
 */
export const ART12_PURPOSES = {
  a: 'Risk situations (Art 79(1)) and substantial modification',
  b: 'Post-market monitoring (Art 72)',
  c: 'Deployer monitoring of the operation (Art 26(5))',
} as const;
export type Art12Purpose = keyof typeof ART12_PURPOSES;

export interface EventTypeTag {
  purposes: readonly Art12Purpose[];
  description: string;
}

/** Every ledger event type Lexecon writes, tagged with its Art 12(2) purposes (COMPLIANCE.md §1). */
export const EVENT_TAXONOMY: Readonly<Record<string, EventTypeTag>> = {
  genesis: { purposes: ['a'], description: 'The first entry of the hash chain: logging starts' },
  system_startup: { purposes: ['a'], description: 'Start of the software: version, schema version, active keys' },
  ledger_guards_repaired: { purposes: ['a'], description: "The ledger's append-only guards were found missing or altered and re-created (tamper evidence)" },
  checkpoint_cut: { purposes: ['a'], description: 'A signed checkpoint of the Merkle tree over the ledger was cut (tree size, root, note hash)' },
  key_created: { purposes: ['a'], description: 'A signing key was created' },
  key_rotated: { purposes: ['a'], description: 'A signing key was rotated (substantial modification of the trust anchor)' },
  policy_loaded: { purposes: ['a'], description: 'A policy version was loaded or re-activated (substantial modification)' },
  system_profile_updated: { purposes: ['a'], description: 'The governed system profile changed (new version and hash)' },
  policy_test_recorded: { purposes: ['a', 'b'], description: 'A signed policy test run was recorded' },
  decision: { purposes: ['a', 'b'], description: 'A decision: denials and high/critical risk are risk situations; outcomes feed post-market statistics' },
  risk_assessed: { purposes: ['a', 'b'], description: 'A risk assessment with its score and level' },
  escalation_created: { purposes: ['b', 'c'], description: 'A decision was escalated to a human' },
  escalation_acknowledged: { purposes: ['c'], description: 'A reviewer acknowledged an escalation' },
  escalation_resolved: { purposes: ['b', 'c'], description: 'A reviewer approved, denied or deferred an escalation' },
  escalation_escalated: { purposes: ['b', 'c'], description: 'An escalation moved up the chain (by a reviewer or on SLA timeout)' },
  escalation_sla_breached: { purposes: ['b'], description: 'An escalation missed its SLA at the top of the chain' },
  token_revoked: { purposes: ['c'], description: 'A capability token was revoked' },
  intervention: { purposes: ['a', 'c'], description: 'Stop or resume: a halt is a risk situation and an oversight action' },
  override_created: { purposes: ['a', 'b', 'c'], description: 'A human overrode a decision, with a justification' },
  override_confirmed: { purposes: ['a', 'b', 'c'], description: 'A second person confirmed an override' },
  override_rejected: { purposes: ['b', 'c'], description: 'An override was rejected or withdrawn' },
  override_expired: { purposes: ['b'], description: 'An override lapsed' },
  user_created: { purposes: ['c'], description: 'A user account was created' },
  user_updated: { purposes: ['c'], description: 'A user account changed (role, disabled, resets)' },
  user_password_changed: { purposes: ['c'], description: 'A user changed their password' },
  auth_login_succeeded: { purposes: ['c'], description: 'A session started' },
  auth_login_failed: { purposes: ['c'], description: 'A login failed' },
  auth_lockout: { purposes: ['c'], description: 'An account was locked after repeated failures' },
  auth_logout: { purposes: ['c'], description: 'A session ended' },
  auth_session_revoked: { purposes: ['c'], description: 'A session was revoked' },
  auth_mfa_enrolled: { purposes: ['c'], description: 'MFA was enrolled' },
  auth_mfa_disabled: { purposes: ['c'], description: 'MFA was disabled' },
  auth_recovery_code_used: { purposes: ['c'], description: 'An MFA recovery code was used' },
  auth_api_key_created: { purposes: ['c'], description: 'An agent API key was created' },
  auth_api_key_revoked: { purposes: ['c'], description: 'An agent API key was revoked' },
  auth_oidc_linked: { purposes: ['c'], description: 'An OIDC identity was linked to a user' },
  compliance_scope_changed: { purposes: ['a'], description: 'A compliance framework was put in or out of scope, with a justification' },
  export_created: { purposes: ['b', 'c'], description: 'A signed evidence export was produced (logs producible to authorities, Art 21(2))' },
  legal_hold_created: { purposes: ['c'], description: 'A legal hold was placed: retention purges nothing it covers' },
  legal_hold_released: { purposes: ['c'], description: 'A legal hold was released' },
  incident_created: { purposes: ['a'], description: 'A serious incident (Art 73) was recorded with its report due date' },
  incident_report_submitted: { purposes: ['a'], description: 'The initial report of a serious incident was submitted' },
  incident_closed: { purposes: ['a'], description: 'A serious incident was closed' },
  retention_batch: { purposes: ['c'], description: 'A batch of raw decision payloads past retention was purged' },
  retention_run: { purposes: ['c'], description: 'A retention run: payloads purged and held, the cutoff' },
};

export interface Art12EventCount {
  event_type: string;
  purposes: Art12Purpose[];
  description: string | null;
  count: number;
}

export interface Art12Counts {
  /** Every tagged event type (count 0 when absent), then any untagged type seen, by name. */
  per_event_type: Art12EventCount[];
  /** Entries per purpose; an entry serving two purposes counts for both. */
  per_purpose: Record<Art12Purpose, number>;
  total_entries: number;
  /** Event types found in the ledger that the taxonomy does not tag (should be empty). */
  untagged_event_types: string[];
}

/** Counts per event type and per Art 12(2) purpose from the ledger's counts by event type over a period. */
export function art12Counts(counts: ReadonlyMap<string, number>, taxonomy: Readonly<Record<string, EventTypeTag>> = EVENT_TAXONOMY): Art12Counts {
  const perPurpose: Record<Art12Purpose, number> = { a: 0, b: 0, c: 0 };
  const untagged = [...counts.keys()].filter((t) => !(t in taxonomy)).sort();
  const rows: Art12EventCount[] = [
    ...Object.entries(taxonomy).map(([eventType, tag]) => ({
      event_type: eventType,
      purposes: [...tag.purposes],
      description: tag.description,
      count: counts.get(eventType) ?? 0,
    })),
    ...untagged.map((eventType) => ({ event_type: eventType, purposes: [], description: null, count: counts.get(eventType) ?? 0 })),
  ];
  let total = 0;
  for (const row of rows) {
    total += row.count;
    for (const p of row.purposes) perPurpose[p] += row.count;
  }
  return { per_event_type: rows, per_purpose: perPurpose, total_entries: total, untagged_event_types: untagged };
}

/** The oversight configuration the Art 14 report describes. */
export interface OversightConfiguration {
  escalation_chain: readonly string[];
  sla_hours: Record<string, number>;
  override_two_person: boolean;
  rubber_stamp_threshold_s: number;
  mfa_required_roles: readonly string[];
  stop_roles: readonly string[];
  resume_roles: readonly string[];
  override_roles: readonly string[];
  halted: boolean;
}

/** The figures over the report's period. */
export type OversightFigures = {
  decisions: number;
  decisions_by_outcome: Record<string, number>;
  escalations_opened: number;
  escalations_resolved: number;
  sla_breaches: number;
  median_time_to_resolution_s: number | null;
  overrides: number;
  override_rate: number;
  rubber_stamp_approvals: number;
  rubber_stamp_rate: number;
  stops: number;
  resumes: number;
};

export const ART14_POINTS = {
  a: 'Understand the capacities and limitations of the system and monitor its operation',
  b: 'Remain aware of automation bias',
  c: 'Correctly interpret the output',
  d: 'Decide not to use, disregard, override or reverse the output',
  e: 'Intervene or interrupt the system through a stop button so that it halts in a safe state',
} as const;
export type Art14Point = keyof typeof ART14_POINTS;

export interface Art14Measure {
  point: `14(4)(${Art14Point})`;
  requirement: string;
  measures: string[];
  configuration: Record<string, unknown>;
  figures: Record<string, number | null>;
}

/** Each Art 14(4) point with the Lexecon measures that serve it, their configuration and real figures. */
export function art14Measures(config: OversightConfiguration, f: OversightFigures): Art14Measure[] {
  const m = (point: Art14Point, measures: string[], configuration: Record<string, unknown>, figures: Record<string, number | null>): Art14Measure => ({
    point: `14(4)(${point})`,
    requirement: ART14_POINTS[point],
    measures,
    configuration,
    figures,
  });
  return [
    m(
      'a',
      ['Every decision is recorded with its reason, matched relations and risk score in a hash-chained ledger', 'Oversight metrics and the ledger are readable by every human role'],
      { escalation_chain: [...config.escalation_chain], sla_hours: config.sla_hours },
      { decisions: f.decisions, escalations_opened: f.escalations_opened, sla_breaches: f.sla_breaches },
    ),
    m(
      'b',
      ['Approvals faster than the rubber-stamp threshold after the reviewer could read the case are counted per reviewer'],
      { rubber_stamp_threshold_s: config.rubber_stamp_threshold_s },
      { rubber_stamp_approvals: f.rubber_stamp_approvals, rubber_stamp_rate: f.rubber_stamp_rate },
    ),
    m(
      'c',
      ['Each decision carries a one-sentence reason, the matched relations and terms, and the risk factors; escalations show the reviewer what they decide on'],
      {},
      { escalations_resolved: f.escalations_resolved, median_time_to_resolution_s: f.median_time_to_resolution_s },
    ),
    m(
      'd',
      ['Escalated decisions wait for a human to approve, deny or defer them', 'A human can override any decision with a signed, justified intervention record', 'An override that turns a denial into permission takes effect only once a second, different person confirms it'],
      { override_two_person: config.override_two_person, override_roles: [...config.override_roles], mfa_required_roles: [...config.mfa_required_roles] },
      { overrides: f.overrides, override_rate: f.override_rate, ...prefixed('decisions_', f.decisions_by_outcome) },
    ),
    m(
      'e',
      ['A stop halts every decision (denied, reason halted) and invalidates every capability token issued before it; resume is a separate, signed act'],
      { stop_roles: [...config.stop_roles], resume_roles: [...config.resume_roles], halted_now: config.halted },
      { stops: f.stops, resumes: f.resumes },
    ),
  ];
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));
}
