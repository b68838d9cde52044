/**
 * Merkle-tree benchmark (issue 19). Not a test: it prints figures measured in this run, compared with
 * one SHA-256 measured in the same run on the same machine.
 *
 *   append     `MerkleFrontier.append` per leaf (the work a batch adds per entry: O(log n) hashes,
 *              amortised ~2), against one SHA-256 of a ledger entry's size (a chain hash, which every
 *              entry already costs).
 *   inclusion  `TransparencyService.inclusion(seq, n)` on a tree of N leaves (default 1,000,000) stored
 *              in an in-memory SQLite `merkle_nodes` table through the storage port, as the route runs it
 *              (tree size read, one node query, fold, the self-check): the server time of
 *              `GET /ledger/proof/inclusion` without HTTP. Goal (issue 19): < 1 ms at 1 M entries.
 *   consistency  `TransparencyService.consistency(m, n)`, likewise.
 *
 * Usage: npx tsx bench/transparency.bench.ts [--leaves=N] [--proofs=N]
 */
import { createHash } from 'node:crypto';
import { allMigrations } from '../src/migrations.js';
import { leafHash, MerkleFrontier } from '../src/modules/transparency/merkle.js';
import { TransparencyService } from '../src/modules/transparency/transparency.service.js';
import { openDatabase } from '../src/platform/db/connection.js';
import { migratePort } from '../src/platform/db/port-migrations.js';
import { createSqlitePort } from '../src/platform/db/sqlite.driver.js';
import { Gen } from '../test/helpers/prng.js';

function arg(name: string, fallback: number): number {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found === undefined ? fallback : Number(found.slice(name.length + 3));
}

const LEAVES = arg('leaves', 1_000_000);
const PROOFS = arg('proofs', 2000);

function nsPer(fn: () => void, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const gen = new Gen(19);
  const entryPreimage = Buffer.alloc(400, 7); // a typical decision entry's canonical preimage size
  const sha = () => createHash('sha256').update(entryPreimage).digest();
  for (let i = 0; i < 20_000; i++) sha();
  const shaNs = nsPer(sha, 200_000);

  const db = openDatabase(':memory:');
  const port = createSqlitePort(db);
  await migratePort(port, allMigrations);
  const insert = db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
  const frontier = MerkleFrontier.empty();
  let appendNs = 0;
  const built = process.hrtime.bigint();
  const CHUNK = 50_000;
  for (let at = 0; at < LEAVES; at += CHUNK) {
    const leaves = Array.from({ length: Math.min(CHUNK, LEAVES - at) }, () => leafHash(createHash('sha256').update(String(gen.next())).digest()));
    const t0 = process.hrtime.bigint();
    const nodes = leaves.flatMap((l) => frontier.append(l));
    appendNs += Number(process.hrtime.bigint() - t0);
    db.transaction(() => {
      for (const n of nodes) insert.run(n.level, n.index, n.hash);
    })();
  }
  const buildS = Number(process.hrtime.bigint() - built) / 1e9;
  const service = new TransparencyService(port);

  const measure = async (label: string, run: (i: number) => Promise<unknown>): Promise<number[]> => {
    for (let i = 0; i < 200; i++) await run(i);
    const out: number[] = [];
    for (let i = 0; i < PROOFS; i++) {
      const t0 = process.hrtime.bigint();
      await run(i);
      out.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    out.sort((a, b) => a - b);
    const median = quantile(out, 0.5);
    console.log(
      `${label.padEnd(12)} median ${median.toFixed(1)} µs  p99 ${quantile(out, 0.99).toFixed(1)} µs  = ${((median * 1000) / shaNs).toFixed(0)} × one SHA-256`,
    );
    return out;
  };

  console.log(`Merkle tree benchmark: ${LEAVES.toLocaleString('en')} leaves, ${PROOFS} proofs each, SQLite in memory`);
  console.log(`one SHA-256 of ${entryPreimage.length} bytes: ${(shaNs / 1000).toFixed(2)} µs`);
  console.log(`build: ${buildS.toFixed(1)} s for ${LEAVES.toLocaleString('en')} leaves (${(db.prepare('SELECT count(*) AS n FROM merkle_nodes').get() as { n: number }).n.toLocaleString('en')} rows)`);
  const appendPer = appendNs / LEAVES;
  console.log(`append       ${(appendPer / 1000).toFixed(2)} µs per leaf = ${(appendPer / shaNs).toFixed(2)} × one SHA-256 (node rows written apart)`);
  const seqs = Array.from({ length: PROOFS + 200 }, () => gen.int(LEAVES));
  const inclusion = await measure('inclusion', (i) => service.inclusion(seqs[i % seqs.length]!, LEAVES));
  const sizes = seqs.map((s) => Math.max(1, s));
  await measure('consistency', (i) => service.consistency(sizes[i % sizes.length]!, LEAVES));
  const goal = quantile(inclusion, 0.5) < 1000;
  console.log(`goal inclusion < 1 ms at ${LEAVES.toLocaleString('en')}: ${goal ? 'met' : 'NOT met'}`);
  await port.close();
}

await main();
