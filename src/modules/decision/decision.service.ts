import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { assertMayActFor } from '../auth/actor-binding.js';
import { principalId, type Principal } from '../auth/auth.guard.js';
import { priorityForRisk, slaDeadline, type EscalationTrigger, type SlaHours } from '../escalation/escalation.model.js';
import type { EntryRef, NewEscalation } from '../escalation/escalation.repo.js';
import type { Queryable, Transaction, WriteStatement } from '../../platform/db/port.js';
import type { LedgerEvent, EventSink } from '../ledger/ledger.service.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';
import { attestationsInputProblem } from '../policy/policy.attestation.js';
import { evaluate } from '../policy/policy.engine.js';
import type { ApprovedAction } from '../policy/policy.sod.js';
import type { EvaluationRequest, EvaluationResult } from '../policy/policy.model.js';
import type { PolicyService } from '../policy/policy.service.js';
import { assessRisk, type RequestRiskLevel, type RiskAssessment } from '../risk/risk.engine.js';
import type { TokenService } from '../tokens/tokens.service.js';
import type { DecisionMetrics } from './decision.metrics.js';
import { DecisionRecords, type DecisionPage, type OverrideReader, type RecordEscalations } from './decision.records.js';
import type { DecisionFilter, DecisionRepo, DecisionRow, DecisionSubject } from './decision.repo.js';
import { approvalConflictCheck, approvalsCommittedSince, readApprovalHistory, type ApprovalConflictCheck, type ApprovalHistory } from './decision.sod.js';
import type { DecideBody, DecisionDetailDto, DecisionRecordDto, DecisionResponse } from './decision.schemas.js';
import { decisionJson, decisionJsonParts, type DecisionJsonParts } from './decision.json.js';
import { haltedResult, noPolicyResult, riskAnnotations } from './decision.evaluation.js';

export type { OverrideReader, OverrideSummary } from './decision.records.js';

/** What a decision needs of the escalation repository: open its case, read it back (its record). */
export interface DecisionEscalations extends RecordEscalations {
  /** Open a case through `tx`, the transaction of its `escalation_created` entry (`entry`). */
  insertPending(tx: Queryable, row: NewEscalation, entry: EntryRef, createdByRole?: string | null): Promise<void>;
  /** The writes of `insertPending`, run with the decision's own (DecisionRepo.insert). */
  pendingWrites(row: NewEscalation, entry: EntryRef, createdByRole?: string | null): WriteStatement[];
}

export interface DecisionServiceDeps {
  repo: DecisionRepo;
  escalations: DecisionEscalations;
  tokens: TokenService;
  policies: PolicyService;
  ledger: EventSink;
  clock: Clock;
  ids: IdFactory;
  metrics?: DecisionMetrics | undefined;
  /**
   * Whether the stop button is pressed, read through `q` when given: inside the ledger transaction, where
   * it sees a stop committed ahead of the batch (read once per transaction: HaltRepo.get's memo).
   */
  halted: (q?: Queryable) => Promise<boolean>;
  /**
   * This process's memory of the halt state (HaltRepo.memory): what a decision is evaluated with before
   * its transaction, without a read; the transaction re-checks it (`halted(tx)`).
   */
  haltMemory: {
    known(): boolean | undefined;
    get(): Promise<boolean>;
    peek(): { value: boolean } | undefined;
    offer(value: boolean, seq: number): void;
  };
  /** SLA hours per priority (`LEXECON_ESCALATION_SLA_HOURS`); default DESIGN §10's. */
  slaHours?: SlaHours | undefined;
  /** The overrides of a decision (the override module); none when absent. */
  overrides?: OverrideReader | undefined;
}

/** What `decide` answers: the decision, whether it is a replay, and (a new decision) its JSON text. */
export interface DecideResult {
  decision: DecisionResponse;
  replayed: boolean;
  /** The response's JSON text, serialised once with the text stored (decision.json.ts); new decisions only. */
  json?: string;
}

/** Who an escalation opened by a decision goes to (DESIGN §10). */
const DECISION_ESCALATION_ASSIGNEES = ['approver'];

/**
 * Why a decision is being made again: a stop, resume or policy activation, or an approval of the same
 * actor that makes a `conflicts` relation apply, committed ahead of it in ledger order.
 */
interface Redecide {
  /**
   * The halt state and active version (when not halted) read inside the transaction, where they differed
   * from what the decision was evaluated with: it is decided with them, without waiting for the
   * stop/resume/activation committed ahead of it to reach this process's memory.
   */
  state?: DecisionState;
  /** Approvals found committing ahead of this decision: they count as history (failing closed). */
  approvedMeanwhile?: ApprovedAction[];
}

/**
 * `POST /decide` (DESIGN §4): evaluate the active policy, score the risk (the policy's factor table and
 * term annotations), apply the mode rules and the ≥ 80 rule, then write the decision, its `decision`
 * ledger entry, the capability token (approved/conditional, carrying the entry's hash) and, when
 * escalated, the escalation with its `escalation_created` entry, all in one transaction, and answer
 * only after it is durable.
 */
export class DecisionService {
  /** Decisions being made, by caller and request_id: a concurrent repeat waits for the first. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  /** The read side: records, pages, replays. */
  private readonly records: DecisionRecords;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.records = new DecisionRecords(deps);
  }

  async decide(body: DecideBody, principal: Principal): Promise<DecideResult> {
    assertMayActFor(principal, body.actor);
    if (body.request_id === undefined) return this.decideOnce(body, principal);
    const key = `${principalId(principal)}\u0000${body.request_id}`;
    const running = this.inFlight.get(key);
    if (running) {
      await running.catch(() => undefined);
      return this.decide(body, principal);
    }
    const work = this.decideOnce(body, principal);
    this.inFlight.set(key, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /**
   * `redecide`: what was found committing ahead of this decision in its ledger batch when it is made
   * again (its retry is ordered after it, so it is decided with it without waiting for the commit).
   */
  private async decideOnce(
    body: DecideBody,
    principal: Principal,
    redecide: Redecide = {},
  ): Promise<DecideResult> {
    const started = process.hrtime.bigint();
    let requestDigest: string;
    try {
      requestDigest = sha256Hex(canonicalize(body));
    } catch (err) {
      // JSON can carry what RFC 8785 refuses (a lone UTF-16 surrogate): that request cannot be hashed.
      throw errors.validation('Invalid body', [{ in: 'body', field: '(root)', message: (err as Error).message, code: 'custom' }]);
    }
    const attestationProblem = attestationsInputProblem(body.context);
    if (attestationProblem !== undefined) {
      throw errors.validation('Invalid body', [
        { in: 'body', field: 'context.attestations', message: attestationProblem, code: 'custom' },
      ]);
    }
    const caller = principalId(principal);
    if (body.request_id !== undefined) {
      const previous = await this.deps.repo.byRequest(caller, body.request_id);
      if (previous) return { decision: await this.replay(previous, requestDigest), replayed: true };
    }

    // While halted nothing is evaluated: every decision is denied (and still recorded). Evaluated with this
    // process's memory of the halt state and active version (no read); the transaction re-checks both.
    const { haltMemory, policies } = this.deps;
    const halted = redecide.state?.halted ?? haltMemory.known() ?? (await haltMemory.get());
    const active = halted
      ? undefined
      : redecide.state === undefined
        ? (policies.known() ?? (await policies.current()))
        : await policies.current(redecide.state.policyHash);
    const timestamp = isoTimestamp(this.deps.clock);
    const decisionId = this.deps.ids.next('dec');
    const sessionId = typeof body.context?.['session_id'] === 'string' ? body.context['session_id'] : null;
    const request: EvaluationRequest = {
      actor: body.actor,
      action: body.proposed_action,
      resource: body.resource,
      data_classes: body.data_classes,
      context: body.context,
      at: timestamp,
    };

    let risk: RiskAssessment;
    let result: EvaluationResult;
    let evaluated: EvaluationRequest | undefined;
    /** When a conflicts relation touches the request: the actor's approvals read before the transaction. */
    let sod: ApprovalHistory | undefined;
    if (active) {
      const compiled = active.compiled;
      // First pass: which terms match (their risk annotations count); second: the mode rules with the risk.
      const matched = evaluate(compiled, request).matched_terms;
      // Separation of duties from the server's record: the actor's approvals in the widest window of the
      // conflicts relations the request touches, whatever session it claims (context.session_id is not read).
      sod = await readApprovalHistory(this.deps.repo, compiled, { actor: body.actor, at: timestamp }, matched);
      if (sod !== undefined) request.approval_history = [...sod.approvals, ...(redecide.approvedMeanwhile ?? [])];
      const annotations = riskAnnotations(compiled);
      risk = assessRisk({
        action: body.proposed_action,
        dataClasses: body.data_classes,
        riskLevel: body.risk_level as RequestRiskLevel | undefined,
        termRisks: matched.flatMap((id) => {
          const r = annotations.get(id);
          return r ? [{ termId: id, risk: r }] : [];
        }),
        table: compiled.factorTable,
      });
      evaluated = { ...request, risk: { level: risk.risk_level, score: risk.overall_score } };
      result = evaluate(compiled, evaluated);
    } else {
      risk = assessRisk({
        action: body.proposed_action,
        dataClasses: body.data_classes,
        riskLevel: body.risk_level as RequestRiskLevel | undefined,
      });
      result = halted ? haltedResult() : noPolicyResult();
    }

    const outcome = result.outcome;
    const allowed = outcome === 'approved' || outcome === 'conditional';
    const jti = allowed ? this.deps.ids.next('tok') : null;
    const escalation =
      outcome === 'escalated'
        ? {
            escalationId: this.deps.ids.next('esc'),
            priority: priorityForRisk(risk.risk_level),
            trigger: (result.escalation_triggers[0] ?? 'policy_requires_approval') as EscalationTrigger,
          }
        : null;
    const policyRef = active
      ? { policy_id: active.compiled.policy.policy_id, version_hash: active.versionHash, mode: active.compiled.policy.mode }
      : null;
    const riskDto = {
      overall_score: risk.overall_score,
      risk_level: risk.risk_level,
      dimensions: risk.dimensions,
      factors: risk.factors,
      requires_escalation: risk.requires_escalation,
    };

    const events: LedgerEvent[] = [
      {
        eventType: 'decision',
        data: {
          decision_id: decisionId,
          request_id: body.request_id ?? null,
          request_digest: requestDigest,
          requested_by: caller,
          actor: body.actor,
          action: body.proposed_action,
          tool: body.tool,
          data_classes: body.data_classes ?? [],
          outcome,
          reason: result.reason,
          policy_id: policyRef?.policy_id ?? null,
          policy_version_hash: policyRef?.version_hash ?? null,
          mode: policyRef?.mode ?? null,
          matched: result.matched.map((m) => m.relation_id),
          conditions: result.conditions,
          risk: riskDto,
          token_jti: jti,
          escalation_id: escalation?.escalationId ?? null,
        },
      },
    ];
    let sla: string | null = null;
    if (escalation) {
      sla = slaDeadline(escalation.priority, Date.parse(timestamp), this.deps.slaHours);
      events.push({
        eventType: 'escalation_created',
        data: {
          escalation_id: escalation.escalationId,
          decision_id: decisionId,
          priority: escalation.priority,
          trigger: escalation.trigger,
          escalated_to: DECISION_ESCALATION_ASSIGNEES,
          sla_deadline: sla,
          created_by: caller,
        },
      });
    }

    let response: DecisionResponse | undefined;
    /** The state the transaction read, as of this decision's entry (committed with it). */
    let observed: (DecisionState & { seq: number }) | undefined;
    /** The response's JSON text around its token: stored (token null) and answered (with it), one serialisation. */
    let responseJson: DecisionJsonParts | undefined;
    const commit = async (entries: readonly StoredEntry[], tx: Transaction): Promise<void> => {
      const entry = entries[0]!;
      // The halt state and active version, in ledger order (read once per transaction, then memoised): a
      // stop, resume or activation committed between the evaluation and this entry (on PostgreSQL: by
      // any replica, ahead of this batch) makes the decision be made again with them, whatever its
      // outcome: after a stop no token is issued and every decision is the halted denial; after an
      // activation the new version decides.
      const haltedNow = await this.deps.halted(tx);
      const policyNow = haltedNow ? undefined : await this.deps.policies.activeHashIn(tx);
      if (haltedNow !== halted || (!haltedNow && policyNow !== (active?.versionHash ?? null))) {
        throw new StateChangedMeanwhile({ halted: haltedNow, policyHash: policyNow });
      }
      observed = { halted: haltedNow, policyHash: policyNow, seq: entry.seq };
      // An approval of this actor committed since the history was read (before this entry in ledger order,
      // earlier decisions of this batch included) may make a conflicts relation apply: decide again with it.
      // (An escalated decision too: a conflict denies it, and no human should be asked to approve it.)
      if (outcome !== 'denied' && sod !== undefined) {
        const fresh = await approvalsCommittedSince(this.deps.repo, sod, tx);
        if (fresh.length > 0) {
          const history = [...(evaluated!.approval_history ?? []), ...fresh];
          const again = evaluate(active!.compiled, { ...evaluated!, approval_history: history });
          if (again.outcome !== outcome) throw new ApprovedMeanwhile(fresh);
        }
      }
      // Signed now, recorded below with the decision's row in one write (DecisionRepo.insert).
      const issued =
        jti === null
          ? null
          : this.deps.tokens.prepare({
              jti,
              decisionId,
              actor: body.actor,
              action: body.proposed_action,
              tool: body.tool,
              resource: body.resource,
              conditions: outcome === 'conditional' ? result.conditions : [],
              ledgerEntry: entry,
            });
      response = {
        decision_id: decisionId,
        request_id: body.request_id ?? null,
        outcome,
        allowed,
        reason: result.reason,
        explanation: {
          mode: result.mode,
          matched: result.matched.map((m) => ({ relation_id: m.relation_id, relation_type: m.relation_type, effect: m.effect })),
          default_applied: result.default_applied,
          escalation_triggers: result.escalation_triggers,
        },
        // An escalated decision keeps the obligations a human approval would carry.
        conditions: outcome === 'conditional' || outcome === 'escalated' ? result.conditions : [],
        risk: riskDto,
        policy: policyRef,
        capability_token: issued?.token ?? null,
        token_expires_at: issued?.expiresAt ?? null,
        escalation_id: escalation?.escalationId ?? null,
        ledger: { seq: entry.seq, entry_id: entry.entryId, entry_hash: entry.entryHash },
        timestamp,
      };
      responseJson = decisionJsonParts(response);
      // The token, the decision, its payload and its escalation: one write (one round trip on PostgreSQL),
      // parents first (the escalation's event refers to its case).
      const escalationWrites = escalation
        ? this.deps.escalations.pendingWrites(
            {
              escalationId: escalation.escalationId,
              decisionId,
              priority: escalation.priority,
              trigger: escalation.trigger,
              escalatedTo: DECISION_ESCALATION_ASSIGNEES,
              contextSummary: null,
              slaDeadline: sla!,
              createdBy: caller,
              createdAt: timestamp,
            },
            entries[1]!,
          )
        : [];
      const inserted = await this.deps.repo.insert(
        tx,
        {
          decisionId,
          principalId: caller,
          requestId: body.request_id ?? null,
          requestDigest,
          actor: body.actor,
          action: body.proposed_action,
          tool: body.tool,
          sessionId,
          outcome,
          riskScore: risk.overall_score,
          riskLevel: risk.risk_level,
          policyVersionHash: policyRef?.version_hash ?? null,
          ledgerSeq: entry.seq,
          ledgerEntryHash: entry.entryHash,
          createdAt: timestamp,
          response: decisionJson(responseJson, null),
        },
        JSON.stringify(body),
        { before: issued === null ? [] : [issued.write], after: escalationWrites },
      );
      // Another request with this request_id (another process or replica) committed its decision first:
      // keep this one out of the ledger, and answer that one. Nothing of the write above was kept, and
      // throwing rolls this decision's ledger entry back (with its batch, or its savepoint in an
      // isolated batch): the token signed above was never recorded, so it never verifies.
      if (!inserted) throw new DuplicateRequest();
    };

    try {
      await this.deps.ledger.appendAll(events, { withEntries: (entries, tx) => commit(entries, tx!) });
    } catch (err) {
      if (err instanceof StateChangedMeanwhile) return this.decideOnce(body, principal, { ...redecide, state: err.state });
      if (err instanceof ApprovedMeanwhile) {
        const approvedMeanwhile = [...(redecide.approvedMeanwhile ?? []), ...err.approvals];
        const state = { halted, policyHash: active?.versionHash ?? null };
        return this.decideOnce(body, principal, { ...redecide, state, approvedMeanwhile });
      }
      // Another process decided with the same request_id in the meantime: its decision is the one.
      if (body.request_id !== undefined && err instanceof DuplicateRequest) {
        const previous = await this.deps.repo.byRequest(caller, body.request_id);
        if (previous) return { decision: await this.replay(previous, requestDigest), replayed: true };
        throw errors.conflict(`A decision for request_id '${body.request_id}' is being made; repeat the request`);
      }
      throw err;
    }
    this.observed(observed!);
    this.deps.metrics?.observe(outcome, Number(process.hrtime.bigint() - started) / 1e9);
    return { decision: response!, replayed: false, json: decisionJson(responseJson!, response!.capability_token) };
  }

  /**
   * What a committed decision's transaction read, as of its entry: news for this process's memory when it
   * differs (a change by another process or replica whose notice has not arrived, or was missed).
   */
  private observed(o: DecisionState & { seq: number }): void {
    if (this.deps.haltMemory.peek()?.value !== o.halted) this.deps.haltMemory.offer(o.halted, o.seq);
    const memory = this.deps.policies.memory;
    if (o.policyHash !== undefined && memory.peek()?.value !== o.policyHash) memory.offer(o.policyHash, o.seq);
  }

  /** One decision with what happened to it since (404 when unknown): DecisionRecords.get. */
  get(decisionId: string, q?: Queryable): Promise<DecisionRecordDto> {
    return this.records.get(decisionId, q);
  }

  /** One decision's record with its request's intent and data classes (404 when unknown): DecisionRecords.detail. */
  detail(decisionId: string): Promise<DecisionDetailDto> {
    return this.records.detail(decisionId);
  }

  /** Who asked to do what with which tool, for a page of decisions in one query: DecisionRepo.subjects. */
  subjects(decisionIds: readonly string[]): Promise<Map<string, DecisionSubject>> {
    return this.deps.repo.subjects(decisionIds);
  }

  /**
   * Separation of duties for a human approving decision `decisionId` at `at` (an escalation's approval):
   * its conflicts relations under the policy version it was decided with, with its stored request,
   * against the actor's approvals then (see decision.sod.ts). 404 when unknown.
   */
  async approvalCheck(decisionId: string, at: string): Promise<ApprovalConflictCheck> {
    const row = await this.deps.repo.byId(decisionId);
    if (!row) throw errors.notFound('Decision', decisionId);
    return approvalConflictCheck(this.deps.repo, (hash) => this.deps.policies.compiledVersion(hash), {
      decisionId,
      actor: row.actor,
      policyVersionHash: row.policyVersionHash,
      payload: await this.deps.repo.payload(decisionId),
      at,
    });
  }

  /** A page of decisions, newest first: DecisionRecords.list. */
  list(filter: DecisionFilter): Promise<DecisionPage> {
    return this.records.list(filter);
  }

  /** The same page as its JSON text (GET /decide): DecisionRecords.listJson. */
  listJson(filter: DecisionFilter): Promise<string> {
    return this.records.listJson(filter);
  }

  private async replay(row: DecisionRow, requestDigest: string): Promise<DecisionResponse> {
    if (row.requestDigest !== requestDigest) {
      throw new AppError(
        409,
        'REQUEST_ID_REUSED',
        `request_id '${row.requestId}' was used for a different request (decision ${row.decisionId}); use a new request_id`,
        { decision_id: row.decisionId },
      );
    }
    return this.records.answered(row);
  }
}

/** The halt state and (when not halted) the active version hash, null when none is active. */
interface DecisionState {
  halted: boolean;
  /** Unknown (not read) when halted. */
  policyHash?: string | null | undefined;
}

/** A stop, resume or activation committed ahead of a decision, after it was evaluated: made again with the state read. */
class StateChangedMeanwhile extends Error {
  constructor(readonly state: DecisionState) {
    super('the halt state or the active policy changed between the evaluation and the commit');
  }
}

/** A decision for the same (caller, request_id) committed ahead of this one. */
class DuplicateRequest extends Error {}

/** Approvals committing ahead of a decision in its batch make a conflicts relation apply to it. */
class ApprovedMeanwhile extends Error {
  constructor(readonly approvals: ApprovedAction[]) {
    super('an approval committed ahead of this decision makes a conflicts relation apply');
  }
}
