import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * `GET /decide/:decision_id?wait=N` re-checks the caller's access after the wait, before it answers
 * (issue 14 C6): a key revoked or a session ended while it waited gets no decision and no token.
 */

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

/** Let the long-poll reach its wait (it is waiting once a listener is on the decision). */
async function waiting(t: TestApp, decisionId: string): Promise<void> {
  const emitter = (t.services.changes as unknown as { emitter: NodeJS.EventEmitter }).emitter;
  for (let i = 0; i < 200 && emitter.listenerCount(decisionId) === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(emitter.listenerCount(decisionId)).toBe(1);
}

describe('a long-poll re-checks access after its wait', () => {
  let t: TestApp;
  let admin: string;
  let approver: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    expect((await post(t, '/policies/load', await seedSession(t, 'governance_lead'), SEED)).statusCode).toBe(201);
    admin = await seedSession(t, 'admin');
    approver = await createTestUser(t, 'approver');
  });
  afterAll(() => t.app.close());

  const approve = async (escalationId: string) => {
    const r = await post(t, `/api/governance/escalation/${escalationId}/resolve`, approver.token, { outcome: 'approved', notes: 'export scope checked' });
    expect(r.statusCode).toBe(201);
    expect(r.json().token_jti).toMatch(/^tok_/);
  };

  it('an API key revoked while it waited gets 401, not the token the approval minted', async () => {
    const key = await createAgentKey(t);
    const d = (await post(t, '/decide', key.secret, BULK)).json();
    expect(d.outcome).toBe('escalated');
    const poll = get(t, `/decide/${d.decision_id}?wait=20`, key.secret);
    await waiting(t, d.decision_id);
    expect((await t.app.inject({ method: 'DELETE', url: `/auth/api-keys/${key.keyId}`, headers: bearer(admin) })).statusCode).toBe(200);
    await approve(d.escalation_id);
    const answer = await poll;
    expect(answer.statusCode).toBe(401);
    expect(answer.json().error.code).toBe('UNAUTHORIZED');
    expect(answer.body).not.toContain('cap_');
  });

  it('a key still active gets the token at the approval (the re-check does not get in the way)', async () => {
    const key = await createAgentKey(t);
    const d = (await post(t, '/decide', key.secret, BULK)).json();
    const poll = get(t, `/decide/${d.decision_id}?wait=20`, key.secret);
    await waiting(t, d.decision_id);
    await approve(d.escalation_id);
    const answer = await poll;
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ effective_outcome: 'approved', capability_token: expect.stringMatching(/^cap_/) });
  });

  it('a session ended while it waited gets 401', async () => {
    const agent = await createAgentKey(t);
    const d = (await post(t, '/decide', agent.secret, BULK)).json();
    const auditor = await createTestUser(t, 'auditor');
    const poll = get(t, `/decide/${d.decision_id}?wait=20`, auditor.token);
    await waiting(t, d.decision_id);
    expect((await post(t, '/auth/logout', auditor.token)).statusCode).toBe(204);
    await approve(d.escalation_id);
    expect((await poll).statusCode).toBe(401);
  });
});
