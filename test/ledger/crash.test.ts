import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { tempDir } from '../helpers/build-test-app.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KILL_AFTER = 300;
/** The child must have reported KILL_AFTER appends within this time, or the test fails. */
const STALL_MS = 30_000;

const children = new Set<ChildProcess>();

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

afterEach(() => {
  for (const c of children) killChild(c);
  children.clear();
});
// Last resort if the worker goes away mid-test.
process.once('exit', () => {
  for (const c of children) killChild(c);
});

interface Run {
  reported: Map<number, string>;
  lines: number;
  stderr: string;
  signal: NodeJS.Signals | null;
}

/** Start the writer, SIGKILL it once it has reported `killAfter` committed appends, wait for its death. */
function runAndKill(dbFile: string, killAfter: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-writer.ts', dbFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const reported = new Map<number, string>();
  let lines = 0;
  let stderr = '';
  let buffered = '';
  let killed = false;

  return new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      killChild(child);
      reject(
        new Error(`crash-writer stalled: ${lines} appends reported in ${STALL_MS} ms; stderr:\n${stderr.slice(-2000)}`),
      );
    }, STALL_MS);

    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!; // an incomplete last line waits for the rest
      for (const line of parts) {
        const m = /^(\d+) ([0-9a-f]{64})$/.exec(line);
        if (!m) {
          killChild(child);
          reject(new Error(`unexpected line from crash-writer: ${JSON.stringify(line)}`));
          return;
        }
        const seq = Number(m[1]);
        if (reported.has(seq)) {
          killChild(child);
          reject(new Error(`seq ${seq} was reported twice`));
          return;
        }
        reported.set(seq, m[2]!);
        lines++;
      }
      if (!killed && lines >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (!killed) {
        reject(new Error(`crash-writer exited on its own (code ${code}, signal ${signal}); stderr:\n${stderr.slice(-2000)}`));
        return;
      }
      resolve({ reported, lines, stderr, signal });
    });
  });
}

describe('ledger crash safety', () => {
  it('keeps every append whose receipt resolved when the writer is killed with SIGKILL', { timeout: 60_000 }, async () => {
    const dbFile = path.join(tempDir('lexecon-crash-'), 'ledger.db');
    const run = await runAndKill(dbFile, KILL_AFTER);
    expect(run.signal).toBe('SIGKILL');
    expect(run.lines).toBeGreaterThanOrEqual(KILL_AFTER);

    const db = openDatabase(dbFile);
    try {
      const repo = new SqliteLedgerRepo(db);
      const report = await verifyLedger(repo);
      expect(report.firstInvalid).toBeUndefined();
      expect(report.valid).toBe(true);
      const maxReported = Math.max(...run.reported.keys());
      expect(report.headSeq).not.toBeNull();
      expect(report.headSeq!).toBeGreaterThanOrEqual(maxReported);
      expect(report.entriesChecked).toBe(report.headSeq! + 1);

      const hashAt = db.prepare('SELECT entry_hash FROM ledger_entries WHERE seq = ?').pluck();
      const missing: string[] = [];
      for (const [seq, hash] of run.reported) {
        const stored = hashAt.get(seq) as string | undefined;
        if (stored !== hash) missing.push(`seq ${seq}: reported ${hash}, stored ${stored ?? '(none)'}`);
      }
      expect(missing).toEqual([]);
    } finally {
      db.close();
    }
  });
});
