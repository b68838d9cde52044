import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import {
  ChainVerifier,
  checkEntry,
  computeEntryHash,
  entryIdForSeq,
  entryPreimage,
  EVENT_TYPE_PATTERN,
  GENESIS_DATA,
  GENESIS_ENTRY_ID,
  GENESIS_EVENT_TYPE,
  GENESIS_PREVIOUS_HASH,
  genesisEntry,
  nextEntry,
  type Finding,
  type StoredEntry,
} from './ledger.chain.js';
import { goldenVector } from '../../../test/helpers/paths.js';


interface LedgerVector {
  seq: number;
  entry_id: string;
  event_type: string;
  timestamp: string;
  data: Record<string, unknown>;
  previous_hash: string;
  canonical: string;
  entry_hash: string;
}

const vectors = goldenVector<{ entries: LedgerVector[] }>('ledger.json').entries;

function stored(v: LedgerVector): StoredEntry {
  return {
    seq: v.seq,
    entryId: v.entry_id,
    eventType: v.event_type,
    timestamp: v.timestamp,
    dataJson: canonicalize(v.data),
    previousHash: v.previous_hash,
    entryHash: v.entry_hash,
  };
}

/** The three vector entries as stored rows (fresh copies each call, so tests can tamper freely). */
const vectorChain = (): StoredEntry[] => vectors.map(stored);

/** Recompute an entry's hash after tampering, as a careful forger would. */
function rehash(e: StoredEntry): StoredEntry {
  return { ...e, entryHash: computeEntryHash(e) };
}

/** A valid chain of `n` entries (genesis included) built with genesisEntry/nextEntry. */
function buildChain(n: number): StoredEntry[] {
  const out = [genesisEntry('2026-11-25T10:00:00.000Z')];
  for (let i = 1; i < n; i++) {
    const prev = out[i - 1]!;
    const ts = new Date(Date.parse('2026-11-25T10:00:00.000Z') + i * 1000).toISOString();
    out.push(nextEntry(prev, i % 2 ? 'decision' : 'risk_assessed', canonicalize({ i, id: `d${i}` }), ts));
  }
  return out;
}

/** Feed `entries` to a fresh verifier and close it. */
function verify(entries: readonly StoredEntry[]): { verifier: ChainVerifier; finding: Finding | undefined } {
  const verifier = new ChainVerifier();
  for (const e of entries) verifier.push(e);
  return { verifier, finding: verifier.finish() };
}

function flipHex(hex: string, at = 0): string {
  const c = hex[at] === '0' ? '1' : '0';
  return hex.slice(0, at) + c + hex.slice(at + 1);
}

describe('ledger vectors (DESIGN §3, test/vectors/ledger.json)', () => {
  it('has the three vector entries, seq 0..2', () => {
    expect(vectors.map((v) => v.seq)).toEqual([0, 1, 2]);
  });

  it('matches the original Python Lexecon hashes for genesis and entry_1', () => {
    expect(vectors[0]!.entry_hash.startsWith('9e15f100')).toBe(true);
    expect(vectors[1]!.entry_hash.startsWith('798a6a78')).toBe(true);
  });

  it.each(vectors.map((v) => [v.entry_id, v] as const))('%s: preimage and hash byte for byte', (_id, v) => {
    const fields = {
      entryId: v.entry_id,
      eventType: v.event_type,
      timestamp: v.timestamp,
      dataJson: canonicalize(v.data),
      previousHash: v.previous_hash,
    };
    expect(entryPreimage(fields)).toBe(v.canonical);
    expect(computeEntryHash(fields)).toBe(v.entry_hash);
    expect(sha256Hex(v.canonical)).toBe(v.entry_hash);
    expect(computeEntryHash(fields)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(vectors.map((v) => [v.entry_id, v] as const))('%s: preimage equals JCS of the five fields', (_id, v) => {
    const jcs = canonicalize({
      entry_id: v.entry_id,
      event_type: v.event_type,
      data: v.data,
      timestamp: v.timestamp,
      previous_hash: v.previous_hash,
    });
    expect(jcs).toBe(v.canonical);
    expect(entryPreimage(stored(v))).toBe(jcs);
  });

  it('the vectors chain: each previous_hash is the entry_hash before it', () => {
    expect(vectors[0]!.previous_hash).toBe(GENESIS_PREVIOUS_HASH);
    for (let i = 1; i < vectors.length; i++) {
      expect(vectors[i]!.previous_hash).toBe(vectors[i - 1]!.entry_hash);
      expect(vectors[i]!.entry_id).toBe(`entry_${i}`);
    }
  });

  it('genesisEntry reproduces vector 0', () => {
    expect(genesisEntry(vectors[0]!.timestamp)).toEqual(stored(vectors[0]!));
  });

  it('nextEntry reproduces vectors 1 and 2 from the previous head', () => {
    let head: StoredEntry = genesisEntry(vectors[0]!.timestamp);
    for (const v of vectors.slice(1)) {
      const e = nextEntry(head, v.event_type, canonicalize(v.data), v.timestamp);
      expect(e).toEqual(stored(v));
      head = e;
    }
  });
});

describe('chain construction', () => {
  it('entryIdForSeq: genesis for 0, entry_n after', () => {
    expect(entryIdForSeq(0)).toBe('genesis');
    expect(entryIdForSeq(1)).toBe('entry_1');
    expect(entryIdForSeq(2)).toBe('entry_2');
    expect(entryIdForSeq(42)).toBe('entry_42');
    expect(entryIdForSeq(1_000_000)).toBe('entry_1000000');
  });

  it('genesis constants follow DESIGN §3', () => {
    expect(GENESIS_ENTRY_ID).toBe('genesis');
    expect(GENESIS_EVENT_TYPE).toBe('genesis');
    expect(GENESIS_PREVIOUS_HASH).toBe('0'.repeat(64));
    expect(GENESIS_DATA).toEqual({ message: 'Lexecon ledger initialized' });
    expect(Object.isFrozen(GENESIS_DATA)).toBe(true);
  });

  it('genesisEntry has seq 0, the fixed content and the given timestamp', () => {
    const g = genesisEntry('2026-11-25T10:00:00.000Z');
    expect(g).toEqual({
      seq: 0,
      entryId: 'genesis',
      eventType: 'genesis',
      timestamp: '2026-11-25T10:00:00.000Z',
      dataJson: '{"message":"Lexecon ledger initialized"}',
      previousHash: '0'.repeat(64),
      entryHash: sha256Hex(
        '{"data":{"message":"Lexecon ledger initialized"},"entry_id":"genesis","event_type":"genesis",' +
          `"previous_hash":"${'0'.repeat(64)}","timestamp":"2026-11-25T10:00:00.000Z"}`,
      ),
    });
    expect(genesisEntry('2026-11-25T10:00:00.001Z').entryHash).not.toBe(g.entryHash);
  });

  it('nextEntry takes seq + 1, its entry id and links to the head hash', () => {
    const head = { seq: 41, entryHash: 'ab'.repeat(32) };
    const e = nextEntry(head, 'decision', '{"x":1}', '2026-11-25T10:00:00.000Z');
    expect(e.seq).toBe(42);
    expect(e.entryId).toBe('entry_42');
    expect(e.eventType).toBe('decision');
    expect(e.dataJson).toBe('{"x":1}');
    expect(e.previousHash).toBe('ab'.repeat(32));
    expect(e.entryHash).toBe(computeEntryHash(e));
    expect(e.entryHash).toBe(
      sha256Hex(
        `{"data":{"x":1},"entry_id":"entry_42","event_type":"decision","previous_hash":"${'ab'.repeat(32)}",` +
          '"timestamp":"2026-11-25T10:00:00.000Z"}',
      ),
    );
  });

  it('the hash covers every field', () => {
    const base = nextEntry({ seq: 0, entryHash: 'cd'.repeat(32) }, 'decision', '{"a":1}', '2026-01-01T00:00:00.000Z');
    const variants: Omit<StoredEntry, 'seq' | 'entryHash'>[] = [
      { ...base, entryId: 'entry_2' },
      { ...base, eventType: 'decisions' },
      { ...base, timestamp: '2026-01-01T00:00:00.001Z' },
      { ...base, dataJson: '{"a":2}' },
      { ...base, previousHash: flipHex(base.previousHash, 63) },
    ];
    const hashes = new Set(variants.map(computeEntryHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(base.entryHash)).toBe(false);
  });

  it('entryPreimage equals JCS of the fields for awkward strings and data', () => {
    const cases = [
      { data: { 'b"': ['\u0000', 'é', '😀', { z: null, a: 1e21 }], a: -0 }, ts: '2026-01-01T00:00:00.000Z' },
      { data: {}, ts: 'not "a" timestamp\n\u2028' },
      { data: { nested: { deeper: [[], {}, [1.5, -2]] } }, ts: '' },
    ];
    for (const [i, c] of cases.entries()) {
      const fields = {
        entryId: `entry_${i + 1}`,
        eventType: 'user_created',
        timestamp: c.ts,
        dataJson: canonicalize(c.data),
        previousHash: 'f'.repeat(64),
      };
      expect(entryPreimage(fields)).toBe(
        canonicalize({
          entry_id: fields.entryId,
          event_type: fields.eventType,
          data: c.data,
          timestamp: c.ts,
          previous_hash: fields.previousHash,
        }),
      );
    }
  });

  it('EVENT_TYPE_PATTERN accepts snake_case event types and rejects the rest', () => {
    for (const ok of ['decision', 'user_created', 'auth_login_failed', 'genesis', 'a', 'a1_b2', 'x'.repeat(64)]) {
      expect(EVENT_TYPE_PATTERN.test(ok), ok).toBe(true);
    }
    for (const bad of ['', 'Decision', '1decision', '_x', 'user-created', 'a b', 'x'.repeat(65), 'décision']) {
      expect(EVENT_TYPE_PATTERN.test(bad), bad).toBe(false);
    }
  });
});

describe('ChainVerifier: valid chains', () => {
  it('accepts the three vector entries', () => {
    const { verifier, finding } = verify(vectorChain());
    expect(finding).toBeUndefined();
    expect(verifier.firstInvalid).toBeUndefined();
    expect(verifier.entriesChecked).toBe(3);
  });

  it('push returns true for each valid entry and counts them', () => {
    const verifier = new ChainVerifier();
    expect(verifier.entriesChecked).toBe(0);
    for (const [i, e] of vectorChain().entries()) {
      expect(verifier.push(e)).toBe(true);
      expect(verifier.entriesChecked).toBe(i + 1);
    }
  });

  it('accepts a genesis-only chain', () => {
    const { verifier, finding } = verify([genesisEntry('2026-11-25T10:00:00.000Z')]);
    expect(finding).toBeUndefined();
    expect(verifier.entriesChecked).toBe(1);
  });

  it('accepts a long chain built with genesisEntry/nextEntry', () => {
    const { verifier, finding } = verify(buildChain(200));
    expect(finding).toBeUndefined();
    expect(verifier.entriesChecked).toBe(200);
  });

  it('does not care about the genesis timestamp (any well-hashed value is valid)', () => {
    expect(verify([genesisEntry('2020-01-01T00:00:00.000Z')]).finding).toBeUndefined();
  });
});

describe('ChainVerifier: findings', () => {
  it('missing_genesis for an empty stream, reported by finish()', () => {
    const verifier = new ChainVerifier();
    expect(verifier.firstInvalid).toBeUndefined();
    const finding = verifier.finish();
    expect(finding).toMatchObject({ seq: 0, entryId: 'genesis', code: 'missing_genesis' });
    expect(finding?.reason).toBeTruthy();
    expect(verifier.firstInvalid).toEqual(finding);
    expect(verifier.entriesChecked).toBe(0);
  });

  it('missing_genesis for a stream starting at seq 1', () => {
    const [, e1, e2] = vectorChain();
    const verifier = new ChainVerifier();
    expect(verifier.push(e1!)).toBe(false);
    expect(verifier.push(e2!)).toBe(false);
    const finding = verifier.finish();
    expect(finding).toMatchObject({ seq: 0, entryId: 'genesis', code: 'missing_genesis' });
    expect(finding?.reason).toContain('seq 1');
    expect(verifier.entriesChecked).toBe(0);
  });

  it.each([
    ['entryId', { entryId: 'genesis2' }],
    ['entryId as entry_0', { entryId: 'entry_0' }],
    ['eventType', { eventType: 'decision' }],
    ['dataJson', { dataJson: '{"message":"Lexecon ledger initialised"}' }],
    ['dataJson, equivalent but not canonical', { dataJson: '{ "message": "Lexecon ledger initialized" }' }],
    ['dataJson, empty object', { dataJson: '{}' }],
    ['previousHash', { previousHash: flipHex(GENESIS_PREVIOUS_HASH, 10) }],
  ] as const)('invalid_genesis for an altered %s, even when rehashed', (_field, change) => {
    const [g, e1, e2] = vectorChain();
    for (const altered of [{ ...g!, ...change }, rehash({ ...g!, ...change })]) {
      const { verifier, finding } = verify([altered, e1!, e2!]);
      expect(finding).toMatchObject({ seq: 0, code: 'invalid_genesis', entryId: altered.entryId });
      expect(verifier.entriesChecked).toBe(0);
    }
  });

  it('hash_mismatch for an altered genesis timestamp or hash', () => {
    const [g, e1] = vectorChain();
    expect(verify([{ ...g!, timestamp: '2026-01-01T00:00:01' }, e1!]).finding).toMatchObject({
      seq: 0,
      entryId: 'genesis',
      code: 'hash_mismatch',
    });
    expect(verify([{ ...g!, entryHash: flipHex(g!.entryHash) }, e1!]).finding).toMatchObject({
      seq: 0,
      code: 'hash_mismatch',
    });
  });

  it('seq_gap at the missing seq, with its expected entry_id', () => {
    const chain = buildChain(6);
    const { verifier, finding } = verify([...chain.slice(0, 3), ...chain.slice(4)]);
    expect(finding).toMatchObject({ seq: 3, entryId: 'entry_3', code: 'seq_gap' });
    expect(finding?.reason).toContain('seq 3');
    expect(finding?.reason).toContain('seq 4');
    expect(verifier.entriesChecked).toBe(3);
  });

  it('seq_gap when entry 1 is missing right after genesis', () => {
    const [g, , e2] = vectorChain();
    expect(verify([g!, e2!]).finding).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'seq_gap' });
  });

  it('seq_gap for entries out of order or repeated', () => {
    const [g, e1, e2] = vectorChain();
    expect(verify([g!, e2!, e1!]).finding).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'seq_gap' });
    expect(verify([g!, e1!, e1!]).finding).toMatchObject({ seq: 2, entryId: 'entry_2', code: 'seq_gap' });
    expect(verify([g!, g!]).finding).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'seq_gap' });
  });

  it('entry_id_mismatch when two rows swap places (contents exchanged, seq kept)', () => {
    const chain = buildChain(5);
    const swapped = chain.map((e) => ({ ...e }));
    swapped[2] = { ...chain[3]!, seq: 2 };
    swapped[3] = { ...chain[2]!, seq: 3 };
    const { verifier, finding } = verify(swapped);
    expect(finding).toMatchObject({ seq: 2, entryId: 'entry_3', code: 'entry_id_mismatch' });
    expect(verifier.entriesChecked).toBe(2);
  });

  it('entry_id_mismatch for a renamed entry even when rehashed', () => {
    const [g, e1, e2] = vectorChain();
    const renamed = rehash({ ...e1!, entryId: 'entry_01' });
    expect(verify([g!, renamed, e2!]).finding).toMatchObject({
      seq: 1,
      entryId: 'entry_01',
      code: 'entry_id_mismatch',
    });
    expect(verify([g!, rehash({ ...e1!, entryId: 'genesis' })]).finding).toMatchObject({
      seq: 1,
      code: 'entry_id_mismatch',
    });
  });

  it('broken_link when previous_hash does not match, even when the entry is rehashed', () => {
    const [g, e1, e2] = vectorChain();
    const relinked = rehash({ ...e2!, previousHash: flipHex(e2!.previousHash, 5) });
    const { verifier, finding } = verify([g!, e1!, relinked]);
    expect(finding).toMatchObject({ seq: 2, entryId: 'entry_2', code: 'broken_link' });
    expect(verifier.entriesChecked).toBe(2);
    // Without rehashing the link is still what is reported (checked before the hash).
    expect(verify([g!, e1!, { ...e2!, previousHash: flipHex(e2!.previousHash, 5) }]).finding?.code).toBe(
      'broken_link',
    );
  });

  it('broken_link when an entry is rewritten and rehashed: the next entry no longer links', () => {
    const [g, e1, e2] = vectorChain();
    const forged = rehash({ ...e1!, dataJson: e1!.dataJson.replace('"deny"', '"approved"') });
    const { verifier, finding } = verify([g!, forged, e2!]);
    expect(finding).toMatchObject({ seq: 2, entryId: 'entry_2', code: 'broken_link' });
    expect(verifier.entriesChecked).toBe(2);
  });

  it('hash_mismatch for a one-byte data change', () => {
    const [g, e1, e2] = vectorChain();
    const dataJson = e1!.dataJson.replace('"r1"', '"r2"');
    expect(dataJson.length).toBe(e1!.dataJson.length);
    expect(dataJson).not.toBe(e1!.dataJson);
    const { verifier, finding } = verify([g!, { ...e1!, dataJson }, e2!]);
    expect(finding).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'hash_mismatch' });
    expect(verifier.entriesChecked).toBe(1);
  });

  it('hash_mismatch for an altered entry_hash at the last entry', () => {
    const [g, e1, e2] = vectorChain();
    const { verifier, finding } = verify([g!, e1!, { ...e2!, entryHash: flipHex(e2!.entryHash, 63) }]);
    expect(finding).toMatchObject({ seq: 2, entryId: 'entry_2', code: 'hash_mismatch' });
    expect(verifier.entriesChecked).toBe(2);
  });

  it('hash_mismatch at the altered entry, not broken_link at the next one', () => {
    const [g, e1, e2] = vectorChain();
    const { finding } = verify([g!, { ...e1!, entryHash: flipHex(e1!.entryHash) }, e2!]);
    expect(finding).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'hash_mismatch' });
  });

  it.each([
    ['timestamp', { timestamp: '2026-01-01T00:00:01.000002' }],
    ['eventType', { eventType: 'decisions' }],
    ['dataJson whitespace', { dataJson: '{"action":"search", "actor":"model","decision":"deny","request_id":"r1","tenant_id":"default"}' }],
  ] as const)('hash_mismatch for an altered %s', (_field, change) => {
    const [g, e1] = vectorChain();
    expect(verify([g!, { ...e1!, ...change }]).finding).toMatchObject({ seq: 1, code: 'hash_mismatch' });
  });

  it('reports the problem at the right seq deep in a long chain', () => {
    const chain = buildChain(100);
    chain[73] = { ...chain[73]!, dataJson: chain[73]!.dataJson.replace('"d73"', '"d7X"') };
    const { verifier, finding } = verify(chain);
    expect(finding).toMatchObject({ seq: 73, entryId: 'entry_73', code: 'hash_mismatch' });
    expect(verifier.entriesChecked).toBe(73);
  });
});

describe('ChainVerifier: stops at the first finding', () => {
  it('keeps the first finding and the valid-prefix count, rejecting everything after', () => {
    const chain = buildChain(6);
    const verifier = new ChainVerifier();
    expect(verifier.push(chain[0]!)).toBe(true);
    expect(verifier.push(chain[1]!)).toBe(true);
    expect(verifier.push({ ...chain[2]!, entryHash: flipHex(chain[2]!.entryHash) })).toBe(false);
    const first = verifier.firstInvalid;
    expect(first).toMatchObject({ seq: 2, code: 'hash_mismatch' });
    // Later entries, valid or not, change nothing.
    expect(verifier.push(chain[3]!)).toBe(false);
    expect(verifier.push({ ...chain[4]!, previousHash: '0'.repeat(64) })).toBe(false);
    expect(verifier.push(chain[0]!)).toBe(false);
    expect(verifier.firstInvalid).toEqual(first);
    expect(verifier.entriesChecked).toBe(2);
    expect(verifier.finish()).toEqual(first);
    expect(verifier.finish()).toEqual(first);
  });

  it('a second problem later in the chain is not reported over the first', () => {
    const chain = buildChain(6);
    chain[1] = { ...chain[1]!, entryId: 'entry_x' };
    chain[4] = { ...chain[4]!, entryHash: flipHex(chain[4]!.entryHash) };
    expect(verify(chain).finding).toMatchObject({ seq: 1, code: 'entry_id_mismatch' });
  });

  it('finish() on a valid chain reports nothing and can be called again', () => {
    const verifier = new ChainVerifier();
    for (const e of vectorChain()) verifier.push(e);
    expect(verifier.finish()).toBeUndefined();
    expect(verifier.finish()).toBeUndefined();
    expect(verifier.entriesChecked).toBe(3);
  });
});

describe('checkEntry', () => {
  const [g, e1, e2] = vectorChain();

  it('returns undefined for an entry that fits its place', () => {
    expect(checkEntry(g!, 0, GENESIS_PREVIOUS_HASH)).toBeUndefined();
    expect(checkEntry(e1!, 1, g!.entryHash)).toBeUndefined();
    expect(checkEntry(e2!, 2, e1!.entryHash)).toBeUndefined();
  });

  it('missing_genesis when seq 0 is expected but another seq arrives', () => {
    expect(checkEntry(e2!, 0, GENESIS_PREVIOUS_HASH)).toEqual({
      seq: 0,
      entryId: 'genesis',
      code: 'missing_genesis',
      reason: 'entry with seq 0 is missing (next stored entry has seq 2)',
    });
  });

  it('seq_gap names the expected seq and entry id', () => {
    expect(checkEntry(e2!, 1, g!.entryHash)).toMatchObject({ seq: 1, entryId: 'entry_1', code: 'seq_gap' });
  });

  it('broken_link against the expected previous hash', () => {
    expect(checkEntry(e2!, 2, g!.entryHash)).toMatchObject({ seq: 2, entryId: 'entry_2', code: 'broken_link' });
  });

  it('checks the genesis previous hash against the fixed value, not only the expected one', () => {
    const forged = rehash({ ...g!, previousHash: 'a'.repeat(64) });
    expect(checkEntry(forged, 0, 'a'.repeat(64))).toMatchObject({ seq: 0, code: 'invalid_genesis' });
  });

  it('hash_mismatch when the stored hash is not the content hash', () => {
    expect(checkEntry({ ...e1!, entryHash: 'f'.repeat(64) }, 1, g!.entryHash)).toMatchObject({
      seq: 1,
      code: 'hash_mismatch',
    });
  });

  it('every finding has a non-empty reason', () => {
    const findings = [
      checkEntry(e1!, 0, GENESIS_PREVIOUS_HASH),
      checkEntry({ ...g!, eventType: 'x' }, 0, GENESIS_PREVIOUS_HASH),
      checkEntry(e2!, 1, g!.entryHash),
      checkEntry({ ...e1!, entryId: 'entry_9' }, 1, g!.entryHash),
      checkEntry(e1!, 1, e1!.entryHash),
      checkEntry({ ...e1!, entryHash: 'f'.repeat(64) }, 1, g!.entryHash),
    ];
    expect(findings.map((f) => f?.code)).toEqual([
      'missing_genesis',
      'invalid_genesis',
      'seq_gap',
      'entry_id_mismatch',
      'broken_link',
      'hash_mismatch',
    ]);
    for (const f of findings) expect(f!.reason.length).toBeGreaterThan(0);
  });
});
