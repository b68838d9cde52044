import { AppError, errors } from '../../platform/errors.js';
import type { OverrideRecord } from './override.repo.js';

/** How often a change is tried when the state it read changed under it (a request, a lapse). */
export const MAX_ATTEMPTS = 3;

/** The state read before a transaction changed under it: read again and retry. */
export class StateChanged extends Error {}
export class HaltedMeanwhile extends Error {}

/** The override workflow's refusals, one envelope each. */
export function invalidField(field: string, message: string): AppError {
  return errors.validation('Invalid body', [{ in: 'body', field, message, code: 'custom' }]);
}

export function halted(): AppError {
  return new AppError(
    409,
    'HALTED',
    'Decisions are halted: no override may allow an action until they are resumed (POST /api/governance/resume)',
  );
}

export function pendingConflict(p: OverrideRecord): AppError {
  return new AppError(
    409,
    'OVERRIDE_PENDING',
    `Override '${p.overrideId}' of this decision waits for confirmation; confirm or reject it first`,
    { override_id: p.overrideId },
  );
}
