import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntryDto } from '../../src/modules/ledger/ledger.schemas.js';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { allMigrations } from '../../src/migrations.js';
import { bearer, buildTestApp, seedSession, tempDir, testStore, type TestApp } from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';
import { tamper } from '../helpers/tamper.js';

type WireEntry = LedgerEntryDto;

async function listAll(t: TestApp, query: string, limit: number): Promise<WireEntry[]> {
  const out: WireEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const url: string = `/ledger/entries?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { entries: WireEntry[]; next_cursor: string | null };
    expect(body.entries.length).toBeLessThanOrEqual(limit);
    out.push(...body.entries);
    cursor = body.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error('pagination did not end');
}

describe('ledger routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    const { ledger } = t.services;
    for (let i = 0; i < 12; i++) await ledger.append('decision', { decision_id: `d${i}`, outcome: 'approved' });
    t.clock.advance(60_000);
    for (let i = 0; i < 8; i++) await ledger.append('escalation_created', { escalation_id: `e${i}`, note: 'Grüße 東京' });
  });
  afterAll(() => t.app.close());

  it('starts with genesis and a system_startup entry', async () => {
    const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries?limit=2' });
    const [genesis, startup] = res.json().entries as WireEntry[];
    expect(genesis).toMatchObject({
      seq: 0,
      entry_id: 'genesis',
      event_type: 'genesis',
      data: { message: 'Lexecon ledger initialized' },
      previous_hash: '0'.repeat(64),
      timestamp: '2026-11-25T10:00:00.000Z',
    });
    expect(startup).toMatchObject({
      seq: 1,
      entry_id: 'entry_1',
      event_type: 'system_startup',
      previous_hash: genesis!.entry_hash,
    });
    expect(startup!.data).toMatchObject({ version: '0.1.0', durability: 'full', schema_version: allMigrations.length });
  });

  it('an auditor can recompute every entry hash and link from the API output alone', async () => {
    const entries = await listAll(t, '', 7);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i));
    let previous = '0'.repeat(64);
    for (const e of entries) {
      expect(e.previous_hash).toBe(previous);
      const { entry_id, event_type, data, timestamp, previous_hash } = e;
      expect(sha256Hex(canonicalize({ entry_id, event_type, data, timestamp, previous_hash }))).toBe(e.entry_hash);
      previous = e.entry_hash;
    }
  });

  it('paginates with a cursor in seq order, without repeats or gaps', async () => {
    const first = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries?limit=5' });
    expect(first.json().entries.map((e: WireEntry) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(first.json().next_cursor).toEqual(expect.any(String));
    const all = await listAll(t, '', 5);
    expect(new Set(all.map((e) => e.seq)).size).toBe(22);
    const last = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries?limit=1000' });
    expect(last.json().next_cursor).toBeNull();
  });

  it('filters by event_type, since and after_seq', async () => {
    const decisions = await listAll(t, '&event_type=decision', 5);
    expect(decisions).toHaveLength(12);
    expect(decisions.every((e) => e.event_type === 'decision')).toBe(true);

    const since = await listAll(t, `&since=${encodeURIComponent('2026-11-25T10:01:00.000Z')}`, 100);
    expect(since.map((e) => e.event_type)).toEqual(Array(8).fill('escalation_created'));
    const sinceOffset = await listAll(t, `&since=${encodeURIComponent('2026-11-25T11:00:30+01:00')}`, 100);
    expect(sinceOffset).toHaveLength(8);

    const after = await listAll(t, '&after_seq=19', 100);
    expect(after.map((e) => e.seq)).toEqual([20, 21]);
    const combined = await listAll(t, '&event_type=escalation_created&after_seq=17', 2);
    expect(combined.map((e) => e.seq)).toEqual([18, 19, 20, 21]);
  });

  it('rejects bad query parameters with every problem listed', async () => {
    const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)),
      url: '/ledger/entries?limit=5000&event_type=Bad-Type&since=yesterday&after_seq=abc',
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(
      ['after_seq', 'event_type', 'limit', 'since'],
    );
    const zero = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries?limit=0' });
    expect(zero.statusCode).toBe(400);
    const cursor = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries?cursor=not-a-cursor' });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().error.details[0].field).toBe('cursor');
  });

  it('reads one entry by id, and 404s an unknown one', async () => {
    const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries/entry_3' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ seq: 3, entry_id: 'entry_3', event_type: 'decision', data: { decision_id: 'd1' } });
    const missing = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries/entry_999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' }, request_id: expect.any(String) });
  });

  it('verifies the chain', async () => {
    const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/verify' });
    expect(res.statusCode).toBe(200);
    const head = (await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/entries/entry_21' })).json();
    expect(res.json()).toEqual({ valid: true, entries_checked: 22, head_seq: 21, head_hash: head.entry_hash });
  });
});

describe('ledger verification over HTTP after tampering', () => {
  // [case, tamper statements, seq reported, code, entry_id reported (the stored one; the expected one for a gap)]
  const cases: [string, string[], number, string, string][] = [
    ['one byte of data changed', [`UPDATE ledger_entries SET data = replace(data, 'd4', 'd5') WHERE seq = 6`], 6, 'hash_mismatch', 'entry_6'],
    ['a hash changed', [`UPDATE ledger_entries SET entry_hash = '${'f'.repeat(64)}' WHERE seq = 4`], 4, 'hash_mismatch', 'entry_4'],
    ['a row deleted', ['DELETE FROM ledger_entries WHERE seq = 5'], 5, 'seq_gap', 'entry_5'],
    [
      'two rows swapped',
      // Through a free seq (the CHECK seq >= 0 holds on both backends).
      [
        'UPDATE ledger_entries SET seq = 1000000 WHERE seq = 7',
        'UPDATE ledger_entries SET seq = 7 WHERE seq = 8',
        'UPDATE ledger_entries SET seq = 8 WHERE seq = 1000000',
      ],
      7,
      'entry_id_mismatch',
      'entry_8',
    ],
  ];

  it.each(cases)('%s is reported at the right seq', async (_name, statements, seq, code, entryId) => {
    const t = await buildTestApp();
    try {
      for (let i = 0; i < 10; i++) await t.services.ledger.append('decision', { decision_id: `d${i}` });
      await tamper(t, statements);
      const res = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/verify' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.valid).toBe(false);
      expect(body.entries_checked).toBe(seq);
      expect(body.first_invalid).toMatchObject({ seq, entry_id: entryId, code });
    } finally {
      await t.app.close();
    }
  });
});

describe('ledger lifecycle', () => {
  it('persists across restarts, continuing the same chain', async () => {
    const dir = tempDir();
    const env = { LEXECON_DATA_DIR: dir };
    const store = await testStore(dir);
    const first = await buildTestApp({ env, store });
    await first.services.ledger.append('decision', { decision_id: 'before-restart' });
    await first.app.close();

    const second = await buildTestApp({ env, store });
    try {
      const entries = await listAll(second, '', 100);
      expect(entries.map((e) => e.event_type)).toEqual(['genesis', 'system_startup', 'decision', 'system_startup']);
      expect(entries[2]!.data).toEqual({ decision_id: 'before-restart' });
      const verify = (await second.app.inject({ method: 'GET', headers: bearer(await seedSession(second)), url: '/ledger/verify' })).json();
      expect(verify).toMatchObject({ valid: true, entries_checked: 4, head_seq: 3 });
    } finally {
      await second.app.close();
      await store.close();
    }
  });

  it('commits appends still queued when the app closes', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const t = await buildTestApp({ env: { LEXECON_DATA_DIR: dir }, store });
    try {
      const pending = Array.from({ length: 50 }, (_, i) => t.services.ledger.append('decision', { i }));
      await t.app.close();
      const receipts = await Promise.all(pending);
      expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
      await expect(t.services.ledger.append('decision', { late: true })).rejects.toMatchObject({ statusCode: 503 });
      // Read back through a connection of its own: what the closed app committed is in the database.
      expect(await store.withPort(async (port) => countRows({ port }, 'ledger_entries'))).toBe(52);
    } finally {
      await store.close();
    }
  });

  it('refuses writes and reports not ready when the head is corrupt at start', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const first = await buildTestApp({ env: { LEXECON_DATA_DIR: dir }, store });
    await first.services.ledger.append('decision', { decision_id: 'x' });
    await first.app.close();
    await store.withPort((port) => tamper({ port }, [`UPDATE ledger_entries SET data = '{"decision_id":"y"}' WHERE seq = 2`]));

    const t = await buildTestApp({ env: { LEXECON_DATA_DIR: dir }, store });
    try {
      const ready = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().status).toBe('not_ready');
      expect(ready.json().checks.ledger).toMatchObject({ ok: false, detail: expect.stringContaining('seq 2') });
      await expect(t.services.ledger.append('decision', {})).rejects.toMatchObject({
        statusCode: 503,
        code: 'LEDGER_CORRUPT',
      });
      // No system_startup entry was written on top of the corrupt head, and auditors can still read.
      const verify = (await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/ledger/verify' })).json();
      expect(verify).toMatchObject({ valid: false, head_seq: 2, first_invalid: { seq: 2, code: 'hash_mismatch' } });
      const health = await t.app.inject({ method: 'GET', headers: bearer(await seedSession(t)), url: '/health' });
      expect(health.statusCode).toBe(200);
    } finally {
      await t.app.close();
      await store.close();
    }
  });
});
