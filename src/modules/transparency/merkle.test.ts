import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Gen } from '../../../test/helpers/prng.js';
import {
  consistencyPlan,
  consistencyProof,
  emptyRoot,
  inclusionPlan,
  inclusionProof,
  leafHash,
  MemoryTree,
  MerkleError,
  MerkleFrontier,
  nodeHash,
  planNodes,
  rangeNodes,
  rootFromSource,
  treeHead,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

/** transparency-dev/merkle's published numbers (test/vectors/transparency/README.md). */
interface Vectors {
  referenceTree: { leafInputsHex: string[]; nodeHashesHex: string[][]; rootHashesHex: string[] };
  inclusion: {
    file: string;
    desc: string;
    leafIdx: number;
    treeSize: number;
    leafHash: string | null;
    root: string | null;
    proof: string[] | null;
    wantErr: boolean;
  }[];
  consistency: {
    file: string;
    desc: string;
    size1: number;
    size2: number;
    root1: string | null;
    root2: string | null;
    proof: string[] | null;
    wantErr: boolean;
  }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/transparency/merkle-transparency-dev.json', import.meta.url), 'utf8'),
) as Vectors;

const b64 = (s: string | null): Buffer => Buffer.from(s ?? '', 'base64');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** MTH straight from RFC 9162 §2.1.1's definition, with an explicit work list instead of recursion. */
function referenceMth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  type Frame = { lo: number; hi: number; left?: Buffer };
  const stack: Frame[] = [{ lo: 0, hi: leaves.length }];
  let result: Buffer | undefined;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (result !== undefined) {
      if (top.left === undefined) {
        top.left = result;
        result = undefined;
        let k = 1;
        while (k * 2 < top.hi - top.lo) k *= 2;
        stack.push({ lo: top.lo + k, hi: top.hi });
        continue;
      }
      result = nodeHash(top.left, result);
      stack.pop();
      continue;
    }
    if (top.hi - top.lo === 1) {
      result = leafHash(leaves[top.lo]!);
      stack.pop();
      continue;
    }
    let k = 1;
    while (k * 2 < top.hi - top.lo) k *= 2;
    stack.push({ lo: top.lo, hi: top.lo + k });
  }
  return result!;
}

function randomLeaves(gen: Gen, n: number): Buffer[] {
  return Array.from({ length: n }, () => Buffer.from(Array.from({ length: 32 }, () => gen.int(256))));
}

function treeOf(leaves: readonly Buffer[]): MemoryTree {
  const tree = new MemoryTree();
  for (const leaf of leaves) tree.append(leafHash(leaf));
  return tree;
}

function flipBit(hashes: readonly Buffer[], gen: Gen): Buffer[] {
  const out = hashes.map((h) => Buffer.from(h));
  const victim = out[gen.int(out.length)]!;
  const bit = gen.int(victim.length * 8);
  victim[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('Merkle tree: published reference tree (transparency-dev/merkle testonly)', () => {
  const leaves = vectors.referenceTree.leafInputsHex.map(hex);

  it('tree heads for sizes 0..8', () => {
    for (let n = 0; n <= leaves.length; n++) {
      expect(treeHead(leaves.slice(0, n)).toString('hex'), `size ${n}`).toBe(vectors.referenceTree.rootHashesHex[n]);
    }
    expect(emptyRoot().toString('hex')).toBe(vectors.referenceTree.rootHashesHex[0]);
  });

  it('every complete subtree hash, and heads read back from stored nodes', () => {
    const tree = treeOf(leaves);
    vectors.referenceTree.nodeHashesHex.forEach((level, l) =>
      level.forEach((h, i) => expect(tree.node(l, i).toString('hex'), `node ${l}/${i}`).toBe(h)),
    );
    for (let n = 0; n <= leaves.length; n++) {
      expect(rootFromSource(tree, n).toString('hex')).toBe(vectors.referenceTree.rootHashesHex[n]);
    }
  });
});

describe('Merkle tree: transparency-dev/merkle testdata probes', () => {
  it('inclusion probes: each verifies exactly when the data says so', () => {
    expect(vectors.inclusion.length).toBeGreaterThan(90);
    for (const p of vectors.inclusion) {
      const ok = verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), (p.proof ?? []).map(b64), b64(p.root));
      expect(ok, `${p.file}: ${p.desc}`).toBe(!p.wantErr);
    }
  });

  it('consistency probes: each verifies exactly when the data says so', () => {
    expect(vectors.consistency.length).toBeGreaterThan(90);
    for (const p of vectors.consistency) {
      const ok = verifyConsistency(p.size1, p.size2, (p.proof ?? []).map(b64), b64(p.root1), b64(p.root2));
      expect(ok, `${p.file}: ${p.desc}`).toBe(!p.wantErr);
    }
  });

  it('generation reproduces the published happy-path proofs over the reference tree', () => {
    const tree = treeOf(vectors.referenceTree.leafInputsHex.map(hex));
    const roots = vectors.referenceTree.rootHashesHex;
    let checked = 0;
    for (const p of vectors.inclusion.filter((v) => !v.wantErr && v.treeSize <= 8)) {
      if (b64(p.root).toString('hex') !== roots[p.treeSize]) continue; // a probe over another tree
      expect(inclusionProof(tree, p.leafIdx, p.treeSize).map((h) => h.toString('base64')), p.file).toEqual(p.proof ?? []);
      checked += 1;
    }
    for (const p of vectors.consistency.filter((v) => !v.wantErr && v.size2 <= 8)) {
      if (b64(p.root2).toString('hex') !== roots[p.size2]) continue;
      expect(consistencyProof(tree, p.size1, p.size2).map((h) => h.toString('base64')), p.file).toEqual(p.proof ?? []);
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});

describe('Merkle tree: properties over random trees (seeded)', () => {
  it('the incremental head equals the RFC MTH at every size up to 300', () => {
    const gen = new Gen(19);
    const leaves = randomLeaves(gen, 300);
    const frontier = MerkleFrontier.empty();
    expect(frontier.root()).toEqual(referenceMth([]));
    leaves.forEach((leaf, i) => {
      frontier.append(leafHash(leaf));
      expect(frontier.root().equals(referenceMth(leaves.slice(0, i + 1))), `size ${i + 1}`).toBe(true);
    });
  });

  // (A size that gives the proof the same shape verifies too: the root alone does not commit to the size;
  // the signed checkpoint does. The published probes cover the size mutations that must fail.)
  it('every inclusion proof verifies and any flipped bit or other index fails', () => {
    const gen = new Gen(1919);
    for (let round = 0; round < 40; round++) {
      const n = 1 + gen.int(gen.chance(0.3) ? 8 : 600);
      const leaves = randomLeaves(gen, n);
      const tree = treeOf(leaves);
      const root = tree.root();
      expect(root.equals(referenceMth(leaves))).toBe(true);
      for (let t = 0; t < 10; t++) {
        const size = 1 + gen.int(n);
        const m = gen.int(size);
        const sizeRoot = rootFromSource(tree, size);
        const proof = inclusionProof(tree, m, size);
        const leaf = leafHash(leaves[m]!);
        expect(verifyInclusion(m, size, leaf, proof, sizeRoot), `${m}/${size}`).toBe(true);
        if (proof.length > 0) expect(verifyInclusion(m, size, leaf, flipBit(proof, gen), sizeRoot)).toBe(false);
        expect(verifyInclusion(m, size, leaf, proof, flipBit([sizeRoot], gen)[0]!)).toBe(false);
        expect(verifyInclusion(m, size, flipBit([leaf], gen)[0]!, proof, sizeRoot)).toBe(false);
        if (size > 1) expect(verifyInclusion((m + 1) % size, size, leaf, proof, sizeRoot)).toBe(false);
        expect(verifyInclusion(m, size, leaf, [...proof, sizeRoot], sizeRoot)).toBe(false);
      }
    }
  });

  it('every consistency proof verifies and any flipped bit or swapped sizes fail', () => {
    const gen = new Gen(2026);
    for (let round = 0; round < 40; round++) {
      const n = 1 + gen.int(gen.chance(0.3) ? 8 : 600);
      const tree = treeOf(randomLeaves(gen, n));
      for (let t = 0; t < 10; t++) {
        const second = 1 + gen.int(n);
        const first = 1 + gen.int(second);
        const r1 = rootFromSource(tree, first);
        const r2 = rootFromSource(tree, second);
        const proof = consistencyProof(tree, first, second);
        expect(verifyConsistency(first, second, proof, r1, r2), `${first}→${second}`).toBe(true);
        if (first === second) {
          expect(proof).toEqual([]);
          continue;
        }
        expect(verifyConsistency(first, second, flipBit(proof, gen), r1, r2)).toBe(false);
        expect(verifyConsistency(first, second, proof, flipBit([r1], gen)[0]!, r2)).toBe(false);
        expect(verifyConsistency(first, second, proof, r1, flipBit([r2], gen)[0]!)).toBe(false);
        expect(verifyConsistency(second, first, proof, r2, r1)).toBe(false);
      }
    }
  });

  it('proofs read O(log n) stored nodes, also for huge trees (planning needs no hashes)', () => {
    const n = 2 ** 40 + 12345;
    for (const m of [0, 1, 2 ** 39, n - 1, n - 2]) {
      const nodes = planNodes(inclusionPlan(m, n));
      expect(nodes.length).toBeLessThanOrEqual(2 * 41);
    }
    expect(planNodes(consistencyPlan(2 ** 20 + 7, n)).length).toBeLessThanOrEqual(2 * 41);
    expect(MerkleFrontier.nodesFor(n).length).toBe(n.toString(2).replaceAll('0', '').length);
  });

  it('a frontier restored from stored nodes continues like the original', () => {
    const gen = new Gen(7);
    const leaves = randomLeaves(gen, 200);
    const tree = treeOf(leaves.slice(0, 137));
    const restored = MerkleFrontier.fromSource(tree, 137);
    const full = treeOf(leaves);
    for (const leaf of leaves.slice(137)) restored.append(leafHash(leaf));
    expect(restored.root().equals(full.root())).toBe(true);
  });

  it('append reports the complete subtrees it finishes', () => {
    const frontier = MerkleFrontier.empty();
    const leaves = vectors.referenceTree.leafInputsHex.map(hex);
    const done = leaves.map((leaf) => frontier.append(leafHash(leaf)));
    expect(done.map((d) => d.map((x) => `${x.level}/${x.index}`))).toEqual([
      ['0/0'],
      ['0/1', '1/0'],
      ['0/2'],
      ['0/3', '1/1', '2/0'],
      ['0/4'],
      ['0/5', '1/2'],
      ['0/6'],
      ['0/7', '1/3', '2/1', '3/0'],
    ]);
    expect(done[7]![3]!.hash.toString('hex')).toBe(vectors.referenceTree.rootHashesHex[8]);
  });

  it('refuses bad arguments without hashing', () => {
    expect(() => inclusionPlan(3, 3)).toThrow(MerkleError);
    expect(() => consistencyPlan(0, 3)).toThrow(MerkleError);
    expect(() => consistencyPlan(4, 3)).toThrow(MerkleError);
    expect(() => rangeNodes(1, 3)).toThrow(MerkleError);
    expect(() => MerkleFrontier.empty().append(Buffer.alloc(31))).toThrow(MerkleError);
    expect(verifyInclusion(0, 2 ** 60, Buffer.alloc(32), [], Buffer.alloc(32))).toBe(false);
    expect(verifyInclusion(-1, 2, Buffer.alloc(32), [], Buffer.alloc(32))).toBe(false);
    expect(verifyConsistency(1, 2, [Buffer.alloc(33)], Buffer.alloc(32), Buffer.alloc(32))).toBe(false);
  });
});
