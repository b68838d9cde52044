import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { genesisEntry, nextEntry, type StoredEntry } from '../ledger/ledger.chain.js';
import {
  BAGIT_TXT,
  buildEvidenceBag,
  EXPORT_KINDS,
  KIND_FILES,
  ledgerLine,
  manifestText,
  payloadOxum,
  SIGNATURE_FILES,
  SIGNATURE_KEYS_FILE,
  TAG_FILES,
  type EvidenceBagInput,
} from './bagit.js';
import { packBag, TarFormatError, unpackBag } from './evidence.tar.js';
import { verifyEvidencePackage } from './evidence.verify.js';
import { testSigners } from '../../../test/helpers/evidence.js';

const makeSigners = () => testSigners(1024);

const KEYS = makeSigners();
const OTHER = makeSigners();

/** A ledger of 12 entries; the exported segment is seq 3–10. */
function ledger(): StoredEntry[] {
  const entries: StoredEntry[] = [genesisEntry('2026-01-01T00:00:00.000Z')];
  for (let i = 1; i < 12; i++) {
    const data = i === 5 ? { decision_id: 'dec_5', outcome: 'approved' } : { n: i, note: 'ünïcode ✓' };
    entries.push(nextEntry(entries[i - 1]!, i === 5 ? 'decision' : 'system_startup', canonicalize(data), `2026-01-0${Math.min(9, 1 + Math.floor(i / 2))}T00:00:00.000Z`));
  }
  return entries;
}
const CHAIN = ledger();
const SEGMENT = CHAIN.slice(3, 11);

function input(overrides: Partial<EvidenceBagInput> = {}): EvidenceBagInput {
  const head = (e: StoredEntry) => ({ seq: e.seq, entry_hash: e.entryHash });
  return {
    exportId: 'evd_01KAAAAAAAAAAAAAAAAAAAAAAA',
    createdAt: '2026-02-01T12:00:00.000Z',
    generatedBy: { id: 'usr_01KAAAAAAAAAAAAAAAAAAAAAAA', role: 'auditor' },
    softwareVersion: '0.1.0',
    period: { from: '2026-01-02T00:00:00.000Z', to: '2026-01-07T00:00:00.000Z' },
    include: EXPORT_KINDS,
    request: { from: '2026-01-02T00:00:00Z', to: '2026-01-07T00:00:00Z' },
    ledger: {
      entries: SEGMENT,
      head: { head_before: head(CHAIN[2]!), head_after: head(CHAIN[10]!), live_head: head(CHAIN[11]!), first_seq: 3, last_seq: 10 },
    },
    records: {
      decisions: [{ decision_id: 'dec_5', outcome: 'approved', ledger_seq: 5, ledger_entry_hash: CHAIN[5]!.entryHash }],
      escalations: [{ escalation_id: 'esc_1', decision_id: 'dec_5', status: 'pending' }],
      overrides: [{ override_id: 'ovr_1', decision_id: 'dec_5', ledger_seq: 9, ledger_entry_hash: CHAIN[9]!.entryHash }],
      interventions: [{ intervention_id: 'int_1', kind: 'stop' }],
      policies: [{ version_hash: 'a'.repeat(64) }],
    },
    publicKeys: KEYS.signers.map((s) => ({ kid: s.kid, alg: s.alg, public_key_pem: s.publicKeyPem })),
    ...overrides,
  };
}

const bag = () => buildEvidenceBag(input(), KEYS.signers).files;

/** What a forger (or a buggy exporter) would do after editing payload files: recompute every manifest and signature. */
function reseal(files: Map<string, Buffer>, signers = KEYS.signers, payloadManifest = true): Map<string, Buffer> {
  const out = new Map(files);
  if (payloadManifest) out.set('manifest-sha256.txt', Buffer.from(manifestText(out, [...out.keys()].filter((p) => p.startsWith('data/')))));
  const info = out.get('bag-info.txt')!.toString().replace(/^Payload-Oxum: .*$/m, `Payload-Oxum: ${payloadOxum(out)}`);
  out.set('bag-info.txt', Buffer.from(info));
  const tag = Buffer.from(manifestText(out, TAG_FILES));
  out.set('tagmanifest-sha256.txt', tag);
  for (const s of signers) {
    out.set(SIGNATURE_FILES[s.alg].sig, s.sign(tag));
    out.set(SIGNATURE_FILES[s.alg].pem, Buffer.from(s.publicKeyPem));
  }
  const keys = signers.map((s) => ({ kid: s.kid, alg: s.alg, public_key_pem: s.publicKeyPem, signature_file: SIGNATURE_FILES[s.alg].sig }));
  out.set(SIGNATURE_KEYS_FILE, Buffer.from(JSON.stringify({ signed_file: 'tagmanifest-sha256.txt', keys })));
  return out;
}

function editLines(files: Map<string, Buffer>, file: string, edit: (lines: string[]) => string[]): Map<string, Buffer> {
  const out = new Map(files);
  const lines = out.get(file)!.toString().split('\n').slice(0, -1);
  const edited = edit(lines);
  out.set(file, Buffer.from(edited.map((l) => `${l}\n`).join('')));
  return out;
}

function setQueryCount(files: Map<string, Buffer>, kind: string, n: number): Map<string, Buffer> {
  const out = new Map(files);
  const q = JSON.parse(out.get('data/query.json')!.toString()) as { counts: Record<string, number> };
  q.counts[kind] = n;
  out.set('data/query.json', Buffer.from(JSON.stringify(q)));
  return out;
}

function flipByte(files: Map<string, Buffer>, file: string, at?: number): Map<string, Buffer> {
  const out = new Map(files);
  const b = Buffer.from(out.get(file)!);
  const i = at ?? Math.floor(b.length / 2);
  b[i] = b[i]! ^ 0x01;
  out.set(file, b);
  return out;
}

describe('buildEvidenceBag', () => {
  it('lays out a BagIt bag with every payload file, both manifests and both signatures', () => {
    const files = bag();
    expect([...files.keys()].sort()).toEqual(
      [
        'VERIFY.md',
        'bag-info.txt',
        'bagit.txt',
        'data/decisions.jsonl',
        'data/escalations.jsonl',
        'data/interventions.jsonl',
        'data/ledger-head.json',
        'data/ledger.jsonl',
        'data/overrides.jsonl',
        'data/policy-versions.jsonl',
        'data/public-keys.json',
        'data/query.json',
        'manifest-sha256.txt',
        'signature/ed25519-public.pem',
        'signature/keys.json',
        'signature/rsa-pss-sha256-public.pem',
        'signature/tagmanifest-sha256.txt.ed25519.sig',
        'signature/tagmanifest-sha256.txt.rsa-pss-sha256.sig',
        'tagmanifest-sha256.txt',
      ].sort(),
    );
    expect(files.get('bagit.txt')!.toString()).toBe(BAGIT_TXT);
    const info = files.get('bag-info.txt')!.toString();
    expect(info).toMatch(/^External-Identifier: evd_01KAAAAAAAAAAAAAAAAAAAAAAA$/m);
    expect(info).toMatch(/^Payload-Oxum: \d+\.9$/m);
    expect(info).toMatch(/^Lexecon-Generated-By: usr_01KAAAAAAAAAAAAAAAAAAAAAAA$/m);
    expect(info).toMatch(/^Lexecon-Software-Version: 0\.1\.0$/m);
    expect(files.get('tagmanifest-sha256.txt')!.toString()).not.toContain('signature/');
    expect(files.get(SIGNATURE_FILES.Ed25519.sig)!.length).toBe(64);
    // The ledger line keeps `data` as the canonical text that was hashed.
    const first = JSON.parse(files.get(KIND_FILES.ledger)!.toString().split('\n')[0]!) as { data: string };
    expect(first).toEqual(ledgerLine(SEGMENT[0]!));
    expect(typeof first.data).toBe('string');
  });

  it('is deterministic for equal inputs and packs into a deterministic tar', async () => {
    const a = buildEvidenceBag(input(), KEYS.signers);
    const b = buildEvidenceBag(input(), KEYS.signers);
    expect(b.tagManifestSha256).toBe(a.tagManifestSha256);
    const mtime = new Date('2026-02-01T12:00:00.000Z');
    // Ed25519 signatures are deterministic, RSA-PSS ones are salted (b's RSA signature differs): same files, same tar.
    const t1 = await packBag(a.files, 'evd_x', mtime);
    const t2 = await packBag(new Map([...a.files].reverse()), 'evd_x', mtime);
    expect(sha256Hex(t2)).toBe(sha256Hex(t1));
    const { files: back } = await unpackBag(t1);
    expect([...back.keys()].sort()).toEqual([...a.files.keys()].sort());
    for (const [p, body] of a.files) expect(back.get(p)!.equals(body)).toBe(true);
  });

  it('leaves out the kinds not included, and counts what it holds', () => {
    const b = buildEvidenceBag(input({ include: ['ledger', 'decisions'] }), KEYS.signers);
    expect(b.counts).toEqual({ ledger: 8, decisions: 1 });
    expect(b.files.has('data/overrides.jsonl')).toBe(false);
    expect(verifyEvidencePackage(b.files).valid).toBe(true);
  });
});

describe('verifyEvidencePackage', () => {
  it('accepts an intact package, warns that its own key proves integrity only', () => {
    const report = verifyEvidencePackage(bag());
    expect(report.failure).toBeUndefined();
    expect(report.valid).toBe(true);
    expect(report.exportId).toBe('evd_01KAAAAAAAAAAAAAAAAAAAAAAA');
    expect(report.ledger).toEqual({ firstSeq: 3, lastSeq: 10, entriesChecked: 8 });
    expect(report.counts).toEqual({ ledger: 8, decisions: 1, escalations: 1, overrides: 1, interventions: 1, policies: 1 });
    expect(report.signatures.map((s) => [s.alg, s.valid, s.trusted])).toEqual([
      ['Ed25519', true, null],
      ['RSA-PSS-SHA256', true, null],
    ]);
    expect(report.warnings.join()).toMatch(/not who made it/);
  });

  it('accepts a segment that starts at genesis, and an empty segment', () => {
    const zero = { seq: null, entry_hash: '0'.repeat(64) };
    const last = { seq: 4, entry_hash: CHAIN[4]!.entryHash };
    const fromGenesis = input({
      ledger: { entries: CHAIN.slice(0, 5), head: { head_before: zero, head_after: last, live_head: last, first_seq: 0, last_seq: 4 } },
    });
    expect(verifyEvidencePackage(buildEvidenceBag(fromGenesis, KEYS.signers).files).valid).toBe(true);
    const empty = input({ ledger: { entries: [], head: { head_before: last, head_after: last, live_head: last, first_seq: null, last_seq: null } } });
    expect(verifyEvidencePackage(buildEvidenceBag(empty, KEYS.signers).files)).toMatchObject({ valid: true, ledger: { entriesChecked: 0 } });
  });

  it('checks the signing keys against trusted keys', () => {
    expect(verifyEvidencePackage(bag(), { trustedKeys: [KEYS.publics[0]!] }).signatures.map((s) => s.trusted)).toEqual([true, false]);
    const r = verifyEvidencePackage(bag(), { trustedKeys: OTHER.publics });
    expect(r.failure).toMatchObject({ code: 'untrusted_key', file: SIGNATURE_KEYS_FILE });
    // A package resealed with a forger's own keys verifies by itself; only the trusted key exposes it.
    const forged = reseal(editLines(bag(), 'data/decisions.jsonl', (l) => l.map((x) => x.replace('approved', 'denied'))), OTHER.signers);
    expect(verifyEvidencePackage(forged).valid).toBe(true);
    expect(verifyEvidencePackage(forged, { trustedKeys: KEYS.publics }).failure?.code).toBe('untrusted_key');
  });

  describe('changing any byte of any file fails, naming the file', () => {
    const files = bag();
    for (const file of [...files.keys()].sort()) {
      it(file, () => {
        for (const at of [0, Math.floor(files.get(file)!.length / 2), files.get(file)!.length - 2]) {
          const r = verifyEvidencePackage(flipByte(files, file, at));
          expect(r.valid, `${file} byte ${at}`).toBe(false);
          if (file === 'tagmanifest-sha256.txt') {
            // The signed file: both signatures break (the first one checked is named).
            expect(r.failure!.code).toBe('signature_invalid');
            expect(r.failure!.message).toContain('does not verify over tagmanifest-sha256.txt');
          } else {
            expect(r.failure!.file, `${file} byte ${at}: ${r.failure!.message}`).toBe(file);
          }
        }
      });
    }
  });

  it('names the manifest line of a changed payload file', () => {
    const r = verifyEvidencePackage(flipByte(bag(), 'data/decisions.jsonl'));
    expect(r.failure).toMatchObject({ code: 'hash_mismatch', file: 'data/decisions.jsonl' });
    expect(r.failure!.message).toMatch(/^data\/decisions\.jsonl: SHA-256 [0-9a-f]{64} does not match manifest-sha256\.txt line 1 /);
    const t = verifyEvidencePackage(flipByte(bag(), 'bag-info.txt'));
    expect(t.failure!.message).toMatch(/does not match tagmanifest-sha256\.txt line 2/);
  });

  it('fails on a removed file, naming it', () => {
    for (const file of ['data/ledger.jsonl', 'data/query.json', 'VERIFY.md', SIGNATURE_FILES['RSA-PSS-SHA256'].sig, 'bagit.txt', 'manifest-sha256.txt']) {
      const files = bag();
      files.delete(file);
      expect(verifyEvidencePackage(files).failure, file).toMatchObject({ code: 'missing_file', file });
    }
  });

  it('fails on an extra file, listed in no manifest', () => {
    for (const file of ['data/extra.jsonl', 'notes.txt', 'signature/other.sig']) {
      const files = bag();
      files.set(file, Buffer.from('x\n'));
      expect(verifyEvidencePackage(files).failure, file).toMatchObject({ code: 'extra_file', file });
    }
  });

  it('fails on a malformed manifest line, naming the line', () => {
    const files = editLines(bag(), 'manifest-sha256.txt', (l) => [...l.slice(0, 2), 'not a manifest line', ...l.slice(2)]);
    expect(verifyEvidencePackage(reseal(files, KEYS.signers, false)).failure).toMatchObject({ code: 'manifest_syntax', file: 'manifest-sha256.txt', line: 3 });
  });

  describe('the ledger segment, even when the manifests were recomputed', () => {
    it('a removed ledger line is a seq gap at its line', () => {
      const files = setQueryCount(editLines(bag(), KIND_FILES.ledger, (l) => l.filter((_, i) => i !== 3)), 'ledger', 7);
      const r = verifyEvidencePackage(reseal(files));
      expect(r.failure).toMatchObject({ code: 'ledger_seq', file: KIND_FILES.ledger, line: 4 });
      expect(r.failure!.message).toBe('data/ledger.jsonl line 4: expected seq 6, found seq 7: a ledger line is missing, added or out of order');
    });

    it('a removed last line no longer reaches head_after', () => {
      const files = setQueryCount(editLines(bag(), KIND_FILES.ledger, (l) => l.slice(0, -1)), 'ledger', 7);
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'ledger_head', file: 'data/ledger-head.json' });
    });

    it('a removed first line no longer links to head_before', () => {
      const files = setQueryCount(editLines(bag(), KIND_FILES.ledger, (l) => l.slice(1)), 'ledger', 7);
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'ledger_seq', line: 1 });
    });

    it('reordered lines fail at the first out-of-order line', () => {
      const files = editLines(bag(), KIND_FILES.ledger, (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)]);
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'ledger_seq', line: 2 });
    });

    it("a changed entry's data fails its hash at its line", () => {
      const files = editLines(bag(), KIND_FILES.ledger, (l) =>
        l.map((x, i) => {
          if (i !== 2) return x;
          const e = JSON.parse(x) as { data: string };
          return JSON.stringify({ ...e, data: e.data.replace('"approved"', '"denied"') });
        }),
      );
      const r = verifyEvidencePackage(reseal(files));
      expect(r.failure).toMatchObject({ code: 'ledger_chain', file: KIND_FILES.ledger, line: 3 });
      expect(r.failure!.message).toMatch(/seq 5 \(entry_5\): hash_mismatch/);
    });

    it('a rehashed changed entry breaks the link of the next one', () => {
      const files = editLines(bag(), KIND_FILES.ledger, (l) =>
        l.map((x, i) => {
          if (i !== 2) return x;
          const e = JSON.parse(x) as Record<string, string>;
          const changed = { ...CHAIN[5]!, dataJson: '{"decision_id":"dec_5","outcome":"denied"}' };
          const rehashed = nextEntry({ seq: 4, entryHash: CHAIN[4]!.entryHash }, changed.eventType, changed.dataJson, changed.timestamp);
          return JSON.stringify({ ...e, data: rehashed.dataJson, entry_hash: rehashed.entryHash });
        }),
      );
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'ledger_chain', line: 4 });
    });

    it('a segment that does not follow head_before fails at line 1', () => {
      const files = new Map(bag());
      const head = JSON.parse(files.get('data/ledger-head.json')!.toString()) as { head_before: { entry_hash: string } };
      head.head_before.entry_hash = 'f'.repeat(64);
      files.set('data/ledger-head.json', Buffer.from(JSON.stringify(head)));
      const r = verifyEvidencePackage(reseal(files));
      expect(r.failure).toMatchObject({ code: 'ledger_chain', line: 1 });
      expect(r.failure!.message).toContain('previous_hash does not equal head_before.entry_hash');
    });

    it('a record naming a segment entry with another hash fails', () => {
      const files = editLines(bag(), 'data/decisions.jsonl', (l) => l.map((x) => x.replace(CHAIN[5]!.entryHash, 'e'.repeat(64))));
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'record_ledger_mismatch', file: 'data/decisions.jsonl', line: 1 });
    });

    it('counts that differ from the files fail', () => {
      const files = setQueryCount(bag(), 'interventions', 2);
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'count_mismatch', file: 'data/query.json' });
    });

    it('a non-JSON line fails at its line', () => {
      const files = editLines(bag(), KIND_FILES.ledger, (l) => [l[0]!, '{oops', ...l.slice(2)]);
      expect(verifyEvidencePackage(reseal(files)).failure).toMatchObject({ code: 'invalid_json', line: 2 });
    });
  });

  it('reports progress every N entries', () => {
    const calls: number[] = [];
    verifyEvidencePackage(bag(), { progressEvery: 3, onProgress: (done) => calls.push(done) });
    expect(calls).toEqual([3, 6, 8]);
  });
});

describe('unpackBag', () => {
  it('refuses what is not a tar of one bag directory', async () => {
    await expect(unpackBag(Buffer.from('not a tar at all'.repeat(64)))).rejects.toBeInstanceOf(TarFormatError);
    const files = new Map([['a.txt', Buffer.from('x')]]);
    const tar = await packBag(files, 'bag', new Date(0));
    expect((await unpackBag(tar)).root).toBe('bag');
  });
});
