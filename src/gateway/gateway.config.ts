/**
 * The gateway's configuration file: one zod schema (snake_case, as on the wire), loaded and validated as
 * a whole so that a malformed file is refused with EVERY problem listed with its path. Pure except for
 * `readGatewayConfigFile`, which reads the file.
 */
import fs from 'node:fs';
import { z } from 'zod';

export const DEFAULT_MAX_ARGUMENT_BYTES = 1024 * 1024;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
export const DEFAULT_LEXECON_TIMEOUT_MS = 10_000;
export const DEFAULT_ESCALATION_WAIT_S = 300;

const RISK_LEVEL = z.number().int().min(1).max(5);

/** `on_unavailable`: only "refuse" exists. "allow" is refused by name, with the reason. */
const onUnavailable = z.unknown().superRefine((value, ctx) => {
  if (value === 'refuse') return;
  ctx.addIssue({
    code: 'custom',
    message:
      value === 'allow'
        ? '"allow" is not accepted: the gateway fails closed (a call Lexecon did not decide is never forwarded); the only value is "refuse"'
        : 'must be "refuse" (the only value: the gateway fails closed)',
  });
}) as unknown as z.ZodType<'refuse'>;

/** The per-tool settings; `defaults` takes the same fields. */
const ToolSettingsSchema = z.strictObject({
  proposed_action: z.string().min(1).max(512).optional(),
  tool: z.string().min(1).max(255).optional(),
  data_classes: z.array(z.string().min(1).max(128)).max(64).optional(),
  risk_level: RISK_LEVEL.optional(),
  context_args: z.array(z.string().min(1).max(256)).max(256).optional(),
  escalation_wait_s: z.number().int().min(0).max(86_400).optional(),
  on_unavailable: onUnavailable.optional(),
  include_arguments_in_audit: z.boolean().optional(),
});
export type ToolSettings = z.infer<typeof ToolSettingsSchema>;

const StdioUpstreamSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().min(1).optional(),
});
const HttpUpstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
});
const UpstreamSchema = z.union([StdioUpstreamSchema, HttpUpstreamSchema], {
  error: 'must be {"command", "args"?, "env"?, "cwd"?} (stdio) or {"url"} (Streamable HTTP)',
});
export type UpstreamConfig = z.infer<typeof UpstreamSchema>;

/** A server name: what the tool names are prefixed with (`<server>.<tool>`), so no dot in it. */
const SERVER_NAME = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a server name is 1-64 letters, digits, "_" or "-"');

export const GatewayConfigSchema = z
  .strictObject({
    lexecon: z
      .strictObject({
        url: z.url({ protocol: /^https?$/ }).optional(),
        timeout_ms: z.number().int().min(100).max(600_000).optional(),
        api_key: z.unknown().optional(),
      })
      .optional(),
    actor: z.string().min(1).max(255).optional(),
    actor_from_client: z.strictObject({ prefix: z.string().max(128) }).optional(),
    upstreams: z.record(SERVER_NAME, UpstreamSchema).optional(),
    upstream_name: SERVER_NAME.optional(),
    tools: z.record(z.string().min(3).max(512), ToolSettingsSchema).optional(),
    defaults: ToolSettingsSchema.optional(),
    unknown_tools: z.enum(['refuse', 'decide']).optional(),
    hide_forbidden_tools: z.boolean().optional(),
    max_argument_bytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
    upstream_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
    api_key: z.unknown().optional(),
  })

export type GatewayConfigFile = z.infer<typeof GatewayConfigSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The checks across fields, on the raw document: run whatever else is wrong with it (zod skips an
 * object's refinements once a field failed), so that every problem is listed at once.
 */
function crossChecks(doc: unknown): ConfigProblem[] {
  if (!isRecord(doc)) return [];
  const out: ConfigProblem[] = [];
  const keyMessage = 'the API key is never read from the file: set LEXECON_API_KEY in the environment';
  if (doc.api_key !== undefined) out.push({ path: '$.api_key', message: keyMessage });
  if (isRecord(doc.lexecon) && doc.lexecon.api_key !== undefined) out.push({ path: '$.lexecon.api_key', message: keyMessage });
  if ((doc.actor === undefined) === (doc.actor_from_client === undefined)) {
    out.push({
      path: '$.actor',
      message: 'give exactly one of "actor" (a fixed actor) or "actor_from_client" ({"prefix"}: the MCP client\'s name)',
    });
  }
  if (isRecord(doc.tools)) {
    for (const name of Object.keys(doc.tools)) {
      const dot = name.indexOf('.');
      if (dot <= 0 || dot === name.length - 1) out.push({ path: jsonPath(['tools', name]), message: 'a tool key is "<server>.<tool>"' });
    }
  }
  return out;
}


/** A problem in the configuration, at a JSON path (`$.tools["crm.x"].risk_level`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class GatewayConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && SIMPLE_KEY.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** An issue's message; for a bad record key, the key's own problem (zod nests it). */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key') return `invalid name: ${issue.issues.map((i) => i.message).join('; ')}`;
  return issue.message;
}

/** Validate a parsed document: the config, or every problem. */
export function parseGatewayConfig(document: unknown): { ok: true; config: GatewayConfigFile } | { ok: false; problems: ConfigProblem[] } {
  const parsed = GatewayConfigSchema.safeParse(document);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: issueMessage(i) }))),
    ...crossChecks(document),
  ];
  if (parsed.success && problems.length === 0) return { ok: true, config: parsed.data };
  return { ok: false, problems };
}

/** Read and validate the file; a GatewayConfigError listing every problem otherwise. */
export function readGatewayConfigFile(file: string): GatewayConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayConfigError(file, [{ path: '$', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new GatewayConfigError(file, [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const result = parseGatewayConfig(document);
  if (!result.ok) throw new GatewayConfigError(file, result.problems);
  return result.config;
}

/** The effective settings of one tool call: its entry over `defaults`, with the documented defaults. */
export interface ResolvedToolSettings {
  proposedAction: string;
  tool: string;
  dataClasses: string[] | undefined;
  riskLevel: number | undefined;
  contextArgs: string[];
  escalationWaitS: number;
  includeArgumentsInAudit: boolean;
  /** False when the tool is not in `tools` (then `unknown_tools` says whether it is decided at all). */
  configured: boolean;
}

export function resolveToolSettings(config: GatewayConfigFile, server: string, tool: string): ResolvedToolSettings {
  const key = `${server}.${tool}`;
  const own = config.tools?.[key];
  const d = config.defaults ?? {};
  const pick = <K extends keyof ToolSettings>(k: K): ToolSettings[K] => (own?.[k] !== undefined ? own[k] : d[k]);
  return {
    proposedAction: pick('proposed_action') ?? key,
    tool: pick('tool') ?? server,
    dataClasses: pick('data_classes'),
    riskLevel: pick('risk_level'),
    contextArgs: pick('context_args') ?? [],
    escalationWaitS: pick('escalation_wait_s') ?? DEFAULT_ESCALATION_WAIT_S,
    includeArgumentsInAudit: pick('include_arguments_in_audit') ?? false,
    configured: own !== undefined,
  };
}
