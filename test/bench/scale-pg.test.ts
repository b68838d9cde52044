import { describe, expect, it } from 'vitest';
import { explainingPort } from '../../bench/scale-pg.js';
import { DecisionRepo } from '../../src/modules/decision/decision.repo.js';
import type { DbPort, SqlValue } from '../../src/platform/db/port.js';

/** A port that records what it is asked and answers from `answer`. */
function recordingPort(answer: (sql: string) => unknown[]) {
  const calls: Array<{ method: string; sql: string; params: readonly SqlValue[] | undefined }> = [];
  const port = {
    dialect: 'postgres',
    all: async (sql: string, params?: readonly SqlValue[]) => (calls.push({ method: 'all', sql, params }), answer(sql)),
    one: async (sql: string, params?: readonly SqlValue[]) => (calls.push({ method: 'one', sql, params }), answer(sql)[0]),
  } as unknown as DbPort;
  return { port, calls };
}

describe('bench:scale --backend postgres: explainingPort', () => {
  it('explains the exact SQL and parameters DecisionRepo.list runs, and passes the cursor lookup through', async () => {
    const { port, calls } = recordingPort((sql) =>
      sql.startsWith('EXPLAIN') ? [{ 'QUERY PLAN': 'Limit' }, { 'QUERY PLAN': '  ->  Index Scan Backward using decisions_created_id' }] : [{ createdAt: '2026-01-01T00:00:00.000Z' }],
    );
    const plans: Array<[string, string[]]> = [];
    const repo = new DecisionRepo(explainingPort(port, (sql, plan) => plans.push([sql, plan])));
    await repo.list({ actor: 'ai_agent:a', beforeId: 'dec_X', limit: 101 });

    const lookup = calls.find((c) => c.method === 'one')!;
    expect(lookup.sql).not.toMatch(/^EXPLAIN/);
    expect(lookup.params).toEqual(['dec_X']);
    const explained = calls.filter((c) => c.method === 'all');
    expect(explained).toHaveLength(1);
    const [sql, plan] = plans[0]!;
    expect(explained[0]!.sql).toBe(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
    expect(sql).toMatch(/actor = \?.*\(created_at, decision_id\) < \(\?, \?\).*ORDER BY created_at DESC, decision_id DESC LIMIT \?/);
    expect(explained[0]!.params).toEqual(['ai_agent:a', '2026-01-01T00:00:00.000Z', 'dec_X', 101]);
    expect(plan).toEqual(['Limit', '  ->  Index Scan Backward using decisions_created_id']);
  });
});
