import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { isUserId, type UserNames } from './lib/admin.js';

/**
 * Who did something, by username. Only an admin may read users (GET /auth/users/:id), so the console
 * provides a cache of names for an admin's session and none for the other roles: they keep seeing user
 * ids (the API tells them no more). The id stays on hover and in the accessible description.
 */
export const People = createContext<UserNames | null>(null);

export function Person({ id, me }: { id: string | null | undefined; me?: string }) {
  const names = useContext(People);
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setName(null);
    if (id && names && isUserId(id)) names.lookup(id).then((n) => live && setName(n), () => undefined);
    return () => {
      live = false;
    };
  }, [id, names]);
  if (!id) return <span>—</span>;
  if (me !== undefined && id === me) return <span title={id}>you</span>;
  if (name === null) return <code>{id}</code>;
  return (
    <span class="person" title={id} data-user-id={id}>
      {name}
    </span>
  );
}

/**
 * Usernames of several ids at once, for text that cannot hold a component (chart labels): an empty map
 * for a viewer who is not an admin, or until the names arrive.
 */
export function useUsernames(ids: readonly string[] | undefined): Map<string, string> {
  const names = useContext(People);
  const [found, setFound] = useState<Map<string, string>>(new Map());
  const key = ids?.join(',') ?? '';
  useEffect(() => {
    let live = true;
    if (!names || !ids) return;
    Promise.all(ids.filter(isUserId).map(async (id) => [id, await names.lookup(id)] as const)).then((pairs) => {
      if (!live) return;
      setFound(new Map(pairs.filter((p): p is readonly [string, string] => p[1] !== null)));
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [names, key]);
  return found;
}
