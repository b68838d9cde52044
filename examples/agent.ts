/**
 * An AI agent that asks Lexecon before it acts, and acts only through the tool gateway with the
 * capability token Lexecon issued.
 *
 *   LEXECON_URL=http://127.0.0.1:8000 LEXECON_API_KEY=lxk_… GATEWAY_URL=http://127.0.0.1:8100 \
 *     npx tsx examples/agent.ts --action read_order --param order_id=o-1001
 *
 * It talks to Lexecon through `LexeconClient` (`lexecon/client`, this package's typed client):
 * 1. `client.decide(…)` (`POST /decide`) with the agent's API key: actor, proposed action, tool (and
 *    resource, data classes, context when given). The client sends a `request_id` and repeats it on a
 *    retry, so a lost answer never makes the server decide twice.
 * 2. Prints the outcome, the reason and the risk.
 * 3. approved / conditional → calls the gateway with the token (`Authorization: Bearer cap_…`); the
 *    conditions (e.g. `redact:pii`) travel inside the token and the gateway honours them.
 *    denied → stops; the gateway is never called.
 *    escalated → `client.waitForDecision(…)` long-polls `GET /decide/:decision_id?wait=30` until a person
 *    resolves the case; if they approve, that answer carries the capability token and the agent goes on
 *    as in the approved case.
 *
 * Options: --actor (ai_agent:support-bot), --action (required), --tool (crm), --resource, --intent,
 * --data-class (repeatable), --context '{"k":"v"}', --param key=value (repeatable, sent to the tool),
 * --max-wait seconds for a human (600).
 * Exit codes: 0 the tool acted; 2 not allowed (denied, or a reviewer did not approve in time);
 * 3 the gateway refused; 1 any other error.
 */
import { parseArgs } from 'node:util';
import { awaitingReview, LexeconApiError, LexeconClient, type DecisionRecord } from 'lexecon/client';

const { values: opts } = parseArgs({
  options: {
    actor: { type: 'string', default: 'ai_agent:support-bot' },
    action: { type: 'string' },
    tool: { type: 'string', default: 'crm' },
    resource: { type: 'string' },
    intent: { type: 'string' },
    'data-class': { type: 'string', multiple: true },
    context: { type: 'string' },
    param: { type: 'string', multiple: true },
    'max-wait': { type: 'string', default: '600' },
  },
});

const LEXECON_URL = process.env.LEXECON_URL ?? 'http://127.0.0.1:8000';
const GATEWAY_URL = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8100';
const API_KEY = process.env.LEXECON_API_KEY;

const say = (line: string) => process.stdout.write(`agent: ${line}\n`);

/** Act through the gateway; the token is the only credential the gateway accepts. */
async function callTool(action: string, token: string): Promise<number> {
  const params = Object.fromEntries((opts.param ?? []).map((p) => [p.split('=')[0], p.slice(p.indexOf('=') + 1)]));
  const res = await fetch(new URL(`/actions/${encodeURIComponent(action)}`, GATEWAY_URL), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const answer = (await res.json()) as { result?: unknown; error?: string };
  if (!res.ok) {
    say(`the gateway refused (${res.status}): ${answer.error}`);
    return 3;
  }
  say(`done: ${JSON.stringify(answer.result)}`);
  return 0;
}

/** Wait for a person: long-poll until the case is resolved (or our patience runs out: then undefined). */
async function awaitReview(client: LexeconClient, decisionId: string, maxWaitS: number): Promise<DecisionRecord | undefined> {
  const record = await client.waitForDecision(decisionId, {
    timeoutMs: maxWaitS * 1000,
    onPoll: (_elapsedMs, r) => {
      if (awaitingReview(r)) say(`still waiting for a reviewer (case ${r.escalation?.status})…`);
    },
  });
  return awaitingReview(record) ? undefined : record;
}

async function main(): Promise<number> {
  if (!API_KEY) throw new Error('set LEXECON_API_KEY to an agent API key (lxk_…)');
  if (!opts.action) throw new Error('--action is required');
  const action = opts.action;
  const client = new LexeconClient({ baseUrl: LEXECON_URL, apiKey: API_KEY });

  const decision = await client.decide({
    actor: opts.actor!,
    proposed_action: action,
    tool: opts.tool!,
    ...(opts.resource ? { resource: opts.resource } : {}),
    ...(opts.intent ? { user_intent: opts.intent } : {}),
    ...(opts['data-class'] ? { data_classes: opts['data-class'] } : {}),
    ...(opts.context ? { context: JSON.parse(opts.context) as Record<string, unknown> } : {}),
  });
  say(`${action} on ${opts.tool} for ${opts.actor}: ${decision.outcome} (${decision.decision_id})`);
  say(`reason: ${decision.reason}`);
  say(`risk: ${decision.risk.overall_score} (${decision.risk.risk_level})`);
  if (decision.conditions.length > 0) say(`conditions: ${decision.conditions.join(', ')}`);

  switch (decision.outcome) {
    case 'approved':
    case 'conditional':
      return callTool(action, decision.capability_token!);
    case 'denied':
      say('not allowed: stopping, the tool is not called');
      return 2;
    case 'escalated': {
      say(`escalated to a person (case ${decision.escalation_id}); waiting for the review`);
      const record = await awaitReview(client, decision.decision_id, Number(opts['max-wait']));
      if (!record) {
        say('no review in time: stopping, the tool is not called');
        return 2;
      }
      const by = record.escalation?.resolved_by ? ` by ${record.escalation.resolved_by}` : '';
      say(`reviewed${by}: ${record.effective_outcome}`);
      if ((record.effective_outcome === 'approved' || record.effective_outcome === 'conditional') && record.capability_token) {
        return callTool(action, record.capability_token);
      }
      say('not approved: stopping, the tool is not called');
      return 2;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    const what = err instanceof LexeconApiError ? `Lexecon answered ${err.status} ${err.code}: ${err.message}` : err.message;
    process.stderr.write(`agent: ${what}\n`);
    process.exit(1);
  },
);
