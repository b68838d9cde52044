/**
 * Signed checkpoints (issue 19): table `checkpoints` (migration 19), one row per tree size, written in the
 * transaction of the checkpoint's `checkpoint_cut` ledger entry. Same SQL on both dialects, through the port.
 */
import type { Queryable } from '../../platform/db/port.js';

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Buffer;
  origin: string;
  kid: string;
  /** The C2SP signed note: the checkpoint body, a blank line, the signature line(s). */
  note: string;
  noteSha256: string;
  trigger: 'timer' | 'api';
  createdAt: string;
  ledgerSeq: number;
}

interface Row {
  tree_size: number | string;
  root_hash: Buffer;
  origin: string;
  kid: string;
  note: string;
  note_sha256: string;
  trigger: 'timer' | 'api';
  created_at: string;
  ledger_seq: number | string;
}

const COLUMNS = 'tree_size, root_hash, origin, kid, note, note_sha256, trigger, created_at, ledger_seq';

function fromRow(r: Row): StoredCheckpoint {
  return {
    treeSize: Number(r.tree_size),
    rootHash: Buffer.from(r.root_hash),
    origin: r.origin,
    kid: r.kid,
    note: r.note,
    noteSha256: r.note_sha256,
    trigger: r.trigger,
    createdAt: r.created_at,
    ledgerSeq: Number(r.ledger_seq),
  };
}

export class CheckpointRepo {
  constructor(private readonly q: Queryable) {}

  async latest(q: Queryable = this.q): Promise<StoredCheckpoint | undefined> {
    const r = await q.one<Row>(`SELECT ${COLUMNS} FROM checkpoints ORDER BY tree_size DESC LIMIT 1`);
    return r && fromRow(r);
  }

  async bySize(treeSize: number): Promise<StoredCheckpoint | undefined> {
    const r = await this.q.one<Row>(`SELECT ${COLUMNS} FROM checkpoints WHERE tree_size = ?`, [treeSize]);
    return r && fromRow(r);
  }

  /** Newest first, below `beforeSize` when given (cursor paging by tree size). */
  async list(limit: number, beforeSize?: number): Promise<StoredCheckpoint[]> {
    const rows =
      beforeSize === undefined
        ? await this.q.all<Row>(`SELECT ${COLUMNS} FROM checkpoints ORDER BY tree_size DESC LIMIT ?`, [limit])
        : await this.q.all<Row>(`SELECT ${COLUMNS} FROM checkpoints WHERE tree_size < ? ORDER BY tree_size DESC LIMIT ?`, [beforeSize, limit]);
    return rows.map(fromRow);
  }

  /** Inserts in `tx`; false when a checkpoint of this size exists already (another replica cut it). */
  async insert(tx: Queryable, c: StoredCheckpoint): Promise<boolean> {
    const r = await tx.run(
      `INSERT INTO checkpoints (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING`,
      [c.treeSize, c.rootHash, c.origin, c.kid, c.note, c.noteSha256, c.trigger, c.createdAt, c.ledgerSeq],
    );
    return r.changes === 1;
  }
}
