import type { Queryable } from './port.js';
import { listenerFor, type ListenerHandle, type ListenerLogger, type PgListener } from './pg-listener.js';

/**
 * Change notices for the small shared state every decision starts from (the halt state, the active
 * policy version), so that each process's memory of it (LedgerOrderedState) follows changes made by
 * other replicas. A notice names the state, the ledger seq of the entry that changed it and the new
 * value: `halt <seq> 1|0`, `policy <seq> <version hash>|-`. It is a hint: the state is re-checked
 * inside the ledger transaction of every decision, so a lost notice costs a re-decision, never a wrong
 * answer.
 */
export type StateKind = 'halt' | 'policy';

export interface StateNotice {
  kind: StateKind;
  seq: number;
  value: string;
}

export interface StateNotices {
  /** Send a notice in `tx` (the transaction of the change's ledger entry): delivered at COMMIT, never on rollback. */
  send(tx: Queryable, notice: StateNotice): Promise<void>;
  /** Called with every notice received (from any replica, this one included). */
  onNotice(handler: (notice: StateNotice) => void): void;
  /** Called whenever notices may have been missed (the LISTEN connection came back): re-read the state. */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

export const STATE_CHANNEL = 'lexecon_state_changes';

const VALUE = /^(?:[0-9a-f]{64}|-|0|1)$/;

export function formatStateNotice(n: StateNotice): string {
  if ((n.kind !== 'halt' && n.kind !== 'policy') || !Number.isSafeInteger(n.seq) || n.seq < 0 || !VALUE.test(n.value)) {
    throw new TypeError('a state notice is a kind, a ledger seq and a short value');
  }
  return `${n.kind} ${n.seq} ${n.value}`;
}

/** A notice's payload, or undefined for anything else (never thrown on: any session may NOTIFY). */
export function parseStateNotice(payload: string): StateNotice | undefined {
  if (payload.length > 100) return undefined;
  const parts = payload.split(' ');
  if (parts.length !== 3) return undefined;
  const [kind, seqText, value] = parts as [string, string, string];
  if (kind !== 'halt' && kind !== 'policy') return undefined;
  if (!/^[0-9]{1,15}$/.test(seqText) || !VALUE.test(value)) return undefined;
  return { kind, seq: Number(seqText), value };
}

/** One process on the database (SQLite): its own commits update its memory directly; nothing to send. */
export class LocalStateNotices implements StateNotices {
  async send(_tx: Queryable, _notice: StateNotice): Promise<void> {}
  onNotice(_handler: (notice: StateNotice) => void): void {}
  onResync(_handler: () => void): void {}
  async close(): Promise<void> {}
}

/** Sends notices only (the CLI: it changes the state on a database replicas serve, and listens to nothing). */
export class PgStateNoticeSender extends LocalStateNotices {
  override async send(tx: Queryable, notice: StateNotice): Promise<void> {
    await tx.one('SELECT pg_notify(?, ?)', [STATE_CHANNEL, formatStateNotice(notice)]);
  }
}

/**
 * Replicas on one PostgreSQL database: one dedicated LISTEN connection per replica on
 * `lexecon_state_changes`. When it comes back after a loss, the resync handlers run (notices sent
 * meanwhile were not delivered to it).
 */
export class PgStateNotices extends PgStateNoticeSender {
  private readonly listening: ListenerHandle;
  private readonly noticeHandlers: Array<(n: StateNotice) => void> = [];
  private readonly resyncHandlers: Array<() => void> = [];

  private constructor(url: string, logger: ListenerLogger, shared: PgListener | undefined) {
    super();
    this.listening = listenerFor(
      {
        channel: STATE_CHANNEL,
        onNotification: (payload) => {
          const notice = parseStateNotice(payload);
          if (notice !== undefined) for (const h of this.noticeHandlers) h(notice);
        },
        onListening: (connects) => {
          if (connects > 1) for (const h of this.resyncHandlers) h();
        },
      },
      { url, logger, applicationName: 'lexecon-state-changes' },
      shared,
    );
  }

  /**
   * Start listening and wait until the LISTEN is in place; on `shared` (the replica's one LISTEN
   * connection), subscribe only: its owner starts it.
   */
  static async open(url: string, logger: ListenerLogger, readyTimeoutMs = 10_000, shared?: PgListener): Promise<PgStateNotices> {
    const notices = new PgStateNotices(url, logger, shared);
    await notices.listening.start(readyTimeoutMs);
    return notices;
  }

  get listenConnection(): Pick<PgListener, 'listening' | 'backendPid' | 'connects'> {
    return this.listening.listener;
  }

  override onNotice(handler: (n: StateNotice) => void): void {
    this.noticeHandlers.push(handler);
  }

  override onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  override async close(): Promise<void> {
    await this.listening.close();
  }
}
