import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvSchema, loadConfig } from './config.js';
import { thrown } from '../test/helpers/paths.js';

/** Load a config that must fail and return the error. */
function failure(env: Record<string, string | undefined>): ConfigError {
  return thrown(() => loadConfig(env), ConfigError);
}

/** The problems reported for one variable. */
function problemsFor(err: ConfigError, name: string): string[] {
  return err.problems.filter((p) => p.startsWith(`${name}:`));
}

/**
 * Variables for which an empty value means "use the default". (Not every future variable: DESIGN §9 gives
 * LEXECON_MFA_REQUIRED_ROLES an empty string its own meaning.)
 */
const DEFAULTED_VARIABLES = [
  'LEXECON_HOST',
  'LEXECON_PORT',
  'LEXECON_DATA_DIR',
  'LEXECON_DB_PATH',
  'LEXECON_KEYS_DIR',
  'LEXECON_DURABILITY',
  'LEXECON_LOG_LEVEL',
  'LEXECON_METRICS_TOKEN',
  'LEXECON_RATE_LIMIT_RPM',
  'LEXECON_BODY_LIMIT',
  'LEXECON_CORS_ORIGINS',
  'LEXECON_SHUTDOWN_TIMEOUT_MS',
  'LEXECON_BOOTSTRAP_ADMIN',
  'LEXECON_SESSION_IDLE_S',
  'LEXECON_SESSION_TTL_S',
  'LEXECON_LOGIN_MAX_FAILURES',
  'LEXECON_LOGIN_LOCKOUT_S',
  'LEXECON_LOGIN_RATE_LIMIT',
  'LEXECON_OIDC_ISSUER',
  'LEXECON_OIDC_PROVIDER',
  'LEXECON_OIDC_CLIENT_ID',
  'LEXECON_OIDC_CLIENT_SECRET',
  'LEXECON_OIDC_REDIRECT_URI',
  'LEXECON_OIDC_SCOPES',
  'LEXECON_OIDC_ROLE_CLAIM',
  'LEXECON_OIDC_ROLE_MAP',
  'LEXECON_OIDC_DEFAULT_ROLE',
];

describe('loadConfig defaults (DESIGN §9)', () => {
  const config = loadConfig({});
  const dataDir = path.resolve('./data');

  it('binds 127.0.0.1:8000', () => {
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8000);
  });

  it('keeps data under ./data, resolved to an absolute path', () => {
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir).toBe(dataDir);
    expect(config.dbPath).toBe(path.join(dataDir, 'lexecon.db'));
    expect(config.keysDir).toBe(path.join(dataDir, 'keys'));
  });

  it('is durable by default with sane limits', () => {
    expect(config.durability).toBe('full');
    expect(config.rateLimitRpm).toBe(60000);
    expect(config.bodyLimit).toBe(1048576);
    expect(config.logLevel).toBe('info');
    expect(config.shutdownTimeoutMs).toBe(10000);
  });

  it('leaves optional features off', () => {
    expect(config.metricsToken).toBeUndefined();
    expect(config.corsOrigins).toBeUndefined();
  });

  it('knows every variable the tests set', () => {
    for (const name of DEFAULTED_VARIABLES) expect(Object.keys(EnvSchema.shape)).toContain(name);
  });

  it('treats empty and blank strings as unset', () => {
    const empty = Object.fromEntries(DEFAULTED_VARIABLES.map((k) => [k, '']));
    const blank = Object.fromEntries(DEFAULTED_VARIABLES.map((k) => [k, '   ']));
    const undef = Object.fromEntries(DEFAULTED_VARIABLES.map((k) => [k, undefined]));
    expect(loadConfig(empty)).toEqual(config);
    expect(loadConfig(blank)).toEqual(config);
    expect(loadConfig(undef)).toEqual(config);
  });

  it('ignores variables it does not know, NODE_ENV included', () => {
    expect(loadConfig({ NODE_ENV: 'production', PATH: '/bin', HOME: '/root', LEXECON_UNKNOWN: 'x' })).toEqual(config);
    expect(loadConfig({ NODE_ENV: 'test' })).toEqual(config);
  });
});

describe('loadConfig paths', () => {
  it('resolves a relative data dir and derives the database and keys from it', () => {
    const c = loadConfig({ LEXECON_DATA_DIR: 'var/lexecon' });
    const dataDir = path.resolve('var/lexecon');
    expect(c.dataDir).toBe(dataDir);
    expect(c.dbPath).toBe(path.join(dataDir, 'lexecon.db'));
    expect(c.keysDir).toBe(path.join(dataDir, 'keys'));
  });

  it('keeps an absolute data dir', () => {
    const abs = path.resolve('/srv/lexecon-data');
    const c = loadConfig({ LEXECON_DATA_DIR: abs });
    expect(c.dataDir).toBe(abs);
    expect(c.dbPath).toBe(path.join(abs, 'lexecon.db'));
    expect(c.keysDir).toBe(path.join(abs, 'keys'));
  });

  it('lets the database path and keys dir be set on their own, as absolute paths', () => {
    const c = loadConfig({
      LEXECON_DATA_DIR: '/srv/data',
      LEXECON_DB_PATH: 'elsewhere/ledger.sqlite',
      LEXECON_KEYS_DIR: 'secrets/keys',
    });
    expect(c.dataDir).toBe(path.resolve('/srv/data'));
    expect(path.isAbsolute(c.dbPath)).toBe(true);
    expect(c.dbPath).toBe(path.resolve('elsewhere/ledger.sqlite'));
    expect(path.isAbsolute(c.keysDir)).toBe(true);
    expect(c.keysDir).toBe(path.resolve('secrets/keys'));
  });

  it('keeps :memory: as the database path', () => {
    const c = loadConfig({ LEXECON_DB_PATH: ':memory:' });
    expect(c.dbPath).toBe(':memory:');
    expect(c.keysDir).toBe(path.join(path.resolve('./data'), 'keys'));
  });
});

describe('loadConfig values', () => {
  it('reads host and port', () => {
    const c = loadConfig({ LEXECON_HOST: '0.0.0.0', LEXECON_PORT: '9090' });
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(9090);
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['65535', 65535],
  ])('accepts port %s', (raw, port) => {
    expect(loadConfig({ LEXECON_PORT: raw }).port).toBe(port);
  });

  it.each(['65536', '-1', 'abc', '80.5', '8e3', '0x1F40', '1 2'])('rejects port %j', (raw) => {
    const err = failure({ LEXECON_PORT: raw });
    expect(problemsFor(err, 'LEXECON_PORT')).toHaveLength(1);
    expect(err.problems).toHaveLength(1);
  });

  it('reads durability normal and rejects anything but full/normal', () => {
    expect(loadConfig({ LEXECON_DURABILITY: 'normal' }).durability).toBe('normal');
    expect(loadConfig({ LEXECON_DURABILITY: 'full' }).durability).toBe('full');
    expect(problemsFor(failure({ LEXECON_DURABILITY: 'fast' }), 'LEXECON_DURABILITY')).toHaveLength(1);
    expect(problemsFor(failure({ LEXECON_DURABILITY: 'off' }), 'LEXECON_DURABILITY')).toHaveLength(1);
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const)('accepts log level %s', (level) => {
    expect(loadConfig({ LEXECON_LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it('rejects an unknown log level', () => {
    expect(problemsFor(failure({ LEXECON_LOG_LEVEL: 'verbose' }), 'LEXECON_LOG_LEVEL')).toHaveLength(1);
  });

  it('requires a metrics token of at least 16 characters', () => {
    expect(loadConfig({ LEXECON_METRICS_TOKEN: 'x'.repeat(16) }).metricsToken).toBe('x'.repeat(16));
    const err = failure({ LEXECON_METRICS_TOKEN: 'x'.repeat(15) });
    expect(problemsFor(err, 'LEXECON_METRICS_TOKEN')).toEqual(['LEXECON_METRICS_TOKEN: must be at least 16 characters']);
  });

  it('reads the rate limit, 0 meaning off', () => {
    expect(loadConfig({ LEXECON_RATE_LIMIT_RPM: '0' }).rateLimitRpm).toBe(0);
    expect(loadConfig({ LEXECON_RATE_LIMIT_RPM: '120' }).rateLimitRpm).toBe(120);
    expect(problemsFor(failure({ LEXECON_RATE_LIMIT_RPM: '-5' }), 'LEXECON_RATE_LIMIT_RPM')).toHaveLength(1);
    expect(problemsFor(failure({ LEXECON_RATE_LIMIT_RPM: 'lots' }), 'LEXECON_RATE_LIMIT_RPM')).toHaveLength(1);
  });

  it('refuses a retention below 183 days (EU AI Act Art. 19(1), 26(6)), naming why', () => {
    expect(loadConfig({}).retentionDays).toBe(3650);
    expect(loadConfig({ LEXECON_RETENTION_DAYS: '183' }).retentionDays).toBe(183);
    const problems = problemsFor(failure({ LEXECON_RETENTION_DAYS: '182' }), 'LEXECON_RETENTION_DAYS');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/at least 183 days.*Art\. 19\(1\)/);
  });

  it('bounds the body limit below at 1 KiB', () => {
    expect(loadConfig({ LEXECON_BODY_LIMIT: '1024' }).bodyLimit).toBe(1024);
    expect(loadConfig({ LEXECON_BODY_LIMIT: '5242880' }).bodyLimit).toBe(5242880);
    expect(problemsFor(failure({ LEXECON_BODY_LIMIT: '1023' }), 'LEXECON_BODY_LIMIT')).toHaveLength(1);
  });

  it('reads the shutdown timeout', () => {
    expect(loadConfig({ LEXECON_SHUTDOWN_TIMEOUT_MS: '2500' }).shutdownTimeoutMs).toBe(2500);
    expect(problemsFor(failure({ LEXECON_SHUTDOWN_TIMEOUT_MS: 'soon' }), 'LEXECON_SHUTDOWN_TIMEOUT_MS')).toHaveLength(
      1,
    );
  });
});

describe('loadConfig CORS origins', () => {
  it.each([
    ['*', '*'],
    [' * ', '*'],
    ['https://a.example', ['https://a.example']],
    ['https://a.example,https://b.example', ['https://a.example', 'https://b.example']],
    [' https://a.example , https://b.example ', ['https://a.example', 'https://b.example']],
    ['https://a.example,,https://b.example,', ['https://a.example', 'https://b.example']],
  ] as const)('%j → %j', (raw, expected) => {
    expect(loadConfig({ LEXECON_CORS_ORIGINS: raw }).corsOrigins).toEqual(expected);
  });

  it('is off when unset or empty', () => {
    expect(loadConfig({}).corsOrigins).toBeUndefined();
    expect(loadConfig({ LEXECON_CORS_ORIGINS: '' }).corsOrigins).toBeUndefined();
  });
});

describe('ConfigError', () => {
  it('lists every invalid variable at once', () => {
    const err = failure({
      LEXECON_PORT: '99999',
      LEXECON_DURABILITY: 'fast',
      LEXECON_LOG_LEVEL: 'loud',
      LEXECON_METRICS_TOKEN: 'short',
      LEXECON_RATE_LIMIT_RPM: '-5',
      LEXECON_BODY_LIMIT: '1',
      LEXECON_SHUTDOWN_TIMEOUT_MS: 'x',
      LEXECON_HOST: 'fine.example',
    });
    const names = [
      'LEXECON_PORT',
      'LEXECON_DURABILITY',
      'LEXECON_LOG_LEVEL',
      'LEXECON_METRICS_TOKEN',
      'LEXECON_RATE_LIMIT_RPM',
      'LEXECON_BODY_LIMIT',
      'LEXECON_SHUTDOWN_TIMEOUT_MS',
    ];
    for (const name of names) {
      expect(problemsFor(err, name), name).toHaveLength(1);
      expect(err.message).toContain(`  - ${name}:`);
    }
    expect(err.problems).toHaveLength(names.length);
    expect(problemsFor(err, 'LEXECON_HOST')).toEqual([]);
  });

  it('is an Error named ConfigError whose message starts with a summary line', () => {
    const err = failure({ LEXECON_PORT: 'x' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.message.split('\n')[0]).toBe('invalid configuration:');
    expect(err.message.split('\n')).toHaveLength(1 + err.problems.length);
  });

  it('a valid variable next to an invalid one does not hide the problem', () => {
    const err = failure({ LEXECON_PORT: '8080', LEXECON_DURABILITY: 'FULLY' });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^LEXECON_DURABILITY: /);
  });
});

describe('loadConfig: authentication settings', () => {
  it('defaults: MFA for admin and executive, 30-minute idle and 12-hour sessions, lockout after 5 for 15 minutes', () => {
    const c = loadConfig({});
    expect(c.mfaRequiredRoles).toEqual(['admin', 'executive']);
    expect(c.session).toEqual({ idleS: 1800, ttlS: 43200 });
    expect(c.login).toEqual({ maxFailures: 5, lockoutS: 900, ratePerMinute: 20 });
    expect(c.bootstrapAdmin).toBeUndefined();
    expect(c.oidc).toBeUndefined();
  });

  it('LEXECON_MFA_REQUIRED_ROLES: an empty value means no role (not the default); unknown roles are refused', () => {
    expect(loadConfig({ LEXECON_MFA_REQUIRED_ROLES: '' }).mfaRequiredRoles).toEqual([]);
    expect(loadConfig({ LEXECON_MFA_REQUIRED_ROLES: ' admin , auditor,admin ' }).mfaRequiredRoles).toEqual(['admin', 'auditor']);
    expect(problemsFor(failure({ LEXECON_MFA_REQUIRED_ROLES: 'admin,root' }), 'LEXECON_MFA_REQUIRED_ROLES')).toHaveLength(1);
    expect(problemsFor(failure({ LEXECON_MFA_REQUIRED_ROLES: 'agent' }), 'LEXECON_MFA_REQUIRED_ROLES')).toHaveLength(1);
  });

  it('LEXECON_BOOTSTRAP_ADMIN: username:password (the password may hold colons) that passes the password rule', () => {
    expect(loadConfig({ LEXECON_BOOTSTRAP_ADMIN: 'root:violet:harbour-42-trombone' }).bootstrapAdmin).toEqual({
      username: 'root',
      password: 'violet:harbour-42-trombone',
    });
    expect(problemsFor(failure({ LEXECON_BOOTSTRAP_ADMIN: 'no-colon' }), 'LEXECON_BOOTSTRAP_ADMIN')).toHaveLength(1);
    const weak = failure({ LEXECON_BOOTSTRAP_ADMIN: 'root:root123' });
    expect(problemsFor(weak, 'LEXECON_BOOTSTRAP_ADMIN')).toEqual([
      'LEXECON_BOOTSTRAP_ADMIN: password must be at least 12 characters',
      'LEXECON_BOOTSTRAP_ADMIN: password must not contain the username',
    ]);
  });

  const oidc = {
    LEXECON_OIDC_ISSUER: 'https://login.example.com/realms/acme',
    LEXECON_OIDC_CLIENT_ID: 'lexecon',
    LEXECON_OIDC_REDIRECT_URI: 'https://lexecon.example.com/auth/oidc/sso/callback',
    LEXECON_OIDC_ROLE_MAP: 'lexecon-admins=admin, auditors=auditor',
  };

  it('OIDC: a complete provider with its role map', () => {
    expect(loadConfig(oidc).oidc).toEqual({
      name: 'sso',
      issuer: 'https://login.example.com/realms/acme',
      clientId: 'lexecon',
      clientSecret: undefined,
      redirectUri: 'https://lexecon.example.com/auth/oidc/sso/callback',
      scopes: 'openid email profile',
      roleClaim: 'groups',
      roleMap: [
        { value: 'lexecon-admins', role: 'admin' },
        { value: 'auditors', role: 'auditor' },
      ],
      defaultRole: undefined,
    });
  });

  it('OIDC: lists every missing or unsafe setting', () => {
    const err = failure({ LEXECON_OIDC_ISSUER: 'http://idp.example.com', LEXECON_OIDC_ROLE_MAP: 'x=root' });
    expect(problemsFor(err, 'LEXECON_OIDC_ISSUER')).toEqual([
      'LEXECON_OIDC_ISSUER: must be an https URL (http is allowed only on a loopback address)',
    ]);
    expect(problemsFor(err, 'LEXECON_OIDC_CLIENT_ID')).toHaveLength(1);
    expect(problemsFor(err, 'LEXECON_OIDC_REDIRECT_URI')).toHaveLength(1);
    expect(problemsFor(err, 'LEXECON_OIDC_ROLE_MAP').length).toBeGreaterThanOrEqual(1);
    expect(loadConfig({ ...oidc, LEXECON_OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc?.issuer).toBe('http://127.0.0.1:9000');
    expect(problemsFor(failure({ LEXECON_OIDC_CLIENT_ID: 'x' }), 'LEXECON_OIDC_ISSUER')).toHaveLength(1);
    expect(problemsFor(failure({ ...oidc, LEXECON_OIDC_ROLE_MAP: '' }), 'LEXECON_OIDC_ROLE_MAP')).toHaveLength(1);
    expect(loadConfig({ ...oidc, LEXECON_OIDC_ROLE_MAP: '', LEXECON_OIDC_DEFAULT_ROLE: 'auditor' }).oidc?.defaultRole).toBe('auditor');
  });
});
