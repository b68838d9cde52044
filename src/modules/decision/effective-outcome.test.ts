import { describe, expect, it } from 'vitest';
import { effectiveOutcome, type OverrideState } from './effective-outcome.js';

const NOW = '2026-11-25T12:00:00.000Z';
const o = (over: Partial<OverrideState>): OverrideState => ({
  newOutcome: 'approved',
  status: 'active',
  effectiveAt: '2026-11-25T11:00:00.000Z',
  expiresAt: null,
  ...over,
});

describe('effectiveOutcome', () => {
  it('is the outcome when nothing changed it', () => {
    for (const outcome of ['approved', 'denied', 'escalated', 'conditional'] as const) {
      expect(effectiveOutcome({ outcome, escalationResolution: null, conditions: [], overrides: [], now: NOW })).toBe(outcome);
    }
  });

  it('follows an escalation resolved approved or denied; deferred and escalated_further leave it escalated', () => {
    const base = { outcome: 'escalated' as const, conditions: [], overrides: [], now: NOW };
    expect(effectiveOutcome({ ...base, escalationResolution: 'approved' })).toBe('approved');
    expect(effectiveOutcome({ ...base, escalationResolution: 'denied' })).toBe('denied');
    expect(effectiveOutcome({ ...base, escalationResolution: 'deferred' })).toBe('escalated');
    expect(effectiveOutcome({ ...base, escalationResolution: 'escalated_further' })).toBe('escalated');
    expect(effectiveOutcome({ ...base, conditions: ['redact:pii'], escalationResolution: 'approved' })).toBe('conditional');
  });

  it('an escalation resolution never turns an original denial into permission; only an override does', () => {
    const base = { outcome: 'denied' as const, overrides: [], now: NOW };
    for (const escalationResolution of ['approved', 'denied', 'deferred', 'escalated_further', null] as const) {
      for (const conditions of [[], ['redact:pii']]) {
        expect(effectiveOutcome({ ...base, conditions, escalationResolution }), `${escalationResolution} ${conditions}`).toBe('denied');
      }
    }
    expect(effectiveOutcome({ ...base, conditions: [], escalationResolution: 'approved', overrides: [o({ newOutcome: 'approved' })] })).toBe('approved');
  });

  it('an active override wins over the resolution; the latest one in effect counts', () => {
    expect(
      effectiveOutcome({ outcome: 'escalated', escalationResolution: 'approved', conditions: [], overrides: [o({ newOutcome: 'denied' })], now: NOW }),
    ).toBe('denied');
    const overrides = [
      o({ newOutcome: 'denied', effectiveAt: '2026-11-25T11:30:00.000Z' }),
      o({ newOutcome: 'conditional', effectiveAt: '2026-11-25T10:30:00.000Z' }),
    ];
    expect(effectiveOutcome({ outcome: 'approved', escalationResolution: null, conditions: [], overrides, now: NOW })).toBe('denied');
  });

  it('ignores overrides that are pending, rejected, expired or past expires_at (at expires_at exactly, too)', () => {
    const ignored = [
      o({ status: 'pending_confirmation', effectiveAt: null }),
      o({ status: 'rejected' }),
      o({ status: 'expired' }),
      o({ expiresAt: NOW }),
      o({ expiresAt: '2026-11-25T11:59:59.999Z' }),
    ];
    for (const x of ignored) {
      expect(effectiveOutcome({ outcome: 'denied', escalationResolution: null, conditions: [], overrides: [x], now: NOW }), JSON.stringify(x)).toBe('denied');
    }
    expect(
      effectiveOutcome({ outcome: 'denied', escalationResolution: null, conditions: [], overrides: [o({ expiresAt: '2026-11-25T12:00:00.001Z' })], now: NOW }),
    ).toBe('approved');
  });
});
