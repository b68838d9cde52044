/**
 * Pure: an MCP tool call → the body of Lexecon's POST /decide. Only the allow-listed arguments go into
 * `context`; nothing else of the call leaves the gateway. The server's limits on `context` (64 KiB
 * serialized, depth ≤ 5) are checked here, iteratively, so that an oversized call is refused with a
 * clear message instead of a 400 from the server.
 */
import type { GatewayConfigFile, ResolvedToolSettings } from './gateway.config.js';
import { measureJson } from './gateway.json.js';

/** The server's limits on `context` (API_REFERENCE, POST /decide). */
export const CONTEXT_MAX_BYTES = 64 * 1024;
export const CONTEXT_MAX_DEPTH = 5;
/** Tool arguments nested deeper than this are refused before anything else (the agent's input). */
export const ARGUMENTS_MAX_DEPTH = 64;

/** The POST /decide body the gateway sends (snake_case, as on the wire). */
export interface GatewayDecideBody {
  actor: string;
  proposed_action: string;
  tool: string;
  data_classes?: string[];
  risk_level?: number;
  context?: Record<string, unknown>;
}

export type Mapped = { ok: true; body: GatewayDecideBody } | { ok: false; reason: string };

/** The actor of a call: the configured one, or the prefix + the MCP client's name (the client's claim). */
export function actorFor(config: GatewayConfigFile, clientName: string | undefined): { ok: true; actor: string } | { ok: false; reason: string } {
  if (config.actor !== undefined) return { ok: true, actor: config.actor };
  const prefix = config.actor_from_client?.prefix ?? '';
  if (clientName === undefined || clientName.length === 0) {
    return { ok: false, reason: 'the MCP client sent no clientInfo.name, and the actor is taken from it (actor_from_client)' };
  }
  const actor = `${prefix}${clientName}`;
  if (actor.length > 255) return { ok: false, reason: 'the actor (prefix + the MCP client name) is longer than 255 characters' };
  return { ok: true, actor };
}

/** Checks the tool arguments themselves: size and depth, before anything is decided or forwarded. */
export function checkArguments(args: unknown, maxBytes: number): { ok: true } | { ok: false; reason: string } {
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    return { ok: false, reason: 'the tool arguments must be a JSON object' };
  }
  const m = measureJson(args ?? {}, { maxBytes, maxDepth: ARGUMENTS_MAX_DEPTH });
  if (m.exceeded === 'bytes') return { ok: false, reason: `the tool arguments are larger than ${maxBytes} bytes (max_argument_bytes)` };
  if (m.exceeded === 'depth') return { ok: false, reason: `the tool arguments are nested more than ${ARGUMENTS_MAX_DEPTH} levels deep` };
  if (m.exceeded === 'not_json') return { ok: false, reason: `the tool arguments are not plain JSON: ${m.detail}` };
  return { ok: true };
}

/** The POST /decide body for one call, or why it cannot be asked. */
export function buildDecideBody(input: {
  settings: ResolvedToolSettings;
  actor: string;
  args: Record<string, unknown> | undefined;
}): Mapped {
  const { settings, actor, args } = input;
  const context: Record<string, unknown> = {};
  let any = false;
  for (const name of settings.contextArgs) {
    if (args !== undefined && Object.hasOwn(args, name)) {
      context[name] = args[name];
      any = true;
    }
  }
  if (any) {
    const m = measureJson(context, { maxBytes: CONTEXT_MAX_BYTES, maxDepth: CONTEXT_MAX_DEPTH });
    if (m.exceeded === 'bytes') {
      return { ok: false, reason: `the allow-listed arguments (context_args) exceed Lexecon's context limit of ${CONTEXT_MAX_BYTES} bytes` };
    }
    if (m.exceeded === 'depth') {
      return { ok: false, reason: `the allow-listed arguments (context_args) are nested deeper than Lexecon's context limit (depth ${CONTEXT_MAX_DEPTH}, the context object counting as 1)` };
    }
    if (m.exceeded === 'not_json') return { ok: false, reason: `an allow-listed argument is not plain JSON: ${m.detail}` };
  }
  return {
    ok: true,
    body: {
      actor,
      proposed_action: settings.proposedAction,
      tool: settings.tool,
      ...(settings.dataClasses !== undefined ? { data_classes: settings.dataClasses } : {}),
      ...(settings.riskLevel !== undefined ? { risk_level: settings.riskLevel } : {}),
      ...(any ? { context } : {}),
    },
  };
}
