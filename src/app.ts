import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { allMigrations } from './migrations.js';
import { ApiKeyCache } from './modules/auth/api-key-cache.js';
import { installAuthGuard, type RouteAccess } from './modules/auth/auth.guard.js';
import { AuthRepo } from './modules/auth/auth.repo.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { argon2Hasher, type PasswordHasher } from './modules/auth/password.js';
import { OidcClient } from './modules/auth/oidc.client.js';
import { oidcRoutes } from './modules/auth/oidc.routes.js';
import { usersRoutes } from './modules/auth/users.routes.js';
import { PolicyRepo } from './modules/policy/policy.repo.js';
import { policyRoutes } from './modules/policy/policy.routes.js';
import { PolicyService } from './modules/policy/policy.service.js';
import { riskRoutes } from './modules/risk/risk.routes.js';
import { complianceRoutes } from './modules/compliance/compliance.routes.js';
import { ComplianceRepo } from './modules/compliance/compliance.repo.js';
import { ComplianceService } from './modules/compliance/compliance.service.js';
import { DEFAULT_CONSOLE_DIR } from './modules/console/console.assets.js';
import { consoleRoutes } from './modules/console/console.routes.js';
import { keysRoutes } from './modules/tokens/keys.routes.js';
import { TokenRepo } from './modules/tokens/tokens.repo.js';
import { tokenRoutes } from './modules/tokens/tokens.routes.js';
import { TokenService } from './modules/tokens/tokens.service.js';
import { DecisionMetrics } from './modules/decision/decision.metrics.js';
import { DecisionRepo } from './modules/decision/decision.repo.js';
import { decisionRoutes } from './modules/decision/decision.routes.js';
import { DecisionService } from './modules/decision/decision.service.js';
import type { DecisionChanges } from './modules/decision/decision.changes.js';
import { registerEscalationMetrics } from './modules/escalation/escalation.metrics.js';
import { SlaMonitor } from './modules/escalation/escalation.monitor.js';
import { EscalationRepo } from './modules/escalation/escalation.repo.js';
import { escalationRoutes } from './modules/escalation/escalation.routes.js';
import { EscalationService } from './modules/escalation/escalation.service.js';
import { HaltRepo } from './modules/oversight/halt.repo.js';
import { InterventionRepo } from './modules/oversight/intervention.repo.js';
import { InterventionService } from './modules/oversight/intervention.service.js';
import { OversightMetricsRepo } from './modules/oversight/oversight-metrics.repo.js';
import { OversightMetricsService } from './modules/oversight/oversight-metrics.service.js';
import { oversightRoutes } from './modules/oversight/oversight.routes.js';
import { OverrideRepo } from './modules/override/override.repo.js';
import { overrideRoutes } from './modules/override/override.routes.js';
import { OverrideService } from './modules/override/override.service.js';
import { OverrideSweeper } from './modules/override/override.sweeper.js';
import { OversightService } from './modules/oversight/oversight.service.js';
import { RiskService } from './modules/risk/risk.service.js';
import { EuAiActRepo } from './modules/eu-ai-act/eu-ai-act.repo.js';
import { euAiActRoutes } from './modules/eu-ai-act/eu-ai-act.routes.js';
import { EuAiActService } from './modules/eu-ai-act/eu-ai-act.service.js';
import { RetentionRepo } from './modules/retention/retention.repo.js';
import { retentionRoutes } from './modules/retention/retention.routes.js';
import { RetentionService } from './modules/retention/retention.service.js';
import { ledgerRoutes } from './modules/ledger/ledger.routes.js';
import { ExportFiles } from './modules/evidence/evidence.files.js';
import { EvidenceRepo } from './modules/evidence/evidence.repo.js';
import { evidenceRoutes } from './modules/evidence/evidence.routes.js';
import { EvidenceService } from './modules/evidence/evidence.service.js';
import { createLedgerMetrics } from './modules/ledger/ledger.metrics.js';
import { LedgerService } from './modules/ledger/ledger.service.js';
import { transparencyRoutes } from './modules/transparency/transparency.routes.js';
import { CheckpointService, defaultOrigin } from './modules/transparency/checkpoints.service.js';
import { TreeIntegrator } from './modules/transparency/transparency.integrator.js';
import { TransparencyService } from './modules/transparency/transparency.service.js';
import { ReceiptService } from './modules/transparency/receipts.service.js';
import { systemClock, type Clock } from './platform/clock.js';
import { KeyManager, type KeyCreatedEvent } from './platform/crypto/keys.js';
import { SecretBox } from './platform/crypto/secret-box.js';
import { requestLogSerializer } from './platform/log-redaction.js';
import type { Db } from './platform/db/connection.js';
import type { DbPort, Queryable } from './platform/db/port.js';
import { exclusiveOn } from './platform/db/exclusive-run.js';
import { openStorage } from './storage.js';
import { frameworkErrorHandler, installErrorHandling } from './platform/errors.js';
import { healthRoutes } from './platform/health.routes.js';
import { installInputGuard } from './platform/input-guard.js';
import { registerHttpPlatform, requestIdGenerator } from './platform/http.js';
import { createIdFactory } from './platform/ids.js';
import { createMetricsRegistry, installMetrics } from './platform/metrics.js';
import { registerOpenApi } from './platform/openapi.js';
import { VERSION } from './platform/version.js';

export interface AppOverrides {
  clock?: Clock;
  /** An open database the caller owns (tests); otherwise the app opens `config.dbPath` and closes it. */
  db?: Db;
  /** Password hashing (tests use cheap argon2id parameters); default: argon2id with OWASP parameters. */
  passwordHasher?: PasswordHasher;
  /** TESTS ONLY: the SQLite port refuses a call on itself from inside its own transaction instead of hanging (costs speed on Node 20). */
  testOnlyDetectSelfWait?: boolean;
  /** TESTS ONLY: a smaller RSA modulus for the key manager (RSA-4096 takes seconds to generate). */
  testOnlyRsaModulusLength?: number;
  /** TESTS ONLY: on PostgreSQL, do not LISTEN for API keys revoked by other replicas (the key cache's TTL alone bounds them). */
  testOnlyNoApiKeyNotices?: boolean;
  /** Where the log lines go (tests capture them); default stdout. */
  logStream?: { write(line: string): void };
  /** The built oversight console to serve at /console (tests build their own); default dist/console. */
  consoleDir?: string;
}

/** The services the app wires together, handed to callers that drive them directly (tests, tooling). */
export interface AppServices {
  ledger: LedgerService;
  /** Integrates committed entries into the Merkle tree (issue 19); tests call `integrate()` to have it now. */
  treeIntegrator: TreeIntegrator;
  /** Signed checkpoints of the Merkle tree (issue 19). */
  checkpoints: CheckpointService;
  auth: AuthService;
  policies: PolicyService;
  decisions: DecisionService;
  tokens: TokenService;
  oversight: OversightService;
  /** The persisted halt state, with this process's memory of it (`halt.memory`: what decisions start from). */
  halt: HaltRepo;
  interventions: InterventionService;
  keys: KeyManager;
  escalations: EscalationService;
  overrides: OverrideService;
  /** The override expiry timer; `sweep()` lapses what is due now (tests drive it with a manual clock). */
  overrideSweeper: OverrideSweeper;
  /** Legal holds, Art 73 incidents and the retention job (`run()` purges now; tests drive it with a manual clock). */
  retention: RetentionService;
  /** In-process notices that a decision's effective outcome may have changed (long-polls wait on them). */
  changes: DecisionChanges;
  /** Every registered route with its access declaration (for the route/role table tests). */
  routes(): RouteAccess[];
  /** The storage port every repository writes through (tests seed and inspect rows with it on either backend). */
  port: DbPort;
}

/** Build the Fastify application (see {@link buildAppWithServices}). */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  return (await buildAppWithServices(config, overrides)).app;
}

/**
 * Build the Fastify application: platform first (errors, HTTP hardening, OpenAPI, metrics), then the
 * modules, wired explicitly. Opens and migrates the database and starts the ledger, which appends a
 * `system_startup` entry.
 */
export async function buildAppWithServices(
  config: Config,
  overrides: AppOverrides = {},
): Promise<{ app: FastifyInstance; services: AppServices }> {
  const clock = overrides.clock ?? systemClock;
  const ids = createIdFactory(clock);

  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
      ],
      serializers: { req: requestLogSerializer },
      ...(overrides.logStream ? { stream: overrides.logStream } : {}),
    },
    bodyLimit: config.bodyLimit,
    genReqId: requestIdGenerator(() => ids.next('req')),
    requestIdHeader: false,
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app, { bodyLimit: config.bodyLimit });
  // Before every route: too-deep JSON and lone surrogates are a 400 before any schema or service sees them.
  installInputGuard(app);
  await registerHttpPlatform(app, config);
  // The guard goes before every route: it records each route's access declaration as it is added.
  let auth: AuthService | undefined;
  const guard = installAuthGuard(app, {
    authenticate: async (credential, opts) => auth?.authenticate(credential, opts),
  });
  await registerOpenApi(app);

  // The database (SQLite, or PostgreSQL shared by replicas), migrated; everything dialect-specific is in storage.ts.
  const registry = createMetricsRegistry();
  const ledgerMetrics = createLedgerMetrics(registry);
  const storage = await openStorage(config, {
    ...(overrides.db ? { db: overrides.db } : {}),
    logger: app.log.child({ module: 'storage' }),
    detectSelfWait: overrides.testOnlyDetectSelfWait === true,
    noApiKeyNotices: overrides.testOnlyNoApiKeyNotices === true,
    onHeadLockWait: (seconds) => ledgerMetrics.headLockWaitSeconds.observe(seconds),
  });
  // THE storage port of this process: every repository writes through it, and the ledger's batch
  // transaction hands it to the modules' hooks.
  const port = storage.port;
  // Periodic work (SLA sweep, override lapses, retention) runs on one replica at a time.
  const exclusive = exclusiveOn(port);
  // Keys created at this start are named in the system_startup entry (rotations are ledgered apart).
  const createdKeys: KeyCreatedEvent[] = [];
  let keys: KeyManager;
  let secrets: SecretBox;
  try {
    // Creates the keys directory (0700) when it is missing. Replicas share it (a shared secret mount).
    keys = KeyManager.open(config.keysDir, {
      clock,
      onKeyCreated: (k) => createdKeys.push(k),
      ...(overrides.testOnlyRsaModulusLength ? { testOnlyRsaModulusLength: overrides.testOnlyRsaModulusLength } : {}),
    });
    // NOTE: generating RSA-4096 takes seconds, once, at the first start; after that both keys load.
    for (const alg of ['Ed25519', 'RSA-PSS-SHA256'] as const) keys.activeKid(alg);
    // Before the ledger starts: a key file others can read refuses the start without a ledger entry.
    secrets = SecretBox.fromKeyFile(path.join(config.keysDir, 'secret-box.key'));
  } catch (err) {
    await storage.close();
    throw err;
  }

  installMetrics(app, { registry, token: config.metricsToken });

  // The Merkle tree over the ledger (issue 19) is integrated off the commit path, in its own transactions.
  const treeIntegrator = new TreeIntegrator({
    port,
    logger: app.log.child({ module: 'transparency' }),
    intervalMs: config.treeIntegrateMs,
    onCorrupt: (reason) => ledger.markCorrupt(ledger.status.state === 'ok' ? ledger.status.headSeq : -1, reason),
  });
  const ledger = new LedgerService({
    repo: storage.ledgerRepo,
    clock,
    logger: app.log.child({ module: 'ledger' }),
    metrics: ledgerMetrics,
    onCommitted: (entries) => treeIntegrator.noteCommitted(entries.length),
  });
  await ledger.start();
  // Checks the stored tree against the ledger (a larger tree: the ledger's tail was cut off, corrupt),
  // then catches up in the background: /ready does not wait for a large backlog.
  if (ledger.status.state === 'ok') await treeIntegrator.start();
  if (ledger.status.state === 'ok') {
    await ledger.append('system_startup', {
      version: VERSION,
      node_version: process.version,
      durability: config.durability,
      schema_version: allMigrations.length,
      keys: keys.publicKeys().filter((k) => k.status === 'active').map((k) => ({ kid: k.kid, alg: k.alg })),
      keys_created: createdKeys.map((k) => k.kid),
      // Tamper evidence: append-only triggers someone dropped or altered, re-created at this start.
      ledger_guards_repaired: ledger.guardRepairs.map((r) => ({ name: r.name, problem: r.problem })),
    });
  }

  const authRepo = new AuthRepo(port);
  // Agents' keys, in memory for a TTL; revocations evict them here and (PostgreSQL) on every replica.
  const apiKeyCache = new ApiKeyCache({ ttlMs: config.authCacheTtlMs });
  storage.apiKeyNotices.attach(apiKeyCache);
  auth = new AuthService({
    repo: authRepo,
    events: ledger,
    clock,
    ids,
    hasher: overrides.passwordHasher ?? argon2Hasher(),
    secrets,
    apiKeyCache,
    settings: {
      session: config.session,
      login: config.login,
      mfaRequiredRoles: config.mfaRequiredRoles,
      totpIssuer: 'Lexecon',
    },
  });
  if (ledger.status.state === 'ok') {
    const admin = await auth.bootstrap(config.bootstrapAdmin);
    if (admin) app.log.info({ user_id: admin.userId }, 'bootstrap admin created');
  }

  const notices = storage.stateNotices;
  const policies = new PolicyService({ repo: new PolicyRepo(port), events: ledger, clock, ids, notices });
  const interventions = new InterventionService({ repo: new InterventionRepo(port), keys, clock, ids });
  const halt = new HaltRepo(port);
  const halted = async (q?: Queryable) => (await halt.get(q)).halted;
  const oversight = new OversightService({ halt, interventions, ledger, notices });
  // The halt state and active version every decision starts from follow other replicas' changes.
  notices.onNotice((n) => {
    if (n.kind === 'halt') halt.memory.offer(n.value === '1', n.seq);
    else policies.memory.offer(n.value === '-' ? null : n.value, n.seq);
  });
  notices.onResync(() => {
    halt.memory.refresh().catch((err: unknown) => app.log.warn({ err }, 'halt state re-read failed'));
    policies.memory.refresh().catch((err: unknown) => app.log.warn({ err }, 'active policy re-read failed'));
  });
  const tokens = new TokenService({
    repo: new TokenRepo(port),
    keys,
    clock,
    secrets,
    events: ledger,
    ttlS: config.tokenTtlS,
    tokensInvalidBefore: async (q) => (await halt.get(q)).tokensInvalidBefore,
  });
  const escalationRepo = new EscalationRepo(port);
  const decisionRepo = new DecisionRepo(port);
  const decisions = new DecisionService({
    repo: decisionRepo,
    escalations: escalationRepo,
    tokens,
    policies,
    ledger,
    clock,
    ids,
    halted,
    haltMemory: halt.memory,
    metrics: new DecisionMetrics(registry),
    slaHours: config.escalation.slaHours,
    // Called only when a decision is read; overrideService is created right after (before any read).
    overrides: {
      forDecision: (decisionId, q) => overrideService.forDecision(decisionId, q),
      forDecisions: (decisionIds) => overrideService.forDecisions(decisionIds),
    },
  });
  const changes = storage.changes;
  const overrideService = new OverrideService({
    repo: new OverrideRepo(port),
    decisions,
    escalations: escalationRepo,
    tokens,
    interventions,
    ledger,
    changes,
    halted,
    clock,
    ids,
    logger: app.log.child({ module: 'override' }),
    settings: { twoPerson: config.overrideTwoPerson },
    exclusive,
  });
  const escalations = new EscalationService({
    repo: escalationRepo,
    decisions,
    overrides: overrideService,
    tokens,
    interventions,
    users: authRepo,
    ledger,
    changes,
    halted,
    clock,
    ids,
    logger: app.log.child({ module: 'escalation' }),
    settings: { slaHours: config.escalation.slaHours, chain: config.escalation.chain },
    exclusive,
  });
  registerEscalationMetrics(registry, escalationRepo, clock);
  // Resilient to restarts: whatever fell due while the process was down is handled before serving.
  if (ledger.status.state === 'ok') await escalations.sweep();
  const slaMonitor = new SlaMonitor(escalations, config.escalation.checkIntervalS, app.log.child({ module: 'sla-monitor' }));
  slaMonitor.start();
  const overrideSweeper = new OverrideSweeper(overrideService, clock, app.log.child({ module: 'override-sweeper' }));
  // Overrides that lapsed while the process was down are recorded before serving.
  if (ledger.status.state === 'ok') await overrideSweeper.start();

  await app.register(healthRoutes, {
    database: () => storage.ping(),
    keysDir: config.keysDir,
    ledger: () => {
      const s = ledger.status;
      if (s.state === 'ok') return { ok: true, detail: `head seq ${s.headSeq}` };
      if (s.state === 'corrupt') return { ok: false, detail: s.reason };
      return { ok: false, detail: s.state };
    },
  });
  await app.register(ledgerRoutes, { ledger });
  const ed25519Kid = keys.activeKid('Ed25519');
  const checkpoints = new CheckpointService({
    q: port,
    events: ledger,
    clock,
    logger: app.log.child({ module: 'checkpoints' }),
    origin: config.logOrigin ?? defaultOrigin(ed25519Kid),
    key: () => {
      const signer = keys.signer('Ed25519');
      return { kid: signer.kid, publicKey: keys.publicKeyObject(signer.kid)!, sign: signer.sign };
    },
    publicKeyOf: (kid) => keys.publicKeyObject(kid),
    intervalS: config.checkpointIntervalS,
    exclusive,
  });
  if (ledger.status.state === 'ok') checkpoints.start();
  const transparency = new TransparencyService(port);
  await app.register(transparencyRoutes, { transparency, checkpoints });
  const receipts = new ReceiptService({
    ledger,
    transparency,
    checkpoints,
    publicKeyPem: (kid) => keys.publicKeys().find((k) => k.kid === kid)?.public_key_pem,
    checkpointIntervalS: config.checkpointIntervalS,
  });
  await app.register(authRoutes, { auth, loginRatePerMinute: config.login.ratePerMinute });
  await app.register(usersRoutes, { auth, oidcProvider: config.oidc?.name });
  await app.register(policyRoutes, { policies });
  await app.register(keysRoutes, { keys });
  await app.register(decisionRoutes, { decisions, tokens, changes, receipts });
  await app.register(escalationRoutes, { escalations });
  await app.register(tokenRoutes, { tokens });
  await app.register(oversightRoutes, {
    oversight,
    interventions,
    metrics: new OversightMetricsService({ repo: new OversightMetricsRepo(port), clock, rubberStampS: config.rubberStampS }),
  });
  await app.register(overrideRoutes, { overrides: overrideService });
  await app.register(riskRoutes, { risk: new RiskService({ policies, decisions: { actorOf: async (id) => (await decisionRepo.byId(id))?.actor }, events: ledger, ids }) });
  const euAiAct = new EuAiActService({
    repo: new EuAiActRepo(port),
    ledger,
    policies,
    keys,
    metrics: new OversightMetricsService({ repo: new OversightMetricsRepo(port), clock, rubberStampS: config.rubberStampS }),
    clock,
    ids,
    settings: {
      retentionDays: config.retentionDays,
      mfaRequiredRoles: config.mfaRequiredRoles,
      escalationChain: config.escalation.chain,
      slaHours: config.escalation.slaHours,
      overrideTwoPerson: config.overrideTwoPerson,
      rubberStampS: config.rubberStampS,
      tokenTtlS: config.tokenTtlS,
      durability: config.durability,
    },
    halted,
    routes: () => guard.routes(),
  });
  await app.register(complianceRoutes, {
    compliance: new ComplianceService({
      repo: new ComplianceRepo(port),
      ledger,
      policies,
      keys,
      routes: () => guard.routes(),
      clock,
      annexIv: () => euAiAct.annexIvCompleteness(),
      settings: {
        retentionDays: config.retentionDays,
        durability: config.durability,
        mfaRequiredRoles: config.mfaRequiredRoles,
        tokenTtlS: config.tokenTtlS,
        escalationChain: config.escalation.chain,
        slaCheckIntervalS: config.escalation.checkIntervalS,
      },
    }),
  });
  await app.register(euAiActRoutes, { euAiAct });
  const exportsDir = path.join(config.dataDir, 'exports');
  await app.register(evidenceRoutes, {
    evidence: new EvidenceService({
      repo: new EvidenceRepo(port),
      keys,
      ledger,
      clock,
      ids,
      exportsDir,
      softwareVersion: VERSION,
    }),
  });
  const retention = new RetentionService({
    repo: new RetentionRepo(port),
    ledger,
    clock,
    ids,
    logger: app.log.child({ module: 'retention' }),
    settings: { retentionDays: config.retentionDays, intervalS: config.retentionIntervalS },
    exportPackages: new ExportFiles(exportsDir),
    exclusive,
  });
  await app.register(retentionRoutes, { retention });
  if (ledger.status.state === 'ok') await retention.start();
  await app.register(oidcRoutes, {
    auth,
    repo: authRepo,
    clock,
    settings: config.oidc,
    client: config.oidc && new OidcClient(config.oidc, { now: () => new Date(clock.now()) }),
    mfaRequiredRoles: config.mfaRequiredRoles,
    loginRatePerMinute: config.login.ratePerMinute,
  });
  // The oversight console (issue 18): a static app on the public routes above, with the user's own session.
  await app.register(consoleRoutes, { dir: overrides.consoleDir ?? DEFAULT_CONSOLE_DIR, oidcProvider: config.oidc?.name });

  // Long-polls (GET /decide/:id?wait=N) answer now instead of holding the shutdown.
  app.addHook('preClose', async () => changes.close());
  app.addHook('onClose', async () => {
    await slaMonitor.stop();
    await overrideSweeper.stop();
    await retention.stop();
    await checkpoints.stop();
    await treeIntegrator.close();
    await ledger.close();
    // Waits for a transaction still open on the port, then closes the connection(s) (not a connection the caller owns).
    await storage.close();
  });
  return { app, services: { ledger, treeIntegrator, checkpoints, auth, policies, decisions, tokens, oversight, halt, interventions, keys, escalations, changes, overrides: overrideService, overrideSweeper, retention, routes: guard.routes, port } };
}
