/**
 * Separation of duties on the server's record (DESIGN §4, `conflicts(X, Y)`): the part that reads the
 * record, shared by every step that gives an actor an approval. A decision approving a request
 * (DecisionService) and a human approving an escalated decision later (EscalationService, through
 * {@link approvalConflictCheck}) are judged the same way; the engine stays pure and is handed the history.
 *
 * Two reads, as for every approval: before the ledger append, the actor's approvals since the start of the
 * widest window of the conflicts relations the request touches ({@link readApprovalHistory}); then, inside
 * the ledger transaction that commits the approval, those committed since that read
 * ({@link approvalsCommittedSince}): a concurrent approval of the same actor ordered ahead of it in the
 * ledger (earlier in the same group commit included) is among them, so it cannot slip through.
 */
import type { CompiledPolicy } from '../policy/policy.compile.js';
import { evaluate } from '../policy/policy.engine.js';
import type { EvaluationRequest } from '../policy/policy.model.js';
import { conflictWindowMs, DEFAULT_CONFLICT_WINDOW, windowStart, type ApprovedAction } from '../policy/policy.sod.js';
import type { Queryable } from '../../platform/db/port.js';
import type { DecideBody } from './decision.schemas.js';
import type { DecisionRepo } from './decision.repo.js';

/**
 * Where the approvals of an actor are read (the decision repo; through a ledger transaction when given
 * one, so that the read inside the transaction sees what commits ahead of it).
 */
export type ApprovalRecord = Pick<DecisionRepo, 'approvalsSince'>;

/** The first read of an actor's approvals for one request. */
export interface ApprovalHistory {
  actor: string;
  /** The start of the widest window of the conflicts relations the request touches (RFC 3339). */
  since: string;
  /** The highest ledger seq among them: the read inside the transaction looks only after it. */
  maxSeq: number;
  approvals: ApprovedAction[];
  /** The decision being approved, when it exists already: its own approvals are not history against it. */
  excluded: string | undefined;
}

/**
 * The actor's approvals on the record that may make a conflicts relation apply to `request` (decided at
 * `request.at`, matching `matchedTerms`), or undefined when no conflicts relation touches those terms
 * (then nothing can conflict and nothing is read). `excluded`: a decision whose own approvals (an
 * override of it) are left out, when it is that decision being approved.
 */
export async function readApprovalHistory(
  record: ApprovalRecord,
  compiled: CompiledPolicy,
  request: { actor: string; at: string },
  matchedTerms: readonly string[],
  excluded?: string,
): Promise<ApprovalHistory | undefined> {
  const windowMs = conflictWindowMs(compiled.conflictsByTerm, matchedTerms);
  if (windowMs === null) return undefined;
  const since = windowStart(request.at, windowMs);
  const { approvals, maxSeq } = await record.approvalsSince(request.actor, since);
  return { actor: request.actor, since, maxSeq, approvals: without(approvals, excluded), excluded };
}

/**
 * Inside the ledger transaction of the approval (read through `tx`): the actor's approvals in the same
 * window committed after the first read (before this append in ledger order, the batch's earlier
 * appends included).
 */
export async function approvalsCommittedSince(record: ApprovalRecord, history: ApprovalHistory, tx?: Queryable): Promise<ApprovedAction[]> {
  const { approvals } = await record.approvalsSince(history.actor, history.since, history.maxSeq, tx);
  return without(approvals, history.excluded);
}

function without(approvals: ApprovedAction[], decisionId: string | undefined): ApprovedAction[] {
  return decisionId === undefined ? approvals : approvals.filter((a) => a.decision_id !== decisionId);
}

/** A conflicts relation that applies: the relation, and the approval of the actor it conflicts with. */
export interface ConflictFound {
  relation_id: string;
  source: string;
  target: string;
  /** The relation's window as written (or the default). */
  window: string;
  conflicting_action: string;
  conflicting_decision_id: string | null;
}

/**
 * The conflicts relations that apply to `request` against `history`: the engine's own judgement (pure),
 * of which only the `conflict` hits count. Other effects (an attestation expired since, a risk not given)
 * are not re-judged here: the request was decided once, this asks only whether an approval now would give
 * the actor approvals on both sides of a conflicts relation.
 */
export function conflictsOf(compiled: CompiledPolicy, request: EvaluationRequest, history: readonly ApprovedAction[]): ConflictFound[] {
  const result = evaluate(compiled, { ...request, session_approved_actions: undefined, approval_history: history });
  const found: ConflictFound[] = [];
  for (const m of result.matched) {
    if (m.effect !== 'conflict') continue;
    const relation = compiled.policy.relations.find((r) => r.relation_id === m.relation_id);
    found.push({
      relation_id: m.relation_id,
      source: relation?.source ?? '',
      target: relation?.target ?? '',
      window: relation?.window ?? DEFAULT_CONFLICT_WINDOW,
      conflicting_action: m.conflicting_action ?? '',
      conflicting_decision_id: m.conflicting_decision_id ?? null,
    });
  }
  return found;
}

/** What a human approval of a decision made earlier is checked with: the stored decision and its request. */
export interface ApprovalCheckInput {
  decisionId: string;
  actor: string;
  /** The version hash of the policy the decision was made with (null: made without one). */
  policyVersionHash: string | null;
  /** The decision's raw request (JSON of the POST /decide body), undefined once retention purged it. */
  payload: string | undefined;
  /** When the approval is given: the conflict windows end here. */
  at: string;
}

/**
 * The separation-of-duties check of an approval given to a decision after it was made: `conflicts` is
 * the relations that apply now (empty: none); `recheck(tx)`, run inside the ledger transaction that
 * commits the approval (pass its `tx`), the relations that the approvals committed since add (empty: none).
 */
export type ApprovalConflictCheck =
  | { checkable: false; reason: string }
  | { checkable: true; conflicts: ConflictFound[]; recheck: (tx?: Queryable) => Promise<ConflictFound[]> };

/**
 * Check a human approval of decision X given at `input.at` (an escalation's approval) against the
 * actor's approvals on the record, under the policy version X was decided with and with X's original
 * request (actor, action, resource, data classes, context): an approval that would give the actor
 * approvals on both sides of a conflicts relation inside its window is what `conflicts` forbids, even
 * though X's own decision could not count the approvals that came after it. Not checkable (fail closed)
 * when X's request was purged or X was made without a policy.
 */
export async function approvalConflictCheck(
  record: ApprovalRecord,
  policyVersion: (versionHash: string) => Promise<CompiledPolicy>,
  input: ApprovalCheckInput,
): Promise<ApprovalConflictCheck> {
  if (input.policyVersionHash === null) {
    return { checkable: false, reason: 'the decision was made without a policy, so its conflicts relations are unknown' };
  }
  if (input.payload === undefined) {
    return {
      checkable: false,
      reason: 'its raw request (resource, data classes, context) was purged by retention, so its conflicts relations cannot be judged',
    };
  }
  const compiled = await policyVersion(input.policyVersionHash);
  const body = JSON.parse(input.payload) as DecideBody;
  const request: EvaluationRequest = {
    actor: input.actor,
    action: body.proposed_action,
    resource: body.resource,
    data_classes: body.data_classes,
    context: body.context,
    at: input.at,
  };
  const matched = evaluate(compiled, request).matched_terms;
  const history = await readApprovalHistory(record, compiled, { actor: input.actor, at: input.at }, matched, input.decisionId);
  if (history === undefined) return { checkable: true, conflicts: [], recheck: async () => [] };
  return {
    checkable: true,
    conflicts: conflictsOf(compiled, request, history.approvals),
    recheck: async (tx) => {
      const fresh = await approvalsCommittedSince(record, history, tx);
      return fresh.length === 0 ? [] : conflictsOf(compiled, request, [...history.approvals, ...fresh]);
    },
  };
}
