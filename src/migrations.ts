import type { Migration } from './platform/db/migrations.js';
import { authMigrations } from './modules/auth/auth.migrations.js';
import { complianceMigrations } from './modules/compliance/compliance.migrations.js';
import { decisionApprovalMigrations, decisionMigrations } from './modules/decision/decision.migrations.js';
import { escalationMigrations, escalationOpenerMigrations } from './modules/escalation/escalation.migrations.js';
import { euAiActMigrations } from './modules/eu-ai-act/eu-ai-act.migrations.js';
import { oversightMigrations } from './modules/oversight/oversight.migrations.js';
import { overrideMigrations } from './modules/override/override.migrations.js';
import { evidenceMigrations } from './modules/evidence/evidence.migrations.js';
import { retentionMigrations } from './modules/retention/retention.migrations.js';
import { ledgerMigrations } from './modules/ledger/ledger.migrations.js';
import { policyMigrations } from './modules/policy/policy.migrations.js';
import { tokenMigrations, tokenOrderMigrations } from './modules/tokens/tokens.migrations.js';

/**
 * Every module's migrations in global order. Versions are contiguous from 1 (checked at start); a new
 * module appends its migrations here with the next numbers and never edits shipped ones.
 */
export const allMigrations: readonly Migration[] = [
  ...ledgerMigrations,
  ...authMigrations,
  ...policyMigrations,
  ...tokenMigrations,
  ...decisionMigrations,
  ...escalationMigrations,
  ...oversightMigrations,
  ...overrideMigrations,
  ...complianceMigrations,
  ...euAiActMigrations,
  ...retentionMigrations,
  ...evidenceMigrations,
  ...escalationOpenerMigrations,
  ...tokenOrderMigrations,
  ...decisionApprovalMigrations,
];
