/**
 * The compliance model: frameworks and their controls (data, under `frameworks/`), the Lexecon
 * primitives that evidence them (COMPLIANCE.md §3), and the automated evidence kinds whose live state
 * decides each control's status.
 */

/** The Lexecon primitives of COMPLIANCE.md §3, one per row of its table. */
export const PRIMITIVES = [
  'policy_decision',
  'audit_ledger',
  'tamper_evidence',
  'access_control',
  'mfa',
  'human_oversight',
  'override',
  'capability_token',
  'risk_assessment',
  'evidence_export',
] as const;
export type Primitive = (typeof PRIMITIVES)[number];

/** A mapped control id; `{id, partial: true}` for the table's parenthesised or "supports" entries. */
export type MappedControl = string | { id: string; partial: true };

/** One control (or article, section, requirement, subcategory) of a framework, as data. */
export interface ControlDef {
  id: string;
  title: string;
  /** Evidence kinds this control needs beyond those of its primitives (e.g. PCI 10.5.1's 12-month retention). */
  extraEvidence?: readonly EvidenceKind[];
  /** ISO/IEC 27001 only: a management-system clause (6.1.2, 7.5 …) rather than an Annex A control. */
  clause?: true;
}

/** A framework of the registry: its controls and, per primitive, the controls it evidences (a §3 column). */
export interface FrameworkDef {
  id: string;
  name: string;
  version: string;
  /** Where its control ids come from. */
  source: string;
  controls: readonly ControlDef[];
  /** Primitive → the ids of the controls it evidences; a control no primitive names is organisational (`manual`). */
  mapping: Readonly<Partial<Record<Primitive, readonly MappedControl[]>>>;
}

/** The automated evidence kinds: each is a check of the live system (see compliance.collector.ts). */
export const EVIDENCE_KINDS = [
  'ledger_verifies',
  'retention_floor',
  'retention_12_months',
  'durability_full',
  'policy_active',
  'default_deny',
  'risk_scoring',
  'routes_guarded',
  'mfa_privileged',
  'oversight_configured',
  'halt_available',
  'override_authority',
  'signing_key_active',
  'tokens_signed',
  'exports_signed',
  'annex_iv_complete',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** The evidence kinds each primitive's controls need: all must hold for such a control to be satisfied. */
export const PRIMITIVE_EVIDENCE: Readonly<Record<Primitive, readonly EvidenceKind[]>> = {
  policy_decision: ['policy_active', 'default_deny'],
  audit_ledger: ['ledger_verifies', 'retention_floor', 'durability_full'],
  tamper_evidence: ['ledger_verifies', 'signing_key_active'],
  access_control: ['routes_guarded'],
  mfa: ['mfa_privileged'],
  human_oversight: ['oversight_configured', 'halt_available'],
  override: ['override_authority', 'ledger_verifies'],
  capability_token: ['tokens_signed'],
  risk_assessment: ['risk_scoring'],
  evidence_export: ['exports_signed', 'ledger_verifies'],
};

export const CONTROL_STATUSES = ['satisfied', 'not_satisfied', 'manual', 'not_applicable'] as const;
export type ControlStatus = (typeof CONTROL_STATUSES)[number];

/** One evidence kind's live result. */
export interface EvidenceResult {
  kind: EvidenceKind;
  holds: boolean;
  detail: string;
  checked_at: string;
}

/** A control with its computed status and the evidence behind it. */
export interface ControlStatusReport {
  control_id: string;
  title: string;
  kind: 'control' | 'clause';
  primitives: Array<{ primitive: Primitive; partial: boolean }>;
  status: ControlStatus;
  /** Why it is not satisfied (the failing evidence) or why it is manual / not applicable. */
  reason: string | null;
  evidence: EvidenceResult[];
  checked_at: string;
}

/** Counts of a set of controls per status. */
export interface Coverage {
  total: number;
  satisfied: number;
  not_satisfied: number;
  manual: number;
  not_applicable: number;
  /** satisfied ÷ (satisfied + not_satisfied), as a percentage with one decimal; null when nothing is automated. */
  automated_satisfied_percent: number | null;
}

/** A deployment's scope decision for a framework (no record = in scope). */
export interface ScopeRecord {
  frameworkId: string;
  inScope: boolean;
  justification: string | null;
  changedBy: string;
  changedAt: string;
  ledgerSeq: number;
}
