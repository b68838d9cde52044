import fs from 'node:fs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PUBLIC } from './access.js';
import { errorResponses } from './errors.js';
import { VERSION } from './version.js';

export interface ReadinessSource {
  /** Whether the database answers now (SQLite file, or the PostgreSQL server every replica shares). */
  database: () => Promise<{ ok: boolean; detail: string }>;
  keysDir: string;
  /** The ledger's own view of its head. */
  ledger: () => { ok: boolean; detail: string };
}

const CheckSchema = z.object({ ok: z.boolean(), detail: z.string() });
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    version: z.string(),
    checks: z.object({ database: CheckSchema, keys_dir: CheckSchema, ledger: CheckSchema }),
  })
  .meta({ id: 'Readiness' });

function keysDirCheck(dir: string): z.infer<typeof CheckSchema> {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return { ok: true, detail: 'writable' };
  } catch {
    return { ok: false, detail: `${dir} is missing or not writable` };
  }
}

export const healthRoutes: FastifyPluginAsyncZod<ReadinessSource> = async (app, source) => {
  app.get(
    '/health',
    {
      config: { access: PUBLIC },
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: z.object({ status: z.literal('ok'), version: z.string() }), ...errorResponses(429) },
      },
    },
    async () => ({ status: 'ok' as const, version: VERSION }),
  );

  app.get(
    '/ready',
    {
      config: { access: PUBLIC },
      schema: {
        summary: 'Readiness: database reachable, keys directory writable, ledger chain intact (tail checked at start)',
        tags: ['operations'],
        response: { 200: ReadySchema, 503: ReadySchema, ...errorResponses(429) },
      },
    },
    async (_request, reply) => {
      const checks = {
        database: await source.database(),
        keys_dir: keysDirCheck(source.keysDir),
        ledger: source.ledger(),
      };
      const ready = Object.values(checks).every((c) => c.ok);
      reply.status(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('not_ready' as const), version: VERSION, checks };
    },
  );
};
