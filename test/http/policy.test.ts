import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextSchema, DecideBodySchema } from '../../src/modules/decision/decision.schemas.js';
import { EvaluateBodySchema } from '../../src/modules/policy/policy.schemas.js';
import type { EventSink } from '../../src/modules/ledger/ledger.service.js';
import { PolicyRepo } from '../../src/modules/policy/policy.repo.js';
import { PolicyService } from '../../src/modules/policy/policy.service.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const policyFile = (name: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies', name), 'utf8')) as Record<string, unknown>;
const SEED = policyFile('seed-example.json');
const HASH = /^[0-9a-f]{64}$/;

let t: TestApp;
let lead: string;
let auditor: string;

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
  auditor = await seedSession(t, 'auditor');
});
afterAll(() => t.app.close());

function post(url: string, body: unknown, token = lead): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url, headers: bearer(token), payload: body as object });
}
function get(url: string, token = auditor): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url, headers: bearer(token) });
}
async function ledgerEvents(type: string) {
  return (await t.services.ledger.listEntries({ eventType: type, limit: 1000 })).map((e) => JSON.parse(e.dataJson));
}

describe('before any policy is loaded', () => {
  it('lists nothing, and a dry run answers 409 NO_ACTIVE_POLICY', async () => {
    const fresh = await buildTestApp();
    try {
      const token = await seedSession(fresh, 'governance_lead');
      const list = await fresh.app.inject({ method: 'GET', url: '/policies', headers: bearer(token) });
      expect(list.json()).toEqual({ items: [], active_version_hash: null });
      const dry = await fresh.app.inject({
        method: 'POST',
        url: '/policies/evaluate',
        headers: bearer(token),
        payload: { actor: 'ai_agent:x', action: 'read_customer' },
      });
      expect(dry.statusCode).toBe(409);
      expect(dry.json().error.code).toBe('NO_ACTIVE_POLICY');
    } finally {
      await fresh.app.close();
    }
  });
});

describe('POST /policies/load', () => {
  let seedHash: string;

  it('loads, activates and ledgers a policy: 201 with its hash and counts, implicit terms as warnings', async () => {
    const res = await post('/policies/load', SEED);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      policy_id: 'seed-example',
      mode: 'strict',
      terms_loaded: 5,
      relations_loaded: 3,
      created: true,
      activated: true,
    });
    expect(body.version_hash).toMatch(HASH);
    expect(body.warnings).toEqual([expect.objectContaining({ message: expect.stringContaining('human_approval') })]);
    seedHash = body.version_hash;
    const events = await ledgerEvents('policy_loaded');
    expect(events.at(-1)).toMatchObject({ policy_id: 'seed-example', version_hash: seedHash, terms: 5, relations: 3, new_version: true });
    expect(events.at(-1).loaded_by).toMatch(/^usr_/);
  });

  it('loading the same content again (aliases renamed, order changed) changes nothing and writes nothing', async () => {
    const before = (await ledgerEvents('policy_loaded')).length;
    const reordered = {
      relations: [...(SEED.relations as object[])].reverse().map((r) => {
        const { type, ...rest } = r as { type: string };
        return { relation_type: type, ...rest };
      }),
      terms: SEED.terms,
      mode: 'STRICT',
      name: SEED.name,
      policy_id: SEED.policy_id,
    };
    const res = await post('/policies/load', reordered);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version_hash: seedHash, created: false, activated: false });
    expect((await ledgerEvents('policy_loaded')).length).toBe(before);
  });

  it('rejects a malformed policy as a whole, listing every problem with its path; the active policy stays', async () => {
    const res = await post('/policies/load', {
      policy_id: 'broken',
      mode: 'lenient',
      terms: [{ term_id: 'a', term_type: 'wizard' }, { term_id: 'a', term_type: 'actor' }],
      relations: [{ relation_type: 'adores', source: 'a', target: 'b' }],
    });
    expect(res.statusCode).toBe(400);
    const err = res.json().error;
    expect(err.code).toBe('POLICY_INVALID');
    const paths = (err.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['$.mode', '$.terms[0].term_type', '$.relations[0].relation_type']));
    expect(paths.some((p) => p.startsWith('$.terms[1]'))).toBe(true);
    expect((await get('/policies')).json().active_version_hash).toBe(seedHash);
  });

  it('accepts the {"policy": …} wrapper and makes the new version active; the old one stays stored', async () => {
    const res = await post('/policies/load', { policy: policyFile('enterprise-general.json') });
    expect(res.statusCode).toBe(201);
    const list = (await get('/policies')).json();
    expect(list.active_version_hash).toBe(res.json().version_hash);
    expect(list.items.map((p: { policy_id: string; active: boolean }) => [p.policy_id, p.active])).toEqual([
      ['enterprise-general', true],
      ['seed-example', false],
    ]);
    // Re-loading the old one re-activates it: no new version, one more ledger entry.
    const again = await post('/policies/load', SEED);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ version_hash: seedHash, created: false, activated: true });
    expect((await ledgerEvents('policy_loaded')).at(-1)).toMatchObject({ version_hash: seedHash, new_version: false });
  });

  it('accepts documents above the general body limit, up to 10 MiB', async () => {
    const terms = Array.from({ length: 12_000 }, (_, i) => ({ term_id: `action_${i}`, term_type: 'action', value: `act:${i}:*`, description: 'x'.repeat(60) }));
    const big = { policy_id: 'big', terms, relations: [{ relation_type: 'permits', source: 'actor:ai', target: 'action_1' }] };
    expect(JSON.stringify(big).length).toBeGreaterThan(t.config.bodyLimit);
    const res = await post('/policies/load', big);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ policy_id: 'big', terms_loaded: 12_001 });
    await post('/policies/load', SEED);
  });

  it('refuses a document over 10 MiB with 413', async () => {
    const huge = { policy_id: 'huge', terms: [{ term_id: 'a', term_type: 'actor', description: 'x'.repeat(11 * 1024 * 1024) }], relations: [] };
    const res = await post('/policies/load', huge);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.message).toContain(String(10 * 1024 * 1024));
  });
});

describe('reading policies', () => {
  it('GET /policies/:policy_id shows the active version in full; versions list every stored one, newest first', async () => {
    const detail = (await get('/policies/seed-example')).json();
    expect(detail).toMatchObject({ policy_id: 'seed-example', mode: 'strict', active: true, terms_count: 5, relations_count: 3 });
    expect(detail.terms.map((x: { term_id: string }) => x.term_id)).toEqual(['ai_agent', 'bulk_export', 'delete_records', 'human_approval', 'read_customer']);
    expect(detail.terms.find((x: { term_id: string }) => x.term_id === 'human_approval')).toMatchObject({ implicit: true, term_type: 'context' });

    const versions = (await get('/policies/enterprise-general/versions')).json();
    expect(versions.items).toHaveLength(1);
    expect(versions.items[0]).toMatchObject({ active: false, mode: 'strict', version: '1.0.0' });
  });

  it('answers 404 for an unknown policy', async () => {
    const res = await get('/policies/no-such-policy');
    expect(res.statusCode).toBe(404);
    expect((await get('/policies/no-such-policy/versions')).statusCode).toBe(404);
  });
});

describe('POST /policies/evaluate', () => {
  it('explains a decision of the active policy, without a ledger entry', async () => {
    const before = (await t.services.ledger.verify()).entriesChecked;
    const res = await post('/policies/evaluate', { actor: 'ai_agent:assistant', action: 'bulk_export' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ policy_id: 'seed-example', mode: 'strict', outcome: 'escalated', default_applied: false });
    expect(body.escalation_triggers).toEqual(['policy_requires_approval']);
    expect(body.matched).toEqual([expect.objectContaining({ relation_type: 'requires', effect: 'requires_human_approval', requirement: 'human_approval' })]);
    expect(body.reason).toContain(body.matched[0].relation_id);
    expect((await t.services.ledger.verify()).entriesChecked).toBe(before);
  });

  it('evaluates against a stored version by hash, and 404s an unknown hash', async () => {
    const versions = (await get('/policies/enterprise-general/versions')).json();
    const hash = versions.items[0].version_hash as string;
    const res = await post('/policies/evaluate', { actor: 'ai_agent:support-1', action: 'read:customer_profile', data_classes: ['pii'], version_hash: hash });
    expect(res.json()).toMatchObject({ policy_id: 'enterprise-general', version_hash: hash, outcome: 'conditional', conditions: ['redact:pii_fields'] });
    const unknown = await post('/policies/evaluate', { actor: 'a', action: 'b', version_hash: 'f'.repeat(64) });
    expect(unknown.statusCode).toBe(404);
  });

  it('validates the request (every problem listed)', async () => {
    const res = await post('/policies/evaluate', { actor: '', action: 'x'.repeat(513), risk: { level: 'extreme', score: 101 }, extra: 1 });
    expect(res.statusCode).toBe(400);
    const fields = (res.json().error.details as Array<{ field: string }>).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['actor', 'action', 'risk.level', 'risk.score']));
  });

  it('limits context as POST /decide does: one schema, depth ≤ 5 and ≤ 64 KiB', async () => {
    expect(EvaluateBodySchema.shape.context.unwrap()).toBe(ContextSchema);
    expect(DecideBodySchema.shape.context.unwrap()).toBe(ContextSchema);
    const evaluate = (context: unknown) => post('/policies/evaluate', { actor: 'ai_agent:assistant', action: 'read:faq', context });
    expect((await evaluate({ a: { b: { c: { d: { e: 1 } } } } })).statusCode).toBe(200);
    for (const context of [{ a: { b: { c: { d: { e: { f: 1 } } } } } }, { blob: 'x'.repeat(64 * 1024) }]) {
      const res = await evaluate(context);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ field: 'context' })] });
    }
  });

  it('is for policy authors: an auditor may read policies but not load or simulate', async () => {
    expect((await get('/policies')).statusCode).toBe(200);
    expect((await post('/policies/evaluate', { actor: 'a', action: 'b' }, auditor)).statusCode).toBe(403);
    expect((await post('/policies/load', SEED, auditor)).statusCode).toBe(403);
  });

  it("an agent key may dry-run for the actors its pattern allows (as POST /decide), 403 for another actor, never load", async () => {
    const { secret } = await createAgentKey(t, 'ai_agent:support-*');
    const before = (await t.services.ledger.verify()).entriesChecked;
    const own = await post('/policies/evaluate', { actor: 'ai_agent:support-1', action: 'bulk_export' }, secret);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ outcome: expect.any(String), policy_id: expect.any(String) });
    const foreign = await post('/policies/evaluate', { actor: 'ai_agent:sales-1', action: 'bulk_export' }, secret);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('ACTOR_NOT_ALLOWED');
    expect((await post('/policies/load', SEED, secret)).statusCode).toBe(403);
    expect((await t.services.ledger.verify()).entriesChecked).toBe(before);
  });
});

describe('a policy load whose ledger entry cannot be committed', () => {
  it('leaves no version stored and the active policy unchanged (the write and its entry commit together)', async () => {
    const f = await buildTestApp();
    try {
      const admin = await seedSession(f, 'admin');
      const load = (doc: object) => f.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(admin), payload: doc });
      expect((await load(SEED)).statusCode).toBe(201);
      const active = (await f.app.inject({ method: 'GET', url: '/policies', headers: bearer(admin) })).json().active_version_hash;
      // The ledger's insert fails for this event type, as a full disk or an I/O error would.
      f.db.exec(
        `CREATE TRIGGER test_fail_policy_loaded BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'policy_loaded'
         BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`,
      );
      const other = { ...SEED, policy_id: 'other-policy' };
      const res = await load(other);
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      const after = (await f.app.inject({ method: 'GET', url: '/policies', headers: bearer(admin) })).json();
      expect(after.active_version_hash).toBe(active);
      expect(after.items.map((p: { policy_id: string }) => p.policy_id)).toEqual([SEED.policy_id]);
      expect(f.db.prepare('SELECT count(*) FROM policy_versions').pluck().get()).toBe(1);

      // Once the ledger accepts writes again, the same load stores, activates and ledgers it.
      f.db.exec('DROP TRIGGER test_fail_policy_loaded');
      const retried = await load(other);
      expect(retried.statusCode).toBe(201);
      expect(retried.json()).toMatchObject({ policy_id: 'other-policy', created: true, activated: true });
      const entries = (await f.services.ledger.listEntries({ eventType: 'policy_loaded', limit: 10 })).map((e) => JSON.parse(e.dataJson));
      expect(entries.map((e) => [e.policy_id, e.new_version])).toEqual([
        [SEED.policy_id, true],
        ['other-policy', true],
      ]);
    } finally {
      await f.app.close();
    }
  });

  it('two concurrent loads of the same new version: one stores and activates it, with one entry', async () => {
    const f = await buildTestApp();
    try {
      const admin = await seedSession(f, 'admin');
      const doc = { ...SEED, policy_id: 'concurrent' };
      const answers = await Promise.all(
        [1, 2, 3].map(() => f.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(admin), payload: doc })),
      );
      for (const r of answers) expect(r.statusCode, r.body).toBeLessThan(300);
      const reports = answers.map((r) => r.json()).sort((a, b) => Number(b.activated) - Number(a.activated));
      expect(reports.map((r) => [r.created, r.activated])).toEqual([
        [true, true],
        [false, false],
        [false, false],
      ]);
      const entries = await f.services.ledger.listEntries({ eventType: 'policy_loaded', limit: 10 });
      expect(entries.map((e) => JSON.parse(e.dataJson).new_version)).toEqual([true]);
    } finally {
      await f.app.close();
    }
  });

  it('another process loading the same version between the check and the append: rolled back and retried, nothing written twice', async () => {
    const f = await buildTestApp();
    try {
      const repo = new PolicyRepo(f.services.port);
      const ledger = f.services.ledger;
      // Another writer on the same database (the CLI's load-policy), with its own service.
      const other = new PolicyService({ repo: new PolicyRepo(f.services.port), events: ledger, clock: f.clock, ids: createIdFactory(f.clock) });
      let interfered = false;
      const events: EventSink = {
        append: async (type, data, options) => {
          if (!interfered) {
            interfered = true;
            await other.load(SEED, 'cli');
          }
          return ledger.append(type, data, options);
        },
        appendAll: (evs, options) => ledger.appendAll(evs, options),
      };
      const service = new PolicyService({ repo, events, clock: f.clock, ids: createIdFactory(f.clock) });
      const report = await service.load(SEED, 'usr_lead');
      expect(interfered).toBe(true);
      expect(report).toMatchObject({ created: false, activated: false });
      expect((await repo.active())?.versionHash).toBe(report.versionHash);
      const entries = (await ledger.listEntries({ eventType: 'policy_loaded', limit: 10 })).map((e) => JSON.parse(e.dataJson));
      expect(entries.map((e) => [e.loaded_by, e.new_version])).toEqual([['cli', true]]);
      expect(f.db.prepare('SELECT count(*) FROM policy_versions').pluck().get()).toBe(1);
    } finally {
      await f.app.close();
    }
  });
});
