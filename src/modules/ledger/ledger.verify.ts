import os from 'node:os';
import { ChainVerifier, type Finding } from './ledger.chain.js';
import type { LedgerRepo } from './ledger.repo.js';
import { verifyInWorkers } from './ledger.verify-parallel.js';

export interface VerifyReport {
  valid: boolean;
  entriesChecked: number;
  /** Seq and hash of the last stored entry when verification began (null for an empty ledger). */
  headSeq: number | null;
  headHash: string | null;
  firstInvalid?: Finding;
  /** Worker threads that verified the chain, one segment each, when more than one (not on the wire). */
  threads?: number;
}

export interface VerifyOptions {
  pageSize?: number;
  /** Called after each page with entries checked so far and the total to check. */
  onProgress?: (checked: number, total: number) => void;
  /**
   * Threads for a large ledger in an SQLite file (`LedgerRepo.verificationFile`): default the available
   * parallelism, at most {@link MAX_VERIFY_THREADS}; 1 verifies in this thread.
   */
  threads?: number;
  /** Entries from which the ledger is verified in worker threads (default {@link PARALLEL_MIN_ENTRIES}). */
  parallelMinEntries?: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Entries per page: about 1.3 MB of rows for decision entries, read and released page by page. */
export const DEFAULT_VERIFY_PAGE_SIZE = 2000;
/** Below this, starting worker threads (tens of ms) costs more than it saves. */
export const PARALLEL_MIN_ENTRIES = 50_000;
export const MAX_VERIFY_THREADS = 4;

/**
 * Recompute every hash and link from genesis to the head as it stood when verification began, page by
 * page in seq order (constant memory: one page of rows at a time), yielding to the event loop between
 * pages so that a long verification does not stall other requests.
 *
 * A large ledger in an SQLite file is cut into consecutive seq segments verified at once in worker
 * threads, each on its own read-only connection (`verifyInWorkers`): the report is the one this
 * sequential verification gives, first finding in seq order included.
 */
export async function verifyLedger(repo: LedgerRepo, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = opts.pageSize ?? DEFAULT_VERIFY_PAGE_SIZE;
  const head = await repo.head();
  const threads = Math.min(opts.threads ?? os.availableParallelism(), MAX_VERIFY_THREADS);
  const file = repo.verificationFile?.();
  if (head && file !== undefined && threads > 1 && head.seq + 1 >= (opts.parallelMinEntries ?? PARALLEL_MIN_ENTRIES)) {
    const report = await verifyInWorkers(repo, { file, head, threads, pageSize, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    // undefined: the store did not read the same at a segment join (changed meanwhile): verify here.
    if (report) return report;
  }
  const verifier = new ChainVerifier();
  if (head) {
    const total = head.seq + 1;
    await verifySpan(repo, verifier, head.seq, head.seq, pageSize, (checked) => opts.onProgress?.(checked, total));
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

/**
 * Feed `verifier` the entries from its expected seq up to `lastSeq`, or until it finds the chain
 * invalid. `readUpto` (≥ lastSeq: the head) bounds the reads, so that the first entry after a gap is
 * read and the gap reported. `onPage` gets the verifier's entriesChecked after each page; `cancelled`
 * is asked before each page (a parallel verification stops segments it no longer needs).
 *
 * A page is the seq range after the last entry checked; when the store gives one verification row per
 * seq of it (`verificationRows`: seq is an integer key, so as many rows as seqs means no gap), each row
 * is checked without building an entry (`ChainVerifier.tryPushRow`), and any row it does not accept is
 * read whole and gets the full check (`checkEntry`); otherwise the page's entries are read whole.
 */
export async function verifySpan(
  repo: LedgerRepo,
  verifier: ChainVerifier,
  lastSeq: number,
  readUpto: number,
  pageSize: number,
  onPage: (checked: number) => void,
  cancelled: () => boolean = () => false,
): Promise<void> {
  for (;;) {
    const after = verifier.entriesChecked - 1;
    if (after >= lastSeq || cancelled()) return;
    const upto = Math.min(after + pageSize, lastSeq);
    const rows = repo.verificationRows ? await repo.verificationRows(after, upto) : undefined;
    const ok =
      rows !== undefined && rows.length === upto - after
        ? await checkRows(repo, verifier, rows, after)
        : await checkEntries(repo, verifier, after, readUpto, pageSize, lastSeq);
    onPage(verifier.entriesChecked);
    if (!ok) return;
    await yieldToEventLoop();
  }
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
 * Whole entries after `after`, up to `readUpto`, checked up to `lastSeq`: false once the chain is found
 * invalid or when there is nothing left to read.
 */
async function checkEntries(
  repo: LedgerRepo,
  verifier: ChainVerifier,
  after: number,
  readUpto: number,
  limit: number,
  lastSeq: number,
): Promise<boolean> {
  const entries = await repo.range(after, readUpto, limit);
  for (const entry of entries) {
    if (verifier.entriesChecked > lastSeq) break;
    if (!verifier.push(entry)) return false;
  }
  return entries.length > 0;
}
