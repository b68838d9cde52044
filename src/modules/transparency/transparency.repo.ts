/**
 * The Merkle tree's storage (issue 19): table `merkle_nodes` (see transparency.migrations.ts), one row
 * per complete subtree, keyed by the last leaf it covers and its level. Same SQL on both dialects, through the storage port.
 *
 * * Writes happen in the ledger's batch transaction ({@link MerkleTreeStore.extend}, called by the
 *   ledger stores after they inserted a batch, with the chain head locked): the leaves of the batch
 *   are appended to the compact range and every subtree they complete is inserted, O(log n) hashes per
 *   entry and about two rows. The compact range of the last committed batch is kept in memory
 *   ({@link MerkleTreeStore.committed}); it is reused only when the batch starts exactly where it ended
 *   (same size, and the first entry links to its last hash), else it is read back from the table
 *   (O(log n) rows). Entries the tree does not cover yet (a database from before the table, the genesis
 *   entry written outside a batch) are added first, so the tree never skips an entry.
 * * Reads ({@link readTreeSize}, {@link readNodes}) need no transaction: nodes never change once written
 *   and the tree only grows.
 */
import type { Queryable } from '../../platform/db/port.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import { leafHash, MerkleError, MerkleFrontier, type CompletedNode, type HashSource, type NodeId } from './merkle.js';

/** Rows per INSERT (3 parameters each). */
const ROWS_PER_INSERT = 300;
/** Node pairs per SELECT. */
const NODES_PER_SELECT = 100;
/** Entries read per page when the tree catches up with the ledger. */
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

/**
 * Writes nodes synchronously inside the caller's open transaction (the SQLite store's own prepared
 * statement on the connection the port's transaction holds: no SQL text built per batch).
 */
export type NodeWriter = (nodes: readonly CompletedNode[]) => void;

/** The SQL of one node row, for a {@link NodeWriter}'s prepared statement. */
export const INSERT_NODE_SQL = 'INSERT INTO merkle_nodes (last_leaf, level, hash) VALUES (?, ?, ?)';

/** The tree after a batch: its compact range, and the hash of its last leaf's entry (to chain the next batch). */
export interface TreeState {
  readonly frontier: MerkleFrontier;
  readonly lastEntryHash: string;
}

export class MerkleTreeStore {
  #committed: TreeState | undefined;
  #leavesCaughtUp = 0;

  /**
   * Leaves this store added from `ledger_entries` instead of from a batch it was given (catching up).
   * Only entries written without the tree (the genesis entry, a tool's appends) should count here.
   */
  get leavesCaughtUp(): number {
    return this.#leavesCaughtUp;
  }

  /**
   * In the transaction that commits `entries` (consecutive, the chain head locked): write the nodes
   * they complete, after catching up on any entry before them that the tree lacks. Returns the state to
   * give {@link committed} once the transaction has committed (undefined: nothing appended). `write`,
   * when given, writes the batch's nodes instead of an INSERT through `tx`.
   */
  async extend(tx: Queryable, entries: readonly StoredEntry[], write?: NodeWriter): Promise<TreeState | undefined> {
    const first = entries[0];
    if (first === undefined) return undefined;
    const cached = this.#committed;
    const frontier =
      cached && cached.frontier.size === first.seq && cached.lastEntryHash === first.previousHash
        ? cached.frontier.clone()
        : await this.load(tx, first.seq);
    const nodes: CompletedNode[] = [];
    for (const e of entries) {
      if (e.seq !== frontier.size) throw new MerkleError(`entry ${e.seq} is not the tree's next leaf ${frontier.size}`);
      nodes.push(...frontier.append(leafHash(entryLeaf(e.entryHash))));
    }
    if (write) write(nodes);
    else await insertNodes(tx, nodes);
    return { frontier, lastEntryHash: entries[entries.length - 1]!.entryHash };
  }

  /** Remember the state of a committed batch (a later one starting where it ended reuses it). */
  committed(state: TreeState | undefined): void {
    if (state !== undefined && (this.#committed === undefined || state.frontier.size > this.#committed.frontier.size)) {
      this.#committed = state;
    }
  }

  /** Forget the cached state (a test rewrote the table under the store). */
  reset(): void {
    this.#committed = undefined;
  }

  /**
   * Add the entries from the stored tree's size up to (excluding) `upto`, at most `maxLeaves` of them,
   * in this transaction (the chain head locked). Returns the tree size reached. A tree larger than the
   * ledger (entries removed from its end) throws.
   */
  async catchUp(tx: Queryable, upto: number, maxLeaves = Number.MAX_SAFE_INTEGER): Promise<number> {
    const size = await readTreeSize(tx);
    if (size > upto) {
      // The tree holds leaves of entries that are gone: the ledger's tail was cut off.
      throw new MerkleError(`the stored Merkle tree has ${size} leaves but the ledger has ${upto} entries: entries were removed`);
    }
    if (size === upto) return size;
    const frontier = await this.load(tx, Math.min(upto, size + maxLeaves));
    return frontier.size;
  }

  /** The compact range at `upto` leaves: read from the table, adding the entries it lacks first. */
  private async load(tx: Queryable, upto: number): Promise<MerkleFrontier> {
    const size = await readTreeSize(tx);
    if (size > upto) throw new MerkleError(`the stored Merkle tree has ${size} leaves but the ledger continues at seq ${upto}`);
    const frontier = MerkleFrontier.fromSource(await readNodes(tx, MerkleFrontier.nodesFor(size)), size);
    while (frontier.size < upto) {
      const rows = await tx.all<{ seq: number; entry_hash: string }>(
        'SELECT seq, entry_hash FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?',
        [frontier.size, upto, CATCH_UP_PAGE],
      );
      if (rows.length === 0) throw new MerkleError(`ledger entry ${frontier.size} is missing`);
      const nodes: CompletedNode[] = [];
      for (const r of rows) {
        if (r.seq !== frontier.size) throw new MerkleError(`ledger entry ${frontier.size} is missing`);
        nodes.push(...frontier.append(leafHash(entryLeaf(r.entry_hash))));
      }
      await insertNodes(tx, nodes);
      this.#leavesCaughtUp += rows.length;
    }
    return frontier;
  }
}
