import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { KeyAlg, KeyManager } from '../../platform/crypto/keys.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { buildEvidenceBag, EXPORT_KINDS, type BagSigner, type ExportKind } from './bagit.js';
import { ExportFiles } from './evidence.files.js';
import type { EvidenceExportRecord, EvidenceRepo } from './evidence.repo.js';
import { packBag } from './evidence.tar.js';

export interface EvidenceServiceDeps {
  repo: EvidenceRepo;
  keys: KeyManager;
  ledger: EventSink;
  clock: Clock;
  ids: IdFactory;
  /** Where packages are stored (`<data dir>/exports`, created 0700). */
  exportsDir: string;
  softwareVersion: string;
  /** Exports built at once in this process (default {@link MAX_CONCURRENT_EXPORTS}); more are refused with 429. */
  maxConcurrent?: number;
}

export interface ExportRequest {
  from: string;
  to: string;
  include?: readonly ExportKind[] | undefined;
}

/** Who asked: a session user, or the local CLI (`{id: 'cli', role: null}`). */
export interface ExportActor {
  id: string;
  role: string | null;
}

/** Longest period one export may cover (the package is built in memory). */
export const MAX_EXPORT_DAYS = 366;

/** Exports one process builds at once: each holds a whole period in memory and signs with RSA-4096. */
export const MAX_CONCURRENT_EXPORTS = 2;
/** Retry-After of a refused export, in seconds. */
const EXPORT_RETRY_AFTER_S = 5;

/**
 * Signed evidence exports: a BagIt package of one period, written under the exports directory, its
 * metadata stored and ledgered (`export_created`) in one transaction.
 */
export class EvidenceService {
  private building = 0;
  private readonly maxConcurrent: number;
  private readonly files: ExportFiles;

  constructor(private readonly deps: EvidenceServiceDeps) {
    this.maxConcurrent = deps.maxConcurrent ?? MAX_CONCURRENT_EXPORTS;
    this.files = new ExportFiles(deps.exportsDir);
  }

  /**
   * Build, store and ledger an export. At most `maxConcurrent` are built at once in this process; one
   * more is refused with 429 `EXPORTS_BUSY` and a Retry-After (the slot is released however the build
   * ends, failures included).
   */
  async create(req: ExportRequest, actor: ExportActor): Promise<EvidenceExportRecord> {
    if (this.building >= this.maxConcurrent) {
      throw new AppError(
        429,
        'EXPORTS_BUSY',
        `${this.maxConcurrent} evidence exports are being built; retry in ${EXPORT_RETRY_AFTER_S} s`,
        undefined,
        { 'retry-after': String(EXPORT_RETRY_AFTER_S) },
      );
    }
    this.building++;
    try {
      return await this.build(req, actor);
    } finally {
      this.building--;
    }
  }

  private async build(req: ExportRequest, actor: ExportActor): Promise<EvidenceExportRecord> {
    const from = new Date(req.from);
    const to = new Date(req.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw errors.validation('from and to must be RFC 3339 timestamps');
    if (to <= from) throw errors.validation('to must be after from');
    if (to.getTime() - from.getTime() > MAX_EXPORT_DAYS * 86_400_000) {
      throw errors.validation(`an export covers at most ${MAX_EXPORT_DAYS} days; split the period`);
    }
    const period = { from: from.toISOString(), to: to.toISOString() };
    const include = EXPORT_KINDS.filter((k) => (req.include ?? EXPORT_KINDS).includes(k));
    if (include.length === 0) throw errors.validation('include must name at least one kind');
    const { repo, keys, clock, ids } = this.deps;

    const exportId = ids.next('evd');
    const createdAt = isoTimestamp(clock);
    const snapshot = await repo.snapshot(period.from, period.to, include);
    const publicKeys = keys.publicKeys();
    const signers: BagSigner[] = (['Ed25519', 'RSA-PSS-SHA256'] as const satisfies readonly KeyAlg[]).map((alg) => {
      const s = keys.signer(alg);
      return { kid: s.kid, alg, publicKeyPem: publicKeys.find((k) => k.kid === s.kid)!.public_key_pem, sign: (d) => s.sign(d) };
    });
    const bag = buildEvidenceBag(
      {
        exportId,
        createdAt,
        generatedBy: actor,
        softwareVersion: this.deps.softwareVersion,
        period,
        include,
        request: { from: req.from, to: req.to, ...(req.include ? { include: [...req.include] } : {}) },
        ledger: { entries: snapshot.entries, head: snapshot.head },
        records: snapshot.records,
        publicKeys,
      },
      signers,
    );
    const tar = await packBag(bag.files, exportId, new Date(createdAt));
    const sha256 = sha256Hex(tar);
    const fileName = `${exportId}.tar`;
    this.files.write(fileName, tar);

    const h = snapshot.head;
    const record: Omit<EvidenceExportRecord, 'ledgerSeq' | 'ledgerEntryHash'> = {
      exportId,
      from: period.from,
      to: period.to,
      include,
      counts: bag.counts,
      fileName,
      sha256,
      tagmanifestSha256: bag.tagManifestSha256,
      size: tar.length,
      firstSeq: h.first_seq,
      lastSeq: h.last_seq,
      headBeforeSeq: h.head_before.seq,
      headBeforeHash: h.head_before.entry_hash,
      headAfterSeq: h.head_after.seq,
      headAfterHash: h.head_after.entry_hash,
      createdBy: actor.id,
      createdRole: actor.role,
      createdAt,
    };
    let stored: EvidenceExportRecord | undefined;
    try {
      await this.deps.ledger.append(
        'export_created',
        {
          export_id: exportId,
          from: period.from,
          to: period.to,
          include,
          counts: bag.counts,
          first_seq: h.first_seq,
          last_seq: h.last_seq,
          head_after_hash: h.head_after.entry_hash,
          tar_sha256: sha256,
          tagmanifest_sha256: bag.tagManifestSha256,
          signed_by: signers.map((s) => s.kid),
          generated_by: actor.id,
          generated_role: actor.role,
        },
        {
          withEntries: async ([entry], tx) => {
            stored = { ...record, ledgerSeq: entry!.seq, ledgerEntryHash: entry!.entryHash };
            await repo.insert(tx!, stored);
          },
        },
      );
    } catch (err) {
      // Not ledgered, so not an export: its package goes too.
      this.files.remove(fileName);
      throw err;
    }
    return stored!;
  }

  async get(exportId: string): Promise<EvidenceExportRecord> {
    const r = await this.deps.repo.get(exportId);
    if (!r) throw errors.notFound('Evidence export', exportId);
    return r;
  }

  list(opts: { beforeId?: string | undefined; limit: number }): Promise<EvidenceExportRecord[]> {
    return this.deps.repo.list(opts);
  }

  /** The stored package; 404 when its metadata is unknown, 503 when the file is gone or changed. */
  async read(exportId: string): Promise<{ record: EvidenceExportRecord; tar: Buffer }> {
    const record = await this.get(exportId);
    let tar: Buffer;
    try {
      tar = this.files.read(record.fileName);
    } catch {
      throw errors.unavailable('EXPORT_FILE_MISSING', `The package of export ${exportId} is missing from the exports directory`);
    }
    if (sha256Hex(tar) !== record.sha256) {
      throw errors.unavailable('EXPORT_FILE_CHANGED', `The stored package of export ${exportId} no longer matches its recorded SHA-256`);
    }
    return { record, tar };
  }
}
