/**
 * Proofs from the stored Merkle tree (issue 19): inclusion of a ledger entry in the tree of a given
 * size, and consistency between two sizes. Each reads O(log n) stored nodes in one or two queries
 * (`merkle.ts` plans them) and checks its own answer before giving it (a few hashes), so a damaged node
 * table gives an error, never a wrong proof.
 */
import type { Queryable } from '../../platform/db/port.js';
import { errors } from '../../platform/errors.js';
import {
  assemble,
  consistencyPlan,
  inclusionPlan,
  planNodes,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
  type ProofPlan,
} from './merkle.js';
import { readNodes, readTreeSize } from './transparency.repo.js';

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leafHash: Buffer;
  rootHash: Buffer;
  hashes: Buffer[];
}

export interface ConsistencyProof {
  from: number;
  to: number;
  fromRoot: Buffer;
  toRoot: Buffer;
  hashes: Buffer[];
}

function outOfRange(field: string, message: string): Error {
  return errors.validation('Invalid querystring', [{ in: 'querystring', field, message, code: 'custom' }]);
}

/** Entries commit before the integrator adds them to the tree: a size beyond it is refused, naming it. */
function beyond(size: number): string {
  return `must be at most the integrated tree size, ${size} (entries with seq below it are in the Merkle tree; newer ones are integrated within LEXECON_TREE_INTEGRATE_MS)`;
}

export class TransparencyService {
  constructor(private readonly q: Queryable) {}

  /** Leaves in the stored (integrated) tree: entries with seq below it can be proven. */
  treeSize(): Promise<number> {
    return readTreeSize(this.q);
  }

  /** The inclusion proof of entry `seq` in the tree of `treeSize` leaves (default: the whole stored tree). */
  async inclusion(seq: number, treeSize?: number): Promise<InclusionProof> {
    const size = await this.treeSize();
    const n = treeSize ?? size;
    if (n > size) throw outOfRange('tree_size', beyond(size));
    if (seq >= n) throw outOfRange('seq', `must be smaller than the tree size, ${n}`);
    const plan = inclusionPlan(seq, n);
    const got = await this.read([plan, rootPlan(n), [[{ level: 0, index: seq }]]]);
    const hashes = got[0]!;
    const rootHash = got[1]![0]!;
    const leafHash = got[2]![0]!;
    if (!verifyInclusion(seq, n, leafHash, hashes, rootHash)) {
      throw new Error(`the stored Merkle tree gives an inclusion proof for seq ${seq} that does not verify`);
    }
    return { leafIndex: seq, treeSize: n, leafHash, rootHash, hashes };
  }

  /** The consistency proof between the trees of `from` and `to` leaves (default: the whole stored tree). */
  async consistency(from: number, to?: number): Promise<ConsistencyProof> {
    const size = await this.treeSize();
    const n = to ?? size;
    if (n > size) throw outOfRange('to', beyond(size));
    if (from > n) throw outOfRange('from', `must be at most to, ${n}`);
    const got = await this.read([consistencyPlan(from, n), rootPlan(from), rootPlan(n)]);
    const hashes = got[0]!;
    const fromRoot = got[1]![0]!;
    const toRoot = got[2]![0]!;
    if (!verifyConsistency(from, n, hashes, fromRoot, toRoot)) {
      throw new Error(`the stored Merkle tree gives a consistency proof ${from} → ${n} that does not verify`);
    }
    return { from, to: n, fromRoot, toRoot, hashes };
  }

  /** Every plan's hashes, from one read of the distinct nodes they need. */
  private async read(plans: readonly ProofPlan[]): Promise<Buffer[][]> {
    const source = await readNodes(this.q, planNodes(plans.flat()));
    return plans.map((plan) => assemble(plan, source));
  }
}
