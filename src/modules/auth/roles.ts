import { z } from 'zod';

/** Human roles (DESIGN §7). A user holds exactly one. */
export const HUMAN_ROLES = ['admin', 'governance_lead', 'approver', 'executive', 'operator', 'auditor'] as const;
export type HumanRole = (typeof HUMAN_ROLES)[number];

/** Every role a principal can hold: the human roles and `agent` (API keys only). */
export const ROLES = [...HUMAN_ROLES, 'agent'] as const;
export type Role = (typeof ROLES)[number];

export const HumanRoleSchema = z.enum(HUMAN_ROLES);
export const RoleSchema = z.enum(ROLES);

/** Whether a string names a human role. */
export function isHumanRole(value: string): value is HumanRole {
  return (HUMAN_ROLES as readonly string[]).includes(value);
}

/** DESIGN §7: every human role may read decisions, escalations, overrides, policies, the ledger, status and reports. */
export const READ_ROLES: readonly HumanRole[] = HUMAN_ROLES;

/**
 * DESIGN §7: who may press the stop button. Revoking one capability token is a lesser stop, so it is
 * admitted to exactly these roles too (and to no one else).
 */
export const STOP_ROLES = ['operator', 'executive', 'admin'] as const satisfies readonly HumanRole[];
