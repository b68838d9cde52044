import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are credentials or one-time secrets (OIDC `code` and `state` among them). */
const SECRET_PARAMS = new Set([
  'code',
  'state',
  'nonce',
  'code_verifier',
  'session_state',
  'key',
  'api_key',
  'apikey',
  'jwt',
  'assertion',
  'otp',
  'totp',
]);
/** Any parameter whose name contains one of these is secret too (`id_token`, `access_token`, `client_secret`, …). */
const SECRET_PARTS = ['token', 'secret', 'password', 'passwd', 'credential', 'signature'];

export const REDACTED = '[redacted]';

function secretName(raw: string): boolean {
  let name = raw;
  try {
    name = decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    // A malformed escape: judge the raw name.
  }
  name = name.trim().toLowerCase();
  return SECRET_PARAMS.has(name) || SECRET_PARTS.some((part) => name.includes(part));
}

/**
 * A request URL fit for the logs: the value of every query parameter that carries a secret replaced by
 * `[redacted]`, everything else as it came. Linear in the URL's length (no RegExp).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      return secretName(name) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q + 1)}${params.join('&')}`;
}

/** Fastify's request log serializer, with the URL's secrets redacted (every route, every log line). */
export function requestLogSerializer(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: redactUrl(req.url),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
