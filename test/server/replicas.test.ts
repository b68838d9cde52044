/**
 * Several server processes on one PostgreSQL database (issue 15): replicas start together (migrations,
 * genesis and the first admin once), 16 clients spread POST /decide over three replicas while one is
 * SIGKILLed and restarted (every acknowledged decision is kept, the chain is whole), a stop sent to one
 * replica binds the others before it is acknowledged, a long-poll on one replica wakes when another
 * resolves the escalation, and PostgreSQL restarted under load (503 while it is down, recovery by itself,
 * nothing acknowledged lost).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { findPostgresBinaries, startCluster, withDatabase, adminQuery, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { call, startReplica, type Replica } from '../helpers/replicas.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };

/** Settings every replica of one deployment shares. */
function deploymentEnv(databaseUrl: string, keysDir: string): Record<string, string> {
  return {
    LEXECON_DATABASE_URL: databaseUrl,
    LEXECON_KEYS_DIR: keysDir,
    LEXECON_DB_POOL_SIZE: '4',
    LEXECON_BOOTSTRAP_ADMIN: `admin:${GOOD_PASSWORD}`,
    LEXECON_MFA_REQUIRED_ROLES: '',
    LEXECON_RATE_LIMIT_RPM: '0',
    LEXECON_LOGIN_RATE_LIMIT: '0',
  };
}

function replicaEnv(shared: Record<string, string>): Record<string, string> {
  return { ...shared, LEXECON_DATA_DIR: tempDir('lexecon-replica-') };
}

interface Deployment {
  replicas: Replica[];
  admin: string;
  agent: string;
  approver: string;
  operator: string;
}

async function login(r: Replica, username: string): Promise<string> {
  const res = await call(r.baseUrl, 'POST', '/auth/login', undefined, { username, password: GOOD_PASSWORD });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.token as string;
}

/** Users, an agent key and the seed policy, each made on a different replica. */
async function populate(replicas: Replica[]): Promise<Deployment> {
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const admin = await login(a, 'admin');
  for (const [role, on] of [
    ['approver', b],
    ['operator', c],
    ['governance_lead', a],
  ] as const) {
    const res = await call(on.baseUrl, 'POST', '/auth/users', admin, { username: `${role.replace('_', '-')}-1`, password: GOOD_PASSWORD, role });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const key = await call(b.baseUrl, 'POST', '/auth/api-keys', admin, { name: 'assistant', actor_pattern: 'ai_agent:*' });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  const lead = await login(c, 'governance-lead-1');
  expect((await call(c.baseUrl, 'POST', '/policies/load', lead, SEED)).status).toBe(201);
  return {
    replicas,
    admin,
    agent: key.body.api_key as string,
    approver: await login(a, 'approver-1'),
    operator: await login(b, 'operator-1'),
  };
}

interface WireEntry {
  seq: number;
  entry_id: string;
  event_type: string;
  data: Record<string, unknown>;
}

/** Every ledger entry, through the API of `r`, page by page. */
async function allEntries(r: Replica, token: string): Promise<WireEntry[]> {
  const out: WireEntry[] = [];
  let cursor: string | null = null;
  for (;;) {
    const res = await call(r.baseUrl, 'GET', `/ledger/entries?limit=500${cursor ? `&cursor=${cursor}` : ''}`, token);
    expect(res.status).toBe(200);
    out.push(...(res.body.entries as WireEntry[]));
    cursor = res.body.next_cursor;
    if (!cursor) return out;
  }
}

function expectWholeChain(entries: WireEntry[]): void {
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i));
  expect(new Set(entries.map((e) => e.entry_id)).size).toBe(entries.length);
}

describePostgres('three replicas on one PostgreSQL database', () => {
  let db: FreshDatabase;
  let shared: Record<string, string>;
  let d: Deployment;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_replicas');
    shared = deploymentEnv(db.url, path.join(tempDir('lexecon-keys-'), 'keys'));
    // Started together: they race for the migrations, the genesis entry, the keys and the first admin.
    const replicas = await Promise.all(['r1', 'r2', 'r3'].map((n) => startReplica(n, replicaEnv(shared))));
    d = await populate(replicas);
  }, 180_000);

  afterAll(async () => {
    await Promise.all((d?.replicas ?? []).map((r) => r.stop()));
    await db?.drop();
  });

  it('replicas started together migrate once, create one genesis entry, one admin and one set of keys', async () => {
    const entries = await allEntries(d.replicas[0]!, d.admin);
    expectWholeChain(entries);
    expect(entries.filter((e) => e.event_type === 'genesis')).toHaveLength(1);
    expect(entries.filter((e) => e.event_type === 'system_startup')).toHaveLength(3);
    expect(entries.filter((e) => e.event_type === 'user_created' && e.data.role === 'admin')).toHaveLength(1);
    const keys = await Promise.all(d.replicas.map((r) => call(r.baseUrl, 'GET', '/api/governance/keys', d.admin)));
    for (const k of keys) expect(k.body).toEqual(keys[0]!.body);
    for (const r of d.replicas) {
      const ready = await call(r.baseUrl, 'GET', '/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.checks.database).toEqual({ ok: true, detail: 'postgresql reachable' });
    }
  });

  it('the same request_id sent to every replica at once is decided once: each gets the winner’s decision', async () => {
    const answers = await Promise.all(d.replicas.map((r) => call(r.baseUrl, 'POST', '/decide', d.agent, { ...READ, request_id: 'same-everywhere' })));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(new Set(answers.map((a) => a.body.decision_id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.ledger.seq)).size).toBe(1);
  });

  it('16 clients over three replicas, one SIGKILLed mid-load and restarted: every acknowledged decision is on every replica, the chain is whole', async () => {
    const acked = new Map<string, number>();
    let refused = 0;
    let next = 0;
    const total = 640;
    let killed: Promise<void> | undefined;
    const worker = async (w: number) => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        if (i === 200 && !killed) {
          const victim = d.replicas[2]!;
          killed = (async () => {
            await victim.kill();
            d.replicas[2] = await startReplica('r3-restarted', replicaEnv(shared));
          })();
        }
        const r = d.replicas[(i + w) % d.replicas.length]!;
        const res = await call(r.baseUrl, 'POST', '/decide', d.agent, { ...READ, request_id: `load-${i}` });
        if (res.status === 200) {
          acked.set(res.body.decision_id as string, res.body.ledger.seq as number);
        } else {
          // A killed replica refuses the connection (0); nothing else is acceptable.
          expect([0, 503], JSON.stringify(res.body)).toContain(res.status);
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    await killed;
    expect(acked.size).toBeGreaterThan(total / 2);
    expect(acked.size + refused).toBe(total);

    // Every acknowledged decision, read back from every replica (the restarted one included).
    const ids = [...acked.keys()];
    for (const r of d.replicas) {
      for (let i = 0; i < ids.length; i += 32) {
        const reads = await Promise.all(ids.slice(i, i + 32).map((id) => call(r.baseUrl, 'GET', `/decide/${id}`, d.admin)));
        reads.forEach((res, j) => {
          expect(res.status, `${r.name} ${ids[i + j]}`).toBe(200);
          expect(res.body.ledger.seq).toBe(acked.get(ids[i + j]!));
        });
      }
    }
    const entries = await allEntries(d.replicas[1]!, d.admin);
    expectWholeChain(entries);
    const decisionSeqs = entries.filter((e) => e.event_type === 'decision').map((e) => e.data.decision_id);
    expect(new Set(decisionSeqs).size).toBe(decisionSeqs.length);
    for (const [id, seq] of acked) expect(entries[seq]!.data.decision_id).toBe(id);
    for (const r of d.replicas) {
      const verify = await call(r.baseUrl, 'GET', '/ledger/verify', d.admin);
      expect(verify.status).toBe(200);
      expect(verify.body.valid).toBe(true);
    }
  }, 240_000);

  it('a stop sent to one replica binds every replica before it is acknowledged; tokens minted before it fail everywhere', async () => {
    const [a, b, c] = d.replicas as [Replica, Replica, Replica];
    const before = await call(b.baseUrl, 'POST', '/decide', d.agent, READ);
    expect(before.body.capability_token).toMatch(/^cap_/);
    // Decisions in flight on the other replicas while the stop is sent.
    const racing = Array.from({ length: 40 }, (_, i) => call((i % 2 ? b : c).baseUrl, 'POST', '/decide', d.agent, { ...READ, request_id: `race-${i}` }));
    const stop = await call(a.baseUrl, 'POST', '/api/governance/stop', d.operator, { reason: 'replica test' });
    expect(stop.status, JSON.stringify(stop.body)).toBe(201);
    // Acknowledged: from now on, every replica denies.
    for (const r of [b, c, a]) {
      const after = await call(r.baseUrl, 'POST', '/decide', d.agent, READ);
      expect(after.body).toMatchObject({ outcome: 'denied', reason: 'halted', capability_token: null });
      const verify = await call(r.baseUrl, 'POST', '/decide/verify', d.agent, { token: before.body.capability_token });
      expect(verify.body.valid).toBe(false);
    }
    // Whatever raced: a decision ordered after the stop in the ledger is a denial, on any replica.
    const raced = await Promise.all(racing);
    const entries = await allEntries(a, d.admin);
    const stopSeq = entries.findLast((e) => e.event_type === 'intervention' && e.data.kind === 'stop')!.seq;
    for (const res of raced) {
      expect(res.status).toBe(200);
      if (res.body.ledger.seq > stopSeq) expect(res.body).toMatchObject({ outcome: 'denied', reason: 'halted' });
      else if (res.body.capability_token) {
        expect((await call(c.baseUrl, 'POST', '/decide/verify', d.agent, { token: res.body.capability_token })).body.valid).toBe(false);
      }
    }
    const resume = await call(c.baseUrl, 'POST', '/api/governance/resume', d.admin, { reason: 'replica test over' });
    expect(resume.status, JSON.stringify(resume.body)).toBe(201);
    expect((await call(a.baseUrl, 'POST', '/decide', d.agent, READ)).body.outcome).toBe('approved');
  }, 120_000);

  it('a long-poll on one replica wakes when another replica resolves the escalation', async () => {
    const [a, b, c] = d.replicas as [Replica, Replica, Replica];
    const decided = await call(a.baseUrl, 'POST', '/decide', d.agent, BULK);
    expect(decided.body.outcome).toBe('escalated');
    const started = Date.now();
    const poll = call(b.baseUrl, 'GET', `/decide/${decided.body.decision_id}?wait=25`, d.agent);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const resolved = await call(c.baseUrl, 'POST', `/api/governance/escalation/${decided.body.escalation_id}/resolve`, d.approver, {
      outcome: 'approved',
      notes: 'export scope checked',
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(201);
    const answer = await poll;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ effective_outcome: 'approved', capability_token: expect.stringMatching(/^cap_/) });
    // Woken by the notice, not by the end of its 25 s wait.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);
});

describePostgres('PostgreSQL restarted under load', () => {
  let cluster: PostgresCluster;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    const lookup = findPostgresBinaries();
    if (!lookup.found) throw new Error(lookup.reason);
    // A cluster of this file's own: the run's shared cluster must not be restarted under other files.
    cluster = await startCluster(lookup.binaries);
    await adminQuery(cluster.url, 'CREATE DATABASE lexecon');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await cluster?.destroy();
  });

  it('replicas answer 503 while it is down (never 500), recover by themselves, and lose nothing acknowledged', async () => {
    const shared = deploymentEnv(withDatabase(cluster.url, 'lexecon'), path.join(tempDir('lexecon-keys-'), 'keys'));
    replicas = await Promise.all(['p1', 'p2'].map((n) => startReplica(n, replicaEnv(shared))));
    const d = await populate([replicas[0]!, replicas[1]!, replicas[0]!]);
    const acked = new Map<string, number>();
    const statuses = new Set<number>();
    let phase: 'before' | 'down' | 'after' = 'before';
    const downStatuses = new Set<number>();
    let stopLoad = false;
    let n = 0;
    const worker = async (w: number) => {
      while (!stopLoad) {
        const i = n++;
        const r = replicas[(i + w) % replicas.length]!;
        const sentWhile = phase;
        const res = await call(r.baseUrl, 'POST', '/decide', d.agent, { ...READ, request_id: `pg-${i}` });
        statuses.add(res.status);
        // Sent and answered while PostgreSQL was down (an answer to a request sent before may be a 200).
        if (sentWhile === 'down' && phase === 'down') downStatuses.add(res.status);
        if (res.status === 200) acked.set(res.body.decision_id, res.body.ledger.seq);
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const load = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ackedBefore = acked.size;
    expect(ackedBefore).toBeGreaterThan(0);
    await cluster.stop();
    phase = 'down';
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const r of replicas) {
      const ready = await call(r.baseUrl, 'GET', '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database.ok).toBe(false);
      const res = await call(r.baseUrl, 'POST', '/decide', d.agent, READ);
      expect(res.status).toBe(503);
      expect(['DATABASE_UNAVAILABLE', 'DATABASE_BUSY']).toContain(res.body.error.code);
    }
    await cluster.start();
    phase = 'after';
    // Recovery by itself: both replicas decide again within a few seconds.
    for (const r of replicas) {
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = (await call(r.baseUrl, 'POST', '/decide', d.agent, READ)).status === 200;
        if (!ok) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ok, `${r.name} recovered`).toBe(true);
    }
    const ackedDuring = acked.size;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stopLoad = true;
    await Promise.all(load);
    expect(acked.size).toBeGreaterThan(ackedDuring);
    expect([...downStatuses].filter((s) => s !== 503)).toEqual([]);
    expect(statuses.has(500)).toBe(false);
    for (const r of replicas) expect((await call(r.baseUrl, 'GET', '/ready')).status).toBe(200);
    const entries = await allEntries(replicas[1]!, d.admin);
    expectWholeChain(entries);
    for (const [id, seq] of acked) expect(entries[seq]!.data.decision_id, id).toBe(id);
    expect((await call(replicas[0]!.baseUrl, 'GET', '/ledger/verify', d.admin)).body.valid).toBe(true);
  }, 180_000);
});
