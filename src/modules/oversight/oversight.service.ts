import { AppError } from '../../platform/errors.js';
import type { UserPrincipal } from '../auth/auth.guard.js';
import type { StateNotices } from '../../platform/db/state-notices.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { HaltRepo, HaltState } from './halt.repo.js';
import type { InterventionService } from './intervention.service.js';

export interface OversightServiceDeps {
  halt: HaltRepo;
  interventions: InterventionService;
  ledger: EventSink;
  /** Change notices to the other replicas (PostgreSQL); none on one process. */
  notices?: StateNotices | undefined;
}

class StateChanged extends Error {}

/**
 * The stop button (DESIGN §10, EU AI Act Art. 14(4)(e)). A stop halts every decision (answered
 * `denied` with reason `halted`) and invalidates, for good, every capability token whose issuing ledger
 * entry precedes the stop's entry (ledger order, not clocks); a resume lets decisions through again.
 * While halted no path mints a token: /decide denies, and escalation approvals and overrides refuse
 * (each re-checks the halt inside the transaction that would mint). Both are signed interventions,
 * ledgered as `intervention`, and the state is persisted (it survives restarts; each process keeps a
 * memory of it, `HaltRepo.memory`, offered the new state when a change commits, and every decision
 * re-checks it in its ledger transaction).
 */
export class OversightService {
  constructor(private readonly deps: OversightServiceDeps) {}

  status(): Promise<HaltState> {
    return this.deps.halt.get();
  }

  async stop(reason: string, user: UserPrincipal): Promise<HaltState> {
    return this.change('stop', reason, user);
  }

  async resume(reason: string, user: UserPrincipal): Promise<HaltState> {
    return this.change('resume', reason, user);
  }

  private async change(kind: 'stop' | 'resume', reason: string, user: UserPrincipal): Promise<HaltState> {
    const before = await this.deps.halt.get();
    const refusal = kind === 'stop' ? before.halted && 'ALREADY_HALTED' : !before.halted && 'NOT_HALTED';
    if (refusal) throw conflict(refusal, before);
    const record = this.deps.interventions.sign(
      { kind, scope: 'global', justification: reason, shown: { halt: snapshot(before) } },
      user,
    );
    let after: HaltState | undefined;
    let seq = -1;
    try {
      await this.deps.ledger.append(
        'intervention',
        {
          intervention_id: record.interventionId,
          kind,
          by: user.userId,
          role: user.role,
          reason,
          scope: 'global',
          kid: record.kid,
          signature: record.signature,
        },
        {
          withEntries: async ([entry], tx) => {
            // The stop's own entry is the token cutoff: tokens issued by an earlier entry are invalid for
            // good, whatever their clocks say (DESIGN §5).
            const changed =
              kind === 'stop'
                ? await this.deps.halt.stop(tx!, { seq: entry!.seq, at: record.at, reason, by: user.userId, interventionId: record.interventionId })
                : await this.deps.halt.resume(tx!, record.interventionId);
            // Another stop or resume committed first (here or on another replica): keep this one out of the ledger.
            if (!changed) throw new StateChanged();
            await this.deps.interventions.insert(tx!, record);
            seq = entry!.seq;
            await this.deps.notices?.send(tx!, { kind: 'halt', seq, value: kind === 'stop' ? '1' : '0' });
            // The state this intervention set (a later one may change it before the answer goes out).
            after = await this.deps.halt.get(tx);
          },
        },
      );
    } catch (err) {
      if (err instanceof StateChanged) {
        await this.deps.halt.memory.refresh().catch(() => undefined);
        throw conflict(kind === 'stop' ? 'ALREADY_HALTED' : 'NOT_HALTED', await this.deps.halt.get());
      }
      throw err;
    }
    // Committed: decisions evaluated from now on in this process start from it.
    this.deps.halt.memory.offer(kind === 'stop', seq);
    return after!;
  }
}

function snapshot(s: HaltState): Record<string, unknown> {
  return { halted: s.halted, since: s.since, reason: s.reason, by: s.byUserId };
}

function conflict(code: 'ALREADY_HALTED' | 'NOT_HALTED', s: HaltState): AppError {
  return new AppError(
    409,
    code,
    code === 'ALREADY_HALTED' ? `Decisions are already halted (since ${s.since})` : 'Decisions are not halted',
    snapshot(s),
  );
}
