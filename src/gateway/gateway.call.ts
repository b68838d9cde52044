/**
 * One tools/call through the gateway: route → check the arguments → ask Lexecon (POST /decide) → wait
 * for a person when escalated → forward with the token in `_meta` → enforce the conditions it can →
 * audit. Fails closed at every step: nothing is forwarded that Lexecon did not approve (or approve with
 * conditions), and every failure is an MCP tool error result (`isError: true`), never a hang.
 */
import { LexeconApiError } from '../client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AuditRecord, AuditSink } from './gateway.audit.js';
import { tokenJti } from './gateway.audit.js';
import { resolveToolSettings, type GatewayConfigFile, type ResolvedToolSettings } from './gateway.config.js';
import { enforceOnResult, parseConditions } from './gateway.conditions.js';
import { actorFor, buildDecideBody, checkArguments, type GatewayDecideBody } from './gateway.mapping.js';
import type { Upstreams } from './gateway.upstream.js';

/** The `_meta` keys the gateway sets on a forwarded call (fixed; the example tool server reads them). */
export const META_TOKEN = 'lexecon/capability_token';
export const META_DECISION_ID = 'lexecon/decision_id';
export const META_CONDITIONS = 'lexecon/conditions';

/** What the gateway reads of a Lexecon decision (POST /decide answer, GET /decide/:id record). */
export interface DecisionLike {
  decision_id: string;
  outcome: string;
  reason: string;
  conditions: string[];
  capability_token: string | null;
  escalation_id?: string | null;
}
export interface DecisionRecordLike extends DecisionLike {
  effective_outcome: string;
  escalation: { status: string; resolution: string | null } | null;
}

/** The part of the Lexecon client (`lexecon/client`, LexeconClient) the gateway uses. */
export interface DecisionPort {
  decide(request: GatewayDecideBody, options?: { signal?: AbortSignal }): Promise<DecisionLike>;
  evaluate(request: { actor: string; action: string; data_classes?: string[] }, options?: { signal?: AbortSignal }): Promise<{ outcome: string }>;
  waitForDecision(
    decisionId: string,
    options: { timeoutMs: number; signal?: AbortSignal; pollS?: number; onPoll?: (elapsedMs: number, record: DecisionRecordLike) => void },
  ): Promise<DecisionRecordLike>;
}

export interface CallContext {
  config: GatewayConfigFile;
  lexecon: DecisionPort;
  upstreams: Upstreams;
  audit: AuditSink;
  upstreamTimeoutMs: number;
  maxArgumentBytes: number;
}

export interface CallRequest {
  name: string;
  args: Record<string, unknown> | undefined;
  clientName: string | undefined;
  signal: AbortSignal;
  /** Sends an MCP progress notification, when the agent asked for them (a progressToken). */
  progress?: (progress: number, total: number, message: string) => Promise<void>;
}

/** Outcomes that may be forwarded; anything else is refused. */
const FORWARDABLE = new Set(['approved', 'conditional']);

function errorResult(text: string, decisionId?: string | null): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text }],
    ...(decisionId ? { _meta: { [META_DECISION_ID]: decisionId } } : {}),
  };
}

/** Why Lexecon gave no decision: unreachable or 5xx (fail closed), or a refusal of the request (4xx). */
function lexeconFailure(err: unknown): string {
  if (err instanceof LexeconApiError && err.status < 500) {
    const rid = err.requestId ? `, request ${err.requestId}` : '';
    return `Lexecon refused the decision request: ${err.status} ${err.code}: ${err.message}${rid}`;
  }
  return `Lexecon is unavailable, the call is refused (fail closed): ${err instanceof Error ? err.message : String(err)}`;
}

class Call {
  private readonly started = Date.now();
  private record: Omit<AuditRecord, 'ts' | 'duration_ms'>;

  constructor(
    private readonly ctx: CallContext,
    private readonly req: CallRequest,
  ) {
    this.record = { server: '', tool: req.name, decision_id: null, outcome: null, token_jti: null, forwarded: false, result: 'refused' };
  }

  private finish(result: CallToolResult, patch: Partial<AuditRecord>, settings?: ResolvedToolSettings): CallToolResult {
    const rec: AuditRecord = { ts: new Date().toISOString(), ...this.record, ...patch, duration_ms: Date.now() - this.started };
    if (settings?.includeArgumentsInAudit) rec.arguments = this.req.args ?? {};
    this.ctx.audit.write(rec);
    return result;
  }

  private refuse(reason: string, settings?: ResolvedToolSettings, decisionId?: string | null): CallToolResult {
    return this.finish(errorResult(`lexecon-gateway refused ${this.req.name}: ${reason}`, decisionId), { result: 'refused', reason }, settings);
  }

  async run(): Promise<CallToolResult> {
    const { ctx, req } = this;
    const route = await ctx.upstreams.route(req.name, req.signal).catch(() => undefined);
    if (route === undefined) return this.refuse('unknown tool (no upstream server offers it)');
    this.record.server = route.server;
    this.record.tool = route.tool;
    const settings = resolveToolSettings(ctx.config, route.server, route.tool);
    if (!settings.configured && ctx.config.unknown_tools !== 'decide') {
      return this.refuse(`${route.server}.${route.tool} is not in the gateway's tools (unknown_tools: refuse)`, settings);
    }
    const argsOk = checkArguments(req.args, ctx.maxArgumentBytes);
    if (!argsOk.ok) return this.refuse(argsOk.reason, settings);
    const actor = actorFor(ctx.config, req.clientName);
    if (!actor.ok) return this.refuse(actor.reason, settings);
    const mapped = buildDecideBody({ settings, actor: actor.actor, args: req.args });
    if (!mapped.ok) return this.refuse(mapped.reason, settings);

    let decision: DecisionLike;
    try {
      decision = await ctx.lexecon.decide(mapped.body, { signal: req.signal });
    } catch (err) {
      if (req.signal.aborted) return this.refuse('cancelled by the client while Lexecon decided', settings);
      return this.refuse(lexeconFailure(err), settings);
    }
    this.record.decision_id = decision.decision_id;
    this.record.outcome = decision.outcome;
    if (decision.outcome === 'escalated') {
      const waited = await this.waitForPerson(decision, settings);
      if ('refused' in waited) return waited.refused;
      decision = waited.record;
    }
    if (!FORWARDABLE.has(decision.outcome) || decision.capability_token === null) {
      const why = decision.outcome === 'denied' ? `denied by Lexecon: ${decision.reason}` : `not allowed (${decision.outcome}): ${decision.reason}`;
      return this.refuse(`${why} (decision ${decision.decision_id})`, settings, decision.decision_id);
    }
    return this.forward(route.tool, decision, settings);
  }

  /** Long-poll the escalated decision, bounded by escalation_wait_s, with progress notifications. */
  private async waitForPerson(
    decision: DecisionLike,
    settings: ResolvedToolSettings,
  ): Promise<{ record: DecisionLike } | { refused: CallToolResult }> {
    const { ctx, req } = this;
    const waitS = settings.escalationWaitS;
    const id = decision.decision_id;
    if (waitS === 0) {
      return { refused: this.refuse(`escalated to a person (decision ${id}) and escalation_wait_s is 0`, settings, id) };
    }
    const note = (elapsedMs: number) =>
      req.progress?.(Math.min(waitS, Math.floor(elapsedMs / 1000)), waitS, `waiting for a person to review decision ${id}`).catch(() => undefined);
    await note(0);
    let record: DecisionRecordLike;
    try {
      record = await ctx.lexecon.waitForDecision(id, {
        timeoutMs: waitS * 1000,
        signal: req.signal,
        pollS: Math.max(1, Math.min(10, waitS)),
        onPoll: (elapsedMs) => void note(elapsedMs),
      });
    } catch (err) {
      if (req.signal.aborted) return { refused: this.refuse(`cancelled by the client while waiting for a person (decision ${id})`, settings, id) };
      return { refused: this.refuse(lexeconFailure(err), settings, id) };
    }
    this.record.outcome = record.effective_outcome;
    if (record.effective_outcome === 'escalated') {
      const status = record.escalation?.status;
      const why =
        status === 'resolved'
          ? `the escalation was closed without an approval (${record.escalation?.resolution ?? 'no resolution'})`
          : `no person resolved the escalation within ${waitS} s (escalation_wait_s)`;
      return { refused: this.refuse(`${why} (decision ${id})`, settings, id) };
    }
    return { record: { ...record, outcome: record.effective_outcome } };
  }

  private async forward(tool: string, decision: DecisionLike, settings: ResolvedToolSettings): Promise<CallToolResult> {
    const { ctx, req } = this;
    const token = decision.capability_token!;
    this.record.token_jti = tokenJti(token);
    const conditions = decision.conditions ?? [];
    if (conditions.length > 0) this.record.conditions = conditions;
    if (req.signal.aborted) return this.refuse('cancelled by the client before forwarding', settings, decision.decision_id);
    const upstream = ctx.upstreams.get(this.record.server);
    if (upstream === undefined || !upstream.connected) {
      return this.refuse(`upstream ${this.record.server} is not connected (it exited or dropped the connection)`, settings, decision.decision_id);
    }
    const meta: Record<string, unknown> = { [META_TOKEN]: token, [META_DECISION_ID]: decision.decision_id };
    if (conditions.length > 0) meta[META_CONDITIONS] = conditions;
    let result: CallToolResult;
    try {
      result = (await upstream.client.callTool({ name: tool, arguments: req.args ?? {}, _meta: meta }, undefined, {
        signal: req.signal,
        timeout: ctx.upstreamTimeoutMs,
      })) as CallToolResult;
    } catch (err) {
      const reason = `upstream ${this.record.server} failed: ${(err as Error).message}`;
      return this.finish(errorResult(`lexecon-gateway: ${tool}: ${reason} (decision ${decision.decision_id})`, decision.decision_id), {
        forwarded: true,
        result: 'upstream_error',
        reason,
      }, settings);
    }
    const enforced = enforceOnResult(result, parseConditions(conditions));
    if (!enforced.ok) {
      const reason = `result withheld: ${enforced.reason} (conditions ${conditions.join(', ')})`;
      return this.finish(errorResult(`lexecon-gateway: ${tool}: ${reason} (decision ${decision.decision_id})`, decision.decision_id), {
        forwarded: true,
        result: 'refused',
        reason,
      }, settings);
    }
    const out = enforced.result as CallToolResult;
    out._meta = { ...(out._meta ?? {}), [META_DECISION_ID]: decision.decision_id };
    return this.finish(out, { forwarded: true, result: result.isError ? 'upstream_error' : 'ok' }, settings);
  }
}

/** Handle one tools/call from the agent. Never throws: every failure is an MCP tool error result. */
export async function handleToolCall(ctx: CallContext, req: CallRequest): Promise<CallToolResult> {
  const call = new Call(ctx, req);
  try {
    return await call.run();
  } catch (err) {
    return errorResult(`lexecon-gateway: ${req.name} failed: ${(err as Error).message}`);
  }
}
