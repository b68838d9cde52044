/**
 * The RFC 9162 §2.1 Merkle tree over the ledger, the pure core (issue 19): hashing, tree heads, inclusion
 * and consistency proofs (generation and verification), and the compact range ("frontier") that keeps
 * the tree up to date as entries commit. No I/O; nothing recursive (every loop runs O(log n) times).
 *
 * * Leaf i is the 32 bytes of ledger entry i's `entry_hash` (seq i + 1); its leaf hash is
 *   `SHA-256(0x00 || leaf)`, an interior node is `SHA-256(0x01 || left || right)`, the empty tree's
 *   head is `SHA-256("")`.
 * * A **node** `(level, index)` is the hash of the complete subtree of `2^level` leaves starting at leaf
 *   `index * 2^level`. Every hash a proof needs is either such a node or the head of a range
 *   `[start, end)` whose start is a multiple of the largest power of two ≤ its length; such a range is
 *   the right fold of its complete subtrees in decreasing size (at most log2 n of them). Proof
 *   generation therefore works from {@link ProofPlan}s: the list of nodes to read (O(log n), one batch
 *   query against stored nodes) and how to fold them, so storage answers without recomputing anything.
 * * Tree sizes and indexes are JavaScript safe integers (< 2^53); the arithmetic never uses the 32-bit
 *   bitwise operators.
 */
import { createHash, hash as oneShotHash, timingSafeEqual } from 'node:crypto';

export const HASH_BYTES = 32;

/** Hash of the complete subtree of `2^level` leaves starting at leaf `index * 2^level`. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** Where proof generation reads complete-subtree hashes from (stored nodes, or an in-memory tree). */
export interface HashSource {
  /** The hash of node `(level, index)`; level 0 is the leaf hash. Throws when the node is unknown. */
  node(level: number, index: number): Uint8Array;
}

/**
 * What a proof consists of, before any hash is read: each element is the head of a range given by its
 * complete subtrees in decreasing size (one node for a complete subtree). {@link planNodes} lists the
 * distinct nodes to read; {@link assemble} folds them.
 */
export type ProofPlan = readonly (readonly NodeId[])[];

export class MerkleError extends Error {
  override readonly name = 'MerkleError';
}

const EMPTY_ROOT = createHash('sha256').digest();

/** `SHA-256("")`: the head of the empty tree. */
export function emptyRoot(): Buffer {
  return Buffer.from(EMPTY_ROOT);
}

// One-shot `crypto.hash` over one buffer: about a quarter cheaper than a Hash object per node, and the
// tree hashes ~3 times per appended entry.

/** `SHA-256(0x00 || leaf)`. */
export function leafHash(leaf: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + leaf.length);
  input[0] = 0x00;
  input.set(leaf, 1);
  return oneShotHash('sha256', input, 'buffer');
}

/** `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return oneShotHash('sha256', input, 'buffer');
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new MerkleError(`${name} must be a non-negative safe integer`);
}

/** The largest power of two strictly smaller than n (n ≥ 2): the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The largest power of two ≤ n (n ≥ 1), as its exponent. */
function floorLog2(n: number): number {
  let level = 0;
  let p = 1;
  while (p * 2 <= n) {
    p *= 2;
    level += 1;
  }
  return level;
}

/**
 * The complete subtrees of the range `[start, end)`, in decreasing size. The range must be of the
 * aligned form every proof uses (start a multiple of the largest power of two ≤ its length), so that its
 * RFC head is the right fold of these nodes; anything else is refused.
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  checkSize('start', start);
  checkSize('end', end);
  if (end <= start) throw new MerkleError('an empty range has no nodes');
  const out: NodeId[] = [];
  let at = start;
  let previous = Infinity;
  while (at < end) {
    const level = floorLog2(end - at);
    const width = 2 ** level;
    if (at % width !== 0 || level >= previous) throw new MerkleError(`range [${start}, ${end}) is not aligned`);
    out.push({ level, index: at / width });
    previous = level;
    at += width;
  }
  return out;
}

/** Folds one plan element (its nodes in decreasing size) from the right: the range's head. */
function foldRange(hashes: readonly Uint8Array[]): Buffer {
  let acc: Buffer = Buffer.from(hashes[hashes.length - 1]!);
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** The distinct nodes a plan reads, in first-use order. */
export function planNodes(plan: ProofPlan): NodeId[] {
  const seen = new Set<string>();
  const out: NodeId[] = [];
  for (const element of plan) {
    for (const id of element) {
      const key = `${id.level}:${id.index}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(id);
      }
    }
  }
  return out;
}

/** The proof's hashes: each plan element folded from the nodes `source` gives. */
export function assemble(plan: ProofPlan, source: HashSource): Buffer[] {
  return plan.map((element) => foldRange(element.map((id) => source.node(id.level, id.index))));
}

/** The plan of the tree head at `size` (one element; the empty tree has none: use {@link emptyRoot}). */
export function rootPlan(size: number): ProofPlan {
  checkSize('tree size', size);
  return size === 0 ? [] : [rangeNodes(0, size)];
}

/** The tree head at `size`, from stored nodes. */
export function rootFromSource(source: HashSource, size: number): Buffer {
  const plan = rootPlan(size);
  return plan.length === 0 ? emptyRoot() : assemble(plan, source)[0]!;
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]), as a plan: the audit path of leaf `m` in the tree of size `n`, from
 * the leaf's sibling up to the root's child.
 */
export function inclusionPlan(m: number, n: number): ProofPlan {
  checkSize('leaf index', m);
  checkSize('tree size', n);
  if (m >= n) throw new MerkleError('the leaf index must be smaller than the tree size');
  const topDown: NodeId[][] = [];
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < lo + k) {
      topDown.push(rangeNodes(lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(rangeNodes(lo, lo + k));
      lo += k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]), as a plan: the consistency proof between the tree of size `m` and
 * the tree of size `n` (1 ≤ m ≤ n; m = n gives the empty proof).
 */
export function consistencyPlan(m: number, n: number): ProofPlan {
  checkSize('first tree size', m);
  checkSize('second tree size', n);
  if (m < 1 || m > n) throw new MerkleError('a consistency proof needs 1 ≤ first ≤ second');
  const topDown: NodeId[][] = [];
  let lo = 0;
  let hi = n;
  let complete = true; // SUBPROOF's b: the old tree is a complete subtree of the current range
  for (;;) {
    const size = hi - lo;
    const mm = m - lo;
    if (mm === size) {
      if (!complete) topDown.push(rangeNodes(lo, hi));
      break;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      topDown.push(rangeNodes(lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(rangeNodes(lo, lo + k));
      lo += k;
      complete = false;
    }
  }
  return topDown.reverse();
}

export function inclusionProof(source: HashSource, m: number, n: number): Buffer[] {
  return assemble(inclusionPlan(m, n), source);
}

export function consistencyProof(source: HashSource, m: number, n: number): Buffer[] {
  return assemble(consistencyPlan(m, n), source);
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function isHash(h: Uint8Array): boolean {
  return h.length === HASH_BYTES;
}

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.3.2: does `proof` show that the leaf with hash `leaf` is leaf `index` of the tree of
 * `size` leaves with head `root`? Never throws on any input (a malformed proof is simply false).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameHash(r, root);
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && 2 ** floorLog2(n) === n;
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `first` leaves with head `firstRoot` is a prefix
 * of the tree of `second` leaves with head `secondRoot`? Equal sizes need an empty proof and equal
 * heads; a first size of 0 proves nothing and is refused. Never throws on any input.
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second)) return false;
  if (first < 1 || first > second) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (proof.length === 0 || !proof.every(isHash)) return false;
  const path: readonly Uint8Array[] = isPowerOfTwo(first) ? [firstRoot, ...proof] : proof;
  if (!isHash(path[0]!)) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}

/** A complete subtree that became known by an append: store it to answer proofs later. */
export interface CompletedNode extends NodeId {
  readonly hash: Buffer;
}

/**
 * The compact range `[0, size)`: the heads of the perfect subtrees the tree of `size` leaves splits
 * into (one per set bit of `size`, largest first; at most log2 n + 1). Appending a leaf costs
 * O(log n) hashes and reports every complete subtree it finishes (the leaf itself, then each merge).
 */
export class MerkleFrontier {
  #size: number;
  /** Heads of the perfect subtrees, largest (leftmost) first, with their levels. */
  readonly #nodes: { level: number; hash: Buffer }[];

  private constructor(size: number, nodes: { level: number; hash: Buffer }[]) {
    this.#size = size;
    this.#nodes = nodes;
  }

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** The frontier of the tree of `size` leaves, read from stored nodes (O(log n) reads). */
  static fromSource(source: HashSource, size: number): MerkleFrontier {
    checkSize('tree size', size);
    if (size === 0) return MerkleFrontier.empty();
    const nodes = rangeNodes(0, size).map((id) => ({ level: id.level, hash: Buffer.from(source.node(id.level, id.index)) }));
    return new MerkleFrontier(size, nodes);
  }

  /** The nodes {@link fromSource} reads, for a batch query. */
  static nodesFor(size: number): NodeId[] {
    checkSize('tree size', size);
    return size === 0 ? [] : rangeNodes(0, size);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends one leaf (its leaf hash); returns the complete subtrees it finished, smallest first. */
  append(leafHashBytes: Uint8Array): CompletedNode[] {
    if (!isHash(leafHashBytes)) throw new MerkleError('a leaf hash is 32 bytes');
    if (this.#size + 1 > Number.MAX_SAFE_INTEGER) throw new MerkleError('the tree is full');
    const index = this.#size;
    let carry: { level: number; hash: Buffer } = { level: 0, hash: Buffer.from(leafHashBytes) };
    const completed: CompletedNode[] = [{ level: 0, index, hash: carry.hash }];
    for (;;) {
      const last = this.#nodes[this.#nodes.length - 1];
      if (last === undefined || last.level !== carry.level) break;
      this.#nodes.pop();
      const level = carry.level + 1;
      carry = { level, hash: nodeHash(last.hash, carry.hash) };
      completed.push({ level, index: Math.floor(index / 2 ** level), hash: carry.hash });
    }
    this.#nodes.push(carry);
    this.#size += 1;
    return completed;
  }

  /** The tree head at the current size. */
  root(): Buffer {
    if (this.#nodes.length === 0) return emptyRoot();
    return foldRange(this.#nodes.map((n) => n.hash));
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(
      this.#size,
      this.#nodes.map((n) => ({ level: n.level, hash: n.hash })),
    );
  }
}

/** The tree head over `leaves` (raw leaf data), computed without recursion (O(n) hashes). */
export function treeHead(leaves: readonly Uint8Array[]): Buffer {
  const frontier = MerkleFrontier.empty();
  for (const leaf of leaves) frontier.append(leafHash(leaf));
  return frontier.root();
}

/**
 * Every complete subtree of a tree held in memory, for tests and for `verify-ledger`'s rebuild: built by
 * appending leaf hashes, answering {@link HashSource} reads.
 */
export class MemoryTree implements HashSource {
  readonly #levels: Buffer[][] = [];
  readonly #frontier = MerkleFrontier.empty();

  append(leafHashBytes: Uint8Array): CompletedNode[] {
    const done = this.#frontier.append(leafHashBytes);
    for (const node of done) {
      const level = (this.#levels[node.level] ??= []);
      level[node.index] = node.hash;
    }
    return done;
  }

  get size(): number {
    return this.#frontier.size;
  }

  root(): Buffer {
    return this.#frontier.root();
  }

  node(level: number, index: number): Buffer {
    const hash = this.#levels[level]?.[index];
    if (hash === undefined) throw new MerkleError(`node (${level}, ${index}) is not in the tree`);
    return hash;
  }
}
