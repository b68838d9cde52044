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
 *   ledger     the ledger's write path with and without the tree: a LedgerService on a SQLite file
 *              (synchronous=FULL), 32 concurrent writers appending decision-sized entries (group commit),
 *              with the tree integrator running in the same process (its own transactions, at 1000
 *              waiting entries or every 200 ms; its CPU counts) or without it; `--rounds` alternating
 *              rounds of `--seconds` each (tree, none, none, tree, …) so that drift hits both alike.
 *              Appends/s and process CPU µs per append, tree ÷ none. Goal (issue 19): within 5 %.
 *
 * Usage: npx tsx bench/transparency.bench.ts [--leaves=N] [--proofs=N] [--seconds=S] [--rounds=N]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { SqliteLedgerRepo } from '../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../src/modules/ledger/ledger.service.js';
import { systemClock } from '../src/platform/clock.js';
import { allMigrations } from '../src/migrations.js';
import { leafHash, MerkleFrontier } from '../src/modules/transparency/merkle.js';
import { TreeIntegrator } from '../src/modules/transparency/transparency.integrator.js';
import { lastLeaf } from '../src/modules/transparency/transparency.repo.js';
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
const SECONDS = arg('seconds', 3);
const ROUNDS = arg('rounds', 4);
const WRITERS = 32;

/** One round of 32 writers for SECONDS on `ledger`: appends and process CPU µs (user+system). */
async function writeRound(ledger: LedgerService): Promise<{ appends: number; cpuUs: number; seconds: number }> {
  const data = { decision_id: 'dec_x'.padEnd(30, 'x'), outcome: 'approved', risk: 12, actor: 'ai_agent:bench', action: 'read:item', reason: 'r'.repeat(200) };
  const stopAt = Date.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let appends = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (Date.now() < stopAt) {
        await ledger.append('decision', data);
        appends += 1;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { appends, cpuUs: cpu.user + cpu.system, seconds };
}

async function ledgerAb(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-bench-tlog-'));
  try {
    const open = async (name: string, tree: boolean) => {
      const db = openDatabase(path.join(dir, `${name}.db`), { durability: 'full' });
      const port = createSqlitePort(db);
      await migratePort(port, allMigrations);
      const repo = new SqliteLedgerRepo(db, port);
      const logger = pino({ level: 'silent' });
      const integrator = tree ? new TreeIntegrator({ port, logger, intervalMs: 200 }) : undefined;
      const ledger = new LedgerService({ repo, clock: systemClock, logger, onCommitted: (e) => integrator?.noteCommitted(e.length) });
      await ledger.start();
      await integrator?.start();
      return { ledger, port, integrator };
    };
    const sides = { tree: await open('tree', true), none: await open('none', false) };
    const totals = { tree: { appends: 0, cpuUs: 0, seconds: 0 }, none: { appends: 0, cpuUs: 0, seconds: 0 } };
    for (const side of ['tree', 'none'] as const) await writeRound(sides[side].ledger); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['tree', 'none'] as const) : (['none', 'tree'] as const);
      for (const side of order) {
        const got = await writeRound(sides[side].ledger);
        totals[side].appends += got.appends;
        totals[side].cpuUs += got.cpuUs;
        totals[side].seconds += got.seconds;
      }
    }
    const rate = (s: keyof typeof totals) => totals[s].appends / totals[s].seconds;
    const cpu = (s: keyof typeof totals) => totals[s].cpuUs / totals[s].appends;
    console.log(`ledger writes (SQLite FULL, ${WRITERS} writers, ${ROUNDS} × ${SECONDS} s each, alternating):`);
    console.log(`  with tree  ${rate('tree').toFixed(0)} appends/s, ${cpu('tree').toFixed(1)} CPU µs per append`);
    console.log(`  without    ${rate('none').toFixed(0)} appends/s, ${cpu('none').toFixed(1)} CPU µs per append`);
    console.log(`  tree ÷ none: appends/s ${(rate('tree') / rate('none')).toFixed(3)}, CPU per append ${(cpu('tree') / cpu('none')).toFixed(3)} (goal: within 5 %)`);
    await sides.tree.integrator?.integrate();
    const rows = await sides.tree.port.one<{ n: number }>('SELECT count(*) AS n FROM merkle_nodes WHERE level = 0');
    const head = await sides.tree.port.one<{ n: number }>('SELECT count(*) AS n FROM ledger_entries');
    console.log(`  tree covers ${rows?.n} of ${head?.n} entries`);
    for (const side of Object.values(sides)) {
      await side.integrator?.close();
      await side.ledger.close();
      await side.port.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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
  const insert = db.prepare('INSERT INTO merkle_nodes (last_leaf, level, hash) VALUES (?, ?, ?)');
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
      for (const n of nodes) insert.run(lastLeaf(n.level, n.index), n.level, n.hash);
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
  await ledgerAb();
}

await main();
