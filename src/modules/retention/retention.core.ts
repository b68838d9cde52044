/**
 * Pure rules of retention, legal holds and EU AI Act Art 73 incidents: no I/O, no clock (callers pass
 * times in). Facts from COMPLIANCE.md §1.
 */

const DAY_MS = 86_400_000;

/** Art 73 incident categories, each with its own reporting deadline. */
export const INCIDENT_CATEGORIES = ['serious_incident', 'widespread_infringement', 'critical_infrastructure', 'death'] as const;
export type IncidentCategory = (typeof INCIDENT_CATEGORIES)[number];

/**
 * Days from awareness by which a serious incident must be reported to the market surveillance
 * authority (EU AI Act Art 73(2)–(4)): 15 in general, 2 for a widespread infringement or a serious
 * disruption of critical infrastructure, 10 in the event of a death. An initial, incomplete report is allowed.
 */
export const REPORT_DEADLINE_DAYS: Readonly<Record<IncidentCategory, number>> = {
  serious_incident: 15,
  widespread_infringement: 2,
  critical_infrastructure: 2,
  death: 10,
};

/**
 * When the Art 73 report of an incident is due: `awareAt` plus the category's deadline in whole days
 * (exactly 24 h each), as RFC 3339 UTC with milliseconds.
 * @throws RangeError when `awareAt` is not a valid timestamp.
 */
export function reportDueAt(category: IncidentCategory, awareAt: string): string {
  const aware = Date.parse(awareAt);
  if (!Number.isFinite(aware)) throw new RangeError(`invalid awareness time: ${awareAt}`);
  return new Date(aware + REPORT_DEADLINE_DAYS[category] * DAY_MS).toISOString();
}

/**
 * Whether an incident's report is overdue at `nowMs`: no initial report submitted and the due time
 * passed (a report due exactly now is not yet overdue).
 */
export function reportOverdue(dueAt: string, initialReportSubmittedAt: string | null, nowMs: number): boolean {
  return initialReportSubmittedAt === null && nowMs > Date.parse(dueAt);
}

/**
 * The retention cutoff: payloads created strictly before it are older than `retentionDays` and may be
 * purged (unless held).
 */
export function retentionCutoff(nowMs: number, retentionDays: number): string {
  return new Date(nowMs - retentionDays * DAY_MS).toISOString();
}

/**
 * What a legal hold covers. Wire form (`scope`):
 * - `all`: every record;
 * - `decision:<decision_id>`: one decision;
 * - `actor:<actor>`: every decision of that actor (exact match, e.g. `actor:ai_agent:assistant`);
 * - `period:<from>/<to>`: decisions created at or after `from` and before `to` (RFC 3339);
 * - `incident:<incident_id>`: the decisions an Art 73 incident names (set by the incident, not by hand).
 */
export type HoldScope =
  | { kind: 'all' }
  | { kind: 'decision'; decisionId: string }
  | { kind: 'actor'; actor: string }
  | { kind: 'period'; from: string; to: string }
  | { kind: 'incident'; incidentId: string };

const DECISION_ID = /^dec_[0-9A-HJKMNP-TV-Z]{26}$/;
const INCIDENT_ID = /^inc_[0-9A-HJKMNP-TV-Z]{26}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The result of {@link parseHoldScope}: the scope, or why the text is not one. */
export type ParsedScope = { ok: true; scope: HoldScope } | { ok: false; problem: string };

/**
 * Parse a hold scope's wire form (see {@link HoldScope}); period bounds are normalized to UTC with
 * milliseconds. `incident:` scopes are refused unless `allowIncident` (only incidents create them).
 */
export function parseHoldScope(text: string, allowIncident = false): ParsedScope {
  if (text === 'all') return { ok: true, scope: { kind: 'all' } };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'decision':
      return DECISION_ID.test(rest)
        ? { ok: true, scope: { kind: 'decision', decisionId: rest } }
        : { ok: false, problem: 'decision scope must be `decision:dec_…` with a decision id' };
    case 'actor':
      return rest.length > 0 && rest.length <= 256
        ? { ok: true, scope: { kind: 'actor', actor: rest } }
        : { ok: false, problem: 'actor scope must be `actor:<actor>` (1–256 characters)' };
    case 'period': {
      const [from, to, extra] = rest.split('/');
      if (extra !== undefined || !from || !to || !RFC3339.test(from) || !RFC3339.test(to)) {
        return { ok: false, problem: 'period scope must be `period:<from>/<to>` with two RFC 3339 timestamps' };
      }
      const f = Date.parse(from);
      const t = Date.parse(to);
      if (!Number.isFinite(f) || !Number.isFinite(t)) return { ok: false, problem: 'period bounds must be valid timestamps' };
      if (f >= t) return { ok: false, problem: 'period scope must end after it starts' };
      return { ok: true, scope: { kind: 'period', from: new Date(f).toISOString(), to: new Date(t).toISOString() } };
    }
    case 'incident':
      if (!allowIncident) return { ok: false, problem: 'incident scopes are set by Art 73 incidents, not by hand' };
      return INCIDENT_ID.test(rest)
        ? { ok: true, scope: { kind: 'incident', incidentId: rest } }
        : { ok: false, problem: 'incident scope must be `incident:inc_…`' };
    default:
      return { ok: false, problem: 'scope must be `all`, `decision:<id>`, `actor:<actor>` or `period:<from>/<to>`' };
  }
}

/** The wire form of a scope (inverse of {@link parseHoldScope} on normalized scopes). */
export function formatHoldScope(scope: HoldScope): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'decision':
      return `decision:${scope.decisionId}`;
    case 'actor':
      return `actor:${scope.actor}`;
    case 'period':
      return `period:${scope.from}/${scope.to}`;
    case 'incident':
      return `incident:${scope.incidentId}`;
  }
}

/** A decision as a hold sees it. */
export interface HeldCandidate {
  decisionId: string;
  actor: string;
  createdAt: string;
  /** Incidents that name this decision. */
  incidentIds: readonly string[];
}

/**
 * Whether `scope` covers the decision (the rule the purge query implements in SQL; the tests check both
 * agree).
 */
export function scopeCovers(scope: HoldScope, d: HeldCandidate): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'decision':
      return scope.decisionId === d.decisionId;
    case 'actor':
      return scope.actor === d.actor;
    case 'period':
      return d.createdAt >= scope.from && d.createdAt < scope.to;
    case 'incident':
      return d.incidentIds.includes(scope.incidentId);
  }
}
