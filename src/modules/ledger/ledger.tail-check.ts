import {
  checkEntry,
  GENESIS_PREVIOUS_HASH,
  type ChainHead,
  type Finding,
  type StoredEntry,
} from './ledger.chain.js';
import type { LedgerRepo } from './ledger.repo.js';

/** Why the chain's tail failed its check at start, and where. */
export interface TailProblem {
  seq: number;
  reason: string;
}

/**
 * A head recorded outside the store that the chain must still contain (a signed checkpoint, once they
 * exist): checked at start, so that a truncated or rewritten tail is caught even when it is consistent
 * in itself. Nothing implements it yet.
 */
export interface HeadAnchor {
  /** The latest recorded head, or undefined when none was recorded. */
  latest(): Promise<ChainHead | undefined>;
}

/** The genesis entry and the last `tailCheckEntries` entries up to `head`: seqs, ids, links and hashes. */
export async function checkTail(repo: LedgerRepo, head: StoredEntry, windowSize: number): Promise<TailProblem | undefined> {
  const failed = (f: Finding) => ({ seq: f.seq, reason: `ledger tail check failed at seq ${f.seq}: ${f.reason}` });
  const genesis = head.seq === 0 ? head : await repo.bySeq(0);
  const genesisFinding = genesis
    ? checkEntry(genesis, 0, GENESIS_PREVIOUS_HASH)
    : { seq: 0, entryId: 'genesis', code: 'missing_genesis' as const, reason: 'the genesis entry is missing' };
  if (genesisFinding) return failed(genesisFinding);
  if (head.seq === 0) return undefined;
  const from = Math.max(1, head.seq - windowSize + 1);
  const before = await repo.bySeq(from - 1);
  if (!before) return { seq: from - 1, reason: `ledger tail check failed: entry with seq ${from - 1} is missing` };
  let expected: ChainHead = { seq: before.seq, entryHash: before.entryHash };
  // Read in pages: the window is bounded, but its entries are not small.
  while (expected.seq < head.seq) {
    const page = await repo.range(expected.seq, head.seq, 500);
    if (page.length === 0) return { seq: expected.seq + 1, reason: `ledger tail check failed: entry with seq ${expected.seq + 1} is missing` };
    for (const entry of page) {
      const finding = checkEntry(entry, expected.seq + 1, expected.entryHash);
      if (finding) return failed(finding);
      expected = { seq: entry.seq, entryHash: entry.entryHash };
    }
  }
  return undefined;
}

/** The last recorded checkpoint must be an entry of this chain (same seq, same hash). */
export async function checkAnchor(repo: LedgerRepo, anchor: HeadAnchor | undefined, head: StoredEntry): Promise<TailProblem | undefined> {
  const anchored = await anchor?.latest();
  if (!anchored) return undefined;
  if (anchored.seq > head.seq) {
    return { seq: head.seq, reason: `the ledger ends at seq ${head.seq}, before the last checkpoint at seq ${anchored.seq} (truncated)` };
  }
  const entry = await repo.bySeq(anchored.seq);
  if (entry?.entryHash !== anchored.entryHash) {
    return { seq: anchored.seq, reason: `entry ${anchored.seq} does not match the last checkpoint's hash (rewritten chain)` };
  }
  return undefined;
}

