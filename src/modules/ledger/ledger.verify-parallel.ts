/**
 * Parallel verification of a large SQLite ledger: the seqs 0..head are cut into one consecutive segment
 * per thread, each verified in a worker thread (`ledger.verify-worker.ts`) on its own read-only
 * connection to the same file (WAL: readers run alongside the writer), page by page (constant memory
 * per worker).
 *
 * Segment k > 0 starts from the stored entry_hash of the entry before it, read here. The segments join
 * into the chain the sequential verification checks when each segment before k is valid up to its last
 * seq and ended on that very hash (its last entry's recomputed hash, equal to the stored one since the
 * segment accepted it): then segment k starts in exactly the state the sequential verification reaches
 * at its first seq, so the first finding in seq order is the sequential one (same seq, code, reason,
 * entries checked). Segments after one with a finding are cancelled; earlier ones run to their end.
 */
import { Worker } from 'node:worker_threads';
import { GENESIS_PREVIOUS_HASH, type ChainHead, type Finding } from './ledger.chain.js';
import type { LedgerRepo } from './ledger.repo.js';
import type { VerifyReport } from './ledger.verify.js';

/** What a worker verifies. */
export interface SegmentJob {
  file: string;
  first: number;
  last: number;
  /** The head's seq: reads go this far, so that a gap at the segment's end is seen as the next entry. */
  readUpto: number;
  /** The stored entry_hash of seq first − 1 ('' when there is none: the segment before reports it). */
  previousHash: string;
  pageSize: number;
}

/** What the pool sends a worker: a job, and a flag (Int32 0/1) that cancels it. */
export interface WorkerRequest {
  job: SegmentJob;
  cancel: SharedArrayBuffer;
}

export type WorkerMessage =
  | { kind: 'progress'; checked: number }
  | { kind: 'done'; entriesChecked: number; lastHash: string; finding?: Finding }
  | { kind: 'failed'; message: string };

type SegmentResult = Extract<WorkerMessage, { kind: 'done' }>;

export interface ParallelOptions {
  file: string;
  head: ChainHead;
  threads: number;
  pageSize: number;
  onProgress?: (checked: number, total: number) => void;
}

/**
 * The sequential report, computed in `threads` workers; undefined when a join does not hold although
 * the segment before it is valid (the store changed between the reads), or when a worker could not do
 * its job (say, the file cannot be opened read-only from another connection): the caller then verifies
 * in its own thread, whose answer is the reference anyway.
 */
export async function verifyInWorkers(repo: LedgerRepo, o: ParallelOptions): Promise<VerifyReport | undefined> {
  const total = o.head.seq + 1;
  const size = Math.ceil(total / o.threads);
  const jobs: SegmentJob[] = [];
  for (let first = 0; first < total; first += size) {
    const previousHash = first === 0 ? GENESIS_PREVIOUS_HASH : ((await repo.bySeq(first - 1))?.entryHash ?? '');
    jobs.push({ file: o.file, first, last: Math.min(first + size, total) - 1, readUpto: o.head.seq, previousHash, pageSize: o.pageSize });
  }
  const checked = jobs.map((j) => j.first);
  const results: Array<SegmentResult | undefined> = jobs.map(() => undefined);
  const cancels = jobs.map(() => new Int32Array(new SharedArrayBuffer(4)));
  /** Stop the segments from k on (they end at their next page and go back to the pool). */
  const cancelFrom = (k: number) => cancels.slice(k).forEach((flag) => Atomics.store(flag, 0, 1));
  // Every segment's end (its last message, or its worker's crash): awaited before returning, so that no
  // worker still reads the database file when the caller goes on (closes it, removes it, exits).
  let running = jobs.length;
  let allEnded!: () => void;
  const ended = new Promise<void>((resolve) => (allEnded = resolve));
  const segmentEnded = () => {
    if (--running === 0) allEnded();
  };
  try {
    return await new Promise<VerifyReport | undefined>((resolveOnce) => {
      // Cancelled segments still report their last page after the answer: not to the caller.
      let settled = false;
      const resolve = (report: VerifyReport | undefined) => {
        settled = true;
        resolveOnce(report);
      };
      /** Walk the segments in seq order as far as their results allow. */
      const settle = () => {
        for (let k = 0; k < jobs.length; k++) {
          const r = results[k];
          if (r === undefined) return;
          const report = { entriesChecked: r.entriesChecked, headSeq: o.head.seq, headHash: o.head.entryHash, threads: jobs.length };
          if (r.finding) return resolve({ valid: false, ...report, firstInvalid: r.finding });
          const next = jobs[k + 1];
          // A valid segment checked every seq of it; the next one started from the hash it ended on.
          if (r.entriesChecked !== jobs[k]!.last + 1 || (next !== undefined && r.lastHash !== next.previousHash)) return resolve(undefined);
          if (next === undefined) return resolve({ valid: true, ...report });
        }
      };
      jobs.forEach((job, k) => {
        pool.run({ job, cancel: cancels[k]!.buffer as SharedArrayBuffer }, (m) => {
          if (m.kind !== 'progress') segmentEnded();
          if (settled) return;
          if (m.kind === 'progress') {
            checked[k] = m.checked;
            o.onProgress?.(checked.reduce((sum, c, i) => sum + c - jobs[i]!.first, 0), total);
          } else if (m.kind === 'failed') {
            resolve(undefined);
          } else {
            results[k] = m;
            if (m.finding) cancelFrom(k + 1);
            settle();
          }
        }, () => {
          segmentEnded();
          resolve(undefined);
        });
      });
    });
  } finally {
    cancelFrom(0);
    await ended;
  }
}

/** Idle workers are kept this long for the next verification, then ended. */
const IDLE_MS = 30_000;

/**
 * Worker threads kept between verifications (starting one costs tens of ms, and more from the
 * TypeScript sources): one job at a time each; idle ones do not keep the process alive.
 */
class WorkerPool {
  private readonly idle: Worker[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Run one job; `onMessage` gets its messages up to its last (done or failed); `onError` a crash. */
  run(req: WorkerRequest, onMessage: (m: WorkerMessage) => void, onError: (err: Error) => void): void {
    const w = this.idle.pop() ?? this.start();
    w.ref();
    const finish = () => {
      w.off('message', message);
      w.off('error', error);
      w.off('exit', exit);
    };
    const message = (m: WorkerMessage) => {
      if (m.kind !== 'progress') {
        finish();
        this.release(w);
      }
      onMessage(m);
    };
    const error = (err: Error) => {
      finish();
      void w.terminate();
      onError(err);
    };
    const exit = (code: number) => {
      finish();
      onError(new Error(`ledger verification worker exited with code ${code}`));
    };
    w.on('message', message);
    w.on('error', error);
    w.on('exit', exit);
    w.postMessage(req);
  }

  private start(): Worker {
    const w = startWorker();
    // A worker that ends while idle (crash, the idle timer) must not be handed a job.
    w.on('exit', () => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return w;
  }

  private release(w: Worker): void {
    w.unref();
    this.idle.push(w);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      for (const idle of this.idle.splice(0)) void idle.terminate();
    }, IDLE_MS).unref();
  }
}

const pool = new WorkerPool();

/**
 * From the build (`.js`), the worker file itself; from the TypeScript sources (tsx, vitest: this module
 * is `.ts`), through tsx's loader, which a worker does not inherit.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./ledger.verify-worker.js', here));
  const entry = new URL('./ledger.verify-worker.ts', here).href;
  // Resolved here when the runtime can (the worker's eval code would resolve it from the cwd).
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  const tsx = resolve ? resolve('tsx/esm/api') : 'tsx/esm/api';
  const code = `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}))`;
  return new Worker(code, { eval: true });
}
