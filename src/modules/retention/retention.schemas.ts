import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { INCIDENT_CATEGORIES, REPORT_DEADLINE_DAYS } from './retention.core.js';
import type { HoldRecord, RunRecord } from './retention.repo.js';
import type { IncidentView, RetentionService } from './retention.service.js';

export const MAX_PAGE = 200;

const DecisionId = z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)');

const ledgerRef = (seq: number) => ({ seq, entry_id: seq === 0 ? 'genesis' : `entry_${seq}` });
const LedgerRefSchema = z.object({ seq: z.number().int(), entry_id: z.string() });

// ---------------------------------------------------------------- legal holds

export const CreateHoldBodySchema = z
  .strictObject({
    scope: z
      .string()
      .min(1)
      .max(400)
      .describe(
        'what the hold covers: `all`, `decision:<decision_id>`, `actor:<actor>` (exact actor) or `period:<from>/<to>` (decisions created in [from, to), RFC 3339)',
      ),
    reason: z.string().trim().min(1).max(2000).describe('why (e.g. the litigation or request reference); only its SHA-256 is ledgered'),
  })
  .meta({ id: 'LegalHoldRequest' });

export const HoldParamsSchema = z.object({ hold_id: z.string().regex(idPattern('hld'), 'must be a hold id (hld_…)') });

export const HoldListQuerySchema = z.strictObject({
  active: z.enum(['true', 'false']).optional().describe('`true`: only holds in force; `false`: only released ones'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  cursor: z.string().regex(idPattern('hld'), 'must be the next_cursor of the previous page').optional(),
});

export const HoldSchema = z
  .object({
    hold_id: z.string(),
    scope: z.string().describe('`all`, `decision:<id>`, `actor:<actor>`, `period:<from>/<to>`, or `incident:<id>` (an incident\'s evidence hold)'),
    reason: z.string(),
    active: z.boolean().describe('in force (not released)'),
    created_by: z.string(),
    created_at: z.string(),
    released_by: z.string().nullable(),
    released_at: z.string().nullable(),
    incident_id: z.string().nullable().describe('the Art 73 incident whose evidence hold this is (released by closing it)'),
    ledger: LedgerRefSchema.describe('its legal_hold_created entry'),
  })
  .meta({ id: 'LegalHold' });

export const HoldListSchema = z
  .object({ items: z.array(HoldSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'LegalHoldList' });

export function toHoldDto(h: HoldRecord): z.infer<typeof HoldSchema> {
  return {
    hold_id: h.holdId,
    scope: h.scope,
    reason: h.reason,
    active: h.releasedAt === null,
    created_by: h.createdBy,
    created_at: h.createdAt,
    released_by: h.releasedBy,
    released_at: h.releasedAt,
    incident_id: h.incidentId,
    ledger: ledgerRef(h.ledgerSeq),
  };
}

// ---------------------------------------------------------------- retention

export const RunSchema = z
  .object({
    run_id: z.string(),
    trigger: z.enum(['timer', 'api', 'cli']),
    requested_by: z.string().nullable(),
    retention_days: z.number().int(),
    cutoff: z.string().describe('payloads created before this were due'),
    started_at: z.string(),
    finished_at: z.string(),
    purged: z.number().int().describe('raw decision payloads deleted'),
    held: z.number().int().describe('payloads past the cutoff kept because an active legal hold covers them'),
    sessions_purged: z.number().int().describe('expired sessions deleted'),
    batches: z.number().int(),
    ledger: LedgerRefSchema.describe('its retention_run entry'),
  })
  .meta({ id: 'RetentionRun' });

export function toRunDto(r: RunRecord): z.infer<typeof RunSchema> {
  return {
    run_id: r.runId,
    trigger: r.trigger,
    requested_by: r.requestedBy,
    retention_days: r.retentionDays,
    cutoff: r.cutoff,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    purged: r.purged,
    held: r.held,
    sessions_purged: r.sessionsPurged,
    batches: r.batches,
    ledger: ledgerRef(r.ledgerSeq),
  };
}

export const RetentionStatusSchema = z
  .object({
    retention_days: z.number().int().describe('LEXECON_RETENTION_DAYS (at least 183: EU AI Act Art 19(1), 26(6))'),
    interval_s: z.number().int().describe('LEXECON_RETENTION_INTERVAL_S; 0: no timer'),
    batch_size: z.number().int(),
    purges: z.string().describe('what a run deletes'),
    never_purged: z.array(z.string()),
    active_holds: z.number().int(),
    last_runs: z.array(RunSchema).describe('newest first'),
  })
  .meta({ id: 'RetentionStatus' });

export function toRetentionStatusDto(s: Awaited<ReturnType<RetentionService['status']>>): z.infer<typeof RetentionStatusSchema> {
  return {
    retention_days: s.settings.retentionDays,
    interval_s: s.settings.intervalS,
    batch_size: s.settings.batchSize,
    purges: 'raw decision payloads (context, user_intent, resource, data classes) older than retention_days, under no active legal hold and with no open escalation case; expired sessions',
    never_purged: ['ledger entries', 'decisions (digests, outcomes, risk)', 'escalations, overrides, interventions', 'anything under an active legal hold'],
    active_holds: s.activeHolds,
    last_runs: s.lastRuns.map(toRunDto),
  };
}

// ---------------------------------------------------------------- Art 73 incidents

const Timestamp = z.iso.datetime({ offset: true });

export const CreateIncidentBodySchema = z
  .strictObject({
    title: z.string().trim().min(1).max(200).describe('only its SHA-256 is ledgered'),
    category: z
      .enum(INCIDENT_CATEGORIES)
      .describe(
        `report deadline from awareness: ${INCIDENT_CATEGORIES.map((c) => `\`${c}\` ${REPORT_DEADLINE_DAYS[c]} days`).join(', ')} (EU AI Act Art 73)`,
      ),
    aware_at: Timestamp.describe('when the provider or deployer became aware of it (not in the future)'),
    description: z.string().trim().min(1).max(20_000).optional().describe('only its SHA-256 is ledgered'),
    decision_ids: z.array(DecisionId).max(1000).optional().describe('the decisions concerned: an evidence hold covers them while the incident is open'),
  })
  .meta({ id: 'IncidentRequest' });

export const IncidentParamsSchema = z.object({
  incident_id: z.string().regex(idPattern('inc'), 'must be an incident id (inc_…)'),
});

export const IncidentListQuerySchema = z.strictObject({
  status: z.enum(['open', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  cursor: z.string().regex(idPattern('inc'), 'must be the next_cursor of the previous page').optional(),
});

export const CloseIncidentBodySchema = z
  .strictObject({ notes: z.string().trim().min(1).max(20_000).optional().describe('only its SHA-256 is ledgered') })
  .meta({ id: 'IncidentClose' });

export const PatchIncidentBodySchema = z
  .strictObject({
    initial_report_submitted_at: Timestamp.describe('when the initial (possibly incomplete) report reached the authority; set once'),
  })
  .meta({ id: 'IncidentPatch' });

export const IncidentSchema = z
  .object({
    incident_id: z.string(),
    title: z.string(),
    category: z.enum(INCIDENT_CATEGORIES),
    description: z.string().nullable(),
    aware_at: z.string(),
    report_due_at: z.string().describe('aware_at + 15 days (serious_incident), 2 (widespread_infringement, critical_infrastructure) or 10 (death)'),
    report_deadline_days: z.number().int(),
    initial_report_submitted_at: z.string().nullable(),
    report_overdue: z.boolean().describe('open, no initial report and past report_due_at'),
    status: z.enum(['open', 'closed']),
    decision_ids: z.array(z.string()),
    hold_id: z.string().nullable().describe('its evidence hold while open; null once closed'),
    created_by: z.string(),
    created_at: z.string(),
    closed_by: z.string().nullable(),
    closed_at: z.string().nullable(),
    close_notes: z.string().nullable(),
    ledger: LedgerRefSchema.describe('its incident_created entry'),
  })
  .meta({ id: 'Incident' });

export const IncidentListSchema = z
  .object({ items: z.array(IncidentSchema), next_cursor: z.string().nullable() })
  .meta({ id: 'IncidentList' });

export function toIncidentDto(i: IncidentView): z.infer<typeof IncidentSchema> {
  return {
    incident_id: i.incidentId,
    title: i.title,
    category: i.category,
    description: i.description,
    aware_at: i.awareAt,
    report_due_at: i.reportDueAt,
    report_deadline_days: REPORT_DEADLINE_DAYS[i.category],
    initial_report_submitted_at: i.initialReportSubmittedAt,
    report_overdue: i.reportOverdue,
    status: i.status,
    decision_ids: i.decisionIds,
    hold_id: i.holdId,
    created_by: i.createdBy,
    created_at: i.createdAt,
    closed_by: i.closedBy,
    closed_at: i.closedAt,
    close_notes: i.closeNotes,
    ledger: ledgerRef(i.ledgerSeq),
  };
}
