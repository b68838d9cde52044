import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

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
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): Db {
  if (file !== ':memory:' && !opts.readonly && !opts.fileMustExist) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }
  const db = new Database(file, {
    readonly: opts.readonly ?? false,
    fileMustExist: opts.fileMustExist ?? false,
  });
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  return db;
}
