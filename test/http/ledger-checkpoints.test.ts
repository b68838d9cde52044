/**
 * Issue 19 §1: signed checkpoints. The server cuts a C2SP tlog-checkpoint of the integrated Merkle tree,
 * signs it as a C2SP signed note with its Ed25519 key, records it in the ledger (`checkpoint_cut`) and
 * serves it. The test checks the served note with the independent verifier written from the spec
 * (test/transparency/spec-note-verifier.ts, no server code), against the Ed25519 key the server
 * publishes and a tree head the test computes itself from the listed entries. Then the point of the
 * issue: someone with the database rewrites an early entry and recomputes the whole chain (GET
 * /ledger/verify says valid, and the tree is rebuilt from the rewritten entries); the consistency proof
 * from a checkpoint kept from before the rewrite fails against the new tree.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeEntryHash } from '../../src/modules/ledger/ledger.chain.js';
import type { LedgerEntryDto } from '../../src/modules/ledger/ledger.schemas.js';
import { treeHead, verifyConsistency } from '../../src/modules/transparency/merkle.js';
import { specParseVerifierKey, specReadCheckpoint, specVerifyNote } from '../transparency/spec-note-verifier.js';
import { bearer, buildTestApp, dropLedgerGuards, seedSession, TEST_BACKEND, type TestApp } from '../helpers/build-test-app.js';

interface CheckpointDto {
  tree_size: number;
  root_hash: string;
  origin: string;
  kid: string;
  verifier_key: string;
  note: string;
  note_sha256: string;
  trigger: string;
  ledger_seq: number;
}

async function allEntries(t: TestApp, token: string): Promise<LedgerEntryDto[]> {
  const out: LedgerEntryDto[] = [];
  let cursor: string | null = null;
  do {
    const res = await t.app.inject({ method: 'GET', headers: bearer(token), url: `/ledger/entries?limit=1000${cursor ? `&cursor=${cursor}` : ''}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { entries: LedgerEntryDto[]; next_cursor: string | null };
    out.push(...body.entries);
    cursor = body.next_cursor;
  } while (cursor !== null);
  return out;
}

const headOf = (entries: readonly LedgerEntryDto[], size: number): Buffer => treeHead(entries.slice(0, size).map((e) => Buffer.from(e.entry_hash, 'hex')));

async function cut(t: TestApp, token: string): Promise<{ status: number; created: boolean; checkpoint: CheckpointDto }> {
  const res = await t.app.inject({ method: 'POST', url: '/ledger/checkpoints', headers: bearer(token) });
  const body = res.json() as { created: boolean; checkpoint: CheckpointDto };
  return { status: res.statusCode, ...body };
}

describe('signed checkpoints', () => {
  let t: TestApp;
  let auditor: string;
  beforeAll(async () => {
    t = await buildTestApp({ env: { LEXECON_LOG_ORIGIN: 'example.com/lexecon-test' } });
    auditor = await seedSession(t, 'auditor');
    await Promise.all(Array.from({ length: 40 }, (_, i) => t.services.ledger.append('decision', { decision_id: `d${i}` })));
    await t.services.treeIntegrator.integrate();
  });
  afterAll(() => t.app.close());

  it('serves a checkpoint that the independent verifier accepts under the published Ed25519 key, over the tree the test computes', async () => {
    const made = await cut(t, auditor);
    expect(made.status).toBe(201);
    expect(made.created).toBe(true);
    const res = await t.app.inject({ method: 'GET', url: '/ledger/checkpoint', headers: bearer(auditor) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const note = res.rawPayload;
    expect(note.toString('utf8')).toBe(made.checkpoint.note);

    // The verifier key, checked against the Ed25519 public key the server publishes.
    const key = specParseVerifierKey(made.checkpoint.verifier_key);
    expect(key.name).toBe('example.com/lexecon-test');
    const keys = (await t.app.inject({ method: 'GET', url: '/api/governance/keys' })).json() as { keys: { kid: string; alg: string; public_key_pem: string }[] };
    const published = keys.keys.find((k) => k.kid === made.checkpoint.kid && k.alg === 'Ed25519');
    expect(published).toBeDefined();
    const raw = createPublicKey(published!.public_key_pem).export({ type: 'spki', format: 'der' }).subarray(-32);
    expect(key.publicKey.equals(raw)).toBe(true);

    const verified = specVerifyNote(note, [key]);
    expect(verified).toMatchObject({ ok: true, verifiedBy: ['example.com/lexecon-test'] });
    const body = specReadCheckpoint((verified as { text: Buffer }).text);
    expect(body.origin).toBe('example.com/lexecon-test');
    const entries = await allEntries(t, auditor);
    const size = Number(body.size);
    expect(size).toBe(made.checkpoint.tree_size);
    expect(size).toBeGreaterThanOrEqual(41);
    expect(body.root.equals(headOf(entries, size))).toBe(true);

    // Recorded in the ledger itself, after the entries it covers.
    const entry = entries.find((e) => e.seq === made.checkpoint.ledger_seq)!;
    expect(entry.event_type).toBe('checkpoint_cut');
    expect(entry.seq).toBeGreaterThanOrEqual(size);
    expect(entry.data).toMatchObject({ tree_size: size, root_hash: made.checkpoint.root_hash, origin: 'example.com/lexecon-test', note_sha256: made.checkpoint.note_sha256 });

    // A flipped byte of the note fails the independent verifier.
    const tampered = Buffer.from(note);
    const at = tampered.indexOf('\n') + 1;
    tampered[at] = tampered[at]! ^ 0x01;
    expect(specVerifyNote(tampered, [key]).ok).toBe(false);
  });

  it('cuts again only when the tree grew; history is paged newest first; roles', async () => {
    const first = (await t.services.checkpoints.latest())!;
    // Nothing integrated since the first test's cut: the latest one still covers the tree.
    const same = await cut(t, auditor);
    expect(same.status).toBe(200);
    expect(same.created).toBe(false);
    expect(same.checkpoint.tree_size).toBe(first.treeSize);
    for (let i = 0; i < 3; i++) {
      await t.services.ledger.append('decision', { decision_id: `more${i}` });
      await t.services.treeIntegrator.integrate();
      const next = await cut(t, await seedSession(t, 'operator'));
      expect(next.status).toBe(201);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.app.inject({ method: 'GET', headers: bearer(auditor), url: `/ledger/checkpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { checkpoints: CheckpointDto[]; next_cursor: string | null };
      seen.push(...body.checkpoints.map((c) => c.tree_size));
      for (const c of body.checkpoints) expect(specVerifyNote(Buffer.from(c.note), [specParseVerifierKey(c.verifier_key)]).ok).toBe(true);
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(4);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(new Set(seen).size).toBe(4);

    expect((await t.app.inject({ method: 'GET', url: '/ledger/checkpoint' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/ledger/checkpoints', headers: bearer(await seedSession(t, 'approver')) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/ledger/checkpoints?cursor=zzz', headers: bearer(auditor) })).statusCode).toBe(400);
  });
});

describe('timed checkpoints', () => {
  it('are cut by the timer when the tree grew, and not again for their own entry alone (an idle log)', async () => {
    const t = await buildTestApp({ env: { LEXECON_CHECKPOINT_INTERVAL_S: '1', LEXECON_TREE_INTEGRATE_MS: '50' } });
    try {
      for (let i = 0; i < 5; i++) await t.services.ledger.append('decision', { decision_id: `d${i}` });
      const deadline = Date.now() + 5000;
      while ((await t.services.checkpoints.latest()) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const first = await t.services.checkpoints.latest();
      expect(first?.trigger).toBe('timer');
      // Two more intervals: only the checkpoint's own entry was added, integrated meanwhile.
      await new Promise((r) => setTimeout(r, 2300));
      expect(await t.services.treeIntegrator.integrate()).toBe(first!.treeSize + 1);
      expect(await t.services.checkpoints.list(10)).toHaveLength(1);
    } finally {
      await t.app.close();
    }
  });
});

(TEST_BACKEND === 'sqlite' ? describe : describe.skip)('a rewritten history (sqlite: the test edits the file)', () => {
  it('passes GET /ledger/verify after the chain is recomputed, but fails consistency with a checkpoint kept from before', async () => {
    const t = await buildTestApp();
    try {
      const token = await seedSession(t, 'admin');
      for (let i = 0; i < 30; i++) await t.services.ledger.append('decision', { decision_id: `d${i}`, outcome: 'denied' });
      await t.services.treeIntegrator.integrate();
      // The auditor keeps this checkpoint (and its note): the log's state before the rewrite.
      const kept = (await cut(t, token)).checkpoint;
      const keptRoot = Buffer.from(kept.root_hash, 'base64');
      await t.services.ledger.drain();

      // Someone with the database turns decision d3 from denied into approved and recomputes every hash after it.
      dropLedgerGuards(t.db);
      const rows = t.db.prepare('SELECT seq, entry_id, event_type, timestamp, data, previous_hash FROM ledger_entries ORDER BY seq').all() as {
        seq: number;
        entry_id: string;
        event_type: string;
        timestamp: string;
        data: string;
        previous_hash: string;
      }[];
      const target = rows.find((r) => r.data.includes('"decision_id":"d3"'))!;
      let previous: string | undefined;
      const update = t.db.prepare('UPDATE ledger_entries SET data = ?, previous_hash = ?, entry_hash = ? WHERE seq = ?');
      for (const r of rows) {
        const data = r.seq === target.seq ? r.data.replace('"denied"', '"approved"') : r.data;
        const previousHash = previous ?? r.previous_hash;
        const entryHash = computeEntryHash({ entryId: r.entry_id, eventType: r.event_type, timestamp: r.timestamp, dataJson: data, previousHash });
        update.run(data, previousHash, entryHash, r.seq);
        previous = entryHash;
      }
      // …and rebuilds the Merkle tree from the rewritten entries (the table is derived data).
      t.db.prepare('DELETE FROM merkle_nodes').run();
      await t.services.treeIntegrator.integrate();

      const verify = (await t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(token) })).json() as { valid: boolean };
      expect(verify.valid).toBe(true); // the chain alone cannot tell

      const entries = await allEntries(t, token);
      expect(entries.find((e) => e.seq === target.seq)!.data).toMatchObject({ outcome: 'approved' });
      const n = entries.length;
      const res = await t.app.inject({ method: 'GET', url: `/ledger/proof/consistency?from=${kept.tree_size}&to=${n}`, headers: bearer(token) });
      expect(res.statusCode).toBe(200);
      const proof = res.json() as { hashes: string[]; to_root: string; from_root: string };
      const newRoot = headOf(entries, n);
      expect(Buffer.from(proof.to_root, 'base64').equals(newRoot)).toBe(true);
      // The served proof is internally fine for the NEW tree…
      expect(verifyConsistency(kept.tree_size, n, proof.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(proof.from_root, 'base64'), newRoot)).toBe(true);
      // …but not from the root the auditor kept: the log did not only grow.
      expect(Buffer.from(proof.from_root, 'base64').equals(keptRoot)).toBe(false);
      expect(verifyConsistency(kept.tree_size, n, proof.hashes.map((h) => Buffer.from(h, 'base64')), keptRoot, newRoot)).toBe(false);
      // The kept note still verifies under the key: it is the auditor's evidence of the earlier state.
      expect(specVerifyNote(Buffer.from(kept.note), [specParseVerifierKey(kept.verifier_key)]).ok).toBe(true);
    } finally {
      await t.app.close();
    }
  });
});
