import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KIND_FILES } from '../../src/modules/evidence/bagit.js';
import { packBag, unpackBag } from '../../src/modules/evidence/evidence.tar.js';
import { verifyEvidencePackage } from '../../src/modules/evidence/evidence.verify.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, tempDir, TEST_START, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const EXPORTS = '/api/governance/evidence/exports';
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm', context: { customer_email: 'jane@example.com' } };
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };
const PERIOD = { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };

interface World {
  t: TestApp;
  agent: string;
  auditor: TestUser;
  admin: TestUser;
  approver: TestUser;
  executive: TestUser;
  operator: TestUser;
  decisionId: string;
}

const post = (t: TestApp, url: string, token: string, payload: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), payload });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

/** A world with a decision, an escalation resolved by an approver, and an override. */
async function world(t: TestApp): Promise<World> {
  const lead = await seedSession(t, 'governance_lead');
  expect((await post(t, '/policies/load', lead, SEED)).statusCode).toBe(201);
  const w: World = {
    t,
    agent: (await createAgentKey(t)).secret,
    auditor: await createTestUser(t, 'auditor'),
    admin: await createTestUser(t, 'admin'),
    approver: await createTestUser(t, 'approver'),
    executive: await createTestUser(t, 'executive'),
    operator: await createTestUser(t, 'operator'),
    decisionId: '',
  };
  const read = await post(t, '/decide', w.agent, READ);
  expect(read.statusCode, read.body).toBe(200);
  w.decisionId = read.json().decision_id;
  const bulk = (await post(t, '/decide', w.agent, BULK)).json();
  expect(bulk.escalation_id).toMatch(/^esc_/);
  const resolved = await post(t, `/api/governance/escalation/${bulk.escalation_id}/resolve`, w.approver.token, {
    outcome: 'approved',
    notes: 'reviewed the export request and the risk factors',
  });
  expect(resolved.statusCode, resolved.body).toBeLessThan(300);
  const override = await post(t, '/api/governance/override', w.executive.token, {
    decision_id: w.decisionId,
    new_outcome: 'denied',
    justification: 'Customer complaint reviewed by legal; the action must not proceed',
  });
  expect(override.statusCode, override.body).toBe(201);
  return w;
}

async function download(w: World, exportId: string, token = w.auditor.token): Promise<Buffer> {
  const res = await get(w.t, `${EXPORTS}/${exportId}/download`, token);
  expect(res.statusCode, res.body).toBe(200);
  return res.rawPayload;
}

describe('evidence exports over HTTP', () => {
  let w: World;
  let created: Record<string, any>;
  beforeAll(async () => {
    w = await world(await buildTestApp());
    const res = await post(w.t, EXPORTS, w.auditor.token, PERIOD);
    expect(res.statusCode, res.body).toBe(201);
    created = res.json();
  });
  afterAll(async () => w.t.app.close());

  it('creates a package of the period, stored 0600 in a 0700 directory, ledgered with its metadata', async () => {
    expect(created).toMatchObject({
      export_id: expect.stringMatching(/^evd_/),
      from: PERIOD.from,
      to: PERIOD.to,
      include: ['ledger', 'decisions', 'escalations', 'overrides', 'interventions', 'policies'],
      counts: { decisions: 2, escalations: 1, overrides: 1, policies: 1 },
      created_by: w.auditor.userId,
      created_role: 'auditor',
      created_at: TEST_START,
      download_url: `${EXPORTS}/${created.export_id}/download`,
    });
    expect(created.counts.interventions).toBeGreaterThanOrEqual(2);
    expect(created.ledger.first_seq).toBe(0);
    expect(created.ledger.head_before).toEqual({ seq: null, entry_hash: '0'.repeat(64) });
    const dir = path.join(w.t.config.dataDir, 'exports');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const file = path.join(dir, `${created.export_id}.tar`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual([`${created.export_id}.tar`]);
    const [entry] = await w.t.services.ledger.listEntries({ eventType: 'export_created', limit: 10 });
    expect(entry!.seq).toBe(created.ledger_seq);
    expect(JSON.parse(entry!.dataJson)).toMatchObject({
      export_id: created.export_id,
      tar_sha256: created.sha256,
      tagmanifest_sha256: created.tagmanifest_sha256,
      counts: created.counts,
      generated_by: w.auditor.userId,
    });
    // The segment ends before the export_created entry, which follows it.
    expect(created.ledger.last_seq).toBe(created.ledger_seq - 1);
  });

  it('downloads the stored bytes, which verify offline and hold no raw decision payloads', async () => {
    const tar = await download(w, created.export_id);
    expect(sha256Hex(tar)).toBe(created.sha256);
    expect(tar.length).toBe(created.size);
    const res = await get(w.t, `${EXPORTS}/${created.export_id}/download`, w.operator.token);
    expect(res.headers['content-type']).toBe('application/x-tar');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${created.export_id}.tar"`);
    const { root, files } = await unpackBag(tar);
    expect(root).toBe(created.export_id);
    const keys = (await w.t.app.inject({ method: 'GET', url: '/api/governance/keys' })).json();
    const trusted = keys.keys.map((k: { kid: string }) => w.t.services.keys.publicKeyObject(k.kid));
    const report = verifyEvidencePackage(files, { trustedKeys: trusted });
    expect(report.failure).toBeUndefined();
    expect(report).toMatchObject({ valid: true, exportId: created.export_id, counts: created.counts });
    expect(report.signatures.every((s) => s.valid && s.trusted)).toBe(true);
    expect(tar.includes(Buffer.from('jane@example.com'))).toBe(false);
    expect(tar.includes(Buffer.from('Customer complaint reviewed'))).toBe(false);
    const decisions = files.get(KIND_FILES.decisions)!.toString();
    expect(decisions).toContain(w.decisionId);
    // Escalation records name who opened the case and who put it with its reviewers.
    const escalations = files.get(KIND_FILES.escalations)!.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(escalations).toEqual([expect.objectContaining({ opened_by: 'system', assigned_by: 'system', resolution: 'approved' })]);
  });

  it('is documented in openapi.json as what it serves: application/x-tar, binary, not JSON', async () => {
    const doc = (await w.t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ok = doc.paths['/api/governance/evidence/exports/{export_id}/download'].get.responses['200'];
    expect(Object.keys(ok.content)).toEqual(['application/x-tar']);
    expect(ok.content['application/x-tar'].schema).toEqual({ type: 'string', format: 'binary' });
    expect(ok.description).toMatch(/tar/);
    // Its error answers stay JSON envelopes.
    expect(Object.keys(doc.paths['/api/governance/evidence/exports/{export_id}/download'].get.responses['404'].content)).toEqual(['application/json']);
  });

  it('lists and reads exports for every human role; agents are refused', async () => {
    const list = await get(w.t, EXPORTS, w.operator.token);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({ items: [created], next_cursor: null });
    expect((await get(w.t, `${EXPORTS}/${created.export_id}`, w.approver.token)).json()).toEqual(created);
    expect((await get(w.t, `${EXPORTS}/evd_01KAAAAAAAAAAAAAAAAAAAAAAA`, w.auditor.token)).statusCode).toBe(404);
    expect((await post(w.t, EXPORTS, w.agent, PERIOD)).statusCode).toBe(403);
    expect((await get(w.t, EXPORTS, w.agent)).statusCode).toBe(403);
    expect((await post(w.t, EXPORTS, w.operator.token, PERIOD)).statusCode).toBe(403);
    expect((await post(w.t, EXPORTS, w.approver.token, PERIOD)).statusCode).toBe(403);
  });

  it('refuses an empty or inverted period and unknown kinds', async () => {
    expect((await post(w.t, EXPORTS, w.admin.token, { from: PERIOD.to, to: PERIOD.from })).statusCode).toBe(400);
    expect((await post(w.t, EXPORTS, w.admin.token, { ...PERIOD, include: ['payloads'] })).statusCode).toBe(400);
    expect((await post(w.t, EXPORTS, w.admin.token, { ...PERIOD, include: [] })).statusCode).toBe(400);
  });

  it('exports only the kinds asked for; a later export starts its segment where asked', async () => {
    const res = await post(w.t, EXPORTS, w.admin.token, { ...PERIOD, include: ['ledger', 'overrides'] });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.counts).toEqual({ ledger: expect.any(Number), overrides: 1 });
    const { files } = await unpackBag(await download(w, body.export_id, w.admin.token));
    expect(files.has(KIND_FILES.decisions)).toBe(false);
    expect(verifyEvidencePackage(files).valid).toBe(true);
    // The segment now includes the first export's export_created entry.
    expect(body.ledger.last_seq).toBeGreaterThanOrEqual(created.ledger_seq);
    expect(files.get(KIND_FILES.ledger)!.toString()).toContain(`"event_type":"export_created"`);
  });

  it('an export of a period with no entries has an empty, positioned segment', async () => {
    const res = await post(w.t, EXPORTS, w.admin.token, { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.ledger.first_seq).toBeNull();
    expect(body.ledger.head_before).toEqual(body.ledger.head_after);
    expect(body.ledger.head_after.seq).toBeGreaterThan(0);
    const { files } = await unpackBag(await download(w, body.export_id, w.admin.token));
    expect(verifyEvidencePackage(files)).toMatchObject({ valid: true, ledger: { entriesChecked: 0 } });
  });

  it('a stored package changed on disk is not served', async () => {
    const file = path.join(w.t.config.dataDir, 'exports', `${created.export_id}.tar`);
    const original = fs.readFileSync(file);
    const bad = Buffer.from(original);
    bad[600] = bad[600]! ^ 1;
    fs.writeFileSync(file, bad);
    try {
      const res = await get(w.t, `${EXPORTS}/${created.export_id}/download`, w.auditor.token);
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('EXPORT_FILE_CHANGED');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('verify-export (the CLI) accepts the package and rejects a tampered one with the precise failure', async () => {
    const dir = tempDir();
    const good = path.join(dir, 'good.tar');
    fs.writeFileSync(good, await download(w, created.export_id));
    const keysJson = path.join(dir, 'keys.json');
    fs.writeFileSync(keysJson, (await w.t.app.inject({ method: 'GET', url: '/api/governance/keys' })).body);

    const ok = await lexeconAsync(['verify-export', good, '--public-key', keysJson]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^valid: .* is evidence export ${created.export_id} `));
    expect(ok.stdout).toMatch(/signature Ed25519 \(key [0-9a-f]{16}\): valid, trusted key/);

    const untrusted = await lexeconAsync(['verify-export', good]);
    expect(untrusted.code).toBe(0);
    expect(untrusted.stdout).toMatch(/warning: no trusted public key given/);

    // One changed byte in the decisions file, repacked as a tar.
    const { root, files } = await unpackBag(fs.readFileSync(good));
    const decisions = Buffer.from(files.get(KIND_FILES.decisions)!);
    decisions[10] = decisions[10]! ^ 1;
    files.set(KIND_FILES.decisions, decisions);
    const bad = path.join(dir, 'bad.tar');
    fs.writeFileSync(bad, await packBag(files, root, new Date(TEST_START)));
    const invalid = await lexeconAsync(['verify-export', bad, '--json']);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({
      valid: false,
      failure: { code: 'hash_mismatch', file: KIND_FILES.decisions },
    });

    const text = await lexeconAsync(['verify-export', bad]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^INVALID: data\/decisions\.jsonl: SHA-256 [0-9a-f]{64} does not match manifest-sha256\.txt line 1 /);

    const notTar = path.join(dir, 'not.tar');
    fs.writeFileSync(notTar, 'hello');
    expect((await lexeconAsync(['verify-export', notTar])).code).toBe(1);
    const missing = await lexeconAsync(['verify-export', path.join(dir, 'nope.tar')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});

describe('an export whose metadata cannot be stored', () => {
  it('keeps neither the file nor a ledger entry', async () => {
    const t = await buildTestApp();
    try {
      const auditor = await createTestUser(t, 'auditor');
      t.db.exec('DROP TABLE evidence_exports');
      const res = await post(t, EXPORTS, auditor.token, PERIOD);
      expect(res.statusCode).toBe(500);
      const dir = path.join(t.config.dataDir, 'exports');
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(await t.services.ledger.listEntries({ eventType: 'export_created', limit: 10 })).toEqual([]);
    } finally {
      await t.app.close();
    }
  });
});

describe('lexecon export-evidence', () => {
  it('exports from a local database as `cli`, ledgered, and the package verifies', async () => {
    const dir = tempDir();
    const dbFile = path.join(dir, 'lexecon.db');
    const t = await buildTestApp({ db: openDatabase(dbFile) });
    await world(t);
    await t.app.close();
    t.db.close();
    const out = path.join(dir, 'out.tar');
    const exportsDir = path.join(dir, 'exports');
    const run = lexecon([
      'export-evidence',
      '--db', dbFile,
      '--keys-dir', t.config.keysDir,
      '--exports-dir', exportsDir,
      '--from', PERIOD.from,
      '--to', PERIOD.to,
      '--out', out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const exportId = /^export (evd_\w+) written to /.exec(run.stdout)![1]!;
    expect(run.stdout).toContain(`written to ${out}`);
    expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(exportsDir, `${exportId}.tar`)))).toBe(true);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);

    const verified = lexecon(['verify-export', out]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const { files } = await unpackBag(fs.readFileSync(out));
    expect(files.get('bag-info.txt')!.toString()).toMatch(/^Lexecon-Generated-By: cli$/m);

    const db = openDatabase(dbFile);
    try {
      const entry = db.prepare("SELECT data FROM ledger_entries WHERE event_type = 'export_created'").pluck().get() as string;
      expect(JSON.parse(entry)).toMatchObject({ export_id: exportId, generated_by: 'cli', generated_role: null });
      expect(db.prepare('SELECT created_by FROM evidence_exports WHERE export_id = ?').pluck().get(exportId)).toBe('cli');
    } finally {
      db.close();
    }

    const bad = lexecon(['export-evidence', '--db', dbFile, '--keys-dir', t.config.keysDir, '--exports-dir', exportsDir, '--from', PERIOD.to, '--to', PERIOD.from]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/to must be after from/);
  });
});
