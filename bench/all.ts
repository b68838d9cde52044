/**
 * `npm run bench`: every benchmark in turn (ledger, then policy engine), each in its own process, each
 * given the same arguments: `npm run bench -- --quick` makes both quick; an option only one of them knows
 * (`--duration`, `--n`…) is ignored by the other. Stops at the first benchmark that crashes; like the
 * benchmarks themselves, exits 0 whether or not their targets are met.
 */
import { spawnSync } from 'node:child_process';

const BENCHMARKS = ['bench/ledger.bench.ts', 'bench/policy.bench.ts'];

for (const file of BENCHMARKS) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', file, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) {
    console.error(`${file} failed (${run.signal ?? `exit code ${run.status}`})`);
    process.exit(run.status ?? 1);
  }
  if (file !== BENCHMARKS.at(-1)) console.log('');
}
