/**
 * Who may call a route, declared in its options as `config: { access }`. Every route declares one; the
 * auth module's guard refuses to start when one is missing and enforces them on every request.
 * - `{ public: true }`: anonymous (DESIGN §7's short list only).
 * - `{ roles }`: a principal holding one of these roles. `mfaEnrollment: true` also admits a session
 *   that must still enrol in MFA.
 */
export type Access = { public: true } | { roles: readonly string[]; mfaEnrollment?: true };

/** Anonymous access. */
export const PUBLIC: Access = { public: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}
