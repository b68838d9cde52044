import { describe, expect, it } from 'vitest';
import {
  alwaysTwoPerson,
  checkExpiry,
  checkJustification,
  checkReason,
  decisionQuery,
  issuingSeq,
  localToIso,
  NO_FILTERS,
  overrideTargets,
  parseConditions,
  tokenStatus,
} from './decisions.js';
import { canOverride, canReadLedger, canResume, canStop, navFor } from './roles.js';

const NOW = Date.parse('2026-11-25T10:00:00.000Z');
const TOKEN = { jti: 'tok_1', expires_at: '2026-11-25T10:05:00.000Z', revoked: false };

describe('decisionQuery', () => {
  it('sends only the filters set, trimmed, with the page size and the cursor', () => {
    expect(decisionQuery(NO_FILTERS)).toEqual({ ok: true, query: { limit: '50' } });
    expect(decisionQuery({ ...NO_FILTERS, actor: '  ai_agent:x ', outcome: 'denied' }, 'dec_01ABC', 10)).toEqual({
      ok: true,
      query: { limit: '10', actor: 'ai_agent:x', outcome: 'denied', cursor: 'dec_01ABC' },
    });
  });
  it('turns local times into UTC instants (the viewer zone, as the browser reads them)', () => {
    const r = decisionQuery({ ...NO_FILTERS, since: '2026-11-25T10:00', until: '2026-11-26T10:00' });
    expect(r).toEqual({ ok: true, query: { limit: '50', since: new Date('2026-11-25T10:00').toISOString(), until: new Date('2026-11-26T10:00').toISOString() } });
  });
  it('refuses an unknown outcome, a non-time, an empty window and an over-long actor', () => {
    expect(decisionQuery({ ...NO_FILTERS, outcome: 'maybe' })).toMatchObject({ ok: false, field: 'outcome' });
    expect(decisionQuery({ ...NO_FILTERS, since: 'yesterday' })).toMatchObject({ ok: false, field: 'since' });
    expect(decisionQuery({ ...NO_FILTERS, since: '2026-11-25T10:00', until: '2026-11-25T10:00' })).toMatchObject({ ok: false, field: 'until' });
    expect(decisionQuery({ ...NO_FILTERS, actor: 'a'.repeat(256) })).toMatchObject({ ok: false, field: 'actor' });
  });
  it('localToIso refuses anything but a datetime-local value', () => {
    expect(localToIso('2026-02-30T10:00')).toBeDefined(); // the Date rolls over, as the input element prevents
    expect(localToIso('2026-11-25')).toBeUndefined();
    expect(localToIso('2026-11-25T10:00Z')).toBeUndefined();
  });
});

describe('issuingSeq', () => {
  it('finds the first entry naming the jti as token_jti or token_issued', () => {
    expect(issuingSeq('tok_1', [{ seq: 9, data: { token_issued: 'tok_1' } }, { seq: 4, data: { token_jti: 'tok_1' } }], [4])).toEqual({ exact: 4 });
    expect(issuingSeq('tok_1', [{ seq: 4, data: { token_jti: null } }, { seq: 7, data: { token_issued: 'tok_1' } }], [4])).toEqual({ exact: 7 });
  });
  it('falls back on the highest lower bound', () => {
    expect(issuingSeq('tok_1', [{ seq: 4, data: { token_jti: 'tok_2' } }], [4, 11])).toEqual({ atLeast: 11 });
  });
});

describe('tokenStatus', () => {
  const base = { token: TOKEN, tokensInvalidBefore: null, issued: { exact: 4 }, explicitRevocation: false, now: NOW };
  const revoked = { ...TOKEN, revoked: true };
  it('valid, none, expired; a token the API does not report revoked is not invalid by any stop', () => {
    expect(tokenStatus(base).status).toBe('valid');
    expect(tokenStatus({ ...base, token: null }).status).toBe('none');
    expect(tokenStatus({ ...base, now: Date.parse(TOKEN.expires_at) }).status).toBe('expired');
    expect(tokenStatus({ ...base, tokensInvalidBefore: 9, issued: { exact: 12 } }).status).toBe('valid');
  });
  it('an explicit revocation in the ledger reads revoked, first (as the server verifies)', () => {
    expect(tokenStatus({ ...base, token: revoked, explicitRevocation: true }).status).toBe('revoked');
    expect(tokenStatus({ ...base, token: revoked, explicitRevocation: true, tokensInvalidBefore: 9 }).status).toBe('revoked');
    expect(tokenStatus({ ...base, token: revoked, explicitRevocation: null }).status).toBe('revoked');
  });
  it('invalid by a stop whose entry follows the issuing entry (ledger order), whatever the clock', () => {
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 5 }).status).toBe('invalid_by_stop');
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 5, explicitRevocation: null }).status).toBe('invalid_by_stop');
    // No explicit revocation in the full ledger range: the stop is the only cause left.
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 5, issued: { atLeast: 4 } }).status).toBe('invalid_by_stop');
    // The stop counts before expiry, as the server checks it.
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 5, now: NOW + 3_600_000 }).status).toBe('invalid_by_stop');
  });
  it('says undetermined when the evidence cannot tell a revocation from a stop', () => {
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 9, issued: { atLeast: 4 }, explicitRevocation: null }).status).toBe('undetermined');
    // A stop before the issuing entry does not cover it: the API's "revoked" is then a revocation.
    expect(tokenStatus({ ...base, token: revoked, tokensInvalidBefore: 3, issued: { exact: 4 }, explicitRevocation: null }).status).toBe('revoked');
  });
});

describe('override checks', () => {
  it('counts the justification once trimmed, as the server does', () => {
    expect(checkJustification('  too short  ')).toEqual({ ok: false, length: 9, message: '9 of at least 20 characters: 11 more needed.' });
    expect(checkJustification('x'.repeat(20)).ok).toBe(true);
    expect(checkJustification(` ${'x'.repeat(19)} `).ok).toBe(false);
    expect(checkJustification('x'.repeat(4001)).ok).toBe(false);
  });
  it('an expiry is optional, in the future, at most 90 days ahead', () => {
    expect(checkExpiry('', NOW)).toEqual({ ok: true, iso: undefined });
    const local = (ms: number) => {
      const d = new Date(ms);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
    };
    expect(checkExpiry(local(NOW + 86_400_000), NOW)).toEqual({ ok: true, iso: new Date(NOW + 86_400_000).toISOString() });
    expect(checkExpiry(local(NOW - 60_000), NOW)).toMatchObject({ ok: false, message: 'The expiry must be in the future.' });
    expect(checkExpiry(local(NOW + 91 * 86_400_000), NOW)).toMatchObject({ ok: false });
    expect(checkExpiry('soon', NOW)).toMatchObject({ ok: false });
  });
  it('offers every outcome but the effective one; a denial to permission always takes two people', () => {
    expect(overrideTargets('approved')).toEqual(['denied', 'escalated', 'conditional']);
    expect(alwaysTwoPerson('denied', 'approved')).toBe(true);
    expect(alwaysTwoPerson('denied', 'escalated')).toBe(false);
    expect(alwaysTwoPerson('approved', 'denied')).toBe(false);
  });
  it('a stop or resume needs a reason', () => {
    expect(checkReason('   ').ok).toBe(false);
    expect(checkReason('agent misbehaving').ok).toBe(true);
    expect(checkReason('x'.repeat(2001)).ok).toBe(false);
  });
});

describe('roles of screens 3-5 (API_REFERENCE role table)', () => {
  it('overrides: executive and admin; stop: operator, executive, admin; resume: executive and admin', () => {
    const roles = ['admin', 'governance_lead', 'approver', 'executive', 'operator', 'auditor', 'agent'];
    expect(roles.filter(canOverride)).toEqual(['admin', 'executive']);
    expect(roles.filter(canStop)).toEqual(['admin', 'executive', 'operator']);
    expect(roles.filter(canResume)).toEqual(['admin', 'executive']);
    expect(roles.filter(canReadLedger)).toEqual(roles.slice(0, 6));
  });
  it('navigation: decisions for every human role, stop / resume only for those who may use it', () => {
    const paths = (r: string) => navFor(r).map((n) => n.path);
    expect(paths('auditor')).toEqual(['/escalations', '/decisions', '/overrides', '/ledger', '/compliance', '/metrics', '/policies', '/account']);
    expect(paths('operator')).toContain('/halt');
    expect(paths('approver')).not.toContain('/halt');
    expect(navFor('executive').find((n) => n.path === '/overrides')?.label).toBe('Override confirmations');
    expect(navFor('auditor').find((n) => n.path === '/overrides')?.label).toBe('Overrides (read only)');
    expect(paths('agent')).not.toContain('/decisions');
  });
});

describe('parseConditions', () => {
  it('one per line, blank lines dropped; none means the decision\'s own', () => {
    expect(parseConditions('  \n ')).toEqual({ ok: true, conditions: undefined });
    expect(parseConditions(' log every access \n\nnotify the DPO\n')).toEqual({ ok: true, conditions: ['log every access', 'notify the DPO'] });
    expect(parseConditions(Array.from({ length: 33 }, (_, i) => `c${i}`).join('\n'))).toMatchObject({ ok: false });
    expect(parseConditions('x'.repeat(257))).toEqual({ ok: false, message: 'Condition 1 is longer than 256 characters.' });
  });
});
