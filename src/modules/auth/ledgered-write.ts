import { UniqueViolation } from '../../platform/db/errors.js';
import type { Transaction } from '../../platform/db/port.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import type { EventSink, LedgerEvent } from '../ledger/ledger.service.js';

/** Thrown by a write inside its ledger transaction: the state its entry describes changed meanwhile; prepare again. */
export class Recompute extends Error {}
/** Thrown by a write inside its ledger transaction: there is nothing to change, so nothing is ledgered. */
export class Unchanged extends Error {}

/** Entries to append and the writes that commit in the same transaction (see {@link commitWithEntries}). */
export interface Commit<T> {
  events: LedgerEvent[];
  write: (tx: Transaction, entries: readonly StoredEntry[]) => Promise<T>;
}

/**
 * A unique or primary key constraint refused a write (e.g. a name taken by a concurrent request). The
 * auth tables each have one such constraint a write can hit (users: the username key; oidc_identities:
 * provider + subject), so the class alone says which; the write's own transaction is rolled back.
 */
export const isUniqueViolation = (err: unknown) => err instanceof UniqueViolation;

/** The ledger transaction a `withEntries` hook runs in (every ledger store hands it to the hooks). */
export function ledgerTx(tx: Transaction | undefined): Transaction {
  if (tx === undefined) throw new TypeError('a withEntries hook got no ledger transaction to write through');
  return tx;
}

/**
 * Append the prepared events with their writes inside the same transaction (a `withEntries` hook):
 * both commit or neither. `prepare` reads what the entries say (e.g. how many sessions a change ends);
 * a write that finds it changed meanwhile throws {@link Recompute} and all is prepared again (a few
 * times). A write that throws anything else rejects the call, and nothing of it is kept.
 */
export async function commitWithEntries<T>(events: EventSink, prepare: () => Commit<T> | Promise<Commit<T>>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const commit = await prepare();
    let result: T | undefined;
    try {
      await events.appendAll(commit.events, {
        withEntries: async (entries, tx) => {
          result = await commit.write(ledgerTx(tx), entries);
        },
      });
      return result as T;
    } catch (err) {
      if (!(err instanceof Recompute) || attempt >= 5) throw err;
    }
  }
}
