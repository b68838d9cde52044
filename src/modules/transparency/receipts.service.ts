/**
 * Decision receipts (issue 19 §1): a decision's ledger entry, its inclusion proof in the latest signed
 * checkpoint and the key that signed it, as one self-contained bundle (`receipt.ts` verifies it
 * offline). The proof is for the checkpoint's tree size, read from the stored tree (O(log n)) and
 * checked by the TransparencyService before it is given.
 */
import { AppError, errors } from '../../platform/errors.js';
import { entryIdForSeq } from '../ledger/ledger.chain.js';
import { toEntryDto } from '../ledger/ledger.schemas.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { CheckpointService } from './checkpoints.service.js';
import { RECEIPT_FORMAT, type ReceiptDto } from './receipt.js';
import type { TransparencyService } from './transparency.service.js';

export interface ReceiptServiceDeps {
  ledger: Pick<LedgerService, 'getEntry'>;
  transparency: TransparencyService;
  checkpoints: CheckpointService;
  /** The PEM of a public key by kid (retired keys too), as `GET /api/governance/keys` publishes it. */
  publicKeyPem: (kid: string) => string | undefined;
  /** Seconds between timed checkpoints (0: none; only `POST /ledger/checkpoints` cuts one). */
  checkpointIntervalS: number;
}

export class ReceiptService {
  constructor(private readonly deps: ReceiptServiceDeps) {}

  /** The receipt of the decision `decisionId` recorded at ledger entry `seq`; 409 `RECEIPT_NOT_READY` before a checkpoint covers it. */
  async receipt(decisionId: string, seq: number): Promise<ReceiptDto> {
    const checkpoint = await this.deps.checkpoints.latest();
    if (!checkpoint || checkpoint.treeSize <= seq) throw await this.notReady(seq, checkpoint?.treeSize ?? 0);
    const entry = await this.deps.ledger.getEntry(entryIdForSeq(seq));
    if (!entry) throw new Error(`the ledger entry ${entryIdForSeq(seq)} of decision ${decisionId} is missing`);
    const proof = await this.deps.transparency.inclusion(seq, checkpoint.treeSize);
    if (!proof.rootHash.equals(checkpoint.rootHash)) {
      throw new Error(`the stored Merkle tree's root at size ${checkpoint.treeSize} is not the one checkpoint ${checkpoint.treeSize} signed`);
    }
    const pem = this.deps.publicKeyPem(checkpoint.kid);
    if (pem === undefined) throw new Error(`the public key ${checkpoint.kid} of checkpoint ${checkpoint.treeSize} is missing from the keys directory`);
    return {
      format: RECEIPT_FORMAT,
      decision_id: decisionId,
      entry: toEntryDto(entry),
      leaf_index: seq,
      tree_size: checkpoint.treeSize,
      inclusion_proof: proof.hashes.map((h) => h.toString('base64')),
      checkpoint: checkpoint.note,
      public_key: { kid: checkpoint.kid, alg: 'Ed25519', public_key_pem: pem },
      verifier_key: this.deps.checkpoints.verifierKeyOf(checkpoint),
    };
  }

  private async notReady(seq: number, checkpointSize: number): Promise<AppError> {
    const integrated = await this.deps.transparency.treeSize();
    const interval = this.deps.checkpointIntervalS;
    const next =
      interval > 0
        ? `the next checkpoint is cut within ${interval} s (LEXECON_CHECKPOINT_INTERVAL_S) once the entry is integrated, or on demand with POST /ledger/checkpoints`
        : 'timed checkpoints are off (LEXECON_CHECKPOINT_INTERVAL_S=0): cut one with POST /ledger/checkpoints';
    return errors.notYet(
      'RECEIPT_NOT_READY',
      `the decision's ledger entry (seq ${seq}) is not in a signed checkpoint yet: the latest checkpoint covers ${checkpointSize} entries, the integrated Merkle tree ${integrated}; ${next}`,
      { seq, checkpoint_tree_size: checkpointSize, integrated_tree_size: integrated, checkpoint_interval_s: interval },
      interval > 0 ? interval : undefined,
    );
  }
}
