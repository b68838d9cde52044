import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/modules/transparency/checkpoint.js';
import { leafHash, MemoryTree } from '../../src/modules/transparency/merkle.js';
import { formatVerifierKey, noteSigner, openNote, parseVerifierKey, signNote } from '../../src/modules/transparency/note.js';
import { Gen } from '../helpers/prng.js';
import { specParseVerifierKey, specReadCheckpoint, specVerifyNote } from './spec-note-verifier.js';

const v = JSON.parse(readFileSync(new URL('../vectors/transparency/signed-notes.json', import.meta.url), 'utf8')) as {
  goNote: { peterVerifierKey: string; enochVerifierKey: string; signedByPeter: string; enochSignatureLine: string };
  c2sp: { verifierKey: string; note: string };
  sumGolangOrg: { verifierKey: string; signedTrees: string[] };
};

describe('signed notes: the server’s implementation against an independent one written from the spec', () => {
  it('the independent verifier accepts the published notes (it is a working verifier)', () => {
    const pairs: [string, string][] = [
      [v.goNote.peterVerifierKey, v.goNote.signedByPeter],
      [v.c2sp.verifierKey, v.c2sp.note],
      ...v.sumGolangOrg.signedTrees.map((n): [string, string] => [v.sumGolangOrg.verifierKey, n]),
    ];
    for (const [vkey, note] of pairs) {
      expect(specVerifyNote(Buffer.from(note), [specParseVerifierKey(vkey)]).ok, note.slice(0, 30)).toBe(true);
      expect(specVerifyNote(Buffer.from(note.replace('\n', ' \n')), [specParseVerifierKey(vkey)]).ok).toBe(false);
    }
  });

  it('checkpoints the server signs verify independently, with the key published as a verifier key string', () => {
    const gen = new Gen(5);
    const keys = generateKeyPairSync('ed25519');
    const origin = 'lexecon.example/ledger';
    const vkey = formatVerifierKey(origin, keys.publicKey);
    const specKey = specParseVerifierKey(vkey);
    const tree = new MemoryTree();
    for (let size = 1; size <= 40; size++) {
      tree.append(leafHash(createHash('sha256').update(String(gen.next())).digest()));
      const signed = signCheckpoint({ origin, size, rootHash: tree.root(), extensions: [] }, noteSigner(origin, keys.privateKey));
      const result = specVerifyNote(Buffer.from(signed), [specKey]);
      expect(result.ok, signed).toBe(true);
      if (!result.ok) continue;
      const body = specReadCheckpoint(result.text);
      expect(body).toEqual({ origin, size: BigInt(size), root: tree.root() });
      // A witness-style extra signature from an unknown key is ignored by both.
      const cosigned = signNote(result.text.toString('utf8'), [noteSigner(origin, keys.privateKey), noteSigner('witness.example', generateKeyPairSync('ed25519').privateKey)]);
      expect(specVerifyNote(Buffer.from(cosigned), [specKey]).ok).toBe(true);
      expect(openNote(cosigned, [parseVerifierKey(vkey)]).unverified).toHaveLength(1);
    }
  });

  it('both refuse the same tampering of a server-signed checkpoint', () => {
    const keys = generateKeyPairSync('ed25519');
    const origin = 'lexecon.example/ledger';
    const signed = signCheckpoint({ origin, size: 9, rootHash: Buffer.alloc(32, 3), extensions: [] }, noteSigner(origin, keys.privateKey));
    const vkey = formatVerifierKey(origin, keys.publicKey);
    const tampered = [signed.replace('\n9\n', '\n8\n'), signed.replace(origin, 'lexecon.example/other'), signed.replace('— ', '-- ')];
    for (const t of tampered) {
      expect(specVerifyNote(Buffer.from(t), [specParseVerifierKey(vkey)]).ok, t).toBe(false);
      expect(() => openNote(t, [parseVerifierKey(vkey)]), t).toThrow();
    }
  });
});
