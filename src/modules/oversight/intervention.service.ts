import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import { errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import { signIntervention, verifyIntervention, type InterventionFields, type InterventionKind, type InterventionStatus, type SignedIntervention } from './intervention.js';
import type { InterventionFilter, InterventionRepo } from './intervention.repo.js';
import type { Queryable } from '../../platform/db/port.js';

export interface InterventionServiceDeps {
  repo: InterventionRepo;
  keys: KeyManager;
  clock: Clock;
  ids: IdFactory;
}

/** What a module passes to record an intervention; who and when come from the session and the clock. */
export interface InterventionInput {
  kind: InterventionKind;
  decisionId?: string | null;
  scope: string;
  justification: string;
  shown: unknown;
  details?: Record<string, unknown>;
}

export interface VerifiedIntervention {
  record: SignedIntervention;
  status: InterventionStatus;
}

/**
 * Signed intervention records (see intervention.ts). A module signs one with {@link sign} before its
 * ledger append (the ledger entry names its id) and stores it with {@link insert} through that
 * append's `withEntries` hook's transaction, so that the record and its entry are durable together.
 */
export class InterventionService {
  constructor(private readonly deps: InterventionServiceDeps) {}

  /** Build and sign a record for the session user, timed by the clock. No I/O. */
  sign(input: InterventionInput, user: Pick<UserPrincipal, 'userId' | 'role'>): SignedIntervention {
    const fields: InterventionFields = {
      interventionId: this.deps.ids.next('int'),
      kind: input.kind,
      actorUserId: user.userId,
      actorRole: user.role,
      at: isoTimestamp(this.deps.clock),
      decisionId: input.decisionId ?? null,
      scope: input.scope,
      justification: input.justification,
      shown: input.shown,
      details: input.details ?? {},
    };
    return signIntervention(fields, this.deps.keys.signer('Ed25519'));
  }

  /** Store a signed record through `tx`, the transaction of the ledger append's `withEntries` hook. */
  insert(tx: Queryable, record: SignedIntervention): Promise<void> {
    return this.deps.repo.insert(tx, record);
  }

  /** One record with its verification status; 404 when unknown. */
  async get(interventionId: string): Promise<VerifiedIntervention> {
    const record = await this.deps.repo.byId(interventionId);
    if (!record) throw errors.notFound('Intervention', interventionId);
    return { record, status: this.verify(record) };
  }

  /** Newest first, each with its verification status. */
  async list(filter: InterventionFilter): Promise<{ items: VerifiedIntervention[]; nextCursor: string | null }> {
    const rows = await this.deps.repo.list({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((record) => ({ record, status: this.verify(record) })),
      nextCursor: rows.length > filter.limit ? page[page.length - 1]!.interventionId : null,
    };
  }

  verify(record: SignedIntervention): InterventionStatus {
    return verifyIntervention(record, (kid) => this.deps.keys.publicKeyObject(kid));
  }
}
