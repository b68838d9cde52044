import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Gen } from '../../../test/helpers/prng.js';
import {
  CheckpointError,
  formatCheckpoint,
  formatTlogProof,
  openCheckpoint,
  parseCheckpoint,
  parseTlogProof,
  signCheckpoint,
  verifyTlogProof,
} from './checkpoint.js';
import { inclusionProof, leafHash, MemoryTree, rootFromSource } from './merkle.js';
import { NoteError, noteSigner, noteVerifier, parseVerifierKey } from './note.js';

const v = JSON.parse(readFileSync(new URL('../../../test/vectors/transparency/signed-notes.json', import.meta.url), 'utf8')) as {
  c2sp: { checkpointExample: string; tlogProofExample: string };
  sumGolangOrg: { verifierKey: string; signedTrees: string[] };
};

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof CheckpointError || err instanceof NoteError) return err.code;
    return `other: ${String(err)}`;
  }
}

const root = Buffer.alloc(32, 7);

describe('checkpoints', () => {
  it('formats and parses the C2SP body, round trip', () => {
    const cp = { origin: 'lexecon.example/log', size: 20852163, rootHash: root, extensions: [] };
    const text = formatCheckpoint(cp);
    expect(text).toBe(`lexecon.example/log\n20852163\n${root.toString('base64')}\n`);
    expect(parseCheckpoint(text)).toEqual(cp);
    const withExt = { ...cp, size: 0, extensions: ['ext one', 'two'] };
    expect(parseCheckpoint(formatCheckpoint(withExt))).toEqual(withExt);
  });

  it('parses the spec example and verifies real sum.golang.org tree heads as checkpoints', () => {
    const body = v.c2sp.checkpointExample.slice(0, v.c2sp.checkpointExample.indexOf('\n\n') + 1);
    const cp = parseCheckpoint(body);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(cp.rootHash.toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    const sumdb = parseVerifierKey(v.sumGolangOrg.verifierKey);
    const sizes = v.sumGolangOrg.signedTrees.map((note) => openCheckpoint(note, 'go.sum database tree', [sumdb]).checkpoint.size);
    expect(sizes).toEqual([65209736, 3784599]);
    expect(errorCode(() => openCheckpoint(v.sumGolangOrg.signedTrees[0]!, 'another.example/log', [sumdb]))).toBe('wrong_origin');
  });

  it('refuses malformed bodies', () => {
    const b64 = root.toString('base64');
    const bad = [
      `o\n1\n${b64}`, // no final newline
      `o\n1\n`,
      `\n1\n${b64}\n`,
      `o\n01\n${b64}\n`,
      `o\n+1\n${b64}\n`,
      `o\n 1\n${b64}\n`,
      `o\n-0\n${b64}\n`,
      `o\n9007199254740992\n${b64}\n`,
      `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n1\n${b64.replace('=', '')}\n`,
      `o\n1\n${b64}\n\n`,
      `o\n1\n${b64}\next\n\n`,
    ];
    for (const text of bad) expect(errorCode(() => parseCheckpoint(text)), JSON.stringify(text)).toBe('malformed');
    expect(errorCode(() => formatCheckpoint({ origin: 'has space', size: 1, rootHash: root, extensions: [] }))).toBe('malformed');
    expect(errorCode(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: root, extensions: [] }))).toBe('malformed');
    expect(errorCode(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: [''] }))).toBe('malformed');
  });

  it('signs under the origin only, and a signed checkpoint opens with the log key', () => {
    const keys = generateKeyPairSync('ed25519');
    const cp = { origin: 'lexecon.example/log', size: 3, rootHash: root, extensions: [] };
    expect(errorCode(() => signCheckpoint(cp, noteSigner('other.example', keys.privateKey)))).toBe('malformed');
    const signed = signCheckpoint(cp, noteSigner(cp.origin, keys.privateKey));
    expect(openCheckpoint(signed, cp.origin, [noteVerifier(cp.origin, keys.publicKey)]).checkpoint).toEqual(cp);
    const other = generateKeyPairSync('ed25519');
    expect(errorCode(() => openCheckpoint(signed, cp.origin, [noteVerifier(cp.origin, other.publicKey)]))).toBe('unverified');
  });
});

describe('tlog-proof (c2sp.org/tlog-proof@v1)', () => {
  it('parses the spec example', () => {
    const p = parseTlogProof(v.c2sp.tlogProofExample);
    expect(p.index).toBe(73894);
    expect(p.proof).toHaveLength(5);
    expect(p.extra?.toString('utf8').startsWith('age-v1.2.1-darwin-arm64.tar.gz')).toBe(true);
    expect(p.checkpoint.startsWith('example.com/fancylog\n109482\n')).toBe(true);
    expect(formatTlogProof(p)).toBe(v.c2sp.tlogProofExample);
  });

  it('every entry of a signed tree verifies offline; a changed entry, index or proof does not', () => {
    const gen = new Gen(42);
    const keys = generateKeyPairSync('ed25519');
    const origin = 'lexecon.example/log';
    const verifiers = [noteVerifier(origin, keys.publicKey)];
    const tree = new MemoryTree();
    const leaves = Array.from({ length: 37 }, () => Buffer.from(Array.from({ length: 32 }, () => gen.int(256))));
    for (const leaf of leaves) tree.append(leafHash(leaf));
    for (const size of [1, 2, 5, 16, 37]) {
      const checkpoint = signCheckpoint(
        { origin, size, rootHash: rootFromSource(tree, size), extensions: [] },
        noteSigner(origin, keys.privateKey),
      );
      for (let index = 0; index < size; index++) {
        const text = formatTlogProof({ index, proof: inclusionProof(tree, index, size), checkpoint });
        const ok = verifyTlogProof(text, origin, verifiers, leafHash(leaves[index]!));
        expect(ok.index).toBe(index);
        expect(ok.checkpoint.size).toBe(size);
        const wrongLeaf = leafHash(leaves[(index + 1) % leaves.length]!);
        expect(errorCode(() => verifyTlogProof(text, origin, verifiers, wrongLeaf))).toBe('proof_invalid');
        if (size > 1) {
          const moved = text.replace(`index ${index}\n`, `index ${(index + 1) % size}\n`);
          expect(errorCode(() => verifyTlogProof(moved, origin, verifiers, leafHash(leaves[index]!)))).toBe('proof_invalid');
        }
      }
    }
  });

  it('refuses malformed proofs', () => {
    const h = Buffer.alloc(32, 1).toString('base64');
    const cp = `o\n1\n${h}\n\n— o AAAAAAA=\n`;
    const bad = [
      `c2sp.org/tlog-proof@v2\nindex 0\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex 01\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nextra \nindex 0\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex 0\nextra AAAA\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex 0\n${h.slice(4)}\n\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex 0\n${`${h}\n`.repeat(65)}\n${cp}`,
      `c2sp.org/tlog-proof@v1\nindex 0\n${cp}`,
    ];
    for (const text of bad) expect(errorCode(() => parseTlogProof(text)), JSON.stringify(text.slice(0, 60))).toBe('malformed');
    expect(errorCode(() => formatTlogProof({ index: -1, proof: [], checkpoint: cp }))).toBe('malformed');
  });
});
