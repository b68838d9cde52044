/**
 * The protocol between `npm run bench:decide` (the parent, which generates the load) and its server
 * children (bench/decide-server.ts, one process per server), and the parent's handle on a child.
 * The children are the measuring instrument: with `--against <ref>` the baseline child is still the
 * current tree's decide-server.ts, importing the application from the ref's worktree (`--app-root`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECIDE_BODY } from './decide-load.js';
import { BenchError } from './decide-options.js';

export const SERVER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'decide-server.ts');

export type ServerKind = 'lexecon' | 'bare';

/** CPU and event-loop snapshot of a server child, taken when the parent asks (start/end of the window). */
export interface Snapshot {
  /** process.hrtime in µs (CLOCK_MONOTONIC, the clock of the .cpuprofile timestamps). */
  hrUs: number;
  cpuUs: number;
  elu: { idle: number; active: number; utilization: number };
  /** Event-loop delay since the previous snapshot (ms): how long a ready callback waited at worst. */
  loopDelay: { maxMs: number };
}

export interface LexeconStats {
  ledgerValid: boolean;
  ledgerEntries: number;
  firstInvalid?: unknown;
  decisions: number;
  tokens: number;
}

export type ToChild = { type: 'snapshot'; id: number } | { type: 'stop' } | { type: 'respond-with'; body: unknown };
export type FromChild =
  | { type: 'ready'; port: number; token?: string; info?: string }
  | { type: 'configured' }
  | { type: 'snapshot'; id: number; snapshot: Snapshot }
  | { type: 'stopped'; stats?: LexeconStats }
  /** The child cannot serve (e.g. the baseline commit's app lacks what the bench calls); it exits next. */
  | { type: 'failed'; message: string };

/** The parent's handle on a server child. */
export class ServerChild {
  private readonly waiters = new Map<string, (m: FromChild) => void>();
  private nextId = 0;
  private exitError: Error | undefined;
  private failure: string | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly kind: ServerKind,
    readonly label: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (raw) => {
      const m = raw as FromChild;
      if (m.type === 'failed') {
        this.failure = m.message;
        return;
      }
      const key = m.type === 'snapshot' ? `snapshot:${m.id}` : m.type;
      const waiter = this.waiters.get(key);
      if (waiter) {
        this.waiters.delete(key);
        waiter(m);
      }
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitError =
          this.failure !== undefined
            ? new BenchError(`the ${label} server failed: ${this.failure}`)
            : new Error(`the ${label} server exited (${signal ?? `exit code ${code}`})`);
        for (const [key, waiter] of this.waiters) {
          this.waiters.delete(key);
          waiter({ type: 'stopped' });
        }
        resolve();
      });
    });
  }

  /** Fork decide-server.ts as a `kind` server; `label` names it in messages (bare, base, current…). */
  static async start(
    kind: ServerKind,
    execArgv: string[],
    args: string[],
    label: string = kind,
  ): Promise<{ child: ServerChild; ready: Extract<FromChild, { type: 'ready' }> }> {
    const proc = fork(SERVER_ENTRY, [`--serve=${kind}`, ...args], {
      execArgv: [...execArgv, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new ServerChild(kind, label, proc);
    children.push(child);
    const ready = await child.expect('ready');
    if (ready.type !== 'ready') throw child.exitError ?? new Error(`the ${label} server did not start`);
    return { child, ready };
  }

  private expect(key: string): Promise<FromChild> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve) => this.waiters.set(key, resolve));
  }

  tell(message: ToChild): void {
    this.proc.send(message);
  }

  /** The bare server: the response it answers every request with. */
  async respondWith(body: unknown): Promise<void> {
    const reply = this.expect('configured');
    this.tell({ type: 'respond-with', body });
    if ((await reply).type !== 'configured') throw this.exitError ?? new Error(`the ${this.label} server did not answer`);
  }

  async snapshot(): Promise<Snapshot> {
    const id = this.nextId++;
    const reply = this.expect(`snapshot:${id}`);
    this.tell({ type: 'snapshot', id });
    const m = await reply;
    if (m.type !== 'snapshot') throw this.exitError ?? new Error(`the ${this.label} server did not answer`);
    return m.snapshot;
  }

  /** Ask the child to close and report; resolves once it has exited. */
  async stop(): Promise<LexeconStats | undefined> {
    if (this.exitError) throw this.exitError;
    const reply = this.expect('stopped');
    this.tell({ type: 'stop' });
    const m = await reply;
    await this.exited;
    if (this.failure !== undefined) throw this.exitError!;
    return m.type === 'stopped' ? m.stats : undefined;
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill();
  }
}

/** Every child started, and every temporary directory made: `cleanup` ends and removes them. */
export const children: ServerChild[] = [];
export const tempDirs: string[] = [];
/** More synchronous clean-ups (the baseline worktree), run after the children are gone. */
export const cleanups: Array<() => void> = [];

export function cleanup(): void {
  for (const c of children.splice(0)) c.kill();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
}

/** The check request: `200 approved` with a capability token (its answer's text), or the run stops. */
export async function checkDecide(port: number, token: string, label = 'lexecon'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: DECIDE_BODY,
  });
  const text = await res.text();
  const body = (() => {
    try {
      return JSON.parse(text) as { outcome?: unknown; capability_token?: unknown };
    } catch {
      return undefined;
    }
  })();
  if (res.status !== 200 || body?.outcome !== 'approved' || typeof body.capability_token !== 'string') {
    throw new Error(`the ${label} server's check request was not answered 200 approved with a capability token: ${res.status} ${text}`);
  }
  return text;
}
