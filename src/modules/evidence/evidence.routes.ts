import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import { CreateExportBodySchema, ExportListQuerySchema, ExportListSchema, ExportParamsSchema, ExportSchema, toExportDto } from './evidence.schemas.js';
import type { EvidenceService } from './evidence.service.js';

/** The download's answer as OpenAPI documents it: the tar's bytes, `application/x-tar`, not JSON. */
const TarResponse = {
  description: 'The evidence package (a POSIX tar holding the BagIt bag), byte for byte',
  content: { 'application/x-tar': { schema: z.any().meta({ type: 'string', format: 'binary' }) } },
};

export interface EvidenceRoutesOptions {
  evidence: EvidenceService;
}

export const evidenceRoutes: FastifyPluginAsyncZod<EvidenceRoutesOptions> = async (app, { evidence }) => {
  app.post(
    '/api/governance/evidence/exports',
    {
      // DESIGN §10: governance leads and admins create exports, and so do auditors.
      config: { access: roles('governance_lead', 'admin', 'auditor') },
      schema: {
        summary: 'Create a signed evidence export (BagIt package)',
        description: [
          'Builds a BagIt (RFC 8493) bag of the period [from, to): the ledger segment (contiguous seqs, with the head before and after), decisions, escalations, overrides, signed interventions and policy versions (ids, hashes and outcomes: no raw decision payloads, justifications as SHA-256), the public keys, the query and its counts, the software version and who generated it; `manifest-sha256.txt`, `tagmanifest-sha256.txt`, detached Ed25519 and RSA-PSS-SHA256 signatures over the tag manifest, and `VERIFY.md` with the offline commands.',
          'The tar is stored under `<LEXECON_DATA_DIR>/exports/` and ledgered as `export_created` (with the tar and tag manifest hashes) together with its metadata. Verify it offline with `lexecon verify-export <file>`.',
          'At most 2 exports are built at once per process: another one is refused with 429 `EXPORTS_BUSY` and a `Retry-After` header. The stored tar is deleted by the retention job once the export is older than `LEXECON_RETENTION_DAYS` and no active legal hold covers its period (its metadata and ledger entry stay).',
        ].join('\n\n'),
        tags: ['evidence'],
        body: CreateExportBodySchema,
        response: { 201: ExportSchema, ...errorResponses(400, 401, 403, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const user = userPrincipal(request);
      const record = await evidence.create(request.body, { id: user.userId, role: user.role });
      return reply.status(201).send(toExportDto(record));
    },
  );

  app.get(
    '/api/governance/evidence/exports',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'Evidence exports, newest first',
        tags: ['evidence'],
        querystring: ExportListQuerySchema,
        response: { 200: ExportListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const rows = await evidence.list({ beforeId: cursor, limit: limit + 1 });
      const items = rows.slice(0, limit);
      return { items: items.map(toExportDto), next_cursor: rows.length > limit ? items[items.length - 1]!.exportId : null };
    },
  );

  app.get(
    '/api/governance/evidence/exports/:export_id',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: "One evidence export's metadata",
        tags: ['evidence'],
        params: ExportParamsSchema,
        response: { 200: ExportSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => toExportDto(await evidence.get(request.params.export_id)),
  );

  app.get(
    '/api/governance/evidence/exports/:export_id/download',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'Download an evidence export (the tar)',
        description:
          'The stored package as `application/x-tar`, byte for byte (its SHA-256 is the export\'s `sha256`, also sent as the `digest` header). 503 `EXPORT_FILE_MISSING` / `EXPORT_FILE_CHANGED` when the stored file is gone or no longer matches.',
        tags: ['evidence'],
        params: ExportParamsSchema,
        response: { 200: TarResponse, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const { record, tar } = await evidence.read(request.params.export_id);
      return reply
        .header('content-type', 'application/x-tar')
        .header('content-disposition', `attachment; filename="${record.fileName}"`)
        .header('digest', `sha-256=${Buffer.from(record.sha256, 'hex').toString('base64')}`)
        .header('cache-control', 'no-store')
        .send(tar);
    },
  );
};
