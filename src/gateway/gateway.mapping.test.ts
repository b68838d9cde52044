import { describe, expect, it } from 'vitest';
import type { GatewayConfigFile, ResolvedToolSettings } from './gateway.config.js';
import { measureJson } from './gateway.json.js';
import { actorFor, ARGUMENTS_MAX_DEPTH, buildDecideBody, checkArguments } from './gateway.mapping.js';

const settings = (over: Partial<ResolvedToolSettings> = {}): ResolvedToolSettings => ({
  proposedAction: 'crm.list_orders',
  tool: 'crm',
  dataClasses: undefined,
  riskLevel: undefined,
  contextArgs: [],
  escalationWaitS: 10,
  includeArgumentsInAudit: false,
  configured: true,
  ...over,
});

/** A value nested `n` levels deep, built without recursion. */
function nested(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

describe('mapping an MCP call to POST /decide', () => {
  it('puts only the allow-listed arguments into context', () => {
    const r = buildDecideBody({
      settings: settings({ contextArgs: ['customer_id', 'absent'], dataClasses: ['pii'], riskLevel: 3 }),
      actor: 'ai_agent:support-bot',
      args: { customer_id: 'c-1', secret: 'never leaves', limit: 5 },
    });
    expect(r).toEqual({
      ok: true,
      body: { actor: 'ai_agent:support-bot', proposed_action: 'crm.list_orders', tool: 'crm', data_classes: ['pii'], risk_level: 3, context: { customer_id: 'c-1' } },
    });
    const none = buildDecideBody({ settings: settings(), actor: 'a', args: { secret: 's' } });
    expect(none.ok && none.body).toEqual({ actor: 'a', proposed_action: 'crm.list_orders', tool: 'crm' });
  });

  it("refuses allow-listed arguments beyond Lexecon's context limits (64 KiB, depth 5)", () => {
    const big = buildDecideBody({ settings: settings({ contextArgs: ['q'] }), actor: 'a', args: { q: 'x'.repeat(70_000) } });
    expect(big).toMatchObject({ ok: false, reason: expect.stringMatching(/65536 bytes/) });
    // context {q: {a:{a:{a:1}}}} is depth 4; one more level is 5 (allowed), two more 6 (refused).
    expect(buildDecideBody({ settings: settings({ contextArgs: ['q'] }), actor: 'a', args: { q: nested(4) as object } }).ok).toBe(true);
    expect(buildDecideBody({ settings: settings({ contextArgs: ['q'] }), actor: 'a', args: { q: nested(5) as object } })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/depth 5/),
    });
  });

  it('checks the arguments: size, depth (a million levels, no stack overflow), not JSON', () => {
    expect(checkArguments({ a: 'x'.repeat(100) }, 1000)).toEqual({ ok: true });
    expect(checkArguments({ a: 'x'.repeat(2000) }, 1000)).toMatchObject({ ok: false, reason: expect.stringMatching(/larger than 1000 bytes/) });
    expect(checkArguments(nested(ARGUMENTS_MAX_DEPTH - 1) as object, 1e9)).toEqual({ ok: true });
    expect(checkArguments(nested(1_000_000) as object, 1e9)).toMatchObject({ ok: false, reason: expect.stringMatching(/nested more than/) });
    expect(checkArguments({ s: 'a\ud800b' }, 1e6)).toMatchObject({ ok: false, reason: expect.stringMatching(/lone surrogate/) });
    expect(checkArguments({ n: Number.NaN }, 1e6)).toMatchObject({ ok: false, reason: expect.stringMatching(/not plain JSON/) });
    expect(checkArguments([1] as unknown, 1e6)).toMatchObject({ ok: false });
  });

  it('measures the compact JSON size exactly', () => {
    for (const v of [{ a: [1, 'é', null, true, false, { b: 'x"y' }] }, [], {}, 'str', [[[]]]]) {
      expect(measureJson(v, { maxBytes: 1e9, maxDepth: 100 }).bytes).toBe(Buffer.byteLength(JSON.stringify(v)));
    }
  });

  it('the actor: fixed, or the prefix and the client name (refused without one)', () => {
    expect(actorFor({ actor: 'ai_agent:x' } as GatewayConfigFile, 'whatever')).toEqual({ ok: true, actor: 'ai_agent:x' });
    const fromClient = { actor_from_client: { prefix: 'ai_agent:' } } as GatewayConfigFile;
    expect(actorFor(fromClient, 'support-bot')).toEqual({ ok: true, actor: 'ai_agent:support-bot' });
    expect(actorFor(fromClient, undefined).ok).toBe(false);
  });
});
