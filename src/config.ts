import path from 'node:path';
import { z } from 'zod';
import { parseOidcRoleMap } from './modules/auth/oidc.roles.js';
import { passwordProblems } from './modules/auth/password-rule.js';
import { HumanRoleSchema, type HumanRole } from './modules/auth/roles.js';
import {
  parseEscalationChain,
  parseSlaHours,
  type ResolverRole,
  type SlaHours,
} from './modules/escalation/escalation.model.js';

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

const integer = (min: number, max: number, minMessage?: string) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, minMessage).max(max));

/**
 * Every environment variable Lexecon reads (DESIGN §9). This schema is the single source of the
 * configuration: `loadConfig`, SETUP.md's table and the tests all follow it.
 */
export const EnvSchema = z.object({
  LEXECON_HOST: setting(z.string().default('127.0.0.1')).describe(
    'Address the HTTP server binds to.',
  ),
  LEXECON_PORT: setting(integer(0, 65535).default(8000)).describe(
    'TCP port of the HTTP server.',
  ),
  LEXECON_DATA_DIR: setting(z.string().default('./data')).describe(
    'Directory for the database, keys and evidence exports (`exports/`).',
  ),
  LEXECON_DB_PATH: setting(z.string().optional()).meta({
    description: 'SQLite database file; `:memory:` for a throwaway database.',
    defaultText: '<data dir>/lexecon.db',
  }),
  LEXECON_DATABASE_URL: setting(
    z
      .string()
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
        } catch {
          return false;
        }
      }, 'must be a `postgres://user:password@host:port/database` URL')
      .optional(),
  ).describe(
    'PostgreSQL database shared by every replica (`postgres://user:password@host:5432/lexecon`); unset: the embedded SQLite database (`LEXECON_DB_PATH`). Replicas also share `LEXECON_KEYS_DIR`.',
  ),
  LEXECON_DB_POOL_SIZE: setting(integer(1, 1000).default(10)).describe(
    'Connections each replica keeps to PostgreSQL (the ledger\'s group commit uses one at a time; reads and long-polls the rest).',
  ),
  LEXECON_KEYS_DIR: setting(z.string().optional()).meta({
    description: 'Directory for signing keys and `secret-box.key` (checked writable by `/ready`).',
    defaultText: '<data dir>/keys',
  }),
  LEXECON_DURABILITY: setting(z.enum(['full', 'normal']).default('full')).describe(
    '`full`: each ledger commit is fsynced (`synchronous=FULL`) before it is reported; `normal` is an explicit opt-out that may lose the last commits on power loss.',
  ),
  LEXECON_LOG_LEVEL: setting(z.enum(LOG_LEVELS).default('info')).describe(
    '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` (pino, JSON lines on stdout).',
  ),
  LEXECON_METRICS_TOKEN: setting(z.string().min(16, 'must be at least 16 characters').optional()).describe(
    'When set (≥ 16 characters), `/metrics` requires `Authorization: Bearer <token>`.',
  ),
  LEXECON_RATE_LIMIT_RPM: setting(integer(0, 100_000_000).default(60000)).describe(
    'Requests per minute per signed-in principal (user or API key), per client address for anonymous requests; `0` disables this limit.',
  ),
  LEXECON_BODY_LIMIT: setting(integer(1024, 100 * 1024 * 1024).default(1024 * 1024)).describe(
    'Largest request body in bytes (413 above it).',
  ),
  LEXECON_CORS_ORIGINS: setting(z.string().optional()).describe(
    'Comma-separated allowed origins, or `*`; unset sends no CORS headers.',
  ),
  LEXECON_SHUTDOWN_TIMEOUT_MS: setting(integer(0, 600_000).default(10000)).describe(
    'How long a graceful shutdown may take before the process exits anyway.',
  ),
  LEXECON_BOOTSTRAP_ADMIN: setting(
    z.string().regex(/^[^:\s][^:]*:.+$/s, 'must be `username:password`').optional(),
  ).describe(
    '`username:password` of an admin created at start when there are no users yet (ledgered `user_created` via `bootstrap`); the password must pass the password rule.',
  ),
  // NOTE: not wrapped in setting(): an empty value means "no role", not "the default" (DESIGN §9).
  LEXECON_MFA_REQUIRED_ROLES: z
    .string()
    .default('admin,executive')
    .transform((raw) => raw.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(HumanRoleSchema))
    .describe(
    'Roles that must enrol in TOTP MFA before they can do anything else; **an empty value means none** (the one variable where empty is not the default).',
  ),
  LEXECON_SESSION_IDLE_S: setting(integer(60, 86_400).default(1800)).describe(
    'A session unused this many seconds expires.',
  ),
  LEXECON_SESSION_TTL_S: setting(integer(300, 2_592_000).default(43_200)).describe(
    'A session expires this many seconds after login, however active.',
  ),
  LEXECON_RETENTION_DAYS: setting(
    integer(183, 36_500, 'must be at least 183 days: logs are kept at least six months (EU AI Act Art. 19(1), 26(6))').default(
      3650,
    ),
  ).describe(
    'Days raw decision payloads (context, intent, resource) and other purgeable records are kept; values below 183 are refused at start (EU AI Act Art. 19(1), 26(6): at least six months). Ledger entries are never purged.',
  ),
  LEXECON_RETENTION_INTERVAL_S: setting(integer(0, 2_000_000).default(86_400)).describe(
    'Seconds between two runs of the retention job in the server (0–2000000; `0` turns the timer off: `POST /api/governance/retention/run` and `lexecon retention-run` still work). The first run after a start comes one interval after the last recorded run (at least a minute after start), or within an hour on a database that never ran one.',
  ),
  LEXECON_RUBBER_STAMP_S: setting(integer(1, 3600).default(5)).describe(
    'Oversight metrics: an escalation approved faster than this many seconds after the reviewer could read it counts as a rubber stamp (1–3600).',
  ),
  LEXECON_TOKEN_TTL_S: setting(integer(10, 86_400).default(300)).describe(
    'Lifetime of a capability token (approved and conditional decisions), 10–86400 s.',
  ),
  LEXECON_ESCALATION_SLA_HOURS: setting(z.string().default('critical=2,high=8,medium=24,low=72')).describe(
    'Hours a human has to resolve an escalation, per priority: comma-separated `priority=hours` pairs (fractions allowed, e.g. `critical=0.5`; at most 8760); priorities not named keep their default. Applies to cases opened or moved up from then on.',
  ),
  LEXECON_ESCALATION_CHAIN: setting(z.string().default('approver,executive,admin')).describe(
    'The escalation chain, lowest level first (roles among `approver`, `executive`, `admin`, each once): `escalated_further` and a missed SLA move a case to the next role; cases opened by hand without `escalated_to` go to the first.',
  ),
  LEXECON_SLA_CHECK_INTERVAL_S: setting(integer(0, 86_400).default(30)).describe(
    'Seconds between two runs of the SLA monitor; `0` turns the timer off (the server still sweeps once at start).',
  ),
  LEXECON_OVERRIDE_TWO_PERSON: setting(z.enum(['true', 'false'], 'must be `true` or `false`').default('false'))
    .transform((v) => v === 'true')
    .describe(
    '`true`: every override (`POST /api/governance/override`) takes effect only once a second, different executive or admin confirms it (it lapses unconfirmed after 24 h); `false`: at once, except an override that turns a denial into permission (from `denied`, or from an `escalated` an override made, to `approved` or `conditional`), which always needs that second person. Only `true` or `false`.',
  ),
  LEXECON_AUTH_CACHE_TTL_MS: setting(integer(0, 60_000).default(2000)).describe(
    'Milliseconds an agent API key found live is used from memory before it is read again (0–60000; `0` reads it on every request). A key revoked is refused at once by the process that revoked it; on PostgreSQL the other replicas evict it when the revocation\'s notice arrives (milliseconds), and the TTL bounds it when a notice is missed.',
  ),
  LEXECON_TREE_INTEGRATE_MS: setting(integer(0, 60_000).default(200)).describe(
    'Milliseconds between two integrations of committed ledger entries into the Merkle tree (issue 19; 0–60000). Entries commit without tree work; the integrator adds them in a transaction of its own, when 1000 are waiting or at this interval, whichever comes first (`0`: only at 1000 waiting and at start). Proofs and checkpoints cover the integrated entries; on PostgreSQL one replica at a time integrates.',
  ),
  LEXECON_CHECKPOINT_INTERVAL_S: setting(integer(0, 86_400).default(10)).describe(
    'Seconds between two signed checkpoints of the Merkle tree (issue 19; 0–86400; `0`: only on demand, `POST /ledger/checkpoints`). A checkpoint is cut only when the integrated tree grew beyond the last one (and its own `checkpoint_cut` entry); one replica at a time.',
  ),
  LEXECON_LOG_ORIGIN: setting(
    z
      .string()
      .min(1)
      .max(200)
      .refine((s) => !/[\s+]/u.test(s), 'must not contain spaces or "+" (a C2SP note key name)')
      .optional(),
  ).describe(
    'The origin line of the signed checkpoints (C2SP tlog-checkpoint; also the note key name): a stable name for this log, e.g. `example.com/lexecon`. Default `lexecon/<kid>` of the active Ed25519 key at start (set it when the log must keep its name across key rotations).',
  ),
  LEXECON_LOGIN_MAX_FAILURES: setting(integer(1, 1000).default(5)).describe(
    'Failed attempts for one username (known or not: logins, current passwords, MFA codes) within the lockout period that lock it; attempts count before they are checked, so concurrent ones cannot exceed it.',
  ),
  LEXECON_LOGIN_LOCKOUT_S: setting(integer(1, 86_400).default(900)).describe(
    'How long a locked username stays locked; also the window in which failures count.',
  ),
  LEXECON_LOGIN_RATE_LIMIT: setting(integer(0, 100_000).default(20)).describe(
    'Attempts per minute per client IP at `POST /auth/login` and at each OIDC login route; `0` disables this limit.',
  ),
  LEXECON_OIDC_ISSUER: setting(z.url().optional()).describe(
    'Issuer URL of the OpenID Provider; setting it enables OIDC login (https; plain http only on a loopback address).',
  ),
  LEXECON_OIDC_PROVIDER: setting(
    z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be lower-case letters, digits or dashes').default('sso'),
  ).describe(
    'The provider\'s name in the routes: `/auth/oidc/<name>/login`.',
  ),
  LEXECON_OIDC_CLIENT_ID: setting(z.string().optional()).describe(
    'Client id registered at the provider (required with the issuer).',
  ),
  LEXECON_OIDC_CLIENT_SECRET: setting(z.string().optional()).describe(
    'Client secret; unset for a public client (PKCE only).',
  ),
  LEXECON_OIDC_REDIRECT_URI: setting(z.url().optional()).describe(
    'The callback URL registered at the provider, e.g. `https://lexecon.example.com/auth/oidc/sso/callback` (required with the issuer).',
  ),
  LEXECON_OIDC_SCOPES: setting(z.string().default('openid email profile')).describe(
    'Scopes requested; add the one that puts your role claim in the ID token (e.g. `groups`).',
  ),
  LEXECON_OIDC_ROLE_CLAIM: setting(z.string().default('groups')).describe(
    'ID-token claim whose values map to roles; a dotted path such as `realm_access.roles` works.',
  ),
  LEXECON_OIDC_ROLE_MAP: setting(z.string().optional()).describe(
    'Comma-separated `claim value=role` pairs, e.g. `lexecon-admins=admin,auditors=auditor`; the first match in this order wins.',
  ),
  LEXECON_OIDC_DEFAULT_ROLE: setting(HumanRoleSchema.optional()).describe(
    'Role for OIDC users no mapping matches; unset refuses them (403 `OIDC_NO_ROLE`).',
  ),
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  dbPath: string;
  /** PostgreSQL (shared by replicas) when set; otherwise SQLite at `dbPath`. */
  databaseUrl: string | undefined;
  dbPoolSize: number;
  keysDir: string;
  durability: 'full' | 'normal';
  logLevel: (typeof LOG_LEVELS)[number];
  metricsToken: string | undefined;
  rateLimitRpm: number;
  bodyLimit: number;
  corsOrigins: string[] | '*' | undefined;
  shutdownTimeoutMs: number;
  bootstrapAdmin: { username: string; password: string } | undefined;
  mfaRequiredRoles: HumanRole[];
  session: { idleS: number; ttlS: number };
  tokenTtlS: number;
  rubberStampS: number;
  retentionDays: number;
  /** Seconds between two retention runs in the process; 0: no timer. */
  retentionIntervalS: number;
  escalation: { slaHours: SlaHours; chain: readonly ResolverRole[]; checkIntervalS: number };
  /** Overrides need a second executive or admin to take effect. */
  overrideTwoPerson: boolean;
  login: { maxFailures: number; lockoutS: number; ratePerMinute: number };
  /** How long a live API key is used from memory (ms); 0: no cache. */
  authCacheTtlMs: number;
  /** Milliseconds between two Merkle tree integrations; 0: only at the threshold and at start. */
  treeIntegrateMs: number;
  /** Seconds between two timed checkpoints; 0: on demand only. */
  checkpointIntervalS: number;
  /** The checkpoints' origin; undefined: `lexecon/<kid>`. */
  logOrigin: string | undefined;
  oidc: OidcSettings | undefined;
}

export interface OidcSettings {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  scopes: string;
  roleClaim: string;
  roleMap: Array<{ value: string; role: HumanRole }>;
  defaultRole: HumanRole | undefined;
}

/**
 * Parse the configuration from an environment (default: `process.env`, the only place Lexecon reads it).
 * Throws {@link ConfigError} listing every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const oidc = oidcSettings(e, problems);
  const bootstrapAdmin = splitCredentials(e.LEXECON_BOOTSTRAP_ADMIN);
  const sla = parseSlaHours(e.LEXECON_ESCALATION_SLA_HOURS);
  problems.push(...sla.problems.map((p) => `LEXECON_ESCALATION_SLA_HOURS: ${p}`));
  const chain = parseEscalationChain(e.LEXECON_ESCALATION_CHAIN);
  problems.push(...chain.problems.map((p) => `LEXECON_ESCALATION_CHAIN: ${p}`));
  if (bootstrapAdmin) {
    problems.push(
      ...passwordProblems(bootstrapAdmin.password, bootstrapAdmin.username).map((p) => `LEXECON_BOOTSTRAP_ADMIN: password ${p}`),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const dataDir = path.resolve(e.LEXECON_DATA_DIR);
  const dbPath =
    e.LEXECON_DB_PATH === ':memory:' ? ':memory:' : path.resolve(e.LEXECON_DB_PATH ?? path.join(dataDir, 'lexecon.db'));
  return {
    host: e.LEXECON_HOST,
    port: e.LEXECON_PORT,
    dataDir,
    dbPath,
    databaseUrl: e.LEXECON_DATABASE_URL,
    dbPoolSize: e.LEXECON_DB_POOL_SIZE,
    keysDir: path.resolve(e.LEXECON_KEYS_DIR ?? path.join(dataDir, 'keys')),
    durability: e.LEXECON_DURABILITY,
    logLevel: e.LEXECON_LOG_LEVEL,
    metricsToken: e.LEXECON_METRICS_TOKEN,
    rateLimitRpm: e.LEXECON_RATE_LIMIT_RPM,
    bodyLimit: e.LEXECON_BODY_LIMIT,
    corsOrigins: parseOrigins(e.LEXECON_CORS_ORIGINS),
    shutdownTimeoutMs: e.LEXECON_SHUTDOWN_TIMEOUT_MS,
    bootstrapAdmin,
    mfaRequiredRoles: [...new Set(e.LEXECON_MFA_REQUIRED_ROLES)],
    session: { idleS: e.LEXECON_SESSION_IDLE_S, ttlS: e.LEXECON_SESSION_TTL_S },
    tokenTtlS: e.LEXECON_TOKEN_TTL_S,
    rubberStampS: e.LEXECON_RUBBER_STAMP_S,
    retentionDays: e.LEXECON_RETENTION_DAYS,
    retentionIntervalS: e.LEXECON_RETENTION_INTERVAL_S,
    escalation: { slaHours: sla.hours, chain: chain.chain, checkIntervalS: e.LEXECON_SLA_CHECK_INTERVAL_S },
    overrideTwoPerson: e.LEXECON_OVERRIDE_TWO_PERSON,
    login: {
      maxFailures: e.LEXECON_LOGIN_MAX_FAILURES,
      lockoutS: e.LEXECON_LOGIN_LOCKOUT_S,
      ratePerMinute: e.LEXECON_LOGIN_RATE_LIMIT,
    },
    authCacheTtlMs: e.LEXECON_AUTH_CACHE_TTL_MS,
    treeIntegrateMs: e.LEXECON_TREE_INTEGRATE_MS,
    checkpointIntervalS: e.LEXECON_CHECKPOINT_INTERVAL_S,
    logOrigin: e.LEXECON_LOG_ORIGIN,
    oidc,
  };
}

function splitCredentials(raw: string | undefined): Config['bootstrapAdmin'] {
  if (raw === undefined) return undefined;
  const colon = raw.indexOf(':');
  return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function oidcSettings(e: z.infer<typeof EnvSchema>, problems: string[]): OidcSettings | undefined {
  if (e.LEXECON_OIDC_ISSUER === undefined) {
    if (e.LEXECON_OIDC_CLIENT_ID !== undefined || e.LEXECON_OIDC_REDIRECT_URI !== undefined) {
      problems.push('LEXECON_OIDC_ISSUER: is required when other LEXECON_OIDC_* variables are set');
    }
    return undefined;
  }
  const issuer = new URL(e.LEXECON_OIDC_ISSUER);
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && LOOPBACK_HOSTS.has(issuer.hostname))) {
    problems.push('LEXECON_OIDC_ISSUER: must be an https URL (http is allowed only on a loopback address)');
  }
  if (e.LEXECON_OIDC_CLIENT_ID === undefined) problems.push('LEXECON_OIDC_CLIENT_ID: is required with LEXECON_OIDC_ISSUER');
  if (e.LEXECON_OIDC_REDIRECT_URI === undefined) {
    problems.push('LEXECON_OIDC_REDIRECT_URI: is required with LEXECON_OIDC_ISSUER');
  }
  const roleMap = parseOidcRoleMap(e.LEXECON_OIDC_ROLE_MAP ?? '');
  problems.push(...roleMap.problems.map((p) => `LEXECON_OIDC_ROLE_MAP: ${p}`));
  if (roleMap.map.length === 0 && e.LEXECON_OIDC_DEFAULT_ROLE === undefined) {
    problems.push('LEXECON_OIDC_ROLE_MAP: set a role mapping or LEXECON_OIDC_DEFAULT_ROLE, or no OIDC user could log in');
  }
  return {
    name: e.LEXECON_OIDC_PROVIDER,
    issuer: e.LEXECON_OIDC_ISSUER,
    clientId: e.LEXECON_OIDC_CLIENT_ID ?? '',
    clientSecret: e.LEXECON_OIDC_CLIENT_SECRET,
    redirectUri: e.LEXECON_OIDC_REDIRECT_URI ?? '',
    scopes: e.LEXECON_OIDC_SCOPES,
    roleClaim: e.LEXECON_OIDC_ROLE_CLAIM,
    roleMap: roleMap.map,
    defaultRole: e.LEXECON_OIDC_DEFAULT_ROLE,
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
