import { spawn, spawnSync } from 'node:child_process';
import { REPO_ROOT } from './paths.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ENV = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });
const ARGS = (args: string[]) => ['--import', 'tsx', 'src/cli.ts', ...args];

/** `lexecon <args>` as a child process, with only PATH and HOME from this environment (plus `env`). */
export function lexecon(args: string[], env: Record<string, string> = {}, input = ''): CliRun {
  const res = spawnSync(process.execPath, ARGS(args), {
    cwd: REPO_ROOT,
    env: { ...ENV(), ...env },
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The same without blocking the event loop (needed when a server runs in the test's own process, or to run several at once). */
export function lexeconAsync(args: string[], input = '', env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ARGS(args), { cwd: REPO_ROOT, env: { ...ENV(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
