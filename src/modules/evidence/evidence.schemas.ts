import { z } from 'zod';
import { idPattern } from '../../platform/ids.js';
import { EXPORT_KINDS } from './bagit.js';
import type { EvidenceExportRecord } from './evidence.repo.js';
import { MAX_EXPORT_DAYS } from './evidence.service.js';

export const CreateExportBodySchema = z
  .strictObject({
    from: z.iso.datetime({ offset: true }).describe('start of the period (inclusive)'),
    to: z.iso.datetime({ offset: true }).describe(`end of the period (exclusive); at most ${MAX_EXPORT_DAYS} days after from`),
    include: z
      .array(z.enum(EXPORT_KINDS))
      .min(1)
      .optional()
      .describe('the record kinds to export (default: all of them)'),
  })
  .meta({ id: 'EvidenceExportRequest' });

export const ExportParamsSchema = z.object({
  export_id: z.string().regex(idPattern('evd'), 'must be an export id (evd_…)'),
});

export const MAX_EXPORT_PAGE = 200;

export const ExportListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_EXPORT_PAGE).default(50),
  cursor: z.string().regex(idPattern('evd'), 'must be the next_cursor of the previous page').optional(),
});

const SegmentHeadSchema = z.object({ seq: z.number().int().nullable(), entry_hash: z.string() });

export const ExportSchema = z
  .object({
    export_id: z.string(),
    from: z.string(),
    to: z.string(),
    include: z.array(z.enum(EXPORT_KINDS)),
    counts: z.record(z.string(), z.number().int()).describe('records per kind in the package'),
    sha256: z.string().describe('SHA-256 of the tar as downloaded'),
    tagmanifest_sha256: z.string().describe('SHA-256 of tagmanifest-sha256.txt, the file the signatures cover'),
    size: z.number().int().describe('bytes of the tar'),
    ledger: z.object({
      first_seq: z.number().int().nullable(),
      last_seq: z.number().int().nullable(),
      head_before: SegmentHeadSchema,
      head_after: SegmentHeadSchema,
    }),
    created_by: z.string().describe('the user id, or `cli` for `lexecon export-evidence`'),
    created_role: z.string().nullable(),
    created_at: z.string(),
    ledger_seq: z.number().int().describe('the export_created entry'),
    ledger_entry_hash: z.string(),
    download_url: z.string(),
  })
  .meta({ id: 'EvidenceExport' });

export const ExportListSchema = z.object({
  items: z.array(ExportSchema),
  next_cursor: z.string().nullable().describe('pass as cursor for the next (older) page; null at the end'),
});

export function toExportDto(r: EvidenceExportRecord): z.infer<typeof ExportSchema> {
  return {
    export_id: r.exportId,
    from: r.from,
    to: r.to,
    include: r.include,
    counts: r.counts,
    sha256: r.sha256,
    tagmanifest_sha256: r.tagmanifestSha256,
    size: r.size,
    ledger: {
      first_seq: r.firstSeq,
      last_seq: r.lastSeq,
      head_before: { seq: r.headBeforeSeq, entry_hash: r.headBeforeHash },
      head_after: { seq: r.headAfterSeq, entry_hash: r.headAfterHash },
    },
    created_by: r.createdBy,
    created_role: r.createdRole,
    created_at: r.createdAt,
    ledger_seq: r.ledgerSeq,
    ledger_entry_hash: r.ledgerEntryHash,
    download_url: `/api/governance/evidence/exports/${r.exportId}/download`,
  };
}
