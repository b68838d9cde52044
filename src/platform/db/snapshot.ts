import type { DbPort, Transaction } from './port.js';

/**
 * Run `fn` in a read-only transaction whose reads all see one snapshot of the database (a report that
 * must be consistent across several queries). SQLite: a transaction on its one connection is that
 * already. PostgreSQL: its default READ COMMITTED takes a new snapshot per statement, so the
 * transaction is REPEATABLE READ (one snapshot for all of it) and READ ONLY; `SET TRANSACTION` must be
 * its first statement, which it is (it goes with the BEGIN).
 */
export function readSnapshot<T>(db: DbPort, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(tx);
  });
}
