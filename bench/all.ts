/**
 * `npm run bench`: every benchmark in turn (ledger, policy engine, then `POST /decide` over HTTP), each in
 * its own process, each given the same arguments: `npm run bench -- --quick` makes all of them quick; an
 * option only some of them know (`--duration`, `--n`, `--cpu-prof`…) is ignored by the others. Stops at
 * the first benchmark that crashes; like the benchmarks themselves, exits 0 whether or not their targets
 * are met.
 */
import { spawnSync } from 'node:child_process';

const BENCHMARKS = ['bench/ledger.bench.ts', 'bench/policy.bench.ts', 'bench/decide.bench.ts'];

for (const file of BENCHMARKS) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', file, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) {
    console.error(`${file} failed (${run.signal ?? `exit code ${run.status}`})`);
    process.exit(run.status ?? 1);
  }
  if (file !== BENCHMARKS.at(-1)) console.log('');
}
