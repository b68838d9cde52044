import type { Api } from '../api.js';
import { Alert } from '../components.js';
import type { UserNames } from '../lib/admin.js';
import { canAdminister } from '../lib/roles.js';
import { ApiKeys } from './admin-keys.js';
import { Users } from './admin-users.js';

/**
 * Administration (admin only: /auth/users…, /auth/api-keys…): the people who use the console and the
 * keys the agents use. Any other role gets a sentence, not the controls (the API refuses them anyway).
 */
export function AdminScreen({ api, me, names }: { api: Api; me: { userId: string; role: string }; names: UserNames | null }) {
  if (!canAdminister(me.role) || names === null) {
    return (
      <main id="main" tabIndex={-1}>
        <h1>Administration</h1>
        <Alert kind="info">Only an admin manages users and API keys.</Alert>
      </main>
    );
  }
  return (
    <main id="main" tabIndex={-1}>
      <h1>Administration</h1>
      <p class="hint">
        Every change here is ledgered with who made it. A role change, a disable, a password or two-factor reset ends that user's sessions at once.
      </p>
      <Users api={api} names={names} me={me.userId} />
      <ApiKeys api={api} me={me.userId} />
    </main>
  );
}
