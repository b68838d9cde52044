import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createPrivateFile, mkdirPrivate, POSIX_MODES } from '../files.js';

export type Db = Database.Database;
export type Durability = 'full' | 'normal';

export interface OpenDatabaseOptions {
  durability?: Durability;
  readonly?: boolean;
  /** Fail instead of creating the file (the CLI reads existing databases only). */
  fileMustExist?: boolean;
  busyTimeoutMs?: number;
}

/**
 * Open the embedded database: WAL journal, `synchronous=FULL` unless durability is `normal`,
 * foreign keys enforced, a busy timeout for concurrent readers (the CLI next to a running server).
 *
 * A database this call creates is private to the server's user whatever the umask: missing directories
 * are created 0700, the file is created 0600 before SQLite opens it, and its `-wal`/`-shm` files are
 * set 0600 too (SQLite gives them the database file's mode). An existing file keeps its mode.
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): Db {
  const onDisk = file !== ':memory:' && file !== '';
  let created = false;
  if (onDisk && !opts.readonly && !opts.fileMustExist) {
    mkdirPrivate(path.dirname(file));
    created = createPrivateFile(file);
  }
  const db = new Database(file, {
    readonly: opts.readonly ?? false,
    fileMustExist: opts.fileMustExist ?? false,
  });
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  if (created && POSIX_MODES) {
    for (const side of [`${file}-wal`, `${file}-shm`]) {
      if (fs.existsSync(side)) fs.chmodSync(side, 0o600);
    }
  }
  return db;
}

/**
 * Prepared statements by SQL text, prepared once per connection: for repositories that build SQL in
 * helpers (`this.get(sql, …)`). Preparing costs tens of µs; on a hot path (every request authenticates)
 * it dominated the query itself. Only for fixed SQL texts: the cache never evicts.
 * NOTE: better-sqlite3's `.pluck()`/`.raw()` change the statement object itself, so a cached statement
 * keeps that mode: use one SQL text in one mode only.
 */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
