/**
 * The read side of decisions: a decision's record (`GET /decide/:decision_id`), a page of them
 * (`GET /decide`), and a stored decision answered again (an idempotent replay of `POST /decide`). Split
 * from DecisionService (the decide path), which delegates its `get` and `list` here.
 */
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { Queryable } from '../../platform/db/port.js';
import { errors } from '../../platform/errors.js';
import type { EscalationRecord } from '../escalation/escalation.repo.js';
import type { TokenService } from '../tokens/tokens.service.js';
import type { OverrideState } from './effective-outcome.js';
import { requestShown, toRecordDto, toRecordJson, type RecordState } from './decision.record.js';
import type { DecisionFilter, DecisionRecordRow, DecisionRepo, DecisionRow } from './decision.repo.js';
import type { DecisionDetailDto, DecisionRecordDto, DecisionResponse } from './decision.schemas.js';

/** An override as a decision record shows it. */
export interface OverrideSummary extends OverrideState {
  overrideId: string;
  authorizedBy: string;
  createdAt: string;
}

export interface OverrideReader {
  /** Read through `q` when given (inside a transaction: never through the port, which waits for it). */
  forDecision(decisionId: string, q?: Queryable): Promise<OverrideSummary[]>;
  /** `forDecision` for a page of decisions, in one query: by decision id (none: absent). */
  forDecisions(decisionIds: readonly string[]): Promise<Map<string, OverrideSummary[]>>;
}

/** What a record needs of the escalation repository: a decision's cases, one decision or a page. */
export interface RecordEscalations {
  byDecision(decisionId: string, q?: Queryable): Promise<EscalationRecord[]>;
  /** `byDecision` for a page of decisions, in one query: by decision id (none: absent). */
  byDecisions(decisionIds: readonly string[]): Promise<Map<string, EscalationRecord[]>>;
}

export interface DecisionRecordsDeps {
  repo: DecisionRepo;
  escalations: RecordEscalations;
  tokens: TokenService;
  clock: Clock;
  /** The overrides of a decision (the override module); none when absent. */
  overrides?: OverrideReader | undefined;
}

/** A page of `GET /decide`. */
export interface DecisionPage {
  items: DecisionRecordDto[];
  next_cursor: string | null;
}

export class DecisionRecords {
  constructor(private readonly deps: DecisionRecordsDeps) {}

  /**
   * One decision with what happened to it since (404 when unknown). Inside a transaction (a ledger
   * hook that re-checks the decision's state) pass it as `q`: every read goes through it, so it sees the
   * transaction's own writes (and on SQLite a read on the port would wait for that transaction to end).
   */
  async get(decisionId: string, q?: Queryable): Promise<DecisionRecordDto> {
    const row = await this.deps.repo.byId(decisionId, q);
    if (!row) throw errors.notFound('Decision', decisionId);
    return this.toRecord(row, q);
  }

  /**
   * One decision's record with what the agent asked with (`user_intent`, `data_classes`), read from its
   * stored raw request, or `request_purged` once retention deleted it (404 when unknown). For a reader
   * of one decision (GET /decide/:id, an escalation's detail); `get` stays the record alone.
   */
  async detail(decisionId: string): Promise<DecisionDetailDto> {
    const record = await this.get(decisionId);
    return { ...record, ...requestShown(await this.deps.repo.payload(decisionId)) };
  }

  /**
   * Newest first; `next_cursor` continues with older decisions. Each item is the record `get` gives;
   * what happened to the page's decisions is read per kind for the whole page (tokens, escalations,
   * overrides, the stop's cut-off: one query each), not per decision.
   */
  async list(filter: DecisionFilter): Promise<DecisionPage> {
    const { rows, states, next_cursor } = await this.page(filter);
    return { items: rows.map((r, i) => toRecordDto(r, states[i]!)), next_cursor };
  }

  /** `list`'s page as its JSON text (the zod serializer's bytes), each stored decision spliced in (toRecordJson). */
  async listJson(filter: DecisionFilter): Promise<string> {
    const { rows, states, next_cursor } = await this.page(filter);
    let out = '{"items":[';
    for (let i = 0; i < rows.length; i++) out += (i === 0 ? '' : ',') + toRecordJson(rows[i]!, states[i]!);
    return out + '],"next_cursor":' + (next_cursor === null ? 'null' : JSON.stringify(next_cursor)) + '}';
  }

  private async page(filter: DecisionFilter): Promise<{ rows: DecisionRecordRow[]; states: RecordState[]; next_cursor: string | null }> {
    const read = await this.deps.repo.list({ ...filter, limit: filter.limit + 1 });
    const rows = read.length > filter.limit ? read.slice(0, filter.limit) : read;
    const ids = rows.map((r) => r.decisionId);
    // One statement at a time (the port may overlap them, but a page is three short queries).
    const tokens = await this.deps.tokens.recordsForDecisions(ids);
    const escalations = await this.deps.escalations.byDecisions(ids);
    const overrides = (await this.deps.overrides?.forDecisions(ids)) ?? new Map<string, OverrideSummary[]>();
    const now = isoTimestamp(this.deps.clock);
    const states = rows.map((r): RecordState => {
      const token = tokens.get(r.decisionId);
      return {
        token: token && { record: token.record, revoked: token.revoked },
        escalation: escalations.get(r.decisionId)?.[0],
        overrides: overrides.get(r.decisionId) ?? [],
        now,
      };
    });
    return { rows, states, next_cursor: read.length > filter.limit ? rows[rows.length - 1]!.decisionId : null };
  }

  /** A stored decision as `POST /decide` answered it, with its token (an idempotent replay). */
  async answered(row: DecisionRow): Promise<DecisionResponse> {
    const stored = JSON.parse(row.response) as DecisionResponse;
    return { ...stored, capability_token: (await this.deps.tokens.tokenForDecision(row.decisionId))?.token ?? null };
  }

  private async toRecord(row: DecisionRow, q?: Queryable): Promise<DecisionRecordDto> {
    // Through a transaction handle one statement at a time; on the port the reads may overlap.
    const token = await this.deps.tokens.recordForDecision(row.decisionId, q);
    const escalation = (await this.deps.escalations.byDecision(row.decisionId, q))[0];
    const overrides = (await this.deps.overrides?.forDecision(row.decisionId, q)) ?? [];
    const revoked = token ? await this.deps.tokens.isRevoked(token, q) : false;
    return toRecordDto(row, { token: token && { record: token, revoked }, escalation, overrides, now: isoTimestamp(this.deps.clock) });
  }
}
