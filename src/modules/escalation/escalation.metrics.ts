import { Gauge, type Registry } from 'prom-client';
import { isoTimestamp, type Clock } from '../../platform/clock.js';
import { ESCALATION_PRIORITIES } from './escalation.model.js';
import type { EscalationRepo } from './escalation.repo.js';

/**
 * `lexecon_escalations_open{priority}` and `lexecon_escalation_sla_breaches{priority}` (open cases past
 * their deadline), read from the database at each scrape (one indexed query each), so that they hold
 * across restarts.
 */
export function registerEscalationMetrics(registry: Registry, repo: Pick<EscalationRepo, 'openCounts'>, clock: Clock): void {
  const gauge = (name: string, help: string, pick: (c: { open: number; overdue: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['priority'] as const,
      registers: [registry],
      async collect() {
        const counts = await repo.openCounts(isoTimestamp(clock));
        for (const priority of ESCALATION_PRIORITIES) {
          const c = counts.find((x) => x.priority === priority);
          this.set({ priority }, c ? pick(c) : 0);
        }
      },
    });
  gauge('lexecon_escalations_open', 'Escalations open (pending or acknowledged), by priority.', (c) => c.open);
  gauge('lexecon_escalation_sla_breaches', 'Open escalations past their SLA deadline, by priority.', (c) => c.overdue);
}
