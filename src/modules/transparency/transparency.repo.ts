/**
 * The Merkle tree's storage (issue 19): table `merkle_nodes` (see transparency.migrations.ts), one row
 * per complete subtree, keyed by the last leaf it covers and its level. Same SQL on both dialects, through the storage port.
 *
 * * Writes happen OFF the ledger's commit path: the integrator (transparency.integrator.ts) calls
 *   {@link MerkleTreeStore.integrate} in a transaction of its own, under an exclusive lock, for the
 *   entries committed since the last integration (batched: one commit for many entries). The compact
 *   range is read back from the table (O(log n) rows), the new leaves appended to it, and every subtree
 *   they complete inserted (about two rows per entry).
 * * Reads ({@link readTreeSize}, {@link readNodes}) need no transaction: nodes never change once written
 *   and the tree only grows. The stored tree's size may trail the ledger's (entries committed but not yet
 *   integrated); proofs answer for sizes up to it.
 */
import type { Queryable } from '../../platform/db/port.js';
import { leafHash, MerkleError, MerkleFrontier, type CompletedNode, type HashSource, type NodeId } from './merkle.js';

/** Rows per INSERT (3 parameters each). */
const ROWS_PER_INSERT = 300;
/** Node pairs per SELECT. */
const NODES_PER_SELECT = 100;
/** Entries read per page when the tree integrates committed entries. */
export const CATCH_UP_PAGE = 2000;

const ENTRY_HASH = /^[0-9a-f]{64}$/;

/** The 32-byte leaf of a ledger entry: its entry_hash. */
export function entryLeaf(entryHash: string): Buffer {
  if (!ENTRY_HASH.test(entryHash)) throw new MerkleError('an entry hash is 64 lowercase hex characters');
  return Buffer.from(entryHash, 'hex');
}

/** The key of node `(level, index)`: the last leaf it covers (nodes are completed in that order). */
export function lastLeaf(level: number, index: number): number {
  return (index + 1) * 2 ** level - 1;
}

/** How many leaves the stored tree has (entries with seq < size are in it). */
export async function readTreeSize(q: Queryable): Promise<number> {
  const row = await q.one<{ m: number | null }>('SELECT max(last_leaf) AS m FROM merkle_nodes');
  return row?.m === null || row?.m === undefined ? 0 : row.m + 1;
}

/** The stored hashes of `ids`, as a {@link HashSource} (a missing node throws when asked for). */
export async function readNodes(q: Queryable, ids: readonly NodeId[]): Promise<HashSource> {
  const found = new Map<string, Buffer>();
  for (let at = 0; at < ids.length; at += NODES_PER_SELECT) {
    const chunk = ids.slice(at, at + NODES_PER_SELECT);
    const where = chunk.map(() => '(last_leaf = ? AND level = ?)').join(' OR ');
    const rows = await q.all<{ last_leaf: number; level: number; hash: Buffer }>(
      `SELECT last_leaf, level, hash FROM merkle_nodes WHERE ${where}`,
      chunk.flatMap((id) => [lastLeaf(id.level, id.index), id.level]),
    );
    for (const r of rows) found.set(`${r.level}:${(r.last_leaf + 1) / 2 ** r.level - 1}`, Buffer.from(r.hash));
  }
  return {
    node(level, index) {
      const hash = found.get(`${level}:${index}`);
      if (hash === undefined) throw new MerkleError(`Merkle node (${level}, ${index}) is not stored`);
      return hash;
    },
  };
}

async function insertNodes(q: Queryable, nodes: readonly CompletedNode[]): Promise<void> {
  for (let at = 0; at < nodes.length; at += ROWS_PER_INSERT) {
    const chunk = nodes.slice(at, at + ROWS_PER_INSERT);
    await q.run(
      `INSERT INTO merkle_nodes (last_leaf, level, hash) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
      chunk.flatMap((n) => [lastLeaf(n.level, n.index), n.level, n.hash]),
    );
  }
}

/** The ledger's size: entries with seq below it are committed (seq 0 is the genesis entry). */
export async function readLedgerSize(q: Queryable): Promise<number> {
  const row = await q.one<{ seq: number }>('SELECT seq FROM ledger_entries ORDER BY seq DESC LIMIT 1');
  return row === undefined ? 0 : Number(row.seq) + 1;
}

export class MerkleTreeStore {
  #leavesIntegrated = 0;

  /** Leaves this store has added to the table since it was made (a replica's share of the work). */
  get leavesIntegrated(): number {
    return this.#leavesIntegrated;
  }

  /**
   * Add the committed entries from the stored tree's size on, at most `maxLeaves` of them, in this
   * transaction (the caller holds the integrator's lock, so the tree's size cannot move under it).
   * Returns the tree size reached. The ledger's size is read AFTER the tree's: entries commit before they
   * are integrated, so a tree larger than it means entries were removed from the ledger's end (throws).
   */
  async integrate(tx: Queryable, maxLeaves = Number.MAX_SAFE_INTEGER): Promise<number> {
    const size = await readTreeSize(tx);
    const upto = await readLedgerSize(tx);
    if (size > upto) {
      // The tree holds leaves of entries that are gone: the ledger's tail was cut off.
      throw new MerkleError(`the stored Merkle tree has ${size} leaves but the ledger has ${upto} entries: entries were removed`);
    }
    if (size === upto) return size;
    const target = Math.min(upto, size + maxLeaves);
    const frontier = MerkleFrontier.fromSource(await readNodes(tx, MerkleFrontier.nodesFor(size)), size);
    while (frontier.size < target) {
      const rows = await tx.all<{ seq: number; entry_hash: string }>(
        'SELECT seq, entry_hash FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?',
        [frontier.size, target, CATCH_UP_PAGE],
      );
      if (rows.length === 0) throw new MerkleError(`ledger entry ${frontier.size} is missing`);
      const nodes: CompletedNode[] = [];
      for (const r of rows) {
        if (Number(r.seq) !== frontier.size) throw new MerkleError(`ledger entry ${frontier.size} is missing`);
        nodes.push(...frontier.append(leafHash(entryLeaf(r.entry_hash))));
      }
      await insertNodes(tx, nodes);
      this.#leavesIntegrated += rows.length;
    }
    return frontier.size;
  }
}
