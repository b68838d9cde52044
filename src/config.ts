import path from 'node:path';
import { z } from 'zod';

/** Thrown when the environment holds invalid settings; lists every problem, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An unset variable and an empty one mean the same: take the default (or leave it unset). */
const setting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * Every environment variable Lexecon reads (DESIGN §9). This schema is the single source of the
 * configuration: `loadConfig`, SETUP.md's table and the tests all follow it.
 */
export const EnvSchema = z.object({
  LEXECON_HOST: setting(z.string().default('127.0.0.1')).describe('Address the HTTP server binds to.'),
  LEXECON_PORT: setting(integer(0, 65535).default(8000)).describe('TCP port of the HTTP server.'),
  LEXECON_DATA_DIR: setting(z.string().default('./data')).describe('Directory for the database and keys.'),
  LEXECON_DB_PATH: setting(z.string().optional()).describe(
    'SQLite database file (default `<data dir>/lexecon.db`; `:memory:` for a throwaway database).',
  ),
  LEXECON_KEYS_DIR: setting(z.string().optional()).describe('Directory for signing keys (default `<data dir>/keys`).'),
  LEXECON_DURABILITY: setting(z.enum(['full', 'normal']).default('full')).describe(
    '`full`: every ledger commit is fsynced before it is reported; `normal` is an explicit opt-out.',
  ),
  LEXECON_LOG_LEVEL: setting(z.enum(LOG_LEVELS).default('info')).describe('pino log level.'),
  LEXECON_METRICS_TOKEN: setting(z.string().min(16, 'must be at least 16 characters').optional()).describe(
    'When set, `/metrics` requires `Authorization: Bearer <token>`.',
  ),
  LEXECON_RATE_LIMIT_RPM: setting(integer(0, 100_000_000).default(60000)).describe(
    'Requests per minute per client; `0` disables rate limiting.',
  ),
  LEXECON_BODY_LIMIT: setting(integer(1024, 100 * 1024 * 1024).default(1024 * 1024)).describe(
    'Largest accepted request body, in bytes.',
  ),
  LEXECON_CORS_ORIGINS: setting(z.string().optional()).describe(
    'Comma-separated origins allowed by CORS, or `*`; unset disables CORS.',
  ),
  LEXECON_SHUTDOWN_TIMEOUT_MS: setting(integer(0, 600_000).default(10000)).describe(
    'How long a graceful shutdown waits for in-flight requests before exiting.',
  ),
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  dbPath: string;
  keysDir: string;
  durability: 'full' | 'normal';
  logLevel: (typeof LOG_LEVELS)[number];
  metricsToken: string | undefined;
  rateLimitRpm: number;
  bodyLimit: number;
  corsOrigins: string[] | '*' | undefined;
  shutdownTimeoutMs: number;
}

/**
 * Parse the configuration from an environment (default: `process.env`, the only place Lexecon reads it).
 * Throws {@link ConfigError} listing every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.LEXECON_DATA_DIR);
  const dbPath =
    e.LEXECON_DB_PATH === ':memory:' ? ':memory:' : path.resolve(e.LEXECON_DB_PATH ?? path.join(dataDir, 'lexecon.db'));
  return {
    host: e.LEXECON_HOST,
    port: e.LEXECON_PORT,
    dataDir,
    dbPath,
    keysDir: path.resolve(e.LEXECON_KEYS_DIR ?? path.join(dataDir, 'keys')),
    durability: e.LEXECON_DURABILITY,
    logLevel: e.LEXECON_LOG_LEVEL,
    metricsToken: e.LEXECON_METRICS_TOKEN,
    rateLimitRpm: e.LEXECON_RATE_LIMIT_RPM,
    bodyLimit: e.LEXECON_BODY_LIMIT,
    corsOrigins: parseOrigins(e.LEXECON_CORS_ORIGINS),
    shutdownTimeoutMs: e.LEXECON_SHUTDOWN_TIMEOUT_MS,
  };
}

function parseOrigins(raw: string | undefined): Config['corsOrigins'] {
  if (raw === undefined) return undefined;
  if (raw.trim() === '*') return '*';
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}
