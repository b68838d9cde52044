/** The options of `npm run bench:decide` (decide.bench.ts and decide-pg.ts), read once from process.argv. */
import os from 'node:os';
import { argValue, positiveNumber } from './options.js';

const quick = process.argv.includes('--quick') || ['1', 'true', 'yes'].includes(process.env.LEXECON_BENCH_QUICK ?? '');
const cpuProfDir = argValue('cpu-prof-dir');

export const opts = {
  quick,
  connections: Math.floor(positiveNumber('connections', argValue('connections'), 32)),
  durationS: positiveNumber('duration', argValue('duration'), quick ? 3 : 10),
  /** Measured time of the 1-connection phase (the latency floor), per server. */
  floorDurationS: positiveNumber('floor-duration', argValue('floor-duration'), quick ? 1.5 : 5),
  warmupS: positiveNumber('warmup', argValue('warmup'), quick ? 1 : 2),
  /** Even by default: the generalised ABBA order (see roundOrder) is balanced over pairs of rounds. */
  rounds: Math.floor(positiveNumber('rounds', argValue('rounds'), 4)),
  cpuProf: process.argv.includes('--cpu-prof') || cpuProfDir !== undefined,
  cpuProfDir,
  rsa4096: process.argv.includes('--rsa4096'),
  baseDir: argValue('dir') ?? process.env.LEXECON_BENCH_DIR ?? os.tmpdir(),
  /** A git ref to measure against (its application code, in a temporary worktree). */
  against: argValue('against'),
  failOnRegression: process.argv.includes('--fail-on-regression'),
};

/** Discarded load at the start of every measured stretch, on the connections then measured (see `segment`). */
export const REWARM_S = 0.5;
/** The same at 1 connection: no burst of connections to absorb, only the idle heap and caches. */
export const REWARM_FLOOR_S = 0.25;

/** A failure the user can act on (a bad ref, an app the bench cannot run): printed without a stack. */
export class BenchError extends Error {}
