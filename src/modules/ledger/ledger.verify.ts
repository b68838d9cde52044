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

/** Entries per page: about 1.3 MB of rows for decision entries, read and released page by page. */
export const DEFAULT_VERIFY_PAGE_SIZE = 2000;

/**
 * Recompute every hash and link from genesis to the head as it stood when verification began, page by
 * page in seq order (constant memory: one page of rows at a time), yielding to the event loop between
 * pages so that a long verification does not stall other requests.
 *
 * A page is the seq range after the last entry checked; when the store gives one verification row per
 * seq of it (`verificationRows`: seq is an integer key, so as many rows as seqs means no gap), each row
 * is checked without building an entry (`ChainVerifier.tryPushRow`), and any row it does not accept is
 * read whole and gets the full check (`checkEntry`); otherwise the page's entries are read whole.
 */
export async function verifyLedger(repo: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = opts.pageSize ?? DEFAULT_VERIFY_PAGE_SIZE;
  const head = await repo.head();
  const verifier = new ChainVerifier();
  if (head) {
    const total = head.seq + 1;
    for (;;) {
      const after = verifier.entriesChecked - 1;
      if (after >= head.seq) break;
      const upto = Math.min(after + pageSize, head.seq);
      const rows = repo.verificationRows ? await repo.verificationRows(after, upto) : undefined;
      const ok =
        rows !== undefined && rows.length === upto - after
          ? await checkRows(repo, verifier, rows, after)
          : await checkEntries(repo, verifier, after, head.seq, pageSize);
      opts.onProgress?.(verifier.entriesChecked, total);
      if (!ok) break;
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

/** The rows of seqs after+1, after+2, …: false once the chain is found invalid. */
async function checkRows(repo: LedgerRepo, verifier: ChainVerifier, rows: ReadonlyArray<string | null>, after: number): Promise<boolean> {
  for (let i = 0; i < rows.length; i++) {
    if (verifier.tryPushRow(rows[i]!)) continue;
    // Not plainly valid (or the genesis entry): the full check of the whole entry says what it is.
    const seq = after + 1 + i;
    const entry = await repo.bySeq(seq);
    if (entry === undefined) throw new Error(`ledger entry ${seq} disappeared during verification`);
    if (!verifier.push(entry)) return false;
  }
  return true;
}

/**
 * Whole entries after `after`, up to the head (so that the first entry after a gap is read, and the gap
 * reported): false once the chain is found invalid or when there is nothing left to read.
 */
async function checkEntries(repo: LedgerRepo, verifier: ChainVerifier, after: number, uptoSeq: number, limit: number): Promise<boolean> {
  const entries = await repo.range(after, uptoSeq, limit);
  for (const entry of entries) if (!verifier.push(entry)) return false;
  return entries.length > 0;
}
