import argon2 from 'argon2';

/** argon2id cost parameters. */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2_PARAMS: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Whether `password` matches `hash`; false (never a throw) for a malformed hash. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Whether a stored hash was made with other parameters and should be replaced at the next login. */
  needsRehash(hash: string): boolean;
}

/** argon2id hashing with the given parameters (production: {@link OWASP_ARGON2_PARAMS}). */
export function argon2Hasher(params: Argon2Params = OWASP_ARGON2_PARAMS): PasswordHasher {
  const options = { type: argon2.argon2id, ...params };
  return {
    hash: (password) => argon2.hash(password, options),
    verify: async (hash, password) => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    needsRehash: (hash) => {
      try {
        return argon2.needsRehash(hash, params);
      } catch {
        return true;
      }
    },
  };
}
