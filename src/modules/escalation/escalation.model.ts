/**
 * Escalation priorities and SLAs (DESIGN §10): a pure core shared by the decision service (which opens
 * escalations) and the escalation workflow.
 */
import type { RiskLevel } from '../policy/policy.model.js';

export const ESCALATION_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type EscalationPriority = (typeof ESCALATION_PRIORITIES)[number];

export const ESCALATION_TRIGGERS = ['risk_threshold', 'policy_requires_approval', 'paranoid_mode', 'manual'] as const;
export type EscalationTrigger = (typeof ESCALATION_TRIGGERS)[number];

/** Hours a human has to resolve an escalation of each priority. */
export const SLA_HOURS: Readonly<Record<EscalationPriority, number>> = Object.freeze({
  critical: 2,
  high: 8,
  medium: 24,
  low: 72,
});

/** The priority of an escalation opened for a decision: its risk level, one to one. */
export function priorityForRisk(level: RiskLevel): EscalationPriority {
  return level;
}

/** The SLA deadline (RFC 3339, ms, Z) of an escalation of `priority` opened at `openedAtMs`. */
export function slaDeadline(priority: EscalationPriority, openedAtMs: number): string {
  return new Date(openedAtMs + SLA_HOURS[priority] * 3_600_000).toISOString();
}
