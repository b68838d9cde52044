import { describe, expect, it } from 'vitest';
import { formatStateNotice, parseStateNotice } from './db/state-notices.js';
import { LedgerOrderedState, type OrderedValue } from './ledger-ordered-state.js';

/** A store whose reads are answered by the test, one at a time. */
function store<T>() {
  const pending: Array<(v: OrderedValue<T>) => void> = [];
  return {
    reads: () => pending.length,
    read: () => new Promise<OrderedValue<T>>((resolve) => pending.push(resolve)),
    answer: (value: T, seq: number) => pending.shift()!({ value, seq }),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('LedgerOrderedState', () => {
  it('reads the store on the first use only; later uses answer from memory', async () => {
    const s = store<boolean>();
    const state = new LedgerOrderedState({ read: s.read, ttlMs: Infinity });
    const first = state.get();
    await turn();
    expect(s.reads()).toBe(1);
    s.answer(false, 10);
    expect(await first).toBe(false);
    expect(await state.get()).toBe(false);
    expect(s.reads()).toBe(0);
    expect(state.peek()).toEqual({ value: false, seq: 10 });
  });

  it('keeps the value as of the latest ledger entry, whatever order the news arrives in', () => {
    const state = new LedgerOrderedState<string | null>({ read: () => Promise.reject(new Error('no read')), ttlMs: Infinity });
    state.offer('v1', 5);
    state.offer('v3', 20);
    // News of an earlier entry arriving late (a notice, a decision's transaction read) changes nothing.
    state.offer('v2', 12);
    expect(state.peek()).toEqual({ value: 'v3', seq: 20 });
    state.offer(null, 21);
    expect(state.peek()).toEqual({ value: null, seq: 21 });
  });

  it('a re-read that took its snapshot before a newer offer does not replace it', async () => {
    const s = store<boolean>();
    const state = new LedgerOrderedState({ read: s.read, ttlMs: Infinity });
    state.offer(false, 3);
    const reading = state.refresh();
    state.offer(true, 9);
    s.answer(false, 7);
    await reading;
    expect(state.peek()).toEqual({ value: true, seq: 9 });
  });

  it('after the TTL, answers from memory and re-reads in the background', async () => {
    let now = 0;
    const s = store<boolean>();
    const state = new LedgerOrderedState({ read: s.read, ttlMs: 1000, now: () => now });
    const first = state.get();
    s.answer(false, 1);
    await first;
    now = 999;
    expect(await state.get()).toBe(false);
    expect(s.reads()).toBe(0);
    now = 1001;
    expect(await state.get()).toBe(false);
    expect(s.reads()).toBe(1);
    // One re-read at a time.
    expect(await state.get()).toBe(false);
    expect(s.reads()).toBe(1);
    s.answer(true, 8);
    await turn();
    expect(await state.get()).toBe(true);
  });

  it('known() answers without a promise: undefined until something is known, then the value (re-read in the background past the TTL)', async () => {
    let now = 0;
    const s = store<string | null>();
    const state = new LedgerOrderedState<string | null>({ read: s.read, ttlMs: 1000, now: () => now });
    expect(state.known()).toBeUndefined();
    expect(s.reads()).toBe(0);
    state.offer(null, 2);
    // Known from an offer only (never read): the first use re-reads in the background, answering meanwhile.
    expect(state.known()).toBeNull();
    expect(s.reads()).toBe(1);
    s.answer('h1', 3);
    await turn();
    expect(state.known()).toBe('h1');
    now = 500;
    expect(state.known()).toBe('h1');
    expect(s.reads()).toBe(0);
    now = 2000;
    expect(state.known()).toBe('h1');
    expect(s.reads()).toBe(1);
    s.answer('h2', 4);
    await turn();
    expect(state.known()).toBe('h2');
  });

  it('a refresh asked for while a read is in flight reads again after it (that read may predate the reason)', async () => {
    const s = store<boolean>();
    const state = new LedgerOrderedState({ read: s.read, ttlMs: Infinity });
    const a = state.refresh();
    const b = state.refresh();
    const c = state.refresh();
    expect(s.reads()).toBe(1);
    s.answer(false, 4);
    await a;
    await turn();
    expect(s.reads()).toBe(1);
    s.answer(true, 6);
    await Promise.all([b, c]);
    expect(state.peek()).toEqual({ value: true, seq: 6 });
    expect(s.reads()).toBe(0);
  });
});

describe('state notices', () => {
  it('round-trip a kind, a seq and a value', () => {
    const hash = 'a'.repeat(64);
    for (const n of [
      { kind: 'halt' as const, seq: 0, value: '1' },
      { kind: 'halt' as const, seq: 42, value: '0' },
      { kind: 'policy' as const, seq: 7, value: hash },
      { kind: 'policy' as const, seq: 7, value: '-' },
    ]) {
      expect(parseStateNotice(formatStateNotice(n))).toEqual(n);
    }
  });

  it('ignore anything else on the channel; refuse to send what a receiver would ignore', () => {
    for (const payload of ['', 'halt 1', 'halt x 1', 'halt 1 2', 'policy 3 ABC', 'stop 1 1', 'halt  1 1', `policy 1 ${'a'.repeat(65)}`, 'halt 1234567890123456 1']) {
      expect(parseStateNotice(payload)).toBeUndefined();
    }
    expect(() => formatStateNotice({ kind: 'halt', seq: -1, value: '1' })).toThrow(TypeError);
    expect(() => formatStateNotice({ kind: 'policy', seq: 1, value: 'x y' })).toThrow(TypeError);
  });
});
