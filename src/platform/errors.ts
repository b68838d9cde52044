import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DatabaseUnavailable, SerializationFailure } from './db/errors.js';

/** The one error envelope (DESIGN §8). */
export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
    request_id: z.string(),
  })
  .meta({ id: 'ErrorEnvelope' });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** An error whose status, code and message are safe to show to the caller. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** The typed error factory: every error a module raises on purpose comes from here. */
export const errors = {
  validation: (message: string, details?: unknown) => new AppError(400, 'VALIDATION_FAILED', message, details),
  badRequest: (message: string, details?: unknown) => new AppError(400, 'BAD_REQUEST', message, details),
  unauthorized: (message = 'Authentication required') => new AppError(401, 'UNAUTHORIZED', message),
  forbidden: (message = 'Not allowed') => new AppError(403, 'FORBIDDEN', message),
  notFound: (what: string, id?: string) =>
    new AppError(404, 'NOT_FOUND', id === undefined ? `${what} not found` : `${what} '${id}' not found`),
  conflict: (message: string, details?: unknown) => new AppError(409, 'CONFLICT', message, details),
  /** A 409 with its own code, for a state the caller waits out (e.g. `RECEIPT_NOT_READY`). */
  notYet: (code: string, message: string, details?: unknown, retryAfterSeconds?: number) =>
    new AppError(409, code, message, details, retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
  payloadTooLarge: (limit: number) =>
    new AppError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`),
  unsupportedMediaType: (contentType: string | undefined) =>
    new AppError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Unsupported content type ${contentType ? `'${contentType}'` : '(none)'}; send application/json`,
    ),
  tooManyRequests: (retryAfterSeconds: number) =>
    new AppError(429, 'RATE_LIMITED', `Rate limit exceeded, retry in ${retryAfterSeconds} s`, undefined, {
      'retry-after': String(retryAfterSeconds),
    }),
  unavailable: (code: string, message: string, retryAfterSeconds?: number) =>
    new AppError(
      503,
      code,
      message,
      undefined,
      retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    ),
};

/** Response schemas for the error statuses a route can answer, for its OpenAPI entry. */
export function errorResponses<const S extends readonly number[]>(...statuses: S) {
  return Object.fromEntries(statuses.map((s) => [s, ErrorEnvelopeSchema])) as { [K in S[number]]: typeof ErrorEnvelopeSchema };
}

interface SqliteLikeError {
  name: string;
  code: string;
  message: string;
}

function isSqliteError(err: unknown): err is SqliteLikeError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'SqliteError' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}

/**
 * Translate a SQLite error into an AppError the caller may see, or `undefined` when it is a server fault.
 * Constraint codes come from https://www.sqlite.org/rescode.html.
 */
export function translateSqliteError(err: unknown): AppError | undefined {
  if (!isSqliteError(err)) return undefined;
  switch (err.code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return errors.conflict('A record with the same identity already exists');
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return errors.badRequest('The request refers to a record that does not exist');
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return errors.badRequest('A required value is missing');
    case 'SQLITE_CONSTRAINT_CHECK':
      return errors.badRequest('A value is out of its allowed range');
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return errors.unavailable('DATABASE_BUSY', 'The database is busy; retry shortly', 1);
    default:
      return undefined;
  }
}

/**
 * The storage port's neutral errors that are the database's state, not a fault of the server or the
 * caller: an unreachable database (connection refused or lost, server shutting down, a standby) and a
 * conflict the database resolved by aborting (serialization failure, deadlock) answer 503 with a
 * retry hint, never 500. (`UniqueViolation` and the like stay with the repository that expects them.)
 */
export function translateDatabaseError(err: unknown): AppError | undefined {
  if (err instanceof DatabaseUnavailable) {
    return errors.unavailable('DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly', 1);
  }
  if (err instanceof SerializationFailure) {
    return errors.unavailable('DATABASE_BUSY', 'The database is busy; retry shortly', 1);
  }
  return undefined;
}

/** Map Fastify's own client errors (body parsing, content type) to the envelope's codes. */
function translateFastifyError(err: FastifyError, request: FastifyRequest, bodyLimit: number): AppError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(request.routeOptions.bodyLimit ?? bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(request.headers['content-type']);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badRequest('The request body is empty; send a JSON document');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.badRequest('The request body is not valid JSON');
    default:
      break;
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return errors.badRequest('The request body is not valid JSON');
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors carry messages meant for the caller.
    return new AppError(status, err.code ?? 'BAD_REQUEST', err.message);
  }
  return undefined;
}

function envelope(request: FastifyRequest, err: AppError): ErrorEnvelope {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    },
    request_id: request.id,
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  // RFC 9110 §15.5.2: every 401 names the scheme that would be accepted.
  if (err.statusCode === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="lexecon"');
  return reply.status(err.statusCode).send(envelope(request, err));
}

/**
 * Fastify's `frameworkErrors` option: errors raised before a request reaches a route (a URL that is not
 * valid percent-encoded UTF-8, a path parameter over the length limit) answer in the one envelope too.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  let appError: AppError;
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      appError = errors.badRequest('The URL is not valid: a path segment is not percent-encoded UTF-8');
      break;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      appError = new AppError(414, 'URI_TOO_LONG', 'A path parameter exceeds the length limit');
      break;
    default:
      request.log.error({ err }, 'unhandled framework error');
      appError = new AppError(500, 'INTERNAL_ERROR', 'Internal server error; quote the request id when reporting it');
  }
  void sendError(request, reply, appError);
}

/** Install the single error handler and the 404 handler. */
export function installErrorHandling(app: FastifyInstance, opts: { bodyLimit: number }): void {
  app.setErrorHandler((rawErr: unknown, request, reply) => {
    const err = rawErr as FastifyError;
    let appError: AppError | undefined;
    if (rawErr instanceof AppError) {
      appError = rawErr;
    } else if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'request';
      appError = errors.validation(
        `Invalid ${where}`,
        err.validation.map((issue) => ({
          in: where,
          field: issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)',
          message: issue.message ?? 'is invalid',
          code: issue.keyword,
        })),
      );
    } else if (err.code === 'FST_ERR_RESPONSE_SERIALIZATION') {
      appError = undefined;
    } else {
      appError = translateSqliteError(rawErr) ?? translateDatabaseError(rawErr) ?? translateFastifyError(err, request, opts.bodyLimit);
    }
    if (appError === undefined) {
      request.log.error({ err: rawErr }, 'unhandled error');
      appError = new AppError(500, 'INTERNAL_ERROR', 'Internal server error; quote the request id when reporting it');
    } else if (appError.statusCode >= 500) {
      request.log.warn({ err: rawErr }, appError.message);
    }
    return sendError(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AppError(404, 'NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`)),
  );
}
