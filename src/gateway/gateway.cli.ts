/**
 * `lexecon mcp-gateway`: the MCP governance gateway as a command. A separate program in the same
 * package: it uses only the Lexecon client (src/client) and the MCP SDK, never server code.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { LexeconClient } from '../client/index.js';
import { VERSION } from '../platform/version.js';
import { noAudit, openAuditLog } from './gateway.audit.js';
import {
  DEFAULT_LEXECON_TIMEOUT_MS,
  DEFAULT_MAX_ARGUMENT_BYTES,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  GatewayConfigError,
  readGatewayConfigFile,
  type GatewayConfigFile,
  type UpstreamConfig,
} from './gateway.config.js';
import { serveHttp, serveStdio, type GatewayCore } from './gateway.proxy.js';
import { Upstreams } from './gateway.upstream.js';

const EXIT_ERROR = 2;

interface GatewayOptions {
  config: string;
  listen: string;
  auditLog?: string;
  lexeconUrl?: string;
}

/** A usage or configuration error: printed on stderr, exit 2. */
class GatewayUsageError extends Error {}

function log(line: string): void {
  process.stderr.write(`lexecon mcp-gateway: ${line}\n`);
}

/** The upstreams: the config's, plus the one after `--` (named upstream_name, else the command's basename). */
export function upstreamsOf(config: GatewayConfigFile, command: string[]): Record<string, UpstreamConfig> {
  const all: Record<string, UpstreamConfig> = { ...(config.upstreams ?? {}) };
  if (command.length > 0) {
    const name = config.upstream_name ?? path.basename(command[0]!).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
    if (all[name] !== undefined) throw new GatewayUsageError(`the upstream after -- is named ${name}, as one in the config's upstreams: set upstream_name`);
    all[name] = { command: command[0]!, args: command.slice(1) };
  }
  if (Object.keys(all).length === 0) throw new GatewayUsageError('no upstream MCP server: give "upstreams" in the config or a command after --');
  return all;
}

/** The agent-side listen address: "stdio", or http://127.0.0.1:PORT/path (loopback only). */
export function parseListen(listen: string): 'stdio' | URL {
  if (listen === 'stdio') return 'stdio';
  let url: URL;
  try {
    url = new URL(listen);
  } catch {
    throw new GatewayUsageError(`--listen ${listen}: give "stdio" or http://127.0.0.1:PORT/mcp`);
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) {
    throw new GatewayUsageError(`--listen ${listen}: only http://127.0.0.1:PORT/… (the agent side has no authentication: loopback only)`);
  }
  return url;
}

async function runGateway(opts: GatewayOptions, command: string[]): Promise<void> {
  const config = readGatewayConfigFile(opts.config);
  const listen = parseListen(opts.listen);
  const upstreamConfigs = upstreamsOf(config, command);
  const apiKey = process.env.LEXECON_API_KEY;
  if (apiKey === undefined || apiKey.length === 0) throw new GatewayUsageError('set LEXECON_API_KEY (an agent API key) in the environment');
  const baseUrl = opts.lexeconUrl ?? config.lexecon?.url;
  if (baseUrl === undefined) throw new GatewayUsageError('no Lexecon URL: give lexecon.url in the config or --lexecon-url');

  const lexecon = new LexeconClient({ baseUrl, apiKey, timeoutMs: config.lexecon?.timeout_ms ?? DEFAULT_LEXECON_TIMEOUT_MS, retries: 2 });
  const upstreams = new Upstreams(VERSION, log);
  const audit = opts.auditLog !== undefined ? openAuditLog(opts.auditLog) : noAudit;
  const core: GatewayCore = {
    config,
    lexecon,
    upstreams,
    audit,
    upstreamTimeoutMs: config.upstream_timeout_ms ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    maxArgumentBytes: config.max_argument_bytes ?? DEFAULT_MAX_ARGUMENT_BYTES,
    version: VERSION,
    log,
  };
  const shutdown = async () => {
    await upstreams.close();
    audit.close();
  };
  try {
    await upstreams.connect(upstreamConfigs);
  } catch (err) {
    await shutdown();
    throw new GatewayUsageError((err as Error).message);
  }
  log(`${upstreams.count} upstream(s) connected: ${Object.keys(upstreamConfigs).join(', ')}; Lexecon at ${baseUrl}`);
  if (listen === 'stdio') {
    await serveStdio(core);
    await shutdown();
    return;
  }
  const served = await serveHttp(core, listen);
  log(`listening at ${served.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await served.close();
  await shutdown();
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('mcp-gateway')
    .description(
      'The MCP governance gateway: an MCP server to the agent (stdio, or Streamable HTTP on 127.0.0.1) and an MCP client to each upstream MCP server; every tools/call is decided by Lexecon (POST /decide) first and forwarded only when approved or conditional, with the capability token in _meta. LEXECON_API_KEY from the environment only. Exit 2 on a configuration error (every problem listed).',
    )
    .requiredOption('--config <file>', 'the gateway configuration (JSON; see DOCUMENTATION.md "MCP governance gateway")')
    .option('--listen <where>', '"stdio" or http://127.0.0.1:PORT/mcp (port 0: the OS chooses; the URL is printed on stderr)', 'stdio')
    .option('--audit-log <file>', 'append one JSON line per tool call (decision id, outcome, token id, result)')
    .option('--lexecon-url <url>', "the Lexecon server (overrides the config's lexecon.url)")
    .argument('[command...]', 'after --: an upstream MCP server command the gateway spawns (stdio)')
    .action(async (command: string[], opts: GatewayOptions) => {
      try {
        await runGateway(opts, command);
        // Done serving (the agent closed stdio, or a signal): exit even if an idle socket lingers.
        process.exit(process.exitCode ?? 0);
      } catch (err) {
        if (err instanceof GatewayConfigError) {
          process.stderr.write(`lexecon mcp-gateway: invalid configuration ${err.message}\n`);
        } else if (err instanceof GatewayUsageError) {
          log(err.message);
        } else {
          throw err;
        }
        process.exitCode = EXIT_ERROR;
      }
    });
}
