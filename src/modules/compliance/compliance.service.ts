import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { errors } from '../../platform/errors.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import type { RouteAccess } from '../auth/auth.guard.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { VerifyReport } from '../ledger/ledger.verify.js';
import type { PolicyService } from '../policy/policy.service.js';
import type { ControlStatusReport, Coverage, EvidenceKind, EvidenceResult, FrameworkDef, ScopeRecord } from './compliance.model.js';
import type { ComplianceRepo } from './compliance.repo.js';
import { controlStatus, coverageOf, evaluateEvidence, resolveControls, type ComplianceFacts, type ResolvedControl } from './compliance.status.js';
import { FRAMEWORKS } from './frameworks/index.js';

/** Shortest justification for marking a framework out of scope. */
export const MIN_SCOPE_JUSTIFICATION = 20;
/** Default age after which a cached ledger verification is redone on the next read. */
export const DEFAULT_VERIFY_MAX_AGE_MS = 15 * 60_000;

export interface ComplianceSettings {
  retentionDays: number;
  durability: string;
  mfaRequiredRoles: readonly string[];
  tokenTtlS: number;
  escalationChain: readonly string[];
  slaCheckIntervalS: number;
}

export interface ComplianceServiceDeps {
  repo: ComplianceRepo;
  ledger: LedgerService;
  policies: PolicyService;
  keys: KeyManager;
  /** Every registered route with its access declaration (the auth guard's record). */
  routes: () => RouteAccess[];
  clock: Clock;
  settings: ComplianceSettings;
  /** The Annex IV items without content (the EU AI Act module's technical documentation); null without a system profile. */
  annexIv: () => Promise<ComplianceFacts['annexIv']>;
  /** A cached ledger verification older than this is redone on the next read (default 15 minutes). */
  verifyMaxAgeMs?: number;
}

export interface ReadOptions {
  /** Re-verify the ledger now instead of using a recent cached verification. */
  refresh?: boolean;
}

export interface FrameworkSummary {
  framework_id: string;
  name: string;
  version: string;
  source: string;
  in_scope: boolean;
  scope: { justification: string | null; changed_by: string; changed_at: string; ledger_seq: number } | null;
  coverage: Coverage;
  checked_at: string;
}

export interface FrameworkReport extends FrameworkSummary {
  controls: ControlStatusReport[];
}

export interface CoverageReport {
  checked_at: string;
  totals: Coverage;
  frameworks: Array<{ framework_id: string; name: string; in_scope: boolean; coverage: Coverage }>;
  evidence: EvidenceResult[];
}

interface Snapshot {
  facts: ComplianceFacts;
  evidence: Record<EvidenceKind, EvidenceResult>;
  scopes: Map<string, ScopeRecord>;
}

const RESOLVED = new Map<string, { def: FrameworkDef; controls: ResolvedControl[] }>(
  FRAMEWORKS.map((f) => [f.id, { def: f, controls: resolveControls(f) }]),
);

/**
 * Control statuses computed from live evidence on every read. The ledger verification (a full pass over
 * the chain) is cached with its time and redone when older than `verifyMaxAgeMs` or on `refresh`;
 * concurrent reads share one running verification. Scope decisions are stored and ledgered.
 */
export class ComplianceService {
  private verification: { report: VerifyReport; atMs: number } | undefined;
  private running: Promise<{ report: VerifyReport; atMs: number }> | undefined;
  private readonly maxAgeMs: number;

  constructor(private readonly deps: ComplianceServiceDeps) {
    this.maxAgeMs = deps.verifyMaxAgeMs ?? DEFAULT_VERIFY_MAX_AGE_MS;
  }

  async frameworks(opts: ReadOptions = {}): Promise<FrameworkSummary[]> {
    const snap = await this.snapshot(opts);
    return FRAMEWORKS.map((f) => this.summary(this.report(f.id, snap)));
  }

  async framework(frameworkId: string, opts: ReadOptions = {}): Promise<FrameworkReport> {
    this.known(frameworkId);
    return this.report(frameworkId, await this.snapshot(opts));
  }

  async control(frameworkId: string, controlId: string, opts: ReadOptions = {}): Promise<ControlStatusReport & { framework_id: string }> {
    this.known(frameworkId);
    if (!RESOLVED.get(frameworkId)!.controls.some((c) => c.def.id === controlId)) throw errors.notFound('Control', controlId);
    const report = this.report(frameworkId, await this.snapshot(opts));
    return { framework_id: frameworkId, ...report.controls.find((c) => c.control_id === controlId)! };
  }

  async coverage(opts: ReadOptions = {}): Promise<CoverageReport> {
    const snap = await this.snapshot(opts);
    const reports = FRAMEWORKS.map((f) => this.report(f.id, snap));
    return {
      checked_at: snap.facts.checkedAt,
      totals: coverageOf(reports.flatMap((r) => r.controls)),
      frameworks: reports.map((r) => ({ framework_id: r.framework_id, name: r.name, in_scope: r.in_scope, coverage: r.coverage })),
      evidence: Object.values(snap.evidence),
    };
  }

  /**
   * Mark a framework in or out of scope. Out of scope needs a justification of at least
   * {@link MIN_SCOPE_JUSTIFICATION} characters. The row and its `compliance_scope_changed` entry (which
   * carries the justification's SHA-256, not its text) commit together.
   */
  async setScope(frameworkId: string, change: { inScope: boolean; justification?: string | undefined }, by: string): Promise<FrameworkSummary> {
    this.known(frameworkId);
    const justification = change.justification?.trim() || null;
    if (!change.inScope && (justification === null || justification.length < MIN_SCOPE_JUSTIFICATION)) {
      throw errors.validation('Invalid body', [
        {
          in: 'body',
          field: 'justification',
          message: `marking a framework out of scope needs a justification of at least ${MIN_SCOPE_JUSTIFICATION} characters`,
          code: 'custom',
        },
      ]);
    }
    const changedAt = isoTimestamp(this.deps.clock);
    const previous = (await this.deps.repo.scopes()).find((s) => s.frameworkId === frameworkId);
    await this.deps.ledger.append(
      'compliance_scope_changed',
      {
        framework_id: frameworkId,
        in_scope: change.inScope,
        previous_in_scope: previous?.inScope ?? true,
        justification_sha256: justification === null ? null : sha256Hex(justification),
        changed_by: by,
      },
      {
        withEntries: ([entry], tx) =>
          this.deps.repo.putScope(tx!, {
            frameworkId,
            inScope: change.inScope,
            justification,
            changedBy: by,
            changedAt,
            ledgerSeq: entry!.seq,
            ledgerEntryHash: entry!.entryHash,
          }),
      },
    );
    return this.summary(this.report(frameworkId, await this.snapshot({})));
  }

  private known(frameworkId: string): void {
    if (!RESOLVED.has(frameworkId)) throw errors.notFound('Framework', frameworkId);
  }

  private report(frameworkId: string, snap: Snapshot): FrameworkReport {
    const { def, controls } = RESOLVED.get(frameworkId)!;
    const scope = snap.scopes.get(frameworkId);
    const inScope = scope?.inScope ?? true;
    const statuses = controls.map((c) =>
      controlStatus(c, snap.evidence, { inScope, justification: scope?.justification ?? null }, snap.facts.checkedAt),
    );
    return {
      framework_id: def.id,
      name: def.name,
      version: def.version,
      source: def.source,
      in_scope: inScope,
      scope: scope
        ? { justification: scope.justification, changed_by: scope.changedBy, changed_at: scope.changedAt, ledger_seq: scope.ledgerSeq }
        : null,
      coverage: coverageOf(statuses),
      checked_at: snap.facts.checkedAt,
      controls: statuses,
    };
  }

  private summary(r: FrameworkReport): FrameworkSummary {
    const { controls: _controls, ...rest } = r;
    return rest;
  }

  private async snapshot(opts: ReadOptions): Promise<Snapshot> {
    const facts = await this.collect(opts);
    const scopes = await this.deps.repo.scopes();
    return { facts, evidence: evaluateEvidence(facts), scopes: new Map(scopes.map((s) => [s.frameworkId, s])) };
  }

  /** Gather the facts from the live system. */
  private async collect(opts: ReadOptions): Promise<ComplianceFacts> {
    const { settings, clock } = this.deps;
    const verified = await this.verifiedLedger(opts.refresh === true);
    const active = await this.deps.policies.active();
    const report = verified.report;
    const users = await this.deps.repo.users();
    const exports = await this.deps.repo.exports();
    const annexIv = await this.deps.annexIv();
    // A chain the ledger found corrupt at start (or on append) fails even before the next full verification.
    const status = this.deps.ledger.status;
    const firstInvalid = report.firstInvalid
      ? { seq: report.firstInvalid.seq, reason: report.firstInvalid.reason }
      : status.state === 'corrupt'
        ? { seq: report.headSeq ?? 0, reason: status.reason }
        : undefined;
    return {
      checkedAt: isoTimestamp(clock),
      ledger: {
        valid: firstInvalid === undefined && report.valid,
        entriesChecked: report.entriesChecked,
        headSeq: report.headSeq,
        ...(firstInvalid ? { firstInvalid } : {}),
        verifiedAt: new Date(verified.atMs).toISOString(),
      },
      retentionDays: settings.retentionDays,
      durability: settings.durability,
      activePolicy: active ? { versionHash: active.versionHash, mode: active.compiled.policy.mode } : null,
      routes: this.deps.routes().map((r) => ({
        method: r.method,
        url: r.url,
        access: r.access === undefined ? undefined : 'public' in r.access ? 'public' : 'roles',
      })),
      mfaRequiredRoles: settings.mfaRequiredRoles,
      users,
      escalation: { chain: settings.escalationChain, slaMonitorIntervalS: settings.slaCheckIntervalS },
      keys: this.deps.keys.publicKeys().map((k) => ({ kid: k.kid, alg: k.alg, status: k.status })),
      tokenTtlS: settings.tokenTtlS,
      exports,
      annexIv,
    };
  }

  /** The last ledger verification, redone when asked, when there is none, or when it is too old. */
  private async verifiedLedger(refresh: boolean): Promise<{ report: VerifyReport; atMs: number }> {
    const now = this.deps.clock.now();
    if (!refresh && this.verification && now - this.verification.atMs < this.maxAgeMs) return this.verification;
    if (!this.running) {
      this.running = this.deps.ledger
        .verify()
        .then((report) => {
          this.verification = { report, atMs: now };
          return this.verification;
        })
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }
}
