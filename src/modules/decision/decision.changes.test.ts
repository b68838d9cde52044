import { describe, expect, it } from 'vitest';
import { InProcessDecisionChanges } from './decision.changes.js';

const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  return done;
};

describe('InProcessDecisionChanges', () => {
  it('a notice wakes the waiters on that decision only, and each waiter removes its listener', async () => {
    const changes = new InProcessDecisionChanges();
    const a1 = changes.waitFor('dec_a', 10_000);
    const a2 = changes.waitFor('dec_a', 10_000);
    const b = changes.waitFor('dec_b', 10_000);
    expect(changes.waiting('dec_a')).toBe(2);
    changes.notify('dec_a');
    expect(await settled(a1)).toBe(true);
    expect(await settled(a2)).toBe(true);
    expect(await settled(b)).toBe(false);
    expect(changes.waiting('dec_a')).toBe(0);
    changes.close();
    expect(await settled(b)).toBe(true);
  });

  it('a wait ends after its timeout without a notice; after close() a wait returns at once', async () => {
    const changes = new InProcessDecisionChanges();
    const start = performance.now();
    await changes.waitFor('dec_a', 50);
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);
    expect(changes.waiting('dec_a')).toBe(0);
    changes.close();
    expect(await settled(changes.waitFor('dec_a', 10_000))).toBe(true);
  });
  it('a wait registered before an async read: aborting it answers at once and removes its listener', async () => {
    const changes = new InProcessDecisionChanges();
    const ac = new AbortController();
    const w = changes.waitFor('dec_a', 10_000, ac.signal);
    expect(changes.waiting('dec_a')).toBe(1);
    ac.abort();
    expect(await settled(w)).toBe(true);
    expect(changes.waiting('dec_a')).toBe(0);
    expect(await settled(changes.waitFor('dec_a', 10_000, ac.signal))).toBe(true);
    expect(changes.waiting('dec_a')).toBe(0);
    // A notice that comes while the caller is still reading wakes the wait registered before the read.
    const early = changes.waitFor('dec_b', 10_000, new AbortController().signal);
    changes.notify('dec_b');
    expect(await settled(early)).toBe(true);
    changes.close();
  });
});
