import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/connection.js';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';


interface Running {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Start `src/server.ts` as the real process does, on a free port; resolves once it listens. */
function startServer(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LEXECON_PORT: '0', ...env },
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, baseUrl: m[1]!, output: () => out, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

describe('the server process', () => {
  let running: Running | undefined;
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
  });

  it('serves /health, /docs and /ledger/verify, and shuts down gracefully on SIGTERM', async () => {
    const dir = tempDir();
    running = await startServer({ LEXECON_DATA_DIR: dir, LEXECON_LOG_LEVEL: 'info' });
    const { baseUrl } = running;

    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', version: '0.1.0' });
    expect((await fetch(`${baseUrl}/docs/`)).status).toBe(200);
    const verify = await fetch(`${baseUrl}/ledger/verify`);
    expect(await verify.json()).toMatchObject({ valid: true, entries_checked: 2 });

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('shutting down');

    const db = openDatabase(path.join(dir, 'lexecon.db'), { readonly: true });
    expect(db.prepare('SELECT event_type FROM ledger_entries ORDER BY seq').pluck().all()).toEqual([
      'genesis',
      'system_startup',
    ]);
    db.close();
  });

  it('refuses to start with invalid configuration, listing every problem', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        LEXECON_PORT: '99999',
        LEXECON_DURABILITY: 'eventually',
        LEXECON_LOG_LEVEL: 'loud',
      },
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('LEXECON_PORT');
    expect(err).toContain('LEXECON_DURABILITY');
    expect(err).toContain('LEXECON_LOG_LEVEL');
  });
});
