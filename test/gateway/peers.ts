/**
 * Real peers for the gateway's end-to-end tests: a Lexecon server process (`src/server.ts`), an agent
 * API key, an approver, and a policy that approves, denies, escalates or makes conditional per action.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { bearerJson, run, type Proc } from '../helpers/processes.js';

export { BASE_ENV, run, type Proc } from '../helpers/processes.js';

/** Resolves with the first match of `pattern` in the output of `output()` (rejects after `timeoutMs`). */
export function waitForText(output: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const m = pattern.exec(output());
      if (m) {
        clearInterval(poll);
        resolve(m);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`timed out waiting for ${pattern}:\n${output()}`));
      }
    }, 25);
  });
}

/** `node --import tsx <file> …` from the repository root. */
export const tsxArgs = (file: string, args: string[] = []) => ['--import', 'tsx', file, ...args];

export const GATEWAY_POLICY = {
  policy_id: 'mcp-gateway-test',
  mode: 'strict',
  terms: [
    { id: 'agents', type: 'actor', value: 'ai_agent:*' },
    { id: 'lookup', type: 'action', value: 'crm.lookup_customer' },
    { id: 'orders', type: 'action', value: 'crm.list_orders' },
    { id: 'delete', type: 'action', value: 'crm.delete_records' },
    { id: 'ping', type: 'action', value: 'crm.ping' },
    { id: 'flaky', type: 'action', value: 'flaky.*' },
    { id: 'human_approval', type: 'context' },
  ],
  relations: [
    { type: 'permits', source: 'agents', target: 'lookup' },
    { type: 'permits', source: 'agents', target: 'orders', conditions: ['max_rows:2', 'redact:email'] },
    { type: 'forbids', source: 'agents', target: 'delete', justification: 'deletion goes through the data-protection team' },
    { type: 'permits', source: 'agents', target: 'ping' },
    { type: 'requires', source: 'ping', target: 'human_approval', justification: 'a person signs off' },
    { type: 'permits', source: 'agents', target: 'flaky' },
  ],
};

export interface Lexecon {
  proc: Proc;
  baseUrl: string;
  adminToken: string;
  apiKey: string;
  approverToken: () => Promise<string>;
  api: (method: string, url: string, token: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>;
}

const ADMIN_PASSWORD = 'violet-harbour-42-trombone';
const APPROVER_PASSWORD = 'copper-lantern-97-meadow';

/** A Lexecon server process with the test policy loaded, an agent key for `ai_agent:*` and an approver. */
export async function startLexecon(): Promise<Lexecon> {
  const proc = run(process.execPath, tsxArgs('src/server.ts'), {
    LEXECON_PORT: '0',
    LEXECON_DATA_DIR: tempDir('lexecon-gw-'),
    LEXECON_LOG_LEVEL: 'info',
    LEXECON_BOOTSTRAP_ADMIN: `root:${ADMIN_PASSWORD}`,
    LEXECON_MFA_REQUIRED_ROLES: '',
  });
  const baseUrl = (await waitForText(proc.output, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
  const api = (method: string, url: string, token: string, body?: unknown) => bearerJson(baseUrl, method, url, token, body);
  const login = async (username: string, password: string) => {
    const res = await fetch(`${baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return ((await res.json()) as { token: string }).token;
  };
  const adminToken = await login('root', ADMIN_PASSWORD);
  const key = await api('POST', '/auth/api-keys', adminToken, { name: 'mcp-gateway', actor_pattern: 'ai_agent:*' });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  const approver = await api('POST', '/auth/users', adminToken, {
    username: 'alice',
    email: 'alice@example.com',
    password: APPROVER_PASSWORD,
    role: 'approver',
  });
  expect(approver.status, JSON.stringify(approver.body)).toBe(201);
  const loaded = await api('POST', '/policies/load', adminToken, GATEWAY_POLICY);
  expect(loaded.status, JSON.stringify(loaded.body)).toBe(201);
  return { proc, baseUrl, adminToken, apiKey: key.body.api_key as string, approverToken: () => login('alice', APPROVER_PASSWORD), api };
}

/** Lines of a JSONL file (none when it does not exist yet). */
export function jsonLines(file: string): Array<Record<string, any>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Write a JSON file in a fresh temporary directory; its path. */
export function writeJsonFile(name: string, value: unknown, dir = tempDir('lexecon-gw-cfg-')): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}
