import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './paths.js';

/**
 * Lexecon server processes (`src/server.ts`, as `npm start` runs it) for multi-replica tests: each on
 * its own free port, all with the settings given (the same LEXECON_DATABASE_URL and LEXECON_KEYS_DIR
 * make them replicas of one deployment).
 */
export interface Replica {
  readonly name: string;
  readonly baseUrl: string;
  readonly child: ChildProcess;
  /** Everything the process wrote (JSON log lines). */
  output(): string;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), and wait until the process is gone. */
  stop(): Promise<void>;
}

const LISTENING = 'Server listening at http://127.0.0.1:';

/** The port in the first "Server listening at http://127.0.0.1:<port>" of `out`, without a RegExp over the whole output. */
function listeningPort(out: string): number | undefined {
  const at = out.indexOf(LISTENING);
  if (at < 0) return undefined;
  let i = at + LISTENING.length;
  let digits = '';
  while (i < out.length && out.charCodeAt(i) >= 48 && out.charCodeAt(i) <= 57) digits += out[i++];
  return digits === '' || i >= out.length ? undefined : Number(digits);
}

export function startReplica(name: string, env: Record<string, string>, timeoutMs = 60_000): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LEXECON_PORT: '0', LEXECON_HOST: '127.0.0.1', LEXECON_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replica ${name} did not start within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const port = listeningPort(out);
      if (port !== undefined) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        const keep = (c: Buffer) => {
          out += c.toString();
        };
        child.stdout!.on('data', keep);
        child.stderr!.on('data', keep);
        resolve({
          name,
          baseUrl: `http://127.0.0.1:${port}`,
          child,
          output: () => out,
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited (${code ?? signal}) before listening:\n${out.slice(-4000)}`));
    });
  });
}

export interface HttpAnswer {
  status: number;
  body: any;
}

/** One JSON request; a refused connection (a killed replica) is status 0, not a throw. */
export async function call(baseUrl: string, method: string, url: string, token?: string, body?: unknown, timeoutMs = 30_000): Promise<HttpAnswer> {
  try {
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  } catch {
    return { status: 0, body: null };
  }
}
