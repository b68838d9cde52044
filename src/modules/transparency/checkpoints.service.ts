/**
 * Signed checkpoints (issue 19 §1): the integrated Merkle tree's size and root in the C2SP
 * `tlog-checkpoint` format, signed with the server's active Ed25519 key as a C2SP signed note under the
 * log's origin (`LEXECON_LOG_ORIGIN`, default `lexecon/<kid of the Ed25519 key at start>`).
 *
 * * Cut every `LEXECON_CHECKPOINT_INTERVAL_S` when the integrated tree grew (by more than the previous
 *   checkpoint's own `checkpoint_cut` entry: an idle log is not signed again and again), one replica at
 *   a time (the exclusive run `checkpoint-cut`), and on demand (`POST /ledger/checkpoints`).
 * * Each checkpoint is recorded in the ledger itself (`checkpoint_cut`: tree size, root, origin, kid and
 *   the SHA-256 of the signed note) and stored (table `checkpoints`) in that entry's transaction: both or
 *   neither. Two replicas cutting the same size: the second's insert finds the row, its append is
 *   rolled back alone, and it answers the stored checkpoint.
 * * The root is read from the stored tree (O(log n) nodes) and the note is verified with the public key
 *   before it is stored.
 */
import type { KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { errors } from '../../platform/errors.js';
import type { Clock } from '../../platform/clock.js';
import { isoTimestamp } from '../../platform/clock.js';
import type { Exclusive } from '../../platform/exclusive.js';
import type { Queryable } from '../../platform/db/port.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { openCheckpoint, signCheckpoint } from './checkpoint.js';
import { assemble, rootPlan, planNodes } from './merkle.js';
import { formatVerifierKey, parseVerifierKey, type NoteSigner, type NoteVerifier } from './note.js';
import { CheckpointRepo, type StoredCheckpoint } from './checkpoints.repo.js';
import { readNodes, readTreeSize } from './transparency.repo.js';

/** The Ed25519 key a checkpoint is signed with (the KeyManager's active key, bound at start). */
export interface CheckpointKey {
  kid: string;
  publicKey: KeyObject;
  sign(data: Buffer): Buffer;
}

export interface CheckpointServiceDeps {
  q: Queryable;
  events: EventSink;
  clock: Clock;
  logger: FastifyBaseLogger;
  origin: string;
  /** The active Ed25519 key, read at each cut (a rotation signs the next checkpoint with the new key). */
  key: () => CheckpointKey;
  /** The public key of `kid` (also retired keys), for the verifier key of an older checkpoint. */
  publicKeyOf: (kid: string) => KeyObject | undefined;
  /** Seconds between two timed cuts; 0: no timer. */
  intervalS: number;
  exclusive?: Exclusive | undefined;
}

/** Thrown inside the ledger hook when another replica stored this size first: rolls the append back. */
class AlreadyCut extends Error {}

/** The default origin: `lexecon/<kid>` (a valid note key name). */
export function defaultOrigin(kid: string): string {
  return `lexecon/${kid}`;
}

export class CheckpointService {
  private readonly repo: CheckpointRepo;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly deps: CheckpointServiceDeps) {
    this.repo = new CheckpointRepo(deps.q);
  }

  get origin(): string {
    return this.deps.origin;
  }

  /** The C2SP verifier key (`<name>+<hex id>+<base64 0x01||key>`) of the key that signed `c`. */
  verifierKeyOf(c: StoredCheckpoint): string {
    const publicKey = this.deps.publicKeyOf(c.kid);
    if (!publicKey) throw new Error(`the public key ${c.kid} of checkpoint ${c.treeSize} is missing from the keys directory`);
    return formatVerifierKey(c.origin, publicKey);
  }

  start(): void {
    if (this.deps.intervalS <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.timed()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'checkpoint cut failed; trying again at the next interval'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.deps.intervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async timed(): Promise<void> {
    const run = () => this.cut('timer', { onlyIfGrown: true });
    if (this.deps.exclusive) await this.deps.exclusive('checkpoint-cut', run);
    else await run();
  }

  latest(): Promise<StoredCheckpoint | undefined> {
    return this.repo.latest();
  }

  list(limit: number, beforeSize?: number): Promise<StoredCheckpoint[]> {
    return this.repo.list(limit, beforeSize);
  }

  /**
   * Cut a checkpoint of the integrated tree. `onlyIfGrown` (the timer): nothing when the tree did not
   * grow beyond the last checkpoint and its own entry. On demand: the latest checkpoint when it already
   * covers the integrated tree. Returns the checkpoint and whether this call made it.
   */
  async cut(trigger: 'timer' | 'api', options: { onlyIfGrown?: boolean } = {}): Promise<{ checkpoint: StoredCheckpoint; created: boolean } | undefined> {
    const size = await readTreeSize(this.deps.q);
    const last = await this.repo.latest();
    if (size === 0) {
      if (options.onlyIfGrown) return undefined;
      throw errors.conflict('the Merkle tree has no integrated entry yet; try again in a moment');
    }
    if (last && size <= last.treeSize) return { checkpoint: last, created: false };
    // Only the last checkpoint's own entry is new: an idle log is not signed again by the timer.
    if (options.onlyIfGrown && last && size === last.treeSize + 1 && last.ledgerSeq === last.treeSize) return undefined;
    const root = assemble(rootPlan(size), await readNodes(this.deps.q, planNodes(rootPlan(size))))[0]!;
    const key = this.deps.key();
    const origin = this.deps.origin;
    const vkey = parseVerifierKey(formatVerifierKey(origin, key.publicKey));
    const signer: NoteSigner = { name: origin, keyId: vkey.keyId, sign: (text) => key.sign(Buffer.from(text)) };
    const note = signCheckpoint({ origin, size, rootHash: root, extensions: [] }, signer);
    // The signature is checked with the public key before anything is stored.
    const verifier: NoteVerifier = vkey;
    openCheckpoint(note, origin, [verifier]);
    const record: StoredCheckpoint = {
      treeSize: size,
      rootHash: root,
      origin,
      kid: key.kid,
      note,
      noteSha256: sha256Hex(note),
      trigger,
      createdAt: isoTimestamp(this.deps.clock),
      ledgerSeq: -1,
    };
    try {
      await this.deps.events.append(
        'checkpoint_cut',
        { tree_size: size, root_hash: root.toString('base64'), origin, kid: key.kid, note_sha256: record.noteSha256, trigger },
        {
          withEntries: async ([entry], tx) => {
            record.ledgerSeq = entry!.seq;
            if (!(await this.repo.insert(tx!, record))) throw new AlreadyCut();
          },
        },
      );
    } catch (err) {
      if (!(err instanceof AlreadyCut)) throw err;
      const existing = await this.repo.bySize(size);
      if (!existing) throw err;
      return { checkpoint: existing, created: false };
    }
    this.deps.logger.info({ tree_size: size, ledger_seq: record.ledgerSeq }, 'checkpoint cut');
    return { checkpoint: record, created: true };
  }
}
