/**
 * `npm run bench:decide -- --against <ref>`: the baseline commit's application in a temporary git
 * worktree (under the OS temp dir), removed when the run ends however it ends (the exit handler runs the
 * registered clean-ups, also after Ctrl-C or SIGTERM). Its node_modules: a symlink to this tree's when
 * the ref's package-lock.json is byte-identical to this tree's, else `npm ci` in the worktree.
 * The server child that runs it is this tree's decide-server.ts with `--app-root` (the instrument stays
 * the same; only the measured application changes).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanups } from './decide-child.js';
import { BenchError } from './decide-options.js';

export interface Baseline {
  /** The ref as given, its commit, and `<short sha> <subject>`. */
  ref: string;
  sha: string;
  title: string;
  /** The worktree's root: what the baseline child imports the app from (`--app-root`). */
  root: string;
  nodeModules: 'symlink to this tree' | 'npm ci';
}

function git(repoRoot: string, args: string[]): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The commit `ref` names, or an error saying it names none. */
export function resolveRef(repoRoot: string, ref: string): string {
  if (ref === '' || ref.startsWith('-')) throw new BenchError(`--against needs a git ref (a branch, a tag, a commit), got '${ref}'`);
  try {
    return git(repoRoot, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new BenchError(`--against: '${ref}' does not name a commit in ${repoRoot} (git rev-parse --verify '${ref}^{commit}' failed)`);
  }
}

/** `<short sha> <subject>` of HEAD in this tree, and whether the working tree differs from it (tracked files). */
export function describeCurrent(repoRoot: string): string {
  const head = shorten(git(repoRoot, ['log', '-1', '--format=%h %s', 'HEAD']));
  const dirty = git(repoRoot, ['status', '--porcelain', '--untracked-files=no']) !== '';
  return `${head}${dirty ? ' (+ uncommitted changes)' : ''}`;
}

/** A commit's one-line title, cut to `max` characters. */
export function shorten(title: string, max = 72): string {
  return title.length <= max ? title : `${title.slice(0, max - 1)}…`;
}

function sameBytes(a: string, b: string): boolean {
  try {
    return fs.readFileSync(a).equals(fs.readFileSync(b));
  } catch {
    return false;
  }
}

/** Run `npm ci` in `dir`, its output shown; rejects when it fails. `track` gets the process (to kill on exit). */
function npmCi(dir: string, track: (p: ChildProcess | undefined) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, npm_config_nodedir: '/usr' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    track(p);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      track(undefined);
      if (code === 0) resolve();
      else reject(new BenchError(`npm ci in the baseline worktree failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** Check out `ref` in a temporary worktree with its node_modules; registered for removal at exit. */
export async function prepareBaseline(repoRoot: string, ref: string, log: (line: string) => void): Promise<Baseline> {
  const sha = resolveRef(repoRoot, ref);
  const title = shorten(git(repoRoot, ['log', '-1', '--format=%h %s', sha]));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-bench-base-'));
  const root = path.join(tmp, 'tree');
  let npm: ChildProcess | undefined;
  cleanups.push(() => {
    npm?.kill();
    // The symlink first: nothing may follow it into this tree's node_modules.
    const nm = path.join(root, 'node_modules');
    if (fs.lstatSync(nm, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(nm);
    try {
      git(repoRoot, ['worktree', 'remove', '--force', root]);
    } catch {
      // not registered (the add failed) or already gone: the prune below forgets a stale entry
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    git(repoRoot, ['worktree', 'prune']);
  });
  const t0 = Date.now();
  git(repoRoot, ['worktree', 'add', '--detach', root, sha]);
  log(`  baseline ${ref} = ${title}: checked out in ${root} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  let nodeModules: Baseline['nodeModules'];
  if (sameBytes(path.join(repoRoot, 'package-lock.json'), path.join(root, 'package-lock.json'))) {
    fs.symlinkSync(fs.realpathSync(path.join(repoRoot, 'node_modules')), path.join(root, 'node_modules'), 'dir');
    nodeModules = 'symlink to this tree';
    log('  baseline node_modules: package-lock.json identical to this tree\'s, node_modules symlinked');
  } else {
    log('  baseline node_modules: package-lock.json differs from this tree\'s: npm ci in the worktree (npm_config_nodedir=/usr)…');
    const t1 = Date.now();
    await npmCi(root, (p) => (npm = p));
    nodeModules = 'npm ci';
    log(`  baseline node_modules: npm ci done in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  }
  return { ref, sha, title, root, nodeModules };
}
