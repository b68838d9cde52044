import type { PortMigration } from '../../platform/db/port-migrations.js';

/**
 * Issue 19: the Merkle tree over the ledger (RFC 9162 §2.1, `merkle.ts`), stored as it grows.
 * `merkle_nodes` holds every complete subtree: node `(level, index)` is the hash of the `2^level` leaves
 * from leaf `index * 2^level` (level 0: the leaf hash of entry `seq = index`). Its key is the LAST leaf
 * it covers, `last_leaf = (index + 1) * 2^level - 1`, then the level: nodes are completed in that order,
 * so every insert goes to the end of one B-tree (a batch dirties a page or two, not one per level). Written
 * by the ledger stores in the transaction that commits the entries (about two rows per entry); a proof
 * reads O(log n) rows by primary key. The nodes are derived data: anyone can recompute them from the
 * entries, and a rewrite is caught by the consistency of signed checkpoints, not by guards on this table.
 */
export const transparencyMigrations: PortMigration[] = [
  {
    version: 18,
    name: 'merkle_nodes',
    sql: {
      sqlite: `
        CREATE TABLE merkle_nodes (
          last_leaf INTEGER NOT NULL CHECK (last_leaf >= 0),
          level     INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
          hash      BLOB NOT NULL CHECK (length(hash) = 32),
          PRIMARY KEY (last_leaf, level)
        ) STRICT, WITHOUT ROWID;
      `,
      postgres: `
        CREATE TABLE merkle_nodes (
          last_leaf BIGINT NOT NULL CHECK (last_leaf >= 0),
          level     INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
          hash      BYTEA NOT NULL CHECK (octet_length(hash) = 32),
          PRIMARY KEY (last_leaf, level)
        );
      `,
    },
  },
  {
    // Signed checkpoints (C2SP tlog-checkpoint as a signed note), one per tree size, each written in the
    // transaction of its `checkpoint_cut` ledger entry (ledger_seq).
    version: 19,
    name: 'checkpoints',
    sql: {
      sqlite: `
        CREATE TABLE checkpoints (
          tree_size   INTEGER PRIMARY KEY CHECK (tree_size >= 1),
          root_hash   BLOB NOT NULL CHECK (length(root_hash) = 32),
          origin      TEXT NOT NULL,
          kid         TEXT NOT NULL,
          note        TEXT NOT NULL,
          note_sha256 TEXT NOT NULL,
          trigger     TEXT NOT NULL CHECK (trigger IN ('timer', 'api')),
          created_at  TEXT NOT NULL,
          ledger_seq  INTEGER NOT NULL UNIQUE
        ) STRICT;
      `,
      postgres: `
        CREATE TABLE checkpoints (
          tree_size   BIGINT PRIMARY KEY CHECK (tree_size >= 1),
          root_hash   BYTEA NOT NULL CHECK (octet_length(root_hash) = 32),
          origin      TEXT COLLATE "C" NOT NULL,
          kid         TEXT COLLATE "C" NOT NULL,
          note        TEXT COLLATE "C" NOT NULL,
          note_sha256 TEXT COLLATE "C" NOT NULL,
          trigger     TEXT COLLATE "C" NOT NULL CHECK (trigger IN ('timer', 'api')),
          created_at  TEXT COLLATE "C" NOT NULL,
          ledger_seq  BIGINT NOT NULL UNIQUE
        );
      `,
    },
  },
];
