/**
 * Worker thread of a parallel ledger verification (`verifyInWorkers`), kept in a pool: for each job,
 * verifies the seq segment [first, last] of the SQLite file on its own read-only connection, starting
 * from the stored entry_hash of the entry before the segment; reports progress after each page, then
 * its result. Stops early, between pages, when the job's cancel flag is set.
 */
import { parentPort } from 'node:worker_threads';
import { openDatabase, type Db } from '../../platform/db/connection.js';
import { ChainVerifier } from './ledger.chain.js';
import { SqliteLedgerRepo } from './ledger.repo.js';
import type { WorkerMessage, WorkerRequest } from './ledger.verify-parallel.js';
import { verifySpan } from './ledger.verify.js';

const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

port.on('message', (req: WorkerRequest) => {
  void run(req);
});

async function run({ job, cancel }: WorkerRequest): Promise<void> {
  const cancelled = new Int32Array(cancel);
  let db: Db | undefined;
  try {
    db = openDatabase(job.file, { readonly: true, fileMustExist: true });
    const verifier = new ChainVerifier(job.first, job.previousHash);
    await verifySpan(
      new SqliteLedgerRepo(db),
      verifier,
      job.last,
      job.readUpto,
      job.pageSize,
      (checked) => post({ kind: 'progress', checked }),
      () => Atomics.load(cancelled, 0) !== 0,
    );
    const finding = verifier.firstInvalid;
    post({ kind: 'done', entriesChecked: verifier.entriesChecked, lastHash: verifier.lastHash, ...(finding ? { finding } : {}) });
  } catch (err) {
    post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    db?.close();
  }
}
