import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { PUBLIC } from '../../platform/access.js';
import { AppError, errors } from '../../platform/errors.js';
import { CONSOLE_CSP, loadConsoleFiles } from './console.assets.js';

export interface ConsoleRoutesOptions {
  /** The built console (dist/console). */
  dir: string;
  /** The configured OIDC provider's name: the sign-in screen shows its button. */
  oidcProvider: string | undefined;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The oversight console: a static single-page app on the public API. `/console` and every
 * `/console/<screen>` answer index.html (the app routes on the client); `/console/assets/<file>` the
 * hashed bundles, cached for good. Anonymous: the shell holds no data; every datum comes from the API
 * with the user's own session, under the role guard like any other client. Read from disk once, here.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, opts) => {
  const files = loadConsoleFiles(opts.dir, opts.oidcProvider);
  if (!files.built) app.log.warn({ reason: files.reason }, 'oversight console unavailable');

  function notBuilt(): AppError {
    return errors.unavailable('CONSOLE_NOT_BUILT', files.built ? '' : `The oversight console is unavailable: ${files.reason}`);
  }

  function consoleHeaders(reply: FastifyReply): void {
    // Replaces the API's policy (set on the raw response by the security-headers hook) for these answers only.
    reply.raw.setHeader('Content-Security-Policy', CONSOLE_CSP);
    reply.raw.setHeader('X-Frame-Options', 'DENY');
  }

  function index(reply: FastifyReply) {
    if (!files.built) throw notBuilt();
    consoleHeaders(reply);
    return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(files.indexHtml);
  }

  const route = { config: { access: PUBLIC }, schema: { hide: true } } as const;

  app.get('/console', route, async (_request, reply) => index(reply));

  app.get<{ Params: { '*': string } }>('/console/*', route, async (request, reply) => {
    const rest = request.params['*'];
    if (!rest.startsWith('assets/')) return index(reply);
    if (!files.built) throw notBuilt();
    const asset = files.assets.get(rest.slice('assets/'.length));
    if (!asset) throw errors.notFound('Console asset', rest);
    consoleHeaders(reply);
    return reply.header('content-type', asset.contentType).header('cache-control', IMMUTABLE).send(asset.body);
  });
};
