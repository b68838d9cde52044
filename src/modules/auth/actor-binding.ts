import { AppError } from '../../platform/errors.js';
import { matchesGlob } from '../../platform/glob.js';
import type { Principal } from './auth.guard.js';

/**
 * Whether a principal may act (ask for decisions) for `actor`. An agent is bound to its API key's
 * actor pattern: the actor comes from the credential, never just from the request body. Humans are
 * not bound to actor patterns (DESIGN §7); which humans may call a route is the route's access rule.
 */
export function mayActFor(principal: Principal, actor: string): boolean {
  return principal.kind === 'user' || matchesGlob(principal.actorPattern, actor);
}

/** Throw 403 `ACTOR_NOT_ALLOWED` unless {@link mayActFor}. */
export function assertMayActFor(principal: Principal, actor: string): void {
  if (!mayActFor(principal, actor)) {
    throw new AppError(
      403,
      'ACTOR_NOT_ALLOWED',
      `API key '${principal.kind === 'agent' ? principal.name : ''}' may not act for actor '${actor}'`,
      { actor, actor_pattern: principal.kind === 'agent' ? principal.actorPattern : undefined },
    );
  }
}
