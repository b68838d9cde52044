import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface LedgerMetrics {
  appends: Counter<'event_type'>;
  entries: Gauge;
  batchSize: Histogram;
  commitSeconds: Histogram;
  /** PostgreSQL: how long a batch transaction waited for the chain head row lock (other replicas' batches). */
  headLockWaitSeconds: Histogram;
}

export function createLedgerMetrics(registry: Registry): LedgerMetrics {
  return {
    appends: new Counter({
      name: 'lexecon_ledger_appends_total',
      help: 'Ledger entries committed by this process, by event type.',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    entries: new Gauge({
      name: 'lexecon_ledger_entries',
      help: 'Entries in the ledger, genesis included (head seq + 1).',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'lexecon_ledger_append_batch_size',
      help: 'Appends committed together in one group-commit transaction.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'lexecon_ledger_commit_duration_seconds',
      help: 'Time to commit one group-commit batch durably.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    headLockWaitSeconds: new Histogram({
      name: 'lexecon_ledger_head_lock_wait_seconds',
      help: 'PostgreSQL: time a group-commit batch waited for the ledger head row lock (SELECT … FOR UPDATE), held by another replica\'s batch; not observed on SQLite.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
