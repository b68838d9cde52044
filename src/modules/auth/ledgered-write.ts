import type { StoredEntry } from '../ledger/ledger.chain.js';
import type { EventSink, LedgerEvent } from '../ledger/ledger.service.js';

/** Thrown by a write inside its ledger transaction: the state its entry describes changed meanwhile; prepare again. */
export class Recompute extends Error {}
/** Thrown by a write inside its ledger transaction: there is nothing to change, so nothing is ledgered. */
export class Unchanged extends Error {}

/** Entries to append and the writes that commit in the same transaction (see {@link commitWithEntries}). */
export interface Commit<T> {
  events: LedgerEvent[];
  write: (entries: readonly StoredEntry[]) => T;
}

/** A unique or primary key constraint refused a write (e.g. a name taken by a concurrent request). */
export const isUniqueViolation = (err: unknown) =>
  /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(String((err as { code?: unknown }).code));

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
      await events.appendAll(commit.events, { withEntries: (entries) => void (result = commit.write(entries)) });
      return result as T;
    } catch (err) {
      if (!(err instanceof Recompute) || attempt >= 5) throw err;
    }
  }
}
