/**
 * Policy test cases (`lexecon test-policy`, `POST /api/governance/eu-ai-act/test-runs`): a request and
 * what the policy must answer. Pure: no I/O.
 */
import { z } from 'zod';
import type { EvaluationResult } from './policy.model.js';
import { OUTCOMES } from './policy.model.js';
import { EvaluateBodySchema } from './policy.schemas.js';

/** One case: a request and the expected outcome (with, optionally, the conditions and a reason fragment). */
export const PolicyTestCaseSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  request: EvaluateBodySchema.omit({ version_hash: true }),
  expect: z.union([
    z.enum(OUTCOMES),
    z
      .object({
        outcome: z.enum(OUTCOMES),
        conditions: z.array(z.string()).optional(),
        reason_contains: z.string().optional(),
      })
      .strict(),
  ]),
});
export type PolicyTestCase = z.infer<typeof PolicyTestCaseSchema>;

/** A cases file: a JSON array of cases, or `{"cases": [...]}`. */
export const PolicyTestCasesSchema = z.union([
  z.array(PolicyTestCaseSchema),
  z.object({ cases: z.array(PolicyTestCaseSchema) }).transform((c) => c.cases),
]);

/** The case's display name: its own, else `case <n>` (1-based). */
export function caseName(c: PolicyTestCase, index: number): string {
  return c.name ?? `case ${index + 1}`;
}

/**
 * What the result missed of the case's expectation (empty when the case passes): the outcome, the exact
 * set of conditions (order-insensitive), a fragment of the reason.
 */
export function caseMisses(c: PolicyTestCase, result: Pick<EvaluationResult, 'outcome' | 'conditions' | 'reason'>): string[] {
  const expected = typeof c.expect === 'string' ? { outcome: c.expect } : c.expect;
  const misses: string[] = [];
  if (result.outcome !== expected.outcome) misses.push(`expected ${expected.outcome}, got ${result.outcome}`);
  if (expected.conditions && JSON.stringify([...expected.conditions].sort()) !== JSON.stringify(result.conditions)) {
    misses.push(`expected conditions ${JSON.stringify(expected.conditions)}, got ${JSON.stringify(result.conditions)}`);
  }
  if (expected.reason_contains && !result.reason.includes(expected.reason_contains)) {
    misses.push(`expected the reason to contain ${JSON.stringify(expected.reason_contains)}`);
  }
  return misses;
}
