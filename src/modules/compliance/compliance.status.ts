/**
 * The pure core of the compliance module: facts about the live system in, evidence results and control
 * statuses out. No I/O; the collector (compliance.collector.ts) gathers the facts.
 */
import {
  EVIDENCE_KINDS,
  PRIMITIVE_EVIDENCE,
  PRIMITIVES,
  type ControlDef,
  type ControlStatusReport,
  type Coverage,
  type EvidenceKind,
  type EvidenceResult,
  type FrameworkDef,
  type Primitive,
} from './compliance.model.js';

/** EU AI Act Arts 19(1) and 26(6): logs kept at least six months. */
export const RETENTION_FLOOR_DAYS = 183;
/** PCI DSS 10.5.1: audit log history kept at least 12 months. */
export const PCI_RETENTION_DAYS = 365;
/** Longest capability-token lifetime that still counts as short-lived. */
export const MAX_TOKEN_TTL_S = 3600;
/** Roles whose users must have MFA (DESIGN §7: the privileged roles). */
export const PRIVILEGED_ROLES = ['admin', 'executive'] as const;
/** Roles that may stop the governed system (POST /api/governance/oversight/stop). */
export const HALT_ROLES = ['operator', 'executive', 'admin'] as const;
/** Roles that may override a decision. */
export const OVERRIDE_ROLES = ['executive', 'admin'] as const;
/** Roles that may resolve an escalation at some level of the chain. */
export const RESOLVER_CHAIN_ROLES = ['approver', 'executive', 'admin'] as const;
/** Policy modes whose default is deny. */
export const DENY_BY_DEFAULT_MODES = ['strict', 'paranoid'] as const;

/**
 * DESIGN §7: the only routes that may be anonymous (`/docs` with everything under it), plus the
 * oversight console's static shell (`/console` and the paths under it, issue 18): HTML, JS and CSS that
 * hold no data and must load before anyone signs in; every API route the console calls keeps its own
 * access rule and sees the user's own session.
 */
export const ANONYMOUS_ROUTES: readonly string[] = [
  '/health',
  '/ready',
  '/metrics',
  '/openapi.json',
  '/auth/login',
  '/auth/oidc/:provider/login',
  '/auth/oidc/:provider/callback',
  '/api/governance/keys',
  '/console',
  '/console/*',
];

/** What the collector found in the live system, as of `checkedAt`. */
export interface ComplianceFacts {
  checkedAt: string;
  ledger: {
    valid: boolean;
    entriesChecked: number;
    headSeq: number | null;
    firstInvalid?: { seq: number; reason: string };
    /** When this verification ran (it is cached; it may be older than `checkedAt`). */
    verifiedAt: string;
  };
  retentionDays: number;
  durability: string;
  activePolicy: { versionHash: string; mode: string } | null;
  /** Every registered route; `access` is `undefined` when it declares none. */
  routes: ReadonlyArray<{ method: string; url: string; access: 'public' | 'roles' | undefined }>;
  mfaRequiredRoles: readonly string[];
  users: ReadonlyArray<{ userId: string; role: string; disabled: boolean; mfaEnabled: boolean }>;
  escalation: { chain: readonly string[]; slaMonitorIntervalS: number };
  keys: ReadonlyArray<{ kid: string; alg: string; status: string }>;
  tokenTtlS: number;
  exports: { count: number; lastSeq: number | null; lastAt: string | null };
  /**
   * The Art 11 technical documentation: null without a system profile (nothing to document from), else
   * the Annex IV items without content (neither generated, nor supplied by the operator, nor justified
   * as not applicable) out of `total`.
   */
  annexIv: { profileVersion: number; total: number; missing: ReadonlyArray<{ key: string; title: string }> } | null;
}

const isAnonymousAllowed = (url: string): boolean => ANONYMOUS_ROUTES.includes(url) || url === '/docs' || url.startsWith('/docs/');

function enabledWithRole(facts: ComplianceFacts, roles: readonly string[]) {
  return facts.users.filter((u) => !u.disabled && roles.includes(u.role));
}

type Check = { holds: boolean; detail: string; checkedAt?: string };

const CHECKS: Record<EvidenceKind, (f: ComplianceFacts) => Check> = {
  ledger_verifies: (f) => ({
    holds: f.ledger.valid,
    detail: f.ledger.valid
      ? `hash chain verified: ${f.ledger.entriesChecked} entries up to seq ${f.ledger.headSeq ?? 'none'}`
      : `hash chain broken at seq ${f.ledger.firstInvalid?.seq ?? '?'}: ${f.ledger.firstInvalid?.reason ?? 'invalid'}`,
    checkedAt: f.ledger.verifiedAt,
  }),
  retention_floor: (f) => ({
    holds: f.retentionDays >= RETENTION_FLOOR_DAYS,
    detail: `retention ${f.retentionDays} days (floor ${RETENTION_FLOOR_DAYS}, EU AI Act Arts 19(1), 26(6))`,
  }),
  retention_12_months: (f) => ({
    holds: f.retentionDays >= PCI_RETENTION_DAYS,
    detail: `retention ${f.retentionDays} days (PCI DSS 10.5.1 needs ${PCI_RETENTION_DAYS})`,
  }),
  durability_full: (f) => ({
    holds: f.durability === 'full',
    detail: `LEXECON_DURABILITY=${f.durability}${f.durability === 'full' ? '' : ': committed entries may be lost on power failure'}`,
  }),
  policy_active: (f) => ({
    holds: f.activePolicy !== null,
    detail: f.activePolicy ? `active policy version ${f.activePolicy.versionHash}` : 'no active policy',
  }),
  default_deny: (f) => {
    if (!f.activePolicy) return { holds: false, detail: 'no active policy' };
    const deny = (DENY_BY_DEFAULT_MODES as readonly string[]).includes(f.activePolicy.mode);
    return { holds: deny, detail: `active policy mode ${f.activePolicy.mode}${deny ? ' (deny by default)' : ' (approves by default)'}` };
  },
  risk_scoring: (f) => ({
    holds: f.activePolicy !== null,
    detail: f.activePolicy
      ? `every decision is risk-scored with the factors of active policy ${f.activePolicy.versionHash}`
      : 'no active policy: decisions are not evaluated or scored',
  }),
  routes_guarded: (f) => {
    const undeclared = f.routes.filter((r) => r.access === undefined);
    const extraPublic = f.routes.filter((r) => r.access === 'public' && !isAnonymousAllowed(r.url));
    const problems = [
      ...undeclared.map((r) => `${r.method} ${r.url} declares no access`),
      ...extraPublic.map((r) => `${r.method} ${r.url} is anonymous but not in the DESIGN §7 set`),
    ];
    return problems.length === 0
      ? { holds: true, detail: `${f.routes.length} routes, each with an access rule; only the DESIGN §7 routes and the console's static shell are anonymous` }
      : { holds: false, detail: problems.join('; ') };
  },
  mfa_privileged: (f) => {
    const missingRoles = PRIVILEGED_ROLES.filter((r) => !f.mfaRequiredRoles.includes(r));
    const withoutMfa = enabledWithRole(f, PRIVILEGED_ROLES).filter((u) => !u.mfaEnabled);
    const problems = [
      ...(missingRoles.length > 0 ? [`LEXECON_MFA_REQUIRED_ROLES lacks ${missingRoles.join(', ')}`] : []),
      ...(withoutMfa.length > 0 ? [`enabled privileged users without MFA: ${withoutMfa.map((u) => `${u.userId} (${u.role})`).join(', ')}`] : []),
    ];
    return problems.length === 0
      ? { holds: true, detail: `MFA required for ${PRIVILEGED_ROLES.join(', ')}; every enabled such user has enrolled` }
      : { holds: false, detail: problems.join('; ') };
  },
  oversight_configured: (f) => {
    const chain = f.escalation.chain.filter((r) => (RESOLVER_CHAIN_ROLES as readonly string[]).includes(r));
    const holders = enabledWithRole(f, chain);
    const problems = [
      ...(chain.length === 0 ? ['the escalation chain is empty'] : []),
      ...(chain.length > 0 && holders.length === 0 ? [`no enabled user holds a chain role (${chain.join(', ')})`] : []),
      ...(f.escalation.slaMonitorIntervalS <= 0 ? ['the SLA monitor is off (LEXECON_SLA_CHECK_INTERVAL_S=0)'] : []),
    ];
    return problems.length === 0
      ? {
          holds: true,
          detail: `escalation chain ${chain.join(' → ')} with ${holders.length} enabled reviewer(s); SLA monitor every ${f.escalation.slaMonitorIntervalS} s`,
        }
      : { holds: false, detail: problems.join('; ') };
  },
  halt_available: (f) => {
    const n = enabledWithRole(f, HALT_ROLES).length;
    return {
      holds: n > 0,
      detail: n > 0 ? `${n} enabled user(s) may stop the system (${HALT_ROLES.join(', ')})` : `no enabled user holds ${HALT_ROLES.join(', ')}: nobody can stop the system`,
    };
  },
  override_authority: (f) => {
    const n = enabledWithRole(f, OVERRIDE_ROLES).length;
    return {
      holds: n > 0,
      detail: n > 0 ? `${n} enabled user(s) may override with a justification (${OVERRIDE_ROLES.join(', ')})` : `no enabled user holds ${OVERRIDE_ROLES.join(', ')}: nobody can override`,
    };
  },
  signing_key_active: (f) => {
    const key = f.keys.find((k) => k.alg === 'Ed25519' && k.status === 'active');
    return { holds: key !== undefined, detail: key ? `active Ed25519 signing key ${key.kid}` : 'no active Ed25519 signing key' };
  },
  tokens_signed: (f) => {
    const key = f.keys.find((k) => k.alg === 'Ed25519' && k.status === 'active');
    const shortLived = f.tokenTtlS <= MAX_TOKEN_TTL_S;
    const problems = [
      ...(key ? [] : ['no active Ed25519 signing key']),
      ...(shortLived ? [] : [`token TTL ${f.tokenTtlS} s exceeds ${MAX_TOKEN_TTL_S} s`]),
    ];
    return problems.length === 0
      ? { holds: true, detail: `capability tokens signed with Ed25519 key ${key!.kid}, TTL ${f.tokenTtlS} s` }
      : { holds: false, detail: problems.join('; ') };
  },
  exports_signed: (f) => ({
    holds: f.exports.count > 0,
    detail:
      f.exports.count > 0
        ? `${f.exports.count} signed evidence export(s); last at ledger seq ${f.exports.lastSeq} (${f.exports.lastAt})`
        : 'no signed evidence export has been produced (no export_created ledger entry)',
  }),
  annex_iv_complete: (f) => {
    if (f.annexIv === null) {
      return { holds: false, detail: 'no system profile: the Annex IV technical documentation has no content yet (PUT /api/governance/eu-ai-act/system-profile)' };
    }
    const { total, missing, profileVersion } = f.annexIv;
    return missing.length === 0
      ? { holds: true, detail: `all ${total} Annex IV items have content (system profile version ${profileVersion})` }
      : {
          holds: false,
          detail: `${missing.length} of ${total} Annex IV items have no content (system profile version ${profileVersion}): ${missing.map((m) => `${m.key} ${m.title}`).join('; ')}`,
        };
  },
};

/**
 * Evaluate every evidence kind against the facts.
 * @returns one result per kind, each with whether it holds, why, and when it was checked.
 */
export function evaluateEvidence(facts: ComplianceFacts): Record<EvidenceKind, EvidenceResult> {
  const out = {} as Record<EvidenceKind, EvidenceResult>;
  for (const kind of EVIDENCE_KINDS) {
    const c = CHECKS[kind](facts);
    out[kind] = { kind, holds: c.holds, detail: c.detail, checked_at: c.checkedAt ?? facts.checkedAt };
  }
  return out;
}

/** A control resolved against its framework's mapping: the primitives that evidence it and the kinds it needs. */
export interface ResolvedControl {
  def: ControlDef;
  primitives: Array<{ primitive: Primitive; partial: boolean }>;
  evidenceKinds: EvidenceKind[];
}

/**
 * Resolve a framework's controls: for each, the primitives its mapping names and the union of their
 * evidence kinds (plus the control's own extra kinds), in a stable order.
 * @throws when the mapping names a control the framework does not list (a data error).
 */
export function resolveControls(framework: FrameworkDef): ResolvedControl[] {
  const byId = new Map(framework.controls.map((c) => [c.id, { def: c, refs: new Map<Primitive, boolean>() }]));
  for (const primitive of PRIMITIVES) {
    for (const ref of framework.mapping[primitive] ?? []) {
      const id = typeof ref === 'string' ? ref : ref.id;
      const entry = byId.get(id);
      if (!entry) throw new Error(`${framework.id}: mapping of ${primitive} names unknown control ${id}`);
      const partial = typeof ref !== 'string';
      // A full mapping wins over a partial one by the same primitive.
      entry.refs.set(primitive, (entry.refs.get(primitive) ?? true) && partial);
    }
  }
  return framework.controls.map((def) => {
    const refs = byId.get(def.id)!.refs;
    const primitives = [...refs].map(([primitive, partial]) => ({ primitive, partial }));
    const kinds = new Set<EvidenceKind>([...primitives.flatMap((p) => PRIMITIVE_EVIDENCE[p.primitive]), ...(def.extraEvidence ?? [])]);
    return { def, primitives, evidenceKinds: EVIDENCE_KINDS.filter((k) => kinds.has(k)) };
  });
}

/**
 * A control's status: `not_applicable` when its framework is out of scope, `manual` when no automated
 * evidence backs it (organisational controls), else `satisfied` when every evidence kind holds and
 * `not_satisfied` (naming the failing kinds) when one does not.
 */
export function controlStatus(
  control: ResolvedControl,
  evidence: Readonly<Record<EvidenceKind, EvidenceResult>>,
  scope: { inScope: boolean; justification?: string | null },
  checkedAt: string,
): ControlStatusReport {
  const base = {
    control_id: control.def.id,
    title: control.def.title,
    kind: control.def.clause ? ('clause' as const) : ('control' as const),
    primitives: control.primitives,
    checked_at: checkedAt,
  };
  if (!scope.inScope) {
    return { ...base, status: 'not_applicable', reason: `framework out of scope: ${scope.justification ?? 'no justification'}`, evidence: [] };
  }
  if (control.evidenceKinds.length === 0) {
    return { ...base, status: 'manual', reason: 'no automated evidence in Lexecon: organisational control, assessed by hand', evidence: [] };
  }
  const results = control.evidenceKinds.map((k) => evidence[k]);
  const failing = results.filter((r) => !r.holds);
  return {
    ...base,
    status: failing.length === 0 ? 'satisfied' : 'not_satisfied',
    reason: failing.length === 0 ? null : failing.map((r) => `${r.kind}: ${r.detail}`).join('; '),
    evidence: results,
  };
}

/** Count statuses. */
export function coverageOf(statuses: ReadonlyArray<{ status: ControlStatusReport['status'] }>): Coverage {
  const c: Coverage = { total: statuses.length, satisfied: 0, not_satisfied: 0, manual: 0, not_applicable: 0, automated_satisfied_percent: null };
  for (const s of statuses) c[s.status] += 1;
  const automated = c.satisfied + c.not_satisfied;
  c.automated_satisfied_percent = automated === 0 ? null : Math.round((c.satisfied / automated) * 1000) / 10;
  return c;
}
