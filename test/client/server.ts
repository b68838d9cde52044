/**
 * A real Lexecon server for the client tests: the in-process app listening on 127.0.0.1 (port chosen by
 * the OS), the support-agent policy of examples/ loaded, an agent API key and an approver. Its clock is a
 * ManualClock set to the real time, so that tokens it mints are valid for a verifier on the real clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

export const SUPPORT_POLICY = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples/policies/support-agent.json'), 'utf8'));
export const ACTOR = 'ai_agent:support-1';

export interface LiveServer {
  t: TestApp;
  baseUrl: string;
  /** An agent key allowed for the actor pattern (default `ai_agent:support-*`). */
  apiKey: string;
  approver: TestUser;
  admin: string;
  /** An HTTP call as a test's own peer (not through the client under test). */
  api: (method: string, url: string, token: string, body?: unknown) => Promise<{ status: number; body: any }>;
  close: () => Promise<void>;
}

export async function startServer(policy: unknown = SUPPORT_POLICY, actorPattern = 'ai_agent:support-*'): Promise<LiveServer> {
  const t = await buildTestApp({ clock: new ManualClock(Date.now()) });
  const lead = await seedSession(t, 'governance_lead');
  const loaded = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy as object });
  if (loaded.statusCode !== 201) throw new Error(`policy load: ${loaded.statusCode} ${loaded.body}`);
  const admin = await seedSession(t, 'admin');
  const approver = await createTestUser(t, 'approver');
  const { secret } = await createAgentKey(t, actorPattern);
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = address.replace('[::1]', '127.0.0.1');
  const api = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { t, baseUrl, apiKey: secret, approver, admin, api, close: () => t.app.close() };
}
