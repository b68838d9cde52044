import { describe, expect, it } from 'vitest';
import { Gen } from '../../../test/helpers/prng.js';
import { effectiveOutcome } from '../decision/effective-outcome.js';
import { OUTCOMES, type Outcome } from '../policy/policy.model.js';
import {
  allowsAction,
  CONFIRMATION_WINDOW_MS,
  expiryProblem,
  grantsPermission,
  holdingOverride,
  lapsesAt,
  MAX_OVERRIDE_MS,
  OVERRIDE_STATUSES,
  statusAt,
  tokenEffect,
  type OverrideStatus,
} from './override.model.js';

const NOW = '2026-11-25T10:00:00.000Z';
const NOW_MS = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

describe('expiryProblem', () => {
  it('accepts a time in the future up to exactly 90 days ahead', () => {
    expect(expiryProblem(iso(NOW_MS + 1), NOW_MS)).toBeNull();
    expect(expiryProblem(iso(NOW_MS + MAX_OVERRIDE_MS), NOW_MS)).toBeNull();
    expect(expiryProblem('2026-11-25T12:00:00+02:00', NOW_MS - 1)).toBeNull();
  });

  it('refuses now, the past, more than 90 days and garbage', () => {
    expect(expiryProblem(NOW, NOW_MS)).toBe('must be in the future');
    expect(expiryProblem(iso(NOW_MS - 60_000), NOW_MS)).toBe('must be in the future');
    expect(expiryProblem(iso(NOW_MS + MAX_OVERRIDE_MS + 1), NOW_MS)).toBe('must be at most 90 days from now');
    expect(expiryProblem('tomorrow', NOW_MS)).toBe('must be an RFC 3339 date-time');
  });
});

describe('lapsesAt and statusAt', () => {
  const windowEnd = iso(NOW_MS + CONFIRMATION_WINDOW_MS);

  it('an active override lapses at its expiry, never without one', () => {
    expect(lapsesAt({ status: 'active', createdAt: NOW, expiresAt: '2026-12-01T00:00:00.000Z' })).toBe('2026-12-01T00:00:00.000Z');
    expect(lapsesAt({ status: 'active', createdAt: NOW, expiresAt: null })).toBeNull();
  });

  it('a pending override lapses at the end of the confirmation window or its expiry, whichever comes first', () => {
    expect(lapsesAt({ status: 'pending_confirmation', createdAt: NOW, expiresAt: null })).toBe(windowEnd);
    expect(lapsesAt({ status: 'pending_confirmation', createdAt: NOW, expiresAt: '2026-12-01T00:00:00.000Z' })).toBe(windowEnd);
    expect(lapsesAt({ status: 'pending_confirmation', createdAt: NOW, expiresAt: '2026-11-25T11:00:00.000Z' })).toBe(
      '2026-11-25T11:00:00.000Z',
    );
  });

  it('reads expired from the lapse time on, before any sweep; final states stay', () => {
    const lapse = '2026-11-25T11:00:00.000Z';
    expect(statusAt({ status: 'active', lapsesAt: lapse }, '2026-11-25T10:59:59.999Z')).toBe('active');
    expect(statusAt({ status: 'active', lapsesAt: lapse }, lapse)).toBe('expired');
    expect(statusAt({ status: 'pending_confirmation', lapsesAt: lapse }, lapse)).toBe('expired');
    expect(statusAt({ status: 'active', lapsesAt: null }, '2099-01-01T00:00:00.000Z')).toBe('active');
    expect(statusAt({ status: 'rejected', lapsesAt: lapse }, lapse)).toBe('rejected');
  });
});

describe('holdingOverride', () => {
  it('is the latest active override in effect, ignoring expired, pending and rejected ones', () => {
    const a = { id: 'a', newOutcome: 'denied' as Outcome, status: 'active' as OverrideStatus, effectiveAt: '2026-11-25T09:00:00.000Z', expiresAt: null };
    const b = { ...a, id: 'b', newOutcome: 'approved' as Outcome, effectiveAt: '2026-11-25T09:30:00.000Z', expiresAt: NOW };
    const c = { ...a, id: 'c', status: 'pending_confirmation' as OverrideStatus, effectiveAt: null };
    expect(holdingOverride([a, b, c], '2026-11-25T09:59:00.000Z')?.id).toBe('b');
    expect(holdingOverride([a, b, c], NOW)?.id).toBe('a');
    expect(holdingOverride([c], NOW)).toBeUndefined();
    // On equal effective times the later in the list (the later ledger entry) wins.
    expect(holdingOverride([a, { ...a, id: 'd' }], NOW)?.id).toBe('d');
  });

  it('agrees with effectiveOutcome on random override sets', () => {
    const g = new Gen(7);
    const times = ['2026-11-25T08:00:00.000Z', '2026-11-25T09:00:00.000Z', NOW, '2026-11-25T11:00:00.000Z'];
    for (let i = 0; i < 2000; i++) {
      const overrides = Array.from({ length: g.int(5) }, () => ({
        newOutcome: g.pick(OUTCOMES),
        status: g.pick(OVERRIDE_STATUSES),
        effectiveAt: g.chance(0.2) ? null : g.pick(times),
        expiresAt: g.chance(0.4) ? null : g.pick(times),
      }));
      const outcome = g.pick(OUTCOMES);
      const now = g.pick(times);
      const expected = effectiveOutcome({ outcome, escalationResolution: null, conditions: [], overrides, now });
      expect(holdingOverride(overrides, now)?.newOutcome ?? outcome).toBe(expected);
    }
  });
});

describe('tokenEffect', () => {
  const live = (conditions: string[] = []) => ({ live: true, conditions });
  const revoked = { live: false, conditions: [] };

  it('denied and escalated revoke a live token and nothing else', () => {
    for (const after of ['denied', 'escalated'] as const) {
      expect(tokenEffect({ after, conditions: [], token: live(), mayMint: true })).toBe('revoke');
      expect(tokenEffect({ after, conditions: [], token: revoked, mayMint: true })).toBe('none');
      expect(tokenEffect({ after, conditions: [], token: null, mayMint: true })).toBe('none');
    }
  });

  it('approved mints for a decision without a token, keeps a live one, never replaces a revoked one', () => {
    expect(tokenEffect({ after: 'approved', conditions: [], token: null, mayMint: true })).toBe('mint');
    expect(tokenEffect({ after: 'approved', conditions: [], token: null, mayMint: false })).toBe('none');
    expect(tokenEffect({ after: 'approved', conditions: [], token: live(['redact:pii']), mayMint: true })).toBe('none');
    expect(tokenEffect({ after: 'approved', conditions: [], token: revoked, mayMint: true })).toBe('none');
  });

  it('conditional keeps only a token carrying exactly its obligations', () => {
    const cnd = ['max_rows:100', 'redact:pii'];
    expect(tokenEffect({ after: 'conditional', conditions: cnd, token: null, mayMint: true })).toBe('mint');
    expect(tokenEffect({ after: 'conditional', conditions: cnd, token: live(['redact:pii', 'max_rows:100']), mayMint: true })).toBe('none');
    expect(tokenEffect({ after: 'conditional', conditions: cnd, token: live(['redact:pii']), mayMint: true })).toBe('revoke');
    expect(tokenEffect({ after: 'conditional', conditions: cnd, token: live(), mayMint: false })).toBe('revoke');
    expect(tokenEffect({ after: 'conditional', conditions: cnd, token: revoked, mayMint: true })).toBe('none');
  });

  it('allowsAction is true exactly for approved and conditional', () => {
    expect(OUTCOMES.filter(allowsAction)).toEqual(['approved', 'conditional']);
  });
});

describe('grantsPermission', () => {
  const pairs = (fromOverride: boolean) =>
    OUTCOMES.flatMap((from) => OUTCOMES.filter((to) => grantsPermission(from, to, fromOverride)).map((to) => `${from}→${to}`));

  it('is true exactly from denied to an outcome that allows the action, when no override holds the decision', () => {
    expect(pairs(false)).toEqual(['denied→approved', 'denied→conditional']);
  });

  it('also from an escalation an override made (it may stand over a denial)', () => {
    expect(pairs(true)).toEqual(['denied→approved', 'denied→conditional', 'escalated→approved', 'escalated→conditional']);
  });
});
