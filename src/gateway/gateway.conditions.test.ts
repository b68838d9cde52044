import { describe, expect, it } from 'vitest';
import { applyToJson, enforceOnResult, parseConditions, REDACTED } from './gateway.conditions.js';
import { tokenJti } from './gateway.audit.js';

describe('conditions the gateway enforces', () => {
  it('parses max_rows and redact, leaves the others to the upstream', () => {
    expect(parseConditions(['max_rows:10', 'redact:email', 'max_rows:3', 'log_access', 'redact:'])).toEqual({
      maxRows: 3,
      redact: ['email'],
      others: ['log_access', 'redact:'],
    });
  });

  it('truncates arrays and redacts keys at any depth, in structuredContent and JSON text', () => {
    const rows = [
      { id: 1, email: 'a@x', nested: { email: 'b@x' } },
      { id: 2, email: 'c@x' },
      { id: 3, email: 'd@x' },
    ];
    const r = enforceOnResult(
      { content: [{ type: 'text', text: JSON.stringify({ rows }) }], structuredContent: { rows } },
      parseConditions(['max_rows:2', 'redact:email']),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const expected = { rows: [{ id: 1, email: REDACTED, nested: { email: REDACTED } }, { id: 2, email: REDACTED }] };
    expect(r.result.structuredContent).toEqual(expected);
    expect(JSON.parse(r.result.content![0]!.text!)).toEqual(expected);
    expect(r.truncated).toBe(2);
    expect(r.redacted).toBe(6);
    expect(JSON.stringify(r.result)).not.toContain('@x');
  });

  it('withholds what it cannot enforce on (fail closed), passes results through when nothing applies', () => {
    const c = parseConditions(['redact:email']);
    expect(enforceOnResult({ content: [{ type: 'text', text: 'email: a@x' }] }, c)).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
    expect(enforceOnResult({ content: [{ type: 'image', data: 'AA', mimeType: 'image/png' }] }, c)).toMatchObject({ ok: false });
    const plain = { content: [{ type: 'text', text: 'hello' }] };
    expect(enforceOnResult(plain, parseConditions(['log_access']))).toEqual({ ok: true, result: plain, truncated: 0, redacted: 0 });
  });

  it('walks a deeply nested value without recursion', () => {
    let v: unknown = { email: 'x' };
    for (let i = 0; i < 200_000; i++) v = [v];
    const stats = { truncated: 0, redacted: 0 };
    applyToJson(v, parseConditions(['redact:email']), stats);
    expect(stats.redacted).toBe(1);
  });

  it('reads the jti of a token, null for anything else', () => {
    const claims = Buffer.from(JSON.stringify({ jti: 'tok_1', v: 1 })).toString('base64url');
    expect(tokenJti(`cap_${claims}_${'A'.repeat(86)}`)).toBe('tok_1');
    expect(tokenJti('cap_x')).toBeNull();
    expect(tokenJti(null)).toBeNull();
  });
});
