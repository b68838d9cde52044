import { ChainVerifier, type Finding } from './ledger.chain.js';
import type { LedgerRepo } from './ledger.repo.js';

export interface VerifyReport {
  valid: boolean;
  entriesChecked: number;
  /** Seq and hash of the last stored entry when verification began (null for an empty ledger). */
  headSeq: number | null;
  headHash: string | null;
  firstInvalid?: Finding;
}

export interface VerifyOptions {
  pageSize?: number;
  /** Called after each page with entries checked so far and the total to check. */
  onProgress?: (checked: number, total: number) => void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Recompute every hash and link from genesis to the head as it stood when verification began, page by
 * page in seq order (constant memory), yielding to the event loop between pages so that a long
 * verification does not stall other requests.
 */
export async function verifyLedger(repo: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = opts.pageSize ?? 2000;
  const head = await repo.head();
  const verifier = new ChainVerifier();
  if (head) {
    const total = head.seq + 1;
    let after = -1;
    for (;;) {
      let ok = true;
      let last: number;
      if (repo.verifyRange) {
        // Fast path: the store builds each preimage; an entry it does not accept gets the full check.
        const page = await repo.verifyRange(after, head.seq, pageSize);
        if (page.length === 0) break;
        for (const [seq, entryId, previousHash, entryHash, preimage] of page) {
          if (verifier.tryPushPreimage(seq, entryId, previousHash, entryHash, preimage)) continue;
          const entry = await repo.bySeq(seq);
          if (entry === undefined) throw new Error(`ledger entry ${seq} disappeared during verification`);
          if (!verifier.push(entry)) {
            ok = false;
            break;
          }
        }
        last = page[page.length - 1]![0];
      } else {
        const page = await repo.range(after, head.seq, pageSize);
        if (page.length === 0) break;
        for (const entry of page) {
          if (!verifier.push(entry)) {
            ok = false;
            break;
          }
        }
        last = page[page.length - 1]!.seq;
      }
      opts.onProgress?.(verifier.entriesChecked, total);
      if (!ok) break;
      after = last;
      await yieldToEventLoop();
    }
  }
  const finding = verifier.finish();
  return {
    valid: finding === undefined,
    entriesChecked: verifier.entriesChecked,
    headSeq: head?.seq ?? null,
    headHash: head?.entryHash ?? null,
    ...(finding ? { firstInvalid: finding } : {}),
  };
}
