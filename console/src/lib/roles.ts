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
  return [canResolve(role) ? { path: '/escalations', label: 'Escalation queue' } : { path: '/escalations', label: 'Escalations (read only)' }, { path: '/account', label: 'Account' }];
}
