/**
 * The data set of `npm run bench:scale` (see scale.bench.ts): a data directory whose ledger holds N
 * entries, written through the real services, never by hand-written SQL. `buildAppWithServices` on the
 * directory, the `policies/seed-example.json` policy loaded, an API key and an auditor created, then
 * `services.decisions.decide(...)` called in process, many at a time, so that the ledger's group
 * commit batches them: every decision is a real one (policy evaluation, risk, its `decision` entry, the
 * decision row, its token when approved, its escalation and `escalation_created` entry when escalated).
 *
 * The mix (fixed by the decision's index, so two builds are alike): 50 actors `ai_agent:agent-<k>`;
 * `read:customer_profile`-like actions permitted by the policy (approved, with a token), `delete_records`
 * (forbidden: denied), an action no term names (denied by strict mode), `bulk_export` (escalated: a
 * second ledger entry and an open case); one decision in ten carries a `request_id`. Escalations get the
 * longest SLA (LEXECON_ESCALATION_SLA_HOURS at the maximum) so that the start-up SLA sweep of a later
 * `/ready` measurement has nothing due (its catch-up is proportional to the cases overdue, not to the
 * ledger, and is not what the cold start measures).
 *
 * The directory is reused when its `scale.json` says it holds at least N entries at this schema version;
 * a directory at an older schema version is migrated in place by the next start instead of being rebuilt
 * (once: the migration time then shows in that start only, and the marker is updated).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the set-up leaves in `<dir>/scale.json`, for the measurements. */
export interface ScaleMarker {
  entries: number;
  decisions: number;
  schemaVersion: number;
  auditor: { username: string; password: string };
  apiKeySecret: string;
  builtAt: string;
  buildSeconds: number;
}

export const AUDITOR_PASSWORD = 'violet-harbour-42-trombone-scale';

/** The environment every start on the data set uses (the spawned server reads it through config.ts). */
export function scaleEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LEXECON_DATA_DIR: dataDir,
    LEXECON_RATE_LIMIT_RPM: '0',
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_DURABILITY: 'full',
    LEXECON_MFA_REQUIRED_ROLES: '',
    LEXECON_ESCALATION_SLA_HOURS: 'critical=8760,high=8760,medium=8760,low=8760',
    ...extra,
  };
}

export function readMarker(dir: string): ScaleMarker | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'scale.json'), 'utf8')) as ScaleMarker;
  } catch {
    return undefined;
  }
}

function writeMarker(dir: string, marker: ScaleMarker): void {
  fs.writeFileSync(path.join(dir, 'scale.json'), `${JSON.stringify(marker, null, 2)}\n`);
}

const ACTORS = 50;

/** The i-th decision request of the data set. */
function request(i: number): Record<string, unknown> {
  const r = i % 100;
  const actor = `ai_agent:agent-${i % ACTORS}`;
  // 70 % approved, 15 % forbidden, 13 % unknown action (strict: denied), 2 % escalated.
  const action = r < 70 ? 'read_customer' : r < 85 ? 'delete_records' : r < 98 ? `write:note-${i % 7}` : 'bulk_export';
  return {
    actor,
    proposed_action: action,
    tool: r % 3 === 0 ? 'crm' : 'warehouse',
    resource: `customer/${i}`,
    ...(i % 10 === 0 ? { request_id: `scale-${i}` } : {}),
    ...(i % 4 === 0 ? { context: { session_id: `s-${i % 1000}`, mfa_verified: true } } : {}),
  };
}

/**
 * Build (or reuse) the data set in `dir` with at least `entries` ledger entries. Prints progress
 * (entries/s, ETA) while it builds. Returns the marker.
 */
export async function ensureDataSet(
  dir: string,
  entries: number,
  log: (line: string) => void,
  /** Added to the environment of the build (e.g. LEXECON_DATABASE_URL: the data set on PostgreSQL). */
  extraEnv: Record<string, string> = {},
): Promise<ScaleMarker> {
  const [{ buildAppWithServices }, { loadConfig }, { allMigrations }] = await Promise.all([
    import('../src/app.js'),
    import('../src/config.js'),
    import('../src/migrations.js'),
  ]);
  const existing = readMarker(dir);
  if (existing && existing.entries >= entries) {
    if (existing.schemaVersion === allMigrations.length) return existing;
    log(`data set in ${dir} is at schema version ${existing.schemaVersion}; migrating it in place to ${allMigrations.length}`);
    const started = performance.now();
    const { app } = await buildAppWithServices(loadConfig(scaleEnv(path.join(dir, 'data'), extraEnv)), { testOnlyRsaModulusLength: 2048 });
    await app.close();
    log(`migrated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const marker = { ...existing, schemaVersion: allMigrations.length };
    writeMarker(dir, marker);
    return marker;
  }
  if (existing) log(`data set in ${dir} has ${existing.entries} entries, fewer than ${entries}: rebuilding it`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dataDir = path.join(dir, 'data');
  // Durability NORMAL for the build (SQLite: WAL, no fsync per commit): the same append path, a faster
  // set-up. On PostgreSQL (extraEnv.LEXECON_DATABASE_URL) the setting does not apply: every commit is durable.
  const config = loadConfig(scaleEnv(dataDir, { LEXECON_DURABILITY: 'normal', ...extraEnv }));
  const started = performance.now();
  const { app, services } = await buildAppWithServices(config, { testOnlyRsaModulusLength: 2048 });
  const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8')) as unknown;
  await services.policies.load(policy, 'bench-scale');
  const { secret } = await services.auth.createApiKey({ name: 'scale', actorPattern: 'ai_agent:*' }, 'system');
  const auditor = { username: 'scale-auditor', password: AUDITOR_PASSWORD };
  await services.auth.createUser({ ...auditor, role: 'auditor' }, 'system', 'cli');
  const principal = await services.auth.authenticate(secret);
  if (principal === undefined) throw new Error('the API key just created does not authenticate');

  const head = () => (services.ledger.status.state === 'ok' ? services.ledger.status.headSeq + 1 : 0);
  const IN_FLIGHT = 512;
  let next = 0;
  let lastLog = performance.now();
  let lastEntries = head();
  const worker = async () => {
    while (head() < entries) {
      const i = next++;
      await services.decisions.decide(request(i) as never, principal);
      const now = performance.now();
      if (now - lastLog >= 5000) {
        const n = head();
        const rate = ((n - lastEntries) * 1000) / (now - lastLog);
        const eta = rate > 0 ? (entries - n) / rate : Infinity;
        log(`  ${n.toLocaleString('en')} / ${entries.toLocaleString('en')} entries, ${rate.toFixed(0)} entries/s, ETA ${eta.toFixed(0)} s`);
        [lastLog, lastEntries] = [now, n];
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await services.ledger.drain();
  const decisions = Number((await services.port.one<{ n: number }>('SELECT count(*) AS n FROM decisions'))!.n);
  const total = head();
  await app.close();
  const buildSeconds = (performance.now() - started) / 1000;
  log(`built ${total.toLocaleString('en')} entries (${decisions.toLocaleString('en')} decisions) in ${buildSeconds.toFixed(1)} s (${(total / buildSeconds).toFixed(0)} entries/s)`);
  const marker: ScaleMarker = {
    entries: total,
    decisions,
    schemaVersion: allMigrations.length,
    auditor,
    apiKeySecret: secret,
    builtAt: new Date().toISOString(),
    buildSeconds,
  };
  writeMarker(dir, marker);
  return marker;
}
