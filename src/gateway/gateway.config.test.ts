import { describe, expect, it } from 'vitest';
import { DEFAULT_ESCALATION_WAIT_S, parseGatewayConfig, resolveToolSettings, type GatewayConfigFile } from './gateway.config.js';

describe('gateway config', () => {
  it('accepts a complete config', () => {
    const r = parseGatewayConfig({
      lexecon: { url: 'http://127.0.0.1:8000', timeout_ms: 5000 },
      actor: 'ai_agent:support-bot',
      upstreams: { crm: { command: 'node', args: ['x.js'], env: { A: 'b' } }, web: { url: 'http://127.0.0.1:9000/mcp' } },
      tools: { 'crm.list_orders': { context_args: ['customer_id'], data_classes: ['pii'], risk_level: 2, on_unavailable: 'refuse' } },
      defaults: { escalation_wait_s: 30 },
      unknown_tools: 'decide',
      hide_forbidden_tools: false,
      max_argument_bytes: 1000,
      upstream_timeout_ms: 2000,
    });
    expect(r.ok).toBe(true);
  });

  it('lists every problem with its path, "allow" and an API key in the file refused with the reason', () => {
    const r = parseGatewayConfig({
      lexecon: { url: 'not a url', api_key: 'k' },
      upstreams: { 'bad.name': { command: 'x' }, crm: { nope: 1 } },
      tools: { 'crm.x': { on_unavailable: 'allow', risk_level: 9 }, nodot: {} },
      unknown_tools: 'maybe',
      extra: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '$.lexecon.url',
        '$.lexecon.api_key',
        '$.actor',
        '$.upstreams.crm',
        '$.tools["crm.x"].on_unavailable',
        '$.tools["crm.x"].risk_level',
        '$.tools.nodot',
        '$.unknown_tools',
      ]),
    );
    expect(r.problems.some((p) => p.path.startsWith('$.upstreams') && /server name/.test(p.message))).toBe(true);
    expect(r.problems.find((p) => p.path === '$.tools["crm.x"].on_unavailable')!.message).toMatch(/fails closed/);
    expect(r.problems.find((p) => p.path === '$.lexecon.api_key')!.message).toMatch(/LEXECON_API_KEY/);
    expect(r.problems.length).toBeGreaterThanOrEqual(9);
  });

  it('both actor and actor_from_client, or neither, is a problem', () => {
    expect(parseGatewayConfig({ actor: 'a', actor_from_client: { prefix: 'ai_agent:' } }).ok).toBe(false);
    expect(parseGatewayConfig({ actor_from_client: { prefix: 'ai_agent:' } }).ok).toBe(true);
  });

  it('resolves a tool over the defaults, with documented defaults', () => {
    const config = {
      actor: 'a',
      tools: { 'crm.list_orders': { proposed_action: 'list_orders', context_args: ['customer_id'] } },
      defaults: { data_classes: ['pii'], escalation_wait_s: 5, context_args: ['x'] },
    } as GatewayConfigFile;
    expect(resolveToolSettings(config, 'crm', 'list_orders')).toEqual({
      proposedAction: 'list_orders',
      tool: 'crm',
      dataClasses: ['pii'],
      riskLevel: undefined,
      contextArgs: ['customer_id'],
      escalationWaitS: 5,
      includeArgumentsInAudit: false,
      configured: true,
    });
    const other = resolveToolSettings({ actor: 'a' } as GatewayConfigFile, 'crm', 'ping');
    expect(other).toMatchObject({ proposedAction: 'crm.ping', tool: 'crm', contextArgs: [], escalationWaitS: DEFAULT_ESCALATION_WAIT_S, configured: false });
  });
});
