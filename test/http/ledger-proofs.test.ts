/**
 * Issue 19, first slice: the Merkle tree over the ledger is stored by the integrator, off the commit path
 * (in transactions of its own, batched), and `GET /ledger/proof/inclusion` / `GET /ledger/proof/consistency` answer from it. The
 * test recomputes every tree head itself from the entries the API lists (leaf = the entry_hash bytes)
 * and checks the server's proofs against those heads; a database whose tree table is missing entries (one
 * from before the table) is brought up to date at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntryDto } from '../../src/modules/ledger/ledger.schemas.js';
import { leafHash, treeHead, verifyConsistency, verifyInclusion } from '../../src/modules/transparency/merkle.js';
import { bearer, buildTestApp, seedSession, tempDir, testStore, type TestApp } from '../helpers/build-test-app.js';
import { Gen } from '../helpers/prng.js';

interface InclusionDto {
  seq: number;
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  root_hash: string;
  hashes: string[];
}
interface ConsistencyDto {
  from: number;
  to: number;
  from_root: string;
  to_root: string;
  hashes: string[];
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

async function allEntries(t: TestApp): Promise<LedgerEntryDto[]> {
  const headers = bearer(await seedSession(t));
  const out: LedgerEntryDto[] = [];
  let cursor: string | null = null;
  do {
    const res = await t.app.inject({ method: 'GET', headers, url: `/ledger/entries?limit=1000${cursor ? `&cursor=${cursor}` : ''}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { entries: LedgerEntryDto[]; next_cursor: string | null };
    out.push(...body.entries);
    cursor = body.next_cursor;
  } while (cursor !== null);
  // Entries commit before the tree integrator adds them (off the commit path): have it integrate now.
  await t.services.treeIntegrator.integrate();
  return out;
}

/** Tree heads of every size, computed by the test from the listed entries. */
function headsOf(entries: readonly LedgerEntryDto[]): (size: number) => Buffer {
  const leaves = entries.map((e) => Buffer.from(e.entry_hash, 'hex'));
  return (size) => treeHead(leaves.slice(0, size));
}

async function get<T>(t: TestApp, url: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await t.app.inject({ method: 'GET', url, headers: token === undefined ? {} : bearer(token) });
  return { status: res.statusCode, body: res.json() as T };
}

describe('Merkle proofs over the ledger', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await buildTestApp();
    token = await seedSession(t);
    const { ledger } = t.services;
    // Concurrent appends: group commit puts many into one batch transaction.
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.append('decision', { decision_id: `d${round}_${i}` })));
    }
    // A failing hook: its append is rolled back alone; the isolated batch after it is integrated too.
    const failing = ledger.append('decision', { decision_id: 'bad' }, { withEntries: () => { throw new Error('no'); } });
    const others = Array.from({ length: 5 }, (_, i) => ledger.append('decision', { decision_id: `after_${i}` }));
    await expect(failing).rejects.toThrow('no');
    await Promise.all(others);
    await Promise.all(Array.from({ length: 7 }, (_, i) => ledger.append('decision', { decision_id: `late_${i}` })));
  });
  afterAll(() => t.app.close());

  it('every inclusion proof verifies against the head the test computes from the entries', async () => {
    const entries = await allEntries(t);
    const head = headsOf(entries);
    const n = entries.length;
    expect(n).toBeGreaterThan(130);
    const gen = new Gen(19);
    const cases: [number, number | undefined][] = [[0, undefined], [n - 1, undefined], [0, 1], [n - 1, n]];
    for (let i = 0; i < 40; i++) {
      const size = 1 + gen.int(n);
      cases.push([gen.int(size), size]);
    }
    for (const [seq, size] of cases) {
      const url = `/ledger/proof/inclusion?seq=${seq}${size === undefined ? '' : `&tree_size=${size}`}`;
      const { status, body } = await get<InclusionDto>(t, url, token);
      expect(status, url).toBe(200);
      const treeSize = size ?? n;
      expect(body.tree_size).toBe(treeSize);
      expect(body.leaf_index).toBe(seq);
      expect(b64(body.root_hash).equals(head(treeSize)), url).toBe(true);
      const leaf = leafHash(Buffer.from(entries[seq]!.entry_hash, 'hex'));
      expect(b64(body.leaf_hash).equals(leaf)).toBe(true);
      expect(verifyInclusion(seq, treeSize, leaf, body.hashes.map(b64), head(treeSize)), url).toBe(true);
      if (body.hashes.length > 0) {
        const other = leafHash(Buffer.from(entries[(seq + 1) % n]!.entry_hash, 'hex'));
        expect(verifyInclusion(seq, treeSize, other, body.hashes.map(b64), head(treeSize))).toBe(false);
      }
    }
  });

  it('every consistency proof verifies between heads the test computes', async () => {
    const entries = await allEntries(t);
    const head = headsOf(entries);
    const n = entries.length;
    const gen = new Gen(2019);
    const cases: [number, number | undefined][] = [[1, undefined], [n, undefined], [1, 1], [2, n]];
    for (let i = 0; i < 30; i++) {
      const to = 1 + gen.int(n);
      cases.push([1 + gen.int(to), to]);
    }
    for (const [from, to] of cases) {
      const url = `/ledger/proof/consistency?from=${from}${to === undefined ? '' : `&to=${to}`}`;
      const { status, body } = await get<ConsistencyDto>(t, url, token);
      expect(status, url).toBe(200);
      const second = to ?? n;
      expect(b64(body.from_root).equals(head(from))).toBe(true);
      expect(b64(body.to_root).equals(head(second))).toBe(true);
      expect(verifyConsistency(from, second, body.hashes.map(b64), head(from), head(second)), url).toBe(true);
    }
  });

  it('refuses what it cannot prove with a 400, and anonymous callers with a 401', async () => {
    const n = (await allEntries(t)).length;
    const bad = [
      `/ledger/proof/inclusion?seq=${n}`,
      `/ledger/proof/inclusion?seq=3&tree_size=3`,
      `/ledger/proof/inclusion?seq=0&tree_size=${n + 1}`,
      `/ledger/proof/inclusion?seq=0&tree_size=0`,
      '/ledger/proof/inclusion?seq=-1',
      '/ledger/proof/inclusion?seq=abc',
      '/ledger/proof/inclusion?seq=99999999999999999999',
      '/ledger/proof/inclusion',
      '/ledger/proof/consistency?from=0',
      `/ledger/proof/consistency?from=5&to=4`,
      `/ledger/proof/consistency?from=1&to=${n + 1}`,
      '/ledger/proof/consistency?from=1.5',
    ];
    for (const url of bad) {
      const { status, body } = await get<{ error: { code: string } }>(t, url, token);
      expect(status, url).toBe(400);
      expect(body.error.code, url).toBe('VALIDATION_FAILED');
    }
    expect((await get(t, '/ledger/proof/inclusion?seq=0')).status).toBe(401);
    expect((await get(t, '/ledger/proof/consistency?from=1')).status).toBe(401);
  });

  it('answers for the integrated tree only: a size beyond it is a 400 naming the integrated size', async () => {
    const n = (await allEntries(t)).length;
    await t.services.ledger.append('decision', { decision_id: 'not_yet_integrated' });
    const res = await t.app.inject({ method: 'GET', url: `/ledger/proof/inclusion?seq=${n}&tree_size=${n + 1}`, headers: bearer(token) });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(`integrated tree size, ${n}`);
    expect((await get<InclusionDto>(t, '/ledger/proof/inclusion?seq=0', token)).body.tree_size).toBe(n);
    await t.services.treeIntegrator.integrate();
    expect((await get<InclusionDto>(t, `/ledger/proof/inclusion?seq=${n}&tree_size=${n + 1}`, token)).status).toBe(200);
  });

  it('the chain is untouched: GET /ledger/verify still says valid', async () => {
    const { status, body } = await get<{ valid: boolean }>(t, '/ledger/verify', token);
    expect(status).toBe(200);
    expect(body.valid).toBe(true);
  });
});

describe('a ledger whose tree lacks entries (a database from before the tree)', () => {
  it('is caught up by the integrator (in the background from start), later entries extend the caught-up tree', async () => {
    const store = await testStore(tempDir());
    try {
      const first = await buildTestApp({ store });
      for (let i = 0; i < 30; i++) await first.services.ledger.append('decision', { decision_id: `d${i}` });
      await first.app.close();
      // As before migration 18 filled it: no nodes at all (and, on a second pass, only some).
      await store.withPort((port) => port.run('DELETE FROM merkle_nodes'));
      const second = await buildTestApp({ store });
      for (let i = 0; i < 9; i++) await second.services.ledger.append('decision', { decision_id: `e${i}` });
      const entries = await allEntries(second);
      const head = headsOf(entries);
      const token = await seedSession(second);
      const n = entries.length;
      const { body } = await get<ConsistencyDto>(second, '/ledger/proof/consistency?from=7', token);
      expect(body.to).toBe(n);
      expect(verifyConsistency(7, n, body.hashes.map(b64), head(7), head(n))).toBe(true);
      const rows = await second.port.one<{ n: number }>('SELECT count(*) AS n FROM merkle_nodes WHERE level = 0');
      expect(rows?.n).toBe(n);
      await second.app.close();
    } finally {
      await store.close();
    }
  });
});
