/** The fields of an escalation the queue orders by. */
export interface QueueCase {
  escalation_id: string;
  status: string;
  priority: string;
  escalated_to: string[];
  sla_deadline: string;
}

const PRIORITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Whether a case is escalated to this user: by user id, or by the user's role. */
export function assignedTo(c: Pick<QueueCase, 'escalated_to'>, me: { userId: string; role: string }): boolean {
  return c.escalated_to.includes(me.userId) || c.escalated_to.includes(me.role);
}

/**
 * The queue's order: open cases assigned to me first, then the other open ones, then closed ones; in
 * each group the nearest SLA deadline first, then the higher priority, then the id (stable).
 */
export function orderQueue<C extends QueueCase>(cases: readonly C[], me: { userId: string; role: string }): C[] {
  const group = (c: C) => (c.status === 'resolved' ? 2 : assignedTo(c, me) ? 0 : 1);
  const deadline = (c: C) => {
    const ms = Date.parse(c.sla_deadline);
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return [...cases].sort(
    (a, b) =>
      group(a) - group(b) ||
      deadline(a) - deadline(b) ||
      (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) ||
      (a.escalation_id < b.escalation_id ? -1 : a.escalation_id > b.escalation_id ? 1 : 0),
  );
}
