import { ChainVerifier, entryPreimage, type Finding } from './ledger.chain.js';
import type { LedgerRepo, VerifyRow } from './ledger.repo.js';

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

/** A page of verification rows: built by the store when it can, else assembled here from whole entries. */
async function readPage(repo: LedgerRepo, after: number, upto: number, limit: number): Promise<VerifyRow[]> {
  if (repo.verifyRange) return repo.verifyRange(after, upto, limit);
  return (await repo.range(after, upto, limit)).map((e) => [e.seq, e.entryId, e.previousHash, e.entryHash, entryPreimage(e)]);
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
      const page = await readPage(repo, after, head.seq, pageSize);
      if (page.length === 0) break;
      let ok = true;
      for (const [seq, entryId, previousHash, entryHash, preimage] of page) {
        // Fast path for a plainly valid entry; anything else is read whole and gets the full check.
        if (verifier.tryPushPreimage(seq, entryId, previousHash, entryHash, preimage)) continue;
        const entry = await repo.bySeq(seq);
        if (entry === undefined) throw new Error(`ledger entry ${seq} disappeared during verification`);
        if (!verifier.push(entry)) {
          ok = false;
          break;
        }
      }
      opts.onProgress?.(verifier.entriesChecked, total);
      if (!ok) break;
      after = page[page.length - 1]![0];
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
