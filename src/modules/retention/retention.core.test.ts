import { describe, expect, it } from 'vitest';
import {
  formatHoldScope,
  INCIDENT_CATEGORIES,
  parseHoldScope,
  REPORT_DEADLINE_DAYS,
  reportDueAt,
  reportOverdue,
  retentionCutoff,
  scopeCovers,
  type HeldCandidate,
  type HoldScope,
} from './retention.core.js';

const DAY = 86_400_000;
const DEC = 'dec_01JDAAAAAAAAAAAAAAAAAAAAAA';
const INC = 'inc_01JDAAAAAAAAAAAAAAAAAAAAAA';

describe('Art 73 report deadlines (COMPLIANCE.md §1)', () => {
  it.each([
    ['serious_incident', 15],
    ['widespread_infringement', 2],
    ['critical_infrastructure', 2],
    ['death', 10],
  ] as const)('%s: %i days from awareness', (category, days) => {
    expect(REPORT_DEADLINE_DAYS[category]).toBe(days);
    expect(reportDueAt(category, '2026-11-25T10:00:00.000Z')).toBe(new Date(Date.parse('2026-11-25T10:00:00.000Z') + days * DAY).toISOString());
  });

  it('covers every category', () => {
    expect(Object.keys(REPORT_DEADLINE_DAYS).sort()).toEqual([...INCIDENT_CATEGORIES].sort());
  });

  it('normalizes offsets to UTC and crosses month and year ends', () => {
    expect(reportDueAt('serious_incident', '2026-12-20T01:30:00+02:00')).toBe('2027-01-03T23:30:00.000Z');
    expect(reportDueAt('widespread_infringement', '2028-02-28T12:00:00Z')).toBe('2028-03-01T12:00:00.000Z'); // leap year
    expect(reportDueAt('death', '2026-10-25T00:59:59.999Z')).toBe('2026-11-04T00:59:59.999Z'); // no DST: UTC days
  });

  it('refuses an invalid awareness time', () => {
    expect(() => reportDueAt('death', 'yesterday')).toThrow(RangeError);
  });

  it('is overdue only strictly after the due time and only without an initial report', () => {
    const due = reportDueAt('critical_infrastructure', '2026-11-25T10:00:00.000Z');
    const dueMs = Date.parse(due);
    expect(reportOverdue(due, null, dueMs - 1)).toBe(false);
    expect(reportOverdue(due, null, dueMs)).toBe(false);
    expect(reportOverdue(due, null, dueMs + 1)).toBe(true);
    expect(reportOverdue(due, '2026-11-26T10:00:00.000Z', dueMs + DAY)).toBe(false);
  });
});

describe('retention cutoff', () => {
  it('is exactly retentionDays × 24 h before now', () => {
    expect(retentionCutoff(Date.parse('2026-11-25T10:00:00.000Z'), 183)).toBe('2026-05-26T10:00:00.000Z');
    expect(retentionCutoff(Date.parse('2026-11-25T10:00:00.000Z'), 3650)).toBe('2016-11-27T10:00:00.000Z');
  });
});

describe('hold scopes', () => {
  it.each<[string, HoldScope]>([
    ['all', { kind: 'all' }],
    [`decision:${DEC}`, { kind: 'decision', decisionId: DEC }],
    ['actor:ai_agent:assistant', { kind: 'actor', actor: 'ai_agent:assistant' }],
    ['period:2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z', { kind: 'period', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }],
  ])('parses and formats %s', (text, scope) => {
    expect(parseHoldScope(text)).toEqual({ ok: true, scope });
    expect(formatHoldScope(scope)).toBe(text);
  });

  it('normalizes period bounds to UTC', () => {
    const r = parseHoldScope('period:2026-01-01T01:00:00+01:00/2026-01-02T00:00:00Z');
    expect(r).toEqual({ ok: true, scope: { kind: 'period', from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' } });
  });

  it.each([
    'everything',
    'decision:',
    'decision:dec_short',
    'actor:',
    `actor:${'a'.repeat(257)}`,
    'period:2026-01-01T00:00:00Z',
    'period:2026-02-01T00:00:00Z/2026-01-01T00:00:00Z',
    'period:2026-01-01T00:00:00Z/2026-01-01T00:00:00Z',
    'period:2026-01-01/2026-02-01',
    'period:2026-01-01T00:00:00Z/2026-02-01T00:00:00Z/2026-03-01T00:00:00Z',
    `incident:${INC}`,
  ])('refuses %s', (text) => {
    const r = parseHoldScope(text);
    expect(r.ok).toBe(false);
  });

  it('accepts incident scopes only when the caller is an incident', () => {
    expect(parseHoldScope(`incident:${INC}`, true)).toEqual({ ok: true, scope: { kind: 'incident', incidentId: INC } });
    expect(parseHoldScope('incident:inc_x', true).ok).toBe(false);
  });

  const decision: HeldCandidate = { decisionId: DEC, actor: 'ai_agent:assistant', createdAt: '2026-01-15T00:00:00.000Z', incidentIds: [INC] };

  it.each<[HoldScope, boolean]>([
    [{ kind: 'all' }, true],
    [{ kind: 'decision', decisionId: DEC }, true],
    [{ kind: 'decision', decisionId: 'dec_01JDBBBBBBBBBBBBBBBBBBBBBB' }, false],
    [{ kind: 'actor', actor: 'ai_agent:assistant' }, true],
    [{ kind: 'actor', actor: 'ai_agent:*' }, false], // exact, no globs
    [{ kind: 'period', from: '2026-01-15T00:00:00.000Z', to: '2026-01-16T00:00:00.000Z' }, true], // from is inclusive
    [{ kind: 'period', from: '2026-01-01T00:00:00.000Z', to: '2026-01-15T00:00:00.000Z' }, false], // to is exclusive
    [{ kind: 'incident', incidentId: INC }, true],
    [{ kind: 'incident', incidentId: 'inc_01JDBBBBBBBBBBBBBBBBBBBBBB' }, false],
  ])('%j covers the decision: %s', (scope, covered) => {
    expect(scopeCovers(scope, decision)).toBe(covered);
  });
});
