import { Counter, Histogram, type Registry } from 'prom-client';
import { OUTCOMES, type Outcome } from '../policy/policy.model.js';

/** `lexecon_decisions_total{outcome}` and the decision latency histogram. */
export class DecisionMetrics {
  private readonly decisions: Counter<'outcome'>;
  private readonly seconds: Histogram;

  constructor(registry: Registry) {
    this.decisions = new Counter({
      name: 'lexecon_decisions_total',
      help: 'Decisions made (POST /decide, repeats of a request_id excluded), by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    // Every outcome is exported from the start, at 0, so that rates and alerts work before the first one.
    for (const outcome of OUTCOMES) this.decisions.inc({ outcome }, 0);
    this.seconds = new Histogram({
      name: 'lexecon_decision_duration_seconds',
      help: 'Time to decide, from a validated request to the durable ledger entry and signed token.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
  }

  observe(outcome: Outcome, seconds: number): void {
    this.decisions.inc({ outcome });
    this.seconds.observe(seconds);
  }
}
