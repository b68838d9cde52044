import { describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../policy/policy.compile.js';
import { loadPolicyDocument } from '../policy/policy.loader.js';
import type { ApprovedAction } from '../policy/policy.sod.js';
import { approvalConflictCheck, type ApprovalCheckInput, type ApprovalRecord } from './decision.sod.js';

const AT = '2026-11-25T10:00:00.000Z';

function compiled(relations: object[]): CompiledPolicy {
  const out = loadPolicyDocument({
    policy_id: 'sod',
    mode: 'permissive',
    terms: [
      { id: 'approve_invoice', type: 'action' },
      { id: 'ship_goods', type: 'action' },
      { id: 'pii', type: 'data_class' },
    ],
    relations,
  });
  if (!out.ok) throw new Error(JSON.stringify(out.problems));
  return compilePolicy(out.policy);
}

const SOD = compiled([
  { id: 'invoice-sod', type: 'conflicts', source: 'approve_invoice', target: 'ship_goods', window: '2h' },
  { id: 'twice', type: 'conflicts', source: 'approve_invoice', target: 'approve_invoice' },
]);

/** An in-memory record: approvals with the ledger seq they were committed at. */
function record(rows: Array<ApprovedAction & { seq: number }>): ApprovalRecord & { reads: Array<{ since: string; after: number }> } {
  const reads: Array<{ since: string; after: number }> = [];
  return {
    reads,
    async approvalsSince(_actor: string, since: string, afterSeq = -1) {
      reads.push({ since, after: afterSeq });
      const found = rows.filter((r) => r.seq > afterSeq && r.approved_at >= since);
      return {
        approvals: found.map(({ seq: _seq, ...a }) => a),
        maxSeq: found.reduce((m, r) => Math.max(m, r.seq), afterSeq),
      };
    },
  };
}

const input = (over: Partial<ApprovalCheckInput> = {}): ApprovalCheckInput => ({
  decisionId: 'dec_x',
  actor: 'ai_agent:clerk',
  policyVersionHash: 'h1',
  payload: JSON.stringify({ actor: 'ai_agent:clerk', proposed_action: 'approve_invoice', tool: 'erp' }),
  at: AT,
  ...over,
});

const versions = (hash: string) => (hash === 'h1' ? Promise.resolve(SOD) : Promise.reject(new Error(`unknown ${hash}`)));

describe('approvalConflictCheck', () => {
  it('finds a conflict with an approval inside the relation window, ending at the approval time', async () => {
    const rec = record([{ action: 'ship_goods', approved_at: '2026-11-25T08:00:00.000Z', decision_id: 'dec_y', seq: 3 }]);
    const check = await approvalConflictCheck(rec, versions, input());
    expect(check).toMatchObject({
      checkable: true,
      conflicts: [
        {
          relation_id: 'invoice-sod',
          source: 'approve_invoice',
          target: 'ship_goods',
          window: '2h',
          conflicting_action: 'ship_goods',
          conflicting_decision_id: 'dec_y',
        },
      ],
    });
    // Outside the window by a millisecond: none. (The widest window, 24h, is what is read.)
    const later = await approvalConflictCheck(rec, versions, input({ at: '2026-11-25T10:00:00.001Z' }));
    expect(later).toMatchObject({ checkable: true, conflicts: [] });
    expect(rec.reads[1]).toEqual({ since: '2026-11-24T10:00:00.001Z', after: -1 });
  });

  it('leaves out the decision’s own approvals (an override of it), not another decision of the same action', async () => {
    const own = record([{ action: 'approve_invoice', approved_at: AT, decision_id: 'dec_x', seq: 5 }]);
    expect(await approvalConflictCheck(own, versions, input())).toMatchObject({ checkable: true, conflicts: [] });
    const other = record([{ action: 'approve_invoice', approved_at: AT, decision_id: 'dec_w', seq: 5 }]);
    expect(await approvalConflictCheck(other, versions, input())).toMatchObject({
      conflicts: [{ relation_id: 'twice', conflicting_decision_id: 'dec_w' }],
    });
  });

  it('recheck: only approvals committed after the first read, and what they make apply', async () => {
    const rows: Array<ApprovedAction & { seq: number }> = [
      { action: 'unrelated', approved_at: AT, decision_id: 'dec_u', seq: 2 },
    ];
    const rec = record(rows);
    const check = await approvalConflictCheck(rec, versions, input());
    if (!check.checkable) throw new Error('checkable');
    expect(check.conflicts).toEqual([]);
    expect(await check.recheck()).toEqual([]);
    expect(rec.reads.at(-1)?.after).toBe(2);
    rows.push({ action: 'ship_goods', approved_at: AT, decision_id: 'dec_y', seq: 7 });
    expect(await check.recheck()).toMatchObject([{ relation_id: 'invoice-sod', conflicting_decision_id: 'dec_y' }]);
  });

  it('judges with the stored request: a relation reached through a data class applies only when it was sent', async () => {
    const byData = compiled([{ id: 'pii-sod', type: 'conflicts', source: 'pii', target: 'ship_goods' }]);
    const rec = record([{ action: 'ship_goods', approved_at: AT, decision_id: 'dec_y', seq: 1 }]);
    const body = (dc?: string[]) => JSON.stringify({ actor: 'ai_agent:clerk', proposed_action: 'approve_invoice', tool: 'erp', data_classes: dc });
    const v = () => Promise.resolve(byData);
    expect(await approvalConflictCheck(rec, v, input({ payload: body(['pii']) }))).toMatchObject({ conflicts: [{ relation_id: 'pii-sod' }] });
    expect(await approvalConflictCheck(rec, v, input({ payload: body() }))).toMatchObject({ checkable: true, conflicts: [] });
  });

  it('reads nothing when no conflicts relation touches the request', async () => {
    const rec = record([{ action: 'ship_goods', approved_at: AT, decision_id: 'dec_y', seq: 1 }]);
    const payload = JSON.stringify({ actor: 'ai_agent:clerk', proposed_action: 'read_report', tool: 'erp' });
    const check = await approvalConflictCheck(rec, versions, input({ payload }));
    expect(check).toMatchObject({ checkable: true, conflicts: [] });
    expect(rec.reads).toEqual([]);
  });

  it('is not checkable (fail closed) without the request or without a policy', async () => {
    const rec = record([]);
    expect(await approvalConflictCheck(rec, versions, input({ payload: undefined }))).toEqual({
      checkable: false,
      reason: expect.stringContaining('purged by retention'),
    });
    expect(await approvalConflictCheck(rec, versions, input({ policyVersionHash: null }))).toMatchObject({ checkable: false });
  });
});
