import { errors } from '../../platform/errors.js';
import { idPattern } from '../../platform/ids.js';
import { chainLevel, RESOLVER_ROLES } from './escalation.model.js';
import type { EscalationRecord } from './escalation.repo.js';
import type { EscalationServiceDeps } from './escalation.service.js';

const USER_ID = idPattern('usr');

/**
 * Who a case is with: the level in the chain its assignees stand at (users' roles as they are now), and
 * the check of the reviewers named when a case is opened by hand.
 */
export class EscalationAssignees {
  constructor(private readonly deps: Pick<EscalationServiceDeps, 'users' | 'settings'>) {}

  /** The case's level in the chain (its assignees' roles; users' roles as they are now). */
  async level(c: EscalationRecord): Promise<number> {
    const roles = new Map<string, string>();
    for (const who of c.escalatedTo) {
      if (!USER_ID.test(who)) continue;
      const user = await this.deps.users.userById(who);
      if (user) roles.set(who, user.role);
    }
    return chainLevel(c.escalatedTo, (id) => roles.get(id), this.deps.settings.chain);
  }

  /**
   * `escalated_to` of a case opened by hand: role names that may resolve escalations, and ids of
   * enabled users holding such a role (400 listing every problem). Duplicates are dropped.
   */
  async checkAssignees(list: readonly string[]): Promise<string[]> {
    const problems: Array<{ in: 'body'; field: string; message: string; code: 'custom' }> = [];
    const unique = [...new Set(list)];
    for (const [i, who] of list.entries()) {
      const problem = await this.assigneeProblem(who);
      if (problem) problems.push({ in: 'body', field: `escalated_to.${i}`, message: problem, code: 'custom' });
    }
    if (problems.length > 0) throw errors.validation('Invalid body', problems);
    return unique;
  }

  private async assigneeProblem(who: string): Promise<string | undefined> {
    const resolvers = RESOLVER_ROLES.join(', ');
    if ((RESOLVER_ROLES as readonly string[]).includes(who)) return undefined;
    if (!USER_ID.test(who)) return `must be a user id (usr_…) or a role that may resolve escalations (${resolvers})`;
    const user = await this.deps.users.userById(who);
    if (!user) return `no user '${who}'`;
    if (user.disabled) return `user '${who}' is disabled`;
    if (!(RESOLVER_ROLES as readonly string[]).includes(user.role)) {
      return `user '${who}' holds role '${user.role}', which may not resolve escalations (${resolvers})`;
    }
    return undefined;
  }
}
