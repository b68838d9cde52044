/**
 * The gateway's MCP clients, one per upstream server: stdio (the gateway spawns the command) or
 * Streamable HTTP. Lists their tools under the names the agent sees and routes a call back to its server.
 * An upstream that exits is reported on stderr; its calls then fail as MCP error results (never a hang).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './gateway.config.js';

/** A bound on pagination of an upstream's tools/list (a server that never stops paging is cut off). */
const MAX_LIST_PAGES = 100;

export interface Upstream {
  name: string;
  client: Client;
  /** False once its transport closed (a crashed process, a dropped connection). */
  connected: boolean;
}

export interface RoutedTool {
  server: string;
  /** The tool's name at its server. */
  tool: string;
  /** The tool as listed to the agent (renamed `<server>.<tool>` when there are several upstreams). */
  listed: Tool;
}

export class Upstreams {
  private readonly byName = new Map<string, Upstream>();
  /** The tool names the agent sees → where they go; refreshed at every tools/list. */
  private routes = new Map<string, RoutedTool>();

  constructor(
    private readonly version: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Connect to every upstream (in parallel); throws naming the one that failed. */
  async connect(upstreams: Record<string, UpstreamConfig>): Promise<void> {
    await Promise.all(
      Object.entries(upstreams).map(async ([name, cfg]) => {
        const client = new Client({ name: 'lexecon-mcp-gateway', version: this.version });
        const transport: Transport =
          'url' in cfg
            ? new StreamableHTTPClientTransport(new URL(cfg.url))
            : new StdioClientTransport({
                command: cfg.command,
                args: cfg.args ?? [],
                env: { ...getDefaultEnvironment(), ...(cfg.env ?? {}) },
                ...(cfg.cwd !== undefined ? { cwd: cfg.cwd } : {}),
                stderr: 'inherit',
              });
        const upstream: Upstream = { name, client, connected: false };
        client.onclose = () => {
          if (upstream.connected) this.log(`upstream ${name} closed its connection (its calls now fail)`);
          upstream.connected = false;
        };
        client.onerror = (err) => this.log(`upstream ${name}: ${err.message}`);
        try {
          await client.connect(transport);
        } catch (err) {
          throw new Error(`cannot connect to upstream ${name}: ${(err as Error).message}`);
        }
        upstream.connected = true;
        this.byName.set(name, upstream);
      }),
    );
  }

  get(name: string): Upstream | undefined {
    return this.byName.get(name);
  }

  get count(): number {
    return this.byName.size;
  }

  /** Every tool of every connected upstream, as the agent sees it; refreshes the routes. */
  async listTools(signal?: AbortSignal): Promise<RoutedTool[]> {
    const prefixed = this.byName.size > 1;
    const routes = new Map<string, RoutedTool>();
    for (const upstream of this.byName.values()) {
      if (!upstream.connected) continue;
      let cursor: string | undefined;
      try {
        for (let page = 0; page < MAX_LIST_PAGES; page++) {
          const res = await upstream.client.listTools(cursor === undefined ? undefined : { cursor }, { signal });
          for (const tool of res.tools) {
            const name = prefixed ? `${upstream.name}.${tool.name}` : tool.name;
            routes.set(name, { server: upstream.name, tool: tool.name, listed: { ...tool, name } });
          }
          cursor = res.nextCursor;
          if (cursor === undefined) break;
        }
      } catch (err) {
        // One upstream failing does not hide the others' tools; its tools are not listed now.
        if (signal?.aborted) throw err;
        this.log(`upstream ${upstream.name}: tools/list failed: ${(err as Error).message}`);
      }
    }
    this.routes = routes;
    return [...routes.values()];
  }

  /** Where a tool name the agent called goes (the tool list is fetched once when the name is new). */
  async route(name: string, signal?: AbortSignal): Promise<RoutedTool | undefined> {
    const known = this.routes.get(name);
    if (known !== undefined) return known;
    await this.listTools(signal);
    return this.routes.get(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.byName.values()].map((u) => u.client.close()));
  }
}
