/**
 * Issue 19 §1: decision receipts. `GET /decide/:decision_id/receipt` bundles the decision's ledger
 * entry, its inclusion proof and the signed checkpoint; `lexecon verify-receipt` (a child process,
 * run after the server is closed) verifies it from the file alone, and refuses each kind of forgery
 * with exit 1 and its reason.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSigner, parseNote, signNote } from '../../src/modules/transparency/note.js';
import { formatVerifierKey } from '../../src/modules/transparency/note.js';
import { bearer, buildTestApp, createAgentKey, seedSession, tempDir, type TestApp } from '../helpers/build-test-app.js';
import { lexecon } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };

interface Receipt {
  format: string;
  decision_id: string;
  entry: { seq: number; entry_id: string; event_type: string; data: Record<string, unknown>; entry_hash: string };
  leaf_index: number;
  tree_size: number;
  inclusion_proof: string[];
  checkpoint: string;
  public_key: { kid: string; alg: string; public_key_pem: string };
  verifier_key: string;
}

let t: TestApp;
let auditor: string;
let agent: { keyId: string; secret: string };
let other: { keyId: string; secret: string };
const dir = tempDir('lexecon-receipts-');
const decisionIds: string[] = [];
let keysFile = '';

const decide = async (secret: string): Promise<string> => {
  const res = await t.app.inject({ method: 'POST', url: '/decide', headers: bearer(secret), payload: READ });
  expect(res.statusCode).toBe(200);
  return (res.json() as { decision_id: string }).decision_id;
};
const receiptOf = (id: string, token = auditor) => t.app.inject({ method: 'GET', url: `/decide/${id}/receipt`, headers: bearer(token) });
const cut = async () => {
  await t.services.treeIntegrator.integrate();
  const res = await t.app.inject({ method: 'POST', url: '/ledger/checkpoints', headers: bearer(auditor) });
  expect([200, 201]).toContain(res.statusCode);
};
const write = (name: string, doc: unknown): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return file;
};
const copy = (r: Receipt): Receipt => JSON.parse(JSON.stringify(r)) as Receipt;

describe('decision receipts', () => {
  const receipts: Receipt[] = [];
  beforeAll(async () => {
    t = await buildTestApp({ env: { LEXECON_LOG_ORIGIN: 'example.com/lexecon-receipts' } });
    auditor = await seedSession(t, 'auditor');
    const lead = await seedSession(t, 'governance_lead');
    agent = await createAgentKey(t, 'ai_agent:*');
    other = await createAgentKey(t, 'ai_agent:*');
    expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED })).statusCode).toBe(201);
  });
  afterAll(() => t.app.close());

  it('answers 409 RECEIPT_NOT_READY, naming the sizes, until a checkpoint covers the entry', async () => {
    const first = await decide(agent.secret);
    decisionIds.push(first);
    const early = await receiptOf(first);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ error: { code: 'RECEIPT_NOT_READY', details: { checkpoint_tree_size: 0 } } });
    expect(early.json().error.message).toMatch(/not in a signed checkpoint yet.*POST \/ledger\/checkpoints/);

    await cut();
    decisionIds.push(await decide(agent.secret), await decide(agent.secret));
    // The second and third decisions are newer than the checkpoint: not ready, the first one is.
    const late = await receiptOf(decisionIds[2]!);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.details.checkpoint_tree_size).toBeGreaterThan(0);
    expect((await receiptOf(first)).statusCode).toBe(200);
  });

  it('serves the entry exactly as GET /ledger/entries/:id does, with a proof in the latest checkpoint', async () => {
    await cut();
    for (const id of decisionIds) {
      const res = await receiptOf(id);
      expect(res.statusCode).toBe(200);
      const r = res.json() as Receipt;
      expect(r.format).toBe('lexecon-receipt/v1');
      expect(r.decision_id).toBe(id);
      const entry = await t.app.inject({ method: 'GET', url: `/ledger/entries/${r.entry.entry_id}`, headers: bearer(auditor) });
      expect(r.entry).toEqual(entry.json());
      expect(r.entry.data.decision_id).toBe(id);
      expect(r.leaf_index).toBe(r.entry.seq);
      const latest = await t.app.inject({ method: 'GET', url: '/ledger/checkpoint', headers: bearer(auditor) });
      expect(r.checkpoint).toBe(latest.body);
      expect(r.tree_size).toBeGreaterThan(r.entry.seq);
      expect(r.inclusion_proof.length).toBeGreaterThan(0);
      receipts.push(r);
    }
    const keys = await t.app.inject({ method: 'GET', url: '/api/governance/keys' });
    keysFile = write('keys.json', keys.body);
  });

  it('is read as the decision is: its own agent yes, another agent key 404, an unknown id 404', async () => {
    const id = decisionIds[0]!;
    expect((await receiptOf(id, agent.secret)).statusCode).toBe(200);
    const foreign = await receiptOf(id, other.secret);
    expect(foreign.statusCode).toBe(404);
    const asDecision = await t.app.inject({ method: 'GET', url: `/decide/${id}`, headers: bearer(other.secret) });
    expect(asDecision.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe(asDecision.json().error.code);
    expect((await receiptOf('dec_00000000000000000000000000')).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/decide/${id}/receipt` })).statusCode).toBe(401);
  });

  it('verifies offline with lexecon verify-receipt after the server is stopped; each forgery exits 1 with its reason', async () => {
    await t.app.close();
    const [a, b] = receipts as [Receipt, Receipt];

    const own = lexecon(['verify-receipt', write('a.json', a)]);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.stdout).toContain(`receipt of decision ${a.decision_id}`);
    expect(own.stdout).toContain('not independently trusted');
    const trusted = lexecon(['verify-receipt', write('a.json', a), '--public-key', keysFile]);
    expect(trusted.code, trusted.stdout + trusted.stderr).toBe(0);
    expect(trusted.stdout).toContain('signed by a trusted key');

    // One character of the entry's data.
    const tampered = copy(a);
    const actor = String(tampered.entry.data.actor);
    tampered.entry.data.actor = actor.slice(0, -1) + (actor.endsWith('x') ? 'y' : 'x');
    const t1 = lexecon(['verify-receipt', write('tampered.json', tampered)]);
    expect(t1.code, t1.stdout + t1.stderr).toBe(1);
    expect(t1.stdout).toMatch(/^INVALID: .*the entry was altered \[entry_hash_mismatch\]/);

    // One proof hash with one bit flipped.
    const flipped = copy(a);
    const h = Buffer.from(flipped.inclusion_proof[0]!, 'base64');
    h[0]! ^= 1;
    flipped.inclusion_proof[0] = h.toString('base64');
    const t2 = lexecon(['verify-receipt', write('flipped.json', flipped)]);
    expect(t2.code, t2.stdout + t2.stderr).toBe(1);
    expect(t2.stdout).toMatch(/does not lead to the checkpoint's root.*\[proof_invalid\]/);

    // The checkpoint re-signed by another key (same origin and body), the receipt's key swapped to match:
    // valid only by its own key; against the server's published keys it fails.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const origin = 'example.com/lexecon-receipts';
    const forged = copy(a);
    forged.checkpoint = signNote(parseNote(a.checkpoint).text, [noteSigner(origin, privateKey)]);
    forged.public_key = { kid: 'forged', alg: 'Ed25519', public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    forged.verifier_key = formatVerifierKey(origin, publicKey);
    const t3 = lexecon(['verify-receipt', write('forged.json', forged), '--public-key', keysFile]);
    expect(t3.code, t3.stdout + t3.stderr).toBe(1);
    expect(t3.stdout).toMatch(/the checkpoint is not signed by a trusted key.*\[checkpoint_signature\]/);
    // Only the checkpoint swapped: the receipt's own key refuses it too.
    const swapped = copy(a);
    swapped.checkpoint = forged.checkpoint;
    const t4 = lexecon(['verify-receipt', write('swapped.json', swapped)]);
    expect(t4.code, t4.stdout + t4.stderr).toBe(1);
    expect(t4.stdout).toMatch(/not signed by the receipt's key .*\[checkpoint_signature\]/);

    // Another decision's receipt presented for this decision.
    const misfiled = copy(b);
    misfiled.decision_id = a.decision_id;
    const t5 = lexecon(['verify-receipt', write('misfiled.json', misfiled)]);
    expect(t5.code, t5.stdout + t5.stderr).toBe(1);
    expect(t5.stdout).toMatch(new RegExp(`records decision ${b.decision_id}, not ${a.decision_id} \\[decision_mismatch\\]`));

    // Unusable input: exit 2.
    expect(lexecon(['verify-receipt', write('not.json', 'not json')]).code).toBe(2);
    expect(lexecon(['verify-receipt', write('partial.json', { format: 'lexecon-receipt/v1' })]).code).toBe(2);
    expect(lexecon(['verify-receipt', path.join(dir, 'missing.json')]).code).toBe(2);
  });
});
