/**
 * Escalation priorities, SLAs, the escalation chain and who is assigned (DESIGN §10): a pure core shared
 * by the decision service (which opens escalations), the escalation workflow and the configuration.
 */
import type { HumanRole } from '../auth/roles.js';
import type { Outcome, RiskLevel } from '../policy/policy.model.js';

export const ESCALATION_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type EscalationPriority = (typeof ESCALATION_PRIORITIES)[number];

export const ESCALATION_TRIGGERS = ['risk_threshold', 'policy_requires_approval', 'paranoid_mode', 'manual'] as const;
export type EscalationTrigger = (typeof ESCALATION_TRIGGERS)[number];

/** `pending` and `acknowledged` cases are open: their SLA runs until they are resolved. */
export const ESCALATION_STATUSES = ['pending', 'acknowledged', 'resolved'] as const;
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number];

/** What a reviewer may answer. `escalated_further` moves the case up the chain and keeps it open. */
export const RESOLUTION_OUTCOMES = ['approved', 'denied', 'deferred', 'escalated_further'] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number];

/** The outcomes that close a case. */
export type FinalResolution = Exclude<ResolutionOutcome, 'escalated_further'>;

/** The roles that may resolve escalations (DESIGN §10): the only ones a case may be escalated to. */
export const RESOLVER_ROLES = ['approver', 'executive', 'admin'] as const satisfies readonly HumanRole[];
export type ResolverRole = (typeof RESOLVER_ROLES)[number];

export type SlaHours = Readonly<Record<EscalationPriority, number>>;

/** Hours a human has to resolve an escalation of each priority (the default of `LEXECON_ESCALATION_SLA_HOURS`). */
export const SLA_HOURS: SlaHours = Object.freeze({
  critical: 2,
  high: 8,
  medium: 24,
  low: 72,
});

/** The default escalation chain (`LEXECON_ESCALATION_CHAIN`): each level's SLA miss moves a case to the next. */
export const DEFAULT_ESCALATION_CHAIN: readonly ResolverRole[] = Object.freeze(['approver', 'executive', 'admin']);

/** Longest configurable SLA: a year. */
export const MAX_SLA_HOURS = 8760;

/** The priority of an escalation opened for a decision: its risk level, one to one. */
export function priorityForRisk(level: RiskLevel): EscalationPriority {
  return level;
}

/**
 * The SLA deadline (RFC 3339, ms, Z) of an escalation of `priority` opened (or moved to a new level)
 * at `openedAtMs`, under the configured `hours` (default {@link SLA_HOURS}).
 */
export function slaDeadline(priority: EscalationPriority, openedAtMs: number, hours: SlaHours = SLA_HOURS): string {
  return new Date(openedAtMs + Math.round(hours[priority] * 3_600_000)).toISOString();
}

/** Whether an open case is past its deadline at `nowIso` (both RFC 3339 UTC with ms: they compare as strings). */
export function isOverdue(c: { status: EscalationStatus; slaDeadline: string }, nowIso: string): boolean {
  return c.status !== 'resolved' && c.slaDeadline < nowIso;
}

/**
 * Parse `LEXECON_ESCALATION_SLA_HOURS`: comma-separated `priority=hours` pairs, e.g.
 * `critical=1,high=4.5`. Priorities not named keep their default; hours are positive (fractions
 * allowed) and at most {@link MAX_SLA_HOURS}. Every problem is listed.
 */
export function parseSlaHours(raw: string): { hours: SlaHours; problems: string[] } {
  const hours: Record<EscalationPriority, number> = { ...SLA_HOURS };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(ESCALATION_PRIORITIES as readonly string[]).includes(key)) {
      problems.push(`'${part}': the priority must be one of ${ESCALATION_PRIORITIES.join(', ')}`);
      continue;
    }
    if (seen.has(key)) {
      problems.push(`'${key}' is given more than once`);
      continue;
    }
    seen.add(key);
    const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (!(n > 0 && n <= MAX_SLA_HOURS)) {
      problems.push(`'${part}': hours must be a number greater than 0 and at most ${MAX_SLA_HOURS}`);
      continue;
    }
    hours[key as EscalationPriority] = n;
  }
  return { hours: Object.freeze(hours), problems };
}

/**
 * Parse `LEXECON_ESCALATION_CHAIN`: comma-separated roles from {@link RESOLVER_ROLES}, lowest level
 * first, each at most once, at least one.
 */
export function parseEscalationChain(raw: string): { chain: readonly ResolverRole[]; problems: string[] } {
  const chain: ResolverRole[] = [];
  const problems: string[] = [];
  for (const role of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (!(RESOLVER_ROLES as readonly string[]).includes(role)) {
      problems.push(`'${role}' is not a role that may resolve escalations (${RESOLVER_ROLES.join(', ')})`);
    } else if (chain.includes(role as ResolverRole)) {
      problems.push(`'${role}' is given more than once`);
    } else {
      chain.push(role as ResolverRole);
    }
  }
  if (chain.length === 0 && problems.length === 0) problems.push('name at least one role');
  return { chain: Object.freeze(chain), problems };
}

/**
 * The level a case stands at in the chain: the highest chain index among its assignees' roles (a role
 * name stands for itself; a user id for the role that user holds now), or -1 when none is in the chain.
 */
export function chainLevel(
  escalatedTo: readonly string[],
  roleOfUser: (userId: string) => string | undefined,
  chain: readonly string[],
): number {
  let level = -1;
  for (const who of escalatedTo) {
    const role = chain.includes(who) ? who : roleOfUser(who);
    const i = role === undefined ? -1 : chain.indexOf(role);
    if (i > level) level = i;
  }
  return level;
}

/** The role a case at `level` moves to, or null at the top of the chain. */
export function nextChainRole<R extends string>(level: number, chain: readonly R[]): R | null {
  return chain[level + 1] ?? null;
}

/**
 * Whether a user may act on (acknowledge, resolve) a case: executives and admins always; anyone else
 * only when assigned, that is listed by user id or holding a listed role.
 */
export function mayHandle(user: { userId: string; role: string }, escalatedTo: readonly string[]): boolean {
  if (user.role === 'executive' || user.role === 'admin') return true;
  return escalatedTo.includes(user.userId) || escalatedTo.includes(user.role);
}

/** Who `opened_by` and `assigned_by` name when no person did: POST /decide and the SLA monitor. */
export const SYSTEM = 'system';

/**
 * Who wrote a case's `context_summary`: `agent_claim` when the agent that asked for review did (what it
 * asserts about itself: a claim, never evidence), `user` when a human did.
 */
export const CONTEXT_SUMMARY_SOURCES = ['agent_claim', 'user'] as const;
export type ContextSummarySource = (typeof CONTEXT_SUMMARY_SOURCES)[number];

/**
 * Why `userId` may not resolve a case: they opened it, or they put it with its current reviewers
 * (DESIGN §7: nobody resolves a case they opened or assigned to themselves). `system` is nobody.
 */
export function ownCaseRole(c: { openedBy: string; assignedBy: string }, userId: string): 'opened' | 'assigned' | null {
  if (c.openedBy === userId) return 'opened';
  if (c.assignedBy === userId) return 'assigned';
  return null;
}

/**
 * The resolutions a case of a decision whose original outcome is `original` may end with. A denial
 * (a forbids, an unmet requirement, a stop, no policy…) is never turned into permission by an
 * escalation: changing a denial is an override's job (executive or admin, justification, two-person
 * rule). Such a case may only be denied, deferred or escalated further.
 */
export function allowedResolutions(original: Outcome): readonly ResolutionOutcome[] {
  return original === 'denied' ? RESOLUTION_OUTCOMES.filter((o) => o !== 'approved') : RESOLUTION_OUTCOMES;
}

/**
 * The fields of a request to open a case that an agent may not set: who reviews (`escalated_to`), how
 * urgent (`priority`, derived from the decision's risk level) and why (`trigger`: only `manual`).
 * Returned in body order; empty when the request is acceptable from an agent.
 */
export function fieldsAgentMayNotChoose(input: {
  trigger: EscalationTrigger;
  priority?: EscalationPriority | undefined;
  escalatedTo?: readonly string[] | undefined;
}): string[] {
  const fields: string[] = [];
  if (input.escalatedTo !== undefined) fields.push('escalated_to');
  if (input.priority !== undefined) fields.push('priority');
  if (input.trigger !== 'manual') fields.push('trigger');
  return fields;
}
