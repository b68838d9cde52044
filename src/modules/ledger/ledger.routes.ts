import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, errors } from '../../platform/errors.js';
import { roles } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import type { LedgerService } from './ledger.service.js';
import {
  decodeCursor,
  encodeCursor,
  EntryParamsSchema,
  LedgerEntrySchema,
  ListEntriesQuerySchema,
  ListEntriesResponseSchema,
  toEntryDto,
  toVerifyReportDto,
  VerifyReportSchema,
} from './ledger.schemas.js';

export interface LedgerRoutesOptions {
  ledger: LedgerService;
}

/** DESIGN §7: every human role may read the ledger, entries and verification alike. */
const LEDGER_READ = roles(...READ_ROLES);

export const ledgerRoutes: FastifyPluginAsyncZod<LedgerRoutesOptions> = async (app, { ledger }) => {
  app.get(
    '/ledger/verify',
    {
      config: { access: LEDGER_READ },
      schema: {
        summary: 'Verify the whole hash chain',
        description:
          'Recomputes every entry hash and link from genesis to the current head, checks seq contiguity and the genesis entry, and reports the first problem found. One verification runs at a time (concurrent callers share it) and its report is reused for a few seconds while the head (`head_seq`, `head_hash`) is unchanged. A chain found invalid makes the server refuse ledger writes (503 `LEDGER_CORRUPT`) and `/ready` answer 503.',
        tags: ['ledger'],
        response: { 200: VerifyReportSchema, ...errorResponses(401, 403, 429, 500) },
      },
    },
    async () => toVerifyReportDto(await ledger.verifyCached()),
  );

  app.get(
    '/ledger/entries',
    {
      config: { access: LEDGER_READ },
      schema: {
        summary: 'List ledger entries in seq order',
        tags: ['ledger'],
        querystring: ListEntriesQuerySchema,
        response: { 200: ListEntriesResponseSchema, ...errorResponses(400, 401, 403, 429, 500) },
      },
    },
    async (request) => {
      const q = request.query;
      let afterSeq = q.after_seq;
      if (q.cursor !== undefined) {
        const fromCursor = decodeCursor(q.cursor);
        if (fromCursor === undefined) {
          throw errors.validation('Invalid querystring', [
            { in: 'querystring', field: 'cursor', message: 'is not a cursor returned by this endpoint', code: 'custom' },
          ]);
        }
        afterSeq = Math.max(afterSeq ?? -1, fromCursor);
      }
      const rows = await ledger.listEntries({
        eventType: q.event_type,
        since: q.since === undefined ? undefined : new Date(q.since).toISOString(),
        afterSeq,
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      const more = rows.length > q.limit;
      return {
        entries: page.map(toEntryDto),
        next_cursor: more ? encodeCursor(page[page.length - 1]!.seq) : null,
      };
    },
  );

  app.get(
    '/ledger/entries/:entry_id',
    {
      config: { access: LEDGER_READ },
      schema: {
        summary: 'One ledger entry',
        tags: ['ledger'],
        params: EntryParamsSchema,
        response: { 200: LedgerEntrySchema, ...errorResponses(400, 401, 403, 404, 429, 500) },
      },
    },
    async (request) => {
      const entry = await ledger.getEntry(request.params.entry_id);
      if (!entry) throw errors.notFound('Ledger entry', request.params.entry_id);
      return toEntryDto(entry);
    },
  );
};
