import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('shares a run in progress, starts a new one after, and idles through failures', async () => {
    let runs = 0;
    let release!: () => void;
    const flight = new SingleFlight(async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
      if (runs === 2) throw new Error('second run fails');
      return runs;
    });
    const a = flight.run();
    const b = flight.run();
    expect(a).toBe(b);
    release();
    expect(await a).toBe(1);
    const c = flight.run();
    expect(c).not.toBe(a);
    const idle = flight.idle();
    release();
    await expect(c).rejects.toThrow('second run fails');
    await idle;
    expect(runs).toBe(2);
    await flight.idle();
  });
});
