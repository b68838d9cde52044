import { isoTimestamp, type Clock } from '../../platform/clock.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import { errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import { signIntervention, verifyIntervention, type InterventionFields, type InterventionKind, type InterventionStatus, type SignedIntervention } from './intervention.js';
import type { Queryable } from '../../platform/db/port.js';
import type { InterventionFilter, SqliteInterventionRepo } from './intervention.repo.js';

export interface InterventionServiceDeps {
  repo: SqliteInterventionRepo;
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
 * ledger append (the ledger entry names its id) and stores it with {@link insertSync} inside that
 * append's `withEntries` hook, so that the record and its entry are durable together.
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

  /** Store a signed record (synchronous: call it inside the ledger append's `withEntries`). */
  insertSync(record: SignedIntervention): void {
    this.deps.repo.insert(record);
  }

  /** `insertSync` inside the ledger transaction `_tx` (on SQLite the repository writes on the same connection). */
  async insert(_tx: Queryable, record: SignedIntervention): Promise<void> {
    this.insertSync(record);
  }

  /** One record with its verification status; 404 when unknown. */
  get(interventionId: string): VerifiedIntervention {
    const record = this.deps.repo.byId(interventionId);
    if (!record) throw errors.notFound('Intervention', interventionId);
    return { record, status: this.verify(record) };
  }

  /** Newest first, each with its verification status. */
  list(filter: InterventionFilter): { items: VerifiedIntervention[]; nextCursor: string | null } {
    const rows = this.deps.repo.list({ ...filter, limit: filter.limit + 1 });
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
