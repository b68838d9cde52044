import { z } from 'zod';
import { EVENT_TYPE_PATTERN, type StoredEntry } from './ledger.chain.js';
import type { VerifyReport } from './ledger.verify.js';

export const LedgerEntrySchema = z
  .object({
    seq: z.number().int().min(0),
    entry_id: z.string().describe('"genesis" for seq 0, "entry_<seq>" after it'),
    event_type: z.string(),
    timestamp: z.string().describe('RFC 3339 UTC with milliseconds'),
    data: z.record(z.string(), z.unknown()),
    previous_hash: z.string().describe('entry_hash of the previous entry (64 zeros for genesis)'),
    entry_hash: z
      .string()
      .describe('SHA-256 hex of JCS({entry_id, event_type, data, timestamp, previous_hash})'),
  })
  .meta({ id: 'LedgerEntry' });
export type LedgerEntryDto = z.infer<typeof LedgerEntrySchema>;

export const MAX_PAGE = 1000;

export const ListEntriesQuerySchema = z.object({
  event_type: z.string().regex(EVENT_TYPE_PATTERN, 'must be a lowercase snake_case event type').optional(),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('RFC 3339 timestamp: entries at or after it'),
  after_seq: z.coerce.number().int().min(-1).optional().describe('entries with a greater seq'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
  cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
});

export const ListEntriesResponseSchema = z.object({
  entries: z.array(LedgerEntrySchema),
  next_cursor: z.string().nullable().describe('pass as cursor to read the next page; null at the end'),
});

export const EntryParamsSchema = z.object({
  entry_id: z.string().min(1).max(64),
});

export const FindingSchema = z.object({
  seq: z.number().int(),
  entry_id: z.string(),
  code: z.enum(['missing_genesis', 'invalid_genesis', 'seq_gap', 'entry_id_mismatch', 'broken_link', 'hash_mismatch']),
  reason: z.string(),
});

export const VerifyReportSchema = z
  .object({
    valid: z.boolean(),
    entries_checked: z.number().int(),
    head_seq: z.number().int().nullable(),
    head_hash: z.string().nullable(),
    first_invalid: FindingSchema.optional(),
  })
  .meta({ id: 'LedgerVerifyReport' });
export type VerifyReportDto = z.infer<typeof VerifyReportSchema>;

export function toEntryDto(e: StoredEntry): LedgerEntryDto {
  return {
    seq: e.seq,
    entry_id: e.entryId,
    event_type: e.eventType,
    timestamp: e.timestamp,
    data: JSON.parse(e.dataJson) as Record<string, unknown>,
    previous_hash: e.previousHash,
    entry_hash: e.entryHash,
  };
}

export function toVerifyReportDto(r: VerifyReport): VerifyReportDto {
  return {
    valid: r.valid,
    entries_checked: r.entriesChecked,
    head_seq: r.headSeq,
    head_hash: r.headHash,
    ...(r.firstInvalid
      ? {
          first_invalid: {
            seq: r.firstInvalid.seq,
            entry_id: r.firstInvalid.entryId,
            code: r.firstInvalid.code,
            reason: r.firstInvalid.reason,
          },
        }
      : {}),
  };
}

/** Cursors are opaque to callers: base64url of the last seq returned. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  const m = /^s:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}
