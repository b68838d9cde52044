import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recomputeRisk } from '../../src/modules/risk/risk.engine.js';
import { bearer, buildTestApp, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

let t: TestApp;
let lead: string;

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
});
afterAll(() => t.app.close());

const assess = (body: object, token = lead): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url: '/api/governance/risk/assess', headers: bearer(token), payload: body });

describe('POST /api/governance/risk/assess', () => {
  it('scores explicit dimensions exactly (80,60,40,30,20,10 → 47 medium) and ledgers the assessment', async () => {
    const res = await assess({ dimensions: { security: 80, privacy: 60, compliance: 40, operational: 30, reputational: 20, financial: 10 } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ overall_score: 47, risk_level: 'medium', requires_escalation: false, policy_version_hash: null });
    expect(body.assessment_id).toMatch(/^rsk_[0-9A-HJKMNP-TV-Z]{26}$/);
    const entry = (await t.services.ledger.listEntries({ eventType: 'risk_assessed', limit: 10 })).at(-1)!;
    const data = JSON.parse(entry.dataJson);
    expect(data).toMatchObject({ assessment_id: body.assessment_id, overall_score: 47, risk_level: 'medium' });
    expect(data.requested_by).toMatch(/^usr_/);
    // Anyone can recompute the score from the ledger entry alone.
    expect(recomputeRisk(data.factors)).toMatchObject({ overall_score: 47, dimensions: data.dimensions });
  });

  it('adds the active policy’s term annotations to the default factors', async () => {
    const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/enterprise-general.json'), 'utf8'));
    const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy });
    const hash = load.json().version_hash as string;
    const res = await assess({ actor: 'ai_agent:support-1', action: 'bulk_export:customers', data_classes: ['pii'], risk_level: 2 });
    const body = res.json();
    expect(body.policy_version_hash).toBe(hash);
    expect(body.factors).toEqual(
      expect.arrayContaining([
        { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
        { source: 'policy_term', key: 'pii', dimension: 'privacy', value: 70 },
        { source: 'action_bulk', key: 'bulk', dimension: 'operational', value: 50 },
      ]),
    );
    expect(body.dimensions).toEqual({ privacy: 70, operational: 50, reputational: 50 });
    // (70·20 + 50·15 + 50·10) / 45 = 58.8 → 58
    expect(body).toMatchObject({ overall_score: 58, risk_level: 'medium' });
  });

  it('escalates at 80 and floors by risk_level', async () => {
    expect((await assess({ action: 'read:vault', data_classes: ['credentials'] })).json()).toMatchObject({
      overall_score: 90,
      risk_level: 'critical',
      requires_escalation: true,
    });
    const floored = (await assess({ action: 'read:faq', risk_level: 5 })).json();
    expect(floored).toMatchObject({ overall_score: 80, requires_escalation: true });
    expect(floored.factors).toContainEqual({ source: 'risk_level_floor', key: 'risk_level:5', value: 80 });
  });

  it('binds an agent key to its actors, and refuses other roles and bad bodies', async () => {
    const { secret } = await t.services.auth.createApiKey({ name: 'sales', actorPattern: 'ai_agent:sales-*' }, 'system');
    expect((await assess({ actor: 'ai_agent:sales-1', action: 'read:lead' }, secret)).statusCode).toBe(201);
    const other = await assess({ actor: 'ai_agent:ops-1', action: 'read:lead' }, secret);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('ACTOR_NOT_ALLOWED');

    const auditor = await seedSession(t, 'auditor');
    expect((await assess({ action: 'read:x' }, auditor)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/api/governance/risk/assess', payload: {} })).statusCode).toBe(401);

    const empty = await assess({});
    expect(empty.statusCode).toBe(400);
    const bad = await assess({ dimensions: { security: 101, secrecy: 5 }, risk_level: 6, decision_id: 'dec_1' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json().error.details as Array<{ field: string }>).map((d) => d.field)).toEqual(
      expect.arrayContaining(['dimensions.security', 'risk_level', 'decision_id']),
    );
  });

  it('scores with the active policy’s own risk_factors, which replace the default table', async () => {
    const load = (payload: object) => t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload });
    const policy = {
      policy_id: 'telemetry-only',
      terms: [{ term_id: 'agent', term_type: 'actor', value: 'ai_agent:*' }],
      relations: [{ relation_type: 'permits', source: 'agent', target: 'read' }],
      risk_factors: { data_classes: { telemetry: { privacy: 40 }, public: {} }, verbs: { purge: { operational: 90 } }, bulk: {} },
    };
    const bad = await load({ ...policy, risk_factors: { data_classes: { Telemetry: { privacy: 140 } }, verbs: {} } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('POLICY_INVALID');
    expect((bad.json().error.details as Array<{ path: string }>).map((d) => d.path)).toEqual([
      '$.risk_factors.bulk',
      '$.risk_factors.data_classes.Telemetry',
      '$.risk_factors.data_classes.Telemetry.privacy',
    ]);

    const loaded = await load(policy);
    expect(loaded.statusCode).toBe(201);
    expect(loaded.json().warnings.map((w: { path: string }) => w.path)).not.toContain('$.risk_factors');
    const hash = loaded.json().version_hash as string;

    const res = await assess({ actor: 'ai_agent:support-1', action: 'read:metrics', data_classes: ['Telemetry', 'pii'] });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.policy_version_hash).toBe(hash);
    // pii counts only under the default table; telemetry only under this policy's.
    expect(body.factors).toEqual([{ source: 'data_class', key: 'telemetry', dimension: 'privacy', value: 40 }]);
    expect(body).toMatchObject({ dimensions: { privacy: 40 }, overall_score: 40, risk_level: 'medium' });

    // Its verbs replace the default verbs, and its empty bulk raises nothing; data classes alone use it too.
    const purge = (await assess({ action: 'purge_bulk:logs' })).json();
    expect(purge.factors).toEqual([{ source: 'action_verb', key: 'purge', dimension: 'operational', value: 90 }]);
    expect((await assess({ action: 'delete:logs' })).json()).toMatchObject({ factors: [], overall_score: 1, risk_level: 'low' });
    expect((await assess({ data_classes: ['telemetry'] })).json()).toMatchObject({ policy_version_hash: hash, dimensions: { privacy: 40 } });
  });

  it('decision_id: unknown → 404; an agent assesses only decisions of actors its key allows (else 404)', async () => {
    const support = await t.services.auth.createApiKey({ name: 'risk-support', actorPattern: 'ai_agent:support-*' }, 'system');
    const sales = await t.services.auth.createApiKey({ name: 'risk-sales', actorPattern: 'ai_agent:sales-*' }, 'system');
    const decide = async (actor: string, secret: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/decide',
        headers: bearer(secret),
        payload: { actor, proposed_action: 'read:faq', tool: 'kb' },
      });
      expect(res.statusCode).toBe(200);
      return res.json().decision_id as string;
    };
    const supportDecision = await decide('ai_agent:support-1', support.secret);
    const salesDecision = await decide('ai_agent:sales-1', sales.secret);
    const assessed = async () => (await t.services.ledger.listEntries({ eventType: 'risk_assessed', limit: 1000 })).length;
    const before = await assessed();

    // An id no decision has.
    const unknown = await assess({ decision_id: 'dec_00000000000000000000000000', action: 'read:faq' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
    // Another actor's decision looks unknown to an agent, with or without an actor of its own.
    for (const body of [
      { decision_id: supportDecision, action: 'read:faq' },
      { decision_id: supportDecision, actor: 'ai_agent:sales-1', action: 'read:faq' },
    ]) {
      const res = await assess(body, sales.secret);
      expect(res.statusCode, JSON.stringify(body)).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'NOT_FOUND', message: `Decision '${supportDecision}' not found` });
    }
    // Its explicit actor must be allowed too, whatever the decision.
    const foreignActor = await assess({ decision_id: salesDecision, actor: 'ai_agent:support-1', action: 'read:faq' }, sales.secret);
    expect(foreignActor.statusCode).toBe(403);
    expect(foreignActor.json().error.code).toBe('ACTOR_NOT_ALLOWED');
    // An explicit actor must be the decision's.
    const mismatch = await assess({ decision_id: salesDecision, actor: 'ai_agent:support-1', action: 'read:faq' });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.details).toEqual([expect.objectContaining({ field: 'actor' })]);
    expect(await assessed()).toBe(before);

    // Its own decision: assessed for the decision's actor, and ledgered with it.
    const own = await assess({ decision_id: salesDecision, action: 'read:faq' }, sales.secret);
    expect(own.statusCode).toBe(201);
    const entry = (await t.services.ledger.listEntries({ eventType: 'risk_assessed', limit: 1000 })).at(-1)!;
    expect(JSON.parse(entry.dataJson)).toMatchObject({ decision_id: salesDecision, actor: 'ai_agent:sales-1', requested_by: sales.key.keyId });
    // Humans may assess any decision.
    expect((await assess({ decision_id: supportDecision, action: 'read:faq' })).statusCode).toBe(201);
  });
});
