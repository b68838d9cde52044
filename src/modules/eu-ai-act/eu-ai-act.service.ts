import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import type { Queryable } from '../../platform/db/port.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { VERSION } from '../../platform/version.js';
import type { RouteAccess, UserPrincipal } from '../auth/auth.guard.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { OversightMetricsService } from '../oversight/oversight-metrics.service.js';
import type { PolicyService } from '../policy/policy.service.js';
import { caseMisses, caseName, type PolicyTestCase } from '../policy/policy.test-cases.js';
import {
  annexIvGaps,
  buildTechnicalDocumentation,
  documentSha256,
  profileProblems,
  type GeneratedFacts,
  type SystemProfileContent,
  type TechnicalDocumentation,
} from './annex-iv.js';
import { ART12_PURPOSES, art12Counts, art14Measures, type Art12Counts, type Art14Measure, type OversightConfiguration, type OversightFigures } from './articles.js';
import type { EuAiActRepo, ProfileVersionRow, TestRunRow, Window } from './eu-ai-act.repo.js';

/** Art 19(1), Art 26(6): logs are kept at least six months. */
export const RETENTION_FLOOR_DAYS = 183;

const DEFAULT_WINDOW_MS = 30 * 86_400_000;
const EPOCH = '1970-01-01T00:00:00.000Z';

/** Ledger event types that make the change log (Annex IV point 6). */
const CHANGE_EVENT_TYPES = ['policy_loaded', 'system_profile_updated', 'key_created', 'key_rotated', 'policy_test_recorded', 'compliance_scope_changed'] as const;

/** The configuration the documentation and the reports describe (from `Config`). */
export interface EuAiActSettings {
  retentionDays: number;
  mfaRequiredRoles: readonly string[];
  escalationChain: readonly string[];
  slaHours: Readonly<Record<string, number>>;
  overrideTwoPerson: boolean;
  rubberStampS: number;
  tokenTtlS: number;
  durability: string;
}

export interface EuAiActServiceDeps {
  repo: EuAiActRepo;
  ledger: LedgerService;
  policies: PolicyService;
  keys: KeyManager;
  metrics: OversightMetricsService;
  clock: Clock;
  ids: IdFactory;
  settings: EuAiActSettings;
  halted: (q?: Queryable) => Promise<boolean>;
  /** Every registered route with its access (the roles of stop, resume and override are read from it). */
  routes: () => RouteAccess[];
}

export interface StoredProfile extends SystemProfileContent {
  version: number;
  profile_sha256: string;
  updated_by: string;
  updated_at: string;
  ledger_seq: number;
}

export interface TestRunView {
  run_id: string;
  policy_version_hash: string;
  total: number;
  passed: number;
  failed: number;
  at: string;
  recorded_by: string;
  record_sha256: string;
  kid: string;
  signature: string;
  ledger_seq: number;
  /** Checked now: the record's hash matches and its Ed25519 signature verifies against `kid`. */
  verified: boolean;
  cases: Array<{ name: string; expected: string; outcome: string; passed: boolean; misses: string[] }>;
}

export interface Art12Report extends Art12Counts {
  since: string;
  until: string;
  purposes: Record<string, string>;
  retention: { retention_days: number; floor_days: number; meets_floor: boolean };
  legal_holds: { tracked: boolean; active: Array<{ hold_id: string; scope: string; reason: string; created_by: string; created_at: string }> };
  ledger_verification: { valid: boolean; entries_checked: number; head_seq: number | null; head_hash: string | null; first_invalid: { seq: number; entry_id: string; code: string; reason: string } | null };
}

export interface Art14Report {
  since: string;
  until: string;
  measures: Art14Measure[];
  figures: OversightFigures;
}

function toStored(row: ProfileVersionRow): StoredProfile {
  return {
    ...(JSON.parse(row.profile) as SystemProfileContent),
    version: row.version,
    profile_sha256: row.profileSha256,
    updated_by: row.updatedBy,
    updated_at: row.updatedAt,
    ledger_seq: row.ledgerSeq,
  };
}

/** How often a profile update starts over when another replica stored a version meanwhile. */
const MAX_PROFILE_RETRIES = 3;

/** The latest profile version moved between reading it and storing the next one (another replica). */
class ProfileRaced extends Error {}

/** Parse an optional RFC 3339 instant to its ISO form. */
function iso(value: string): string {
  return new Date(Date.parse(value)).toISOString();
}

/**
 * The EU AI Act outputs: the governed system's profile (versioned, ledgered), signed policy test runs,
 * the Art 11 technical documentation, and the Art 12 and Art 14 reports, all read from live data.
 */
export class EuAiActService {
  /** Serializes profile updates (each takes the next version number). */
  private profileQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: EuAiActServiceDeps) {}

  /** The current profile; 404 when none was ever stored. */
  async profile(): Promise<StoredProfile> {
    const row = await this.deps.repo.latestProfile();
    if (!row) throw errors.notFound('System profile');
    return toStored(row);
  }

  /** Versions, newest first, paged by version number. */
  async profileVersions(beforeVersion: number | undefined, limit: number): Promise<{ items: StoredProfile[]; nextCursor: string | null }> {
    const rows = await this.deps.repo.profileVersions(beforeVersion, limit + 1);
    const page = rows.slice(0, limit);
    return { items: page.map(toStored), nextCursor: rows.length > limit ? String(page[page.length - 1]!.version) : null };
  }

  /**
   * Store a new version of the profile (every call, even with identical content), ledgered as
   * `system_profile_updated` with its version and SHA-256 (never the text), durable together.
   */
  updateProfile(content: SystemProfileContent, user: Pick<UserPrincipal, 'userId'>): Promise<StoredProfile> {
    const problems = profileProblems(content);
    if (problems.length > 0) {
      throw errors.validation('Invalid system profile', problems.map((p) => ({ in: 'body', field: p.path, message: p.message, code: 'custom' })));
    }
    const canonical = canonicalize(content);
    const hash = sha256Hex(canonical);
    const attempt = async (): Promise<StoredProfile> => {
      const previous = await this.deps.repo.latestProfile();
      const version = (previous?.version ?? 0) + 1;
      const at = isoTimestamp(this.deps.clock);
      let stored: ProfileVersionRow | undefined;
      await this.deps.ledger.append(
        'system_profile_updated',
        {
          version,
          profile_sha256: hash,
          previous_sha256: previous?.profileSha256 ?? null,
          classification: content.classification,
          updated_by: user.userId,
        },
        {
          withEntries: async ([entry], tx) => {
            // Another replica may have stored a version since `previous` was read: the entry names the
            // version it follows, so re-check it here, in the transaction, and start over when it moved.
            const latest = await this.deps.repo.latestProfile(tx);
            if ((latest?.version ?? 0) !== (previous?.version ?? 0)) throw new ProfileRaced();
            stored = { version, profile: canonical, profileSha256: hash, updatedBy: user.userId, updatedAt: at, ledgerSeq: entry!.seq };
            await this.deps.repo.insertProfile(tx!, stored);
          },
        },
      );
      return toStored(stored!);
    };
    const run = async (): Promise<StoredProfile> => {
      for (let retries = 0; ; retries++) {
        try {
          return await attempt();
        } catch (err) {
          if (!(err instanceof ProfileRaced) || retries >= MAX_PROFILE_RETRIES) throw err;
        }
      }
    };
    const result = this.profileQueue.then(run, run);
    this.profileQueue = result.catch(() => undefined);
    return result;
  }

  /**
   * Run test cases against a stored policy version (default: the active one), sign the run with the
   * Ed25519 key and record it, ledgered as `policy_test_recorded` (Annex IV 2.g: dated, signed reports).
   */
  async recordTestRun(input: { policyVersionHash?: string | undefined; cases: PolicyTestCase[] }, user: Pick<UserPrincipal, 'userId'>): Promise<TestRunView> {
    const { policies, keys, clock, ids, ledger, repo } = this.deps;
    const results = [];
    let versionHash = input.policyVersionHash;
    let policyId = '';
    for (const [i, c] of input.cases.entries()) {
      const evaluated = await policies.evaluate(c.request, versionHash);
      versionHash = evaluated.versionHash;
      policyId = evaluated.policy.policy_id;
      const misses = caseMisses(c, evaluated.result);
      results.push({
        name: caseName(c, i),
        expected: typeof c.expect === 'string' ? c.expect : c.expect.outcome,
        outcome: evaluated.result.outcome,
        passed: misses.length === 0,
        misses,
      });
    }
    if (versionHash === undefined) throw errors.validation('Invalid body', [{ in: 'body', field: 'cases', message: 'at least one case is required', code: 'custom' }]);
    const passed = results.filter((r) => r.passed).length;
    const record = {
      run_id: ids.next('tst'),
      policy_id: policyId,
      policy_version_hash: versionHash,
      at: isoTimestamp(clock),
      recorded_by: user.userId,
      total: results.length,
      passed,
      failed: results.length - passed,
      cases: results,
    };
    const canonical = canonicalize(record);
    const recordSha256 = sha256Hex(canonical);
    const signer = keys.signer('Ed25519');
    const signature = signer.sign(Buffer.from(canonical, 'utf8')).toString('base64');
    let row: TestRunRow | undefined;
    await ledger.append(
      'policy_test_recorded',
      {
        run_id: record.run_id,
        policy_id: policyId,
        policy_version_hash: versionHash,
        total: record.total,
        passed: record.passed,
        failed: record.failed,
        record_sha256: recordSha256,
        recorded_by: user.userId,
        kid: signer.kid,
        signature,
      },
      {
        withEntries: async ([entry], tx) => {
          row = {
            runId: record.run_id,
            policyVersionHash: versionHash,
            total: record.total,
            passed: record.passed,
            failed: record.failed,
            at: record.at,
            recordedBy: user.userId,
            record: canonical,
            recordSha256,
            kid: signer.kid,
            signature,
            ledgerSeq: entry!.seq,
          };
          await repo.insertTestRun(tx!, row);
        },
      },
    );
    return this.testRunView(row!);
  }

  private testRunView(row: TestRunRow): TestRunView {
    const hashOk = sha256Hex(row.record) === row.recordSha256;
    const sigOk = this.deps.keys.verify(row.kid, Buffer.from(row.record, 'utf8'), Buffer.from(row.signature, 'base64'));
    const record = JSON.parse(row.record) as { cases: TestRunView['cases'] };
    return {
      run_id: row.runId,
      policy_version_hash: row.policyVersionHash,
      total: row.total,
      passed: row.passed,
      failed: row.failed,
      at: row.at,
      recorded_by: row.recordedBy,
      record_sha256: row.recordSha256,
      kid: row.kid,
      signature: row.signature,
      ledger_seq: row.ledgerSeq,
      verified: hashOk && sigOk,
      cases: record.cases,
    };
  }

  /** The governance configuration and its SHA-256 (the version chain names it). */
  private configuration(): { configuration: Record<string, unknown>; sha256: string } {
    const s = this.deps.settings;
    const configuration = {
      retention_days: s.retentionDays,
      mfa_required_roles: [...s.mfaRequiredRoles].sort(),
      escalation_chain: [...s.escalationChain],
      sla_hours: { ...s.slaHours },
      override_two_person: s.overrideTwoPerson,
      rubber_stamp_threshold_s: s.rubberStampS,
      token_ttl_s: s.tokenTtlS,
      durability: s.durability,
    };
    return { configuration, sha256: documentSha256(configuration) };
  }

  private rolesOf(method: string, url: string): string[] {
    const route = this.deps.routes().find((r) => r.method === method && r.url === url);
    return route?.access && 'roles' in route.access ? [...route.access.roles] : [];
  }

  private async oversightConfiguration(): Promise<OversightConfiguration> {
    const s = this.deps.settings;
    return {
      escalation_chain: [...s.escalationChain],
      sla_hours: { ...s.slaHours },
      override_two_person: s.overrideTwoPerson,
      rubber_stamp_threshold_s: s.rubberStampS,
      mfa_required_roles: [...s.mfaRequiredRoles].sort(),
      stop_roles: this.rolesOf('POST', '/api/governance/stop'),
      resume_roles: this.rolesOf('POST', '/api/governance/resume'),
      override_roles: this.rolesOf('POST', '/api/governance/override'),
      halted: await this.deps.halted(),
    };
  }

  private async figures(w: Window): Promise<OversightFigures> {
    const m = await this.deps.metrics.metrics(w.since, w.until);
    const decisions = await this.deps.repo.decisionCounts(w);
    const kinds = await this.deps.repo.interventionCounts(w);
    const byOutcome: Record<string, number> = { approved: 0, conditional: 0, denied: 0, escalated: 0 };
    for (const d of decisions) byOutcome[d.outcome] = (byOutcome[d.outcome] ?? 0) + d.count;
    return {
      decisions: m.decisions,
      decisions_by_outcome: byOutcome,
      escalations_opened: m.escalations_opened,
      escalations_resolved: m.escalations_resolved,
      sla_breaches: m.sla_breaches,
      median_time_to_resolution_s: m.median_time_to_resolution_s,
      overrides: m.overrides,
      override_rate: m.override_rate,
      rubber_stamp_approvals: m.rubber_stamp_approvals,
      rubber_stamp_rate: m.rubber_stamp_rate,
      stops: kinds.get('stop') ?? 0,
      resumes: kinds.get('resume') ?? 0,
    };
  }

  private async facts(profile: StoredProfile, upTo: string): Promise<GeneratedFacts> {
    const { repo } = this.deps;
    const config = this.configuration();
    // Windows end just after upTo so that what happened at upTo counts.
    const through = new Date(Date.parse(upTo) + 1).toISOString();
    // One query at a time: a report never takes more than one pooled connection (PostgreSQL) from the
    // decision path.
    const active = await repo.activePolicy();
    const profiles = await repo.profileVersions(undefined, 1000);
    const oversight = await this.oversightConfiguration();
    const decisions = await repo.decisionCounts({ since: EPOCH, until: through });
    const assessments = await repo.ledgerEntriesOfTypes(['risk_assessed'], upTo);
    const post = await this.figures({ since: EPOCH, until: through });
    const policyVersions = await repo.policyVersions(upTo);
    const testRuns = await repo.testRuns(upTo);
    const changes = await repo.ledgerEntriesOfTypes(CHANGE_EVENT_TYPES, upTo);
    const { halted: _halted, ...configured } = oversight;

    const byRisk: Record<string, number> = {};
    for (const d of decisions) byRisk[d.riskLevel] = (byRisk[d.riskLevel] ?? 0) + d.count;
    const assessedByRisk: Record<string, number> = {};
    for (const a of assessments) {
      const level = String((JSON.parse(a.data) as { risk_level?: unknown }).risk_level ?? 'unknown');
      assessedByRisk[level] = (assessedByRisk[level] ?? 0) + 1;
    }

    const denied = post.decisions_by_outcome.denied ?? 0;

    return {
      versionChain: {
        software_version: VERSION,
        configuration_sha256: config.sha256,
        configuration: config.configuration,
        active_policy_version_hash: active?.versionHash ?? null,
        policy_versions: policyVersions.map((v) => ({
          version_hash: v.versionHash,
          policy_id: v.policyId,
          version: v.version,
          mode: v.mode,
          loaded_by: v.loadedBy,
          loaded_at: v.loadedAt,
        })),
        system_profile: { version: profile.version, profile_sha256: profile.profile_sha256 },
        system_profile_versions: profiles.map((p) => ({ version: p.version, profile_sha256: p.profileSha256, updated_at: p.updatedAt })),
      },
      oversight: {
        ...configured,
        stop_button_available: oversight.stop_roles.length > 0,
        escalation_to_humans: oversight.escalation_chain.length > 0,
      },
      testRuns: testRuns.map((r) => {
        const v = this.testRunView(r);
        return {
          run_id: v.run_id,
          at: v.at,
          policy_version_hash: v.policy_version_hash,
          total: v.total,
          passed: v.passed,
          failed: v.failed,
          recorded_by: v.recorded_by,
          record_sha256: v.record_sha256,
          kid: v.kid,
          verified: v.verified,
        };
      }),
      riskRegister: {
        decisions_total: decisions.reduce((n, d) => n + d.count, 0),
        decisions_by_risk_level: byRisk,
        risk_assessments: assessments.length,
        risk_assessments_by_level: assessedByRisk,
      },
      changeLog: changes.map((e) => {
        const d = JSON.parse(e.data) as Record<string, unknown>;
        return {
          seq: e.seq,
          at: e.timestamp,
          event_type: e.eventType,
          entry_hash: e.entryHash,
          by: d.loaded_by ?? d.updated_by ?? d.recorded_by ?? d.changed_by ?? d.by ?? null,
          subject_hash: d.version_hash ?? d.profile_sha256 ?? d.record_sha256 ?? null,
          kid: d.kid ?? null,
        };
      }),
      postMarket: {
        decisions: post.decisions,
        decisions_by_outcome: post.decisions_by_outcome,
        deny_rate: post.decisions === 0 ? 0 : Math.round((denied / post.decisions) * 10_000) / 10_000,
        overrides: post.overrides,
        override_rate: post.override_rate,
        escalations_opened: post.escalations_opened,
        escalations_resolved: post.escalations_resolved,
        sla_breaches: post.sla_breaches,
        median_time_to_resolution_s: post.median_time_to_resolution_s,
        rubber_stamp_rate: post.rubber_stamp_rate,
        stops: post.stops,
        resumes: post.resumes,
      },
    };
  }

  /**
   * The Art 11 technical documentation from the current profile and live data up to `asOf` (default:
   * now). `document_sha256` covers everything but `generated_at`. 409 without a system profile.
   */
  async technicalDocumentation(asOf?: string): Promise<{ document: TechnicalDocumentation; documentSha256: string; generatedAt: string }> {
    const row = await this.deps.repo.latestProfile();
    if (!row) throw new AppError(409, 'SYSTEM_PROFILE_MISSING', 'No system profile yet: PUT /api/governance/eu-ai-act/system-profile first');
    const profile = toStored(row);
    const generatedAt = isoTimestamp(this.deps.clock);
    const fixed = asOf === undefined ? null : iso(asOf);
    const { version: _v, profile_sha256: _h, updated_by: _u, updated_at: _a, ledger_seq: _s, ...content } = profile;
    const document = buildTechnicalDocumentation({
      profile: content,
      profileVersion: profile.version,
      profileSha256: profile.profile_sha256,
      facts: await this.facts(profile, fixed ?? generatedAt),
      asOf: fixed,
    });
    return { document, documentSha256: documentSha256(document), generatedAt };
  }

  /**
   * What the Art 11 status rests on: the Annex IV items of the current documentation that have no content
   * (see {@link annexIvGaps}); null without a system profile.
   */
  async annexIvCompleteness(): Promise<{ profileVersion: number; total: number; missing: Array<{ key: string; title: string }> } | null> {
    if (!(await this.deps.repo.latestProfile())) return null;
    const { document } = await this.technicalDocumentation();
    return {
      profileVersion: document.system.profile_version,
      total: document.items.length,
      missing: annexIvGaps(document).map((i) => ({ key: i.key, title: i.title })),
    };
  }

  /** Window [since, until): default the last 30 days up to just after now; 400 when since is not before until. */
  window(since?: string, until?: string): Window {
    const untilMs = until === undefined ? this.deps.clock.now() + 1 : Date.parse(until);
    const sinceMs = since === undefined ? untilMs - DEFAULT_WINDOW_MS : Date.parse(since);
    if (!(sinceMs < untilMs)) {
      throw errors.validation('Invalid querystring', [{ in: 'querystring', field: 'since', message: 'must be before until', code: 'custom' }]);
    }
    return { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString() };
  }

  /** Art 12: the event taxonomy and counts over the window, retention and holds, and the ledger's verification. */
  async article12(since?: string, until?: string): Promise<Art12Report> {
    const w = this.window(since, until);
    const counts = art12Counts(await this.deps.repo.ledgerCounts(w));
    const holds = await this.deps.repo.activeLegalHolds();
    const v = await this.deps.ledger.verifyCached();
    const days = this.deps.settings.retentionDays;
    return {
      ...w,
      purposes: { ...ART12_PURPOSES },
      ...counts,
      retention: { retention_days: days, floor_days: RETENTION_FLOOR_DAYS, meets_floor: days >= RETENTION_FLOOR_DAYS },
      legal_holds: {
        tracked: holds !== undefined,
        active: (holds ?? []).map((h) => ({ hold_id: h.holdId, scope: h.scope, reason: h.reason, created_by: h.createdBy, created_at: h.createdAt })),
      },
      ledger_verification: {
        valid: v.valid,
        entries_checked: v.entriesChecked,
        head_seq: v.headSeq,
        head_hash: v.headHash,
        first_invalid: v.firstInvalid ? { seq: v.firstInvalid.seq, entry_id: v.firstInvalid.entryId, code: v.firstInvalid.code, reason: v.firstInvalid.reason } : null,
      },
    };
  }

  /** Art 14: the oversight measures mapped to Art 14(4)(a)–(e) with their configuration and the window's figures. */
  async article14(since?: string, until?: string): Promise<Art14Report> {
    const w = this.window(since, until);
    const figures = await this.figures(w);
    const oversight = await this.oversightConfiguration();
    return { ...w, measures: art14Measures(oversight, figures), figures };
  }
}
