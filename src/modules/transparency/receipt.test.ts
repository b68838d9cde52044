import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { genesisEntry, nextEntry, type StoredEntry } from '../ledger/ledger.chain.js';
import { toEntryDto } from '../ledger/ledger.schemas.js';
import { signCheckpoint } from './checkpoint.js';
import { inclusionProof, leafHash, MemoryTree } from './merkle.js';
import { formatVerifierKey, noteSigner } from './note.js';
import { parseReceipt, ReceiptFormatError, verifyReceipt, type ReceiptDto } from './receipt.js';

const ORIGIN = 'example.com/receipt-unit';

/** A ledger of `n` entries (decisions d1…), its tree, and a checkpoint over all of it signed by a fresh key. */
function fixture(n: number) {
  const entries: StoredEntry[] = [genesisEntry('2026-12-01T00:00:00.000Z')];
  for (let i = 1; i < n; i++) {
    entries.push(nextEntry(entries[i - 1]!, 'decision', canonicalize({ decision_id: `d${i}`, outcome: 'approved', score: i / 3 }), '2026-12-01T00:00:01.000Z'));
  }
  const tree = new MemoryTree();
  for (const e of entries) tree.append(leafHash(Buffer.from(e.entryHash, 'hex')));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const note = signCheckpoint({ origin: ORIGIN, size: n, rootHash: tree.root(), extensions: [] }, noteSigner(ORIGIN, privateKey));
  const receipt = (seq: number): ReceiptDto => ({
    format: 'lexecon-receipt/v1',
    decision_id: `d${seq}`,
    entry: toEntryDto(entries[seq]!),
    leaf_index: seq,
    tree_size: n,
    inclusion_proof: inclusionProof(tree, seq, n).map((h) => h.toString('base64')),
    checkpoint: note,
    public_key: { kid: 'k1', alg: 'Ed25519', public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    verifier_key: formatVerifierKey(ORIGIN, publicKey),
  });
  return { receipt, publicKey };
}

const through = (r: ReceiptDto) => parseReceipt(JSON.stringify(r));

describe('decision receipts, offline', () => {
  const { receipt, publicKey } = fixture(13);

  it('verifies every decision of the tree, with the receipt key and with a trusted key', () => {
    for (let seq = 1; seq < 13; seq++) {
      expect(verifyReceipt(through(receipt(seq)))).toMatchObject({ valid: true, key_source: 'receipt', origin: ORIGIN, seq, tree_size: 13 });
      expect(verifyReceipt(through(receipt(seq)), [publicKey])).toMatchObject({ valid: true, key_source: 'trusted' });
    }
  });

  it('names what fails', () => {
    const code = (r: ReceiptDto, keys?: Parameters<typeof verifyReceipt>[1]) => verifyReceipt(through(r), keys).failure?.code;
    const r = receipt(5);
    expect(code({ ...r, decision_id: 'd6' })).toBe('decision_mismatch');
    expect(code({ ...r, entry: { ...r.entry, data: { ...r.entry.data, outcome: 'denied' } } })).toBe('entry_hash_mismatch');
    expect(code({ ...r, entry: { ...r.entry, entry_id: 'entry_6' } })).toBe('entry_hash_mismatch');
    expect(code({ ...r, leaf_index: 6 })).toBe('proof_invalid');
    expect(code({ ...r, tree_size: 12 })).toBe('tree_size_mismatch');
    expect(code({ ...r, inclusion_proof: r.inclusion_proof.slice(1) })).toBe('proof_invalid');
    expect(code({ ...r, inclusion_proof: [...r.inclusion_proof].reverse() })).toBe('proof_invalid');
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(code(r, [other])).toBe('checkpoint_signature');
    expect(code({ ...r, verifier_key: formatVerifierKey(ORIGIN, other) })).toBe('key_mismatch');
    expect(code({ ...r, checkpoint: r.checkpoint.replace('\n13\n', '\n14\n') })).toBe('checkpoint_signature');
    expect(code({ ...r, checkpoint: 'not a note' })).toBe('checkpoint_malformed');
    // Another entry of the same tree presented under its own id but with this proof.
    const s = receipt(6);
    expect(code({ ...s, inclusion_proof: r.inclusion_proof })).toBe('proof_invalid');
  });

  it('refuses what is no receipt as unusable input, not as a verdict', () => {
    expect(() => parseReceipt('{')).toThrow(ReceiptFormatError);
    expect(() => parseReceipt(JSON.stringify({ format: 'lexecon-receipt/v2' }))).toThrow(ReceiptFormatError);
    const r = receipt(3);
    expect(() => verifyReceipt(through({ ...r, inclusion_proof: ['AAAA'] }))).toThrow(ReceiptFormatError);
    expect(() => verifyReceipt(through({ ...r, public_key: { ...r.public_key, public_key_pem: 'nope' } }))).toThrow(ReceiptFormatError);
  });
});
