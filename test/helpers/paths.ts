import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { AppError } from '../../src/platform/errors.js';

/** The repository root, wherever the test file sits. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A golden vector file, copied into the repository from the design folder (`test/vectors/`, see its README). */
export function goldenVector<T>(file: string): T {
  return JSON.parse(readFileSync(path.resolve(REPO_ROOT, 'test/vectors', file), 'utf8')) as T;
}

/** Run `fn`, expecting it to throw an instance of `type`, and return the error. */
export function thrown<E>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).toBeInstanceOf(type);
  return caught as E;
}

/** The reason `p` rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Expect `p` to reject with an AppError of this status and code, and return it. */
export async function expectAppError(p: Promise<unknown>, status: number, code: string): Promise<AppError> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).statusCode).toBe(status);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}
