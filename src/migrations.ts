import { authMigrations } from './modules/auth/auth.migrations.js';
import { complianceMigrations } from './modules/compliance/compliance.migrations.js';
import { decisionApprovalMigrations, decisionListMigrations, decisionMigrations, decisionWriteMigrations } from './modules/decision/decision.migrations.js';
import { escalationMigrations, escalationOpenerMigrations } from './modules/escalation/escalation.migrations.js';
import { euAiActMigrations } from './modules/eu-ai-act/eu-ai-act.migrations.js';
import { oversightMigrations } from './modules/oversight/oversight.migrations.js';
import { overrideMigrations } from './modules/override/override.migrations.js';
import { evidenceMigrations } from './modules/evidence/evidence.migrations.js';
import { retentionMigrations } from './modules/retention/retention.migrations.js';
import { ledgerPortMigrations } from './modules/ledger/ledger.migrations.js';
import { policyMigrations } from './modules/policy/policy.migrations.js';
import { tokenMigrations, tokenOrderMigrations } from './modules/tokens/tokens.migrations.js';
import { transparencyMigrations } from './modules/transparency/transparency.migrations.js';
import type { PortMigration } from './platform/db/port-migrations.js';

/**
 * Every module's migrations in global order, for both dialects. Versions are contiguous from 1 (checked
 * at start); a new module appends its migrations here with the next numbers and never edits shipped
 * ones. Each migration has one SQL text for both dialects or `{ sqlite, postgres }`: the SQLite texts
 * are the ones the server has always run (an existing database keeps its `user_version`); the
 * PostgreSQL texts build the same tables, columns, keys, indexes and guards (ARCHITECTURE.md, "Storage
 * port"; test/db/pg-schema.test.ts compares the two). `migrate` (synchronous, SQLite) and `migratePort`
 * (either dialect) both take this list.
 */
export const allMigrations: readonly PortMigration[] = [
  ...ledgerPortMigrations,
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
  ...decisionWriteMigrations,
  ...decisionListMigrations,
  ...transparencyMigrations,
];
