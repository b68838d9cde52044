import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, tempDir } from '../helpers/build-test-app.js';
import { lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** `src/server.ts` as `npm start` runs it, on a free port; resolves with its output once it listens. */
function start(env: Record<string, string>): Promise<{ child: ChildProcessWithoutNullStreams; baseUrl: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LEXECON_PORT: '0', LEXECON_LOG_LEVEL: 'info', ...env },
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      // The hint follows the listening line: wait for the line after it (or a moment) before resolving.
      if (m && (out.includes('no users yet') || out.includes('bootstrap admin created'))) {
        clearTimeout(timer);
        resolve({ child, baseUrl: m[1]!, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

describe('npm start on a new installation', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('without users logs how to create the first admin, and the command it shows works next to the server', async () => {
    const dir = tempDir();
    const server = await start({ LEXECON_DATA_DIR: dir });
    children.push(server.child);
    const db = path.resolve(dir, 'lexecon.db');
    const line = server.output().split('\n').find((l) => l.includes('no users yet'));
    expect(line).toBeDefined();
    const msg = JSON.parse(line!) as { level: number; msg: string };
    expect(msg.level).toBe(40); // warn
    expect(msg.msg).toContain("LEXECON_BOOTSTRAP_ADMIN='admin:<a passphrase of 12+ characters>'");
    const command = /npx lexecon (create-user --db \S+ --username admin --role admin)/.exec(msg.msg)?.[1];
    expect(command).toBe(`create-user --db ${db} --username admin --role admin`);

    const created = await lexeconAsync(command!.split(' '), `${GOOD_PASSWORD}\n`);
    expect(created.code, created.stderr).toBe(0);
    const login = await fetch(`${server.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: GOOD_PASSWORD }),
    });
    expect(login.status).toBe(200);
  });

  it('with users (here the bootstrap admin) logs no such hint', async () => {
    const server = await start({ LEXECON_DATA_DIR: tempDir(), LEXECON_BOOTSTRAP_ADMIN: `root:${GOOD_PASSWORD}` });
    children.push(server.child);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.output()).toContain('bootstrap admin created');
    expect(server.output()).not.toContain('no users yet');
  });
});
