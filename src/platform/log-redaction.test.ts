import { describe, expect, it } from 'vitest';
import { redactUrl } from './log-redaction.js';

describe('redactUrl', () => {
  it('redacts the values of code, state and token-like parameters, keeps the rest', () => {
    expect(redactUrl('/auth/oidc/sso/callback?code=abc123&state=xyz&iss=https%3A%2F%2Fidp')).toBe(
      '/auth/oidc/sso/callback?code=[redacted]&state=[redacted]&iss=https%3A%2F%2Fidp',
    );
    expect(redactUrl('/x?id_token=a.b.c&Access_Token=t&client_secret=s&limit=5&x=1')).toBe(
      '/x?id_token=[redacted]&Access_Token=[redacted]&client_secret=[redacted]&limit=5&x=1',
    );
    expect(redactUrl('/x?%63ode=secret')).toBe('/x?%63ode=[redacted]');
    expect(redactUrl('/x?code=a&code=b&flag')).toBe('/x?code=[redacted]&code=[redacted]&flag');
  });

  it('leaves URLs without a query, and malformed escapes, in one piece', () => {
    expect(redactUrl('/decide/dec_1')).toBe('/decide/dec_1');
    expect(redactUrl('/x?%E0%A4%A=1&state=s')).toBe('/x?%E0%A4%A=1&state=[redacted]');
  });

  it('is linear: a long query is handled at once', () => {
    const long = `/x?${'a=1&'.repeat(50_000)}code=c`;
    const started = Date.now();
    expect(redactUrl(long).endsWith('code=[redacted]')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
