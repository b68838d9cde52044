/**
 * What the console shows to each role: exactly what the API lets the role do (API_REFERENCE.md's
 * role table). Hiding a control is a courtesy; the API's role guard is what refuses.
 */
export type HumanRole = 'admin' | 'governance_lead' | 'approver' | 'executive' | 'operator' | 'auditor';

/** Roles that may acknowledge and resolve escalations (POST /api/governance/escalation/:id/resolve). */
export const RESOLVER_ROLES: readonly HumanRole[] = ['approver', 'executive', 'admin'];

export function canResolve(role: string): boolean {
  return (RESOLVER_ROLES as readonly string[]).includes(role);
}

export interface NavItem {
  path: string;
  label: string;
}

/**
 * The navigation of a role. Every human role may read escalations; the queue (with its controls) is
 * for the roles that resolve them, the others see the same list read-only under another name.
 */
export function navFor(role: string): NavItem[] {
  return [
    canResolve(role) ? { path: '/escalations', label: 'Escalation queue' } : { path: '/escalations', label: 'Escalations (read only)' },
    ...decisionNav(role),
    ...evidenceNav(role),
    ...adminNav(role),
    { path: '/account', label: 'Account' },
  ];
}

// screens 3-5: decisions, overrides, stop/resume
/** Roles that may create, confirm and reject overrides (POST /api/governance/override…). */
export const OVERRIDE_ROLES: readonly HumanRole[] = ['executive', 'admin'];
/** Roles that may stop decisions (POST /api/governance/stop). */
export const STOP_ROLES: readonly HumanRole[] = ['operator', 'executive', 'admin'];
/** Roles that may resume decisions (POST /api/governance/resume). */
export const RESUME_ROLES: readonly HumanRole[] = ['executive', 'admin'];
/** Every human role may read decisions, overrides, the halt status and the ledger (API_REFERENCE). */
export const HUMAN_ROLES: readonly HumanRole[] = ['admin', 'governance_lead', 'approver', 'executive', 'operator', 'auditor'];

export function canOverride(role: string): boolean {
  return (OVERRIDE_ROLES as readonly string[]).includes(role);
}
export function canStop(role: string): boolean {
  return (STOP_ROLES as readonly string[]).includes(role);
}
export function canResume(role: string): boolean {
  return (RESUME_ROLES as readonly string[]).includes(role);
}
export function canReadLedger(role: string): boolean {
  return (HUMAN_ROLES as readonly string[]).includes(role);
}

/** The decisions list for every human role; the overrides queue for all (controls for the override roles); stop / resume for the roles that may use either. */
function decisionNav(role: string): NavItem[] {
  if (!(HUMAN_ROLES as readonly string[]).includes(role)) return [];
  const items: NavItem[] = [{ path: '/decisions', label: 'Decisions' }, { path: '/overrides', label: canOverride(role) ? 'Override confirmations' : 'Overrides (read only)' }];
  if (canStop(role) || canResume(role)) items.push({ path: '/halt', label: 'Stop / resume' });
  return items;
}

// screens 6-7: ledger, evidence, compliance, metrics

/** Roles whose work is the record (issue 18, screen 6): they get the ledger and compliance screens in their navigation. */
export const RECORD_ROLES: readonly HumanRole[] = ['auditor', 'operator', 'governance_lead', 'admin'];

/** Roles that may create an evidence export (POST /api/governance/evidence/exports). */
export const EXPORT_ROLES: readonly HumanRole[] = ['governance_lead', 'admin', 'auditor'];

/** Roles that may change the EU AI Act system profile (PUT /api/governance/eu-ai-act/system-profile). */
export const PROFILE_ROLES: readonly HumanRole[] = ['governance_lead', 'admin'];

const has = (list: readonly HumanRole[], role: string) => (list as readonly string[]).includes(role);

export const canExport = (role: string): boolean => has(EXPORT_ROLES, role);
export const canEditProfile = (role: string): boolean => has(PROFILE_ROLES, role);

/**
 * Ledger, compliance and metrics entries of a role's navigation. Every human role may read all three
 * (and verify the ledger); the ledger and compliance screens are listed for the roles whose work they
 * are, the oversight metrics for everyone. The screens themselves open for any human role by address.
 */
export function evidenceNav(role: string): NavItem[] {
  const items: NavItem[] = [];
  if (has(RECORD_ROLES, role)) items.push({ path: '/ledger', label: 'Ledger and evidence' }, { path: '/compliance', label: 'Compliance' });
  if (has(HUMAN_ROLES, role)) items.push({ path: '/metrics', label: 'Oversight metrics' });
  return items;
}

// administration and policies

/** Roles that may load policies (POST /policies/load) and dry-run them (POST /policies/evaluate). */
export const POLICY_AUTHOR_ROLES: readonly HumanRole[] = ['governance_lead', 'admin'];
/** Roles whose navigation lists the policies (every human role may read them by address; auditors read). */
export const POLICY_NAV_ROLES: readonly HumanRole[] = ['governance_lead', 'admin', 'auditor'];

export const canLoadPolicy = (role: string): boolean => has(POLICY_AUTHOR_ROLES, role);
/** Users and API keys (/auth/users…, /auth/api-keys…): admin only. */
export const canAdminister = (role: string): boolean => role === 'admin';

/** The policies entry (governance leads, admins, auditors) and Administration (admins only). */
export function adminNav(role: string): NavItem[] {
  const items: NavItem[] = [];
  if (has(POLICY_NAV_ROLES, role)) items.push({ path: '/policies', label: canLoadPolicy(role) ? 'Policies' : 'Policies (read only)' });
  if (canAdminister(role)) items.push({ path: '/admin', label: 'Administration' });
  return items;
}
