import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/modules/auth/credentials.js';
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

  it('serves /health, /docs and, to a bootstrap admin who enrolled in MFA, /ledger/verify; shuts down on SIGTERM', async () => {
    const dir = tempDir();
    const password = 'violet-harbour-42-trombone';
    running = await startServer({
      LEXECON_DATA_DIR: dir,
      LEXECON_LOG_LEVEL: 'info',
      LEXECON_BOOTSTRAP_ADMIN: `root:${password}`,
    });
    const { baseUrl } = running;

    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', version: '0.1.0' });
    expect((await fetch(`${baseUrl}/docs/`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/ledger/verify`)).status).toBe(401);

    const post = (url: string, body: unknown, token?: string) =>
      fetch(`${baseUrl}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const login = (await (await post('/auth/login', { username: 'root', password })).json()) as { token: string; user: unknown };
    expect(login.user).toMatchObject({ role: 'admin', mfa_enabled: false, mfa_enrollment_required: true });
    const auth = { authorization: `Bearer ${login.token}` };
    expect((await fetch(`${baseUrl}/ledger/verify`, { headers: auth })).status).toBe(403);
    const { secret } = (await (await post('/auth/mfa/enroll', {}, login.token)).json()) as { secret: string };
    const confirmed = await post('/auth/mfa/confirm', { code: totpCode(secret, Date.now()) }, login.token);
    expect(confirmed.status).toBe(200);
    const verify = await fetch(`${baseUrl}/ledger/verify`, { headers: auth });
    expect(await verify.json()).toMatchObject({ valid: true, entries_checked: 5 });

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    const output = running.output();
    expect(output).toContain('shutting down');
    expect(output).toContain('bootstrap admin created');
    expect(output).not.toContain(password);
    expect(output).not.toContain(login.token);
    expect(output).not.toContain(secret);

    const db = openDatabase(path.join(dir, 'lexecon.db'), { readonly: true });
    expect(db.prepare('SELECT event_type FROM ledger_entries ORDER BY seq').pluck().all()).toEqual([
      'genesis',
      'system_startup',
      'user_created',
      'auth_login_succeeded',
      'auth_mfa_enrolled',
    ]);
    const stored = db.prepare("SELECT group_concat(data, '') FROM ledger_entries").pluck().get() as string;
    expect(stored).not.toContain(password);
    expect(stored).not.toContain(secret);
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
