/**
 * What services get (never the port): run `fn` as the one run of `name` across replicas, or learn that
 * another run holds it (`ran: false`, at once). The composition root binds it to `runExclusive` on the
 * app's port; without it (tests, tools on their own database) a service simply runs.
 */
export type Exclusive = <T>(name: string, fn: () => Promise<T>) => Promise<{ ran: true; value: T } | { ran: false }>;

