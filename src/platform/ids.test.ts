import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { createIdFactory, ID_PREFIXES, idPattern, type IdPrefix } from './ids.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The 26-character ULID after `prefix_`. */
function body(id: string): string {
  return id.slice(id.indexOf('_') + 1);
}

describe('idPattern', () => {
  it('is exactly the DESIGN §2 regex', () => {
    expect(idPattern('dec').source).toBe('^dec_[0-9A-HJKMNP-TV-Z]{26}$');
    expect(idPattern('tok').source).toBe('^tok_[0-9A-HJKMNP-TV-Z]{26}$');
  });

  it('covers every prefix DESIGN §2 names', () => {
    for (const p of ['dec', 'esc', 'ovr', 'int', 'rsk', 'evd', 'usr', 'key', 'tok', 'pol']) {
      expect(ID_PREFIXES).toContain(p);
    }
  });

  it('accepts every Crockford symbol and rejects I, L, O, U and lower case', () => {
    const re = idPattern('dec');
    expect(re.test(`dec_${CROCKFORD.slice(0, 26)}`)).toBe(true);
    expect(re.test(`dec_${CROCKFORD.slice(6)}`)).toBe(true);
    const valid = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(re.test(`dec_${valid}`)).toBe(true);
    for (const bad of ['I', 'L', 'O', 'U', 'a', 'z', '-', ' ']) {
      expect(re.test(`dec_${valid.slice(0, 25)}${bad}`), bad).toBe(false);
    }
  });

  it('rejects wrong lengths, wrong prefixes and surrounding text', () => {
    const re = idPattern('dec');
    const valid = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(re.test(`dec_${valid.slice(1)}`)).toBe(false);
    expect(re.test(`dec_${valid}0`)).toBe(false);
    expect(re.test(`esc_${valid}`)).toBe(false);
    expect(re.test(`DEC_${valid}`)).toBe(false);
    expect(re.test(`dec${valid}`)).toBe(false);
    expect(re.test(`dec-${valid}`)).toBe(false);
    expect(re.test(`xdec_${valid}`)).toBe(false);
    expect(re.test(`dec_${valid}\n`)).toBe(false);
    expect(re.test(valid)).toBe(false);
  });
});

describe('createIdFactory', () => {
  it.each(ID_PREFIXES.map((p) => [p]))('makes %s ids that match their own pattern only', (prefix) => {
    const ids = createIdFactory(new ManualClock());
    const id = ids.next(prefix);
    expect(id).toMatch(idPattern(prefix));
    expect(id.startsWith(`${prefix}_`)).toBe(true);
    expect(id).toHaveLength(prefix.length + 1 + 26);
    for (const other of ID_PREFIXES) {
      if (other !== prefix) expect(idPattern(other).test(id)).toBe(false);
    }
  });

  it('encodes the injected clock time, not the system time', () => {
    const clock = new ManualClock('2026-11-25T18:42:05.123Z');
    const ids = createIdFactory(clock);
    const first = ids.next('dec');
    expect(decodeTime(body(first))).toBe(Date.parse('2026-11-25T18:42:05.123Z'));

    clock.advance(1);
    expect(decodeTime(body(ids.next('dec')))).toBe(Date.parse('2026-11-25T18:42:05.124Z'));

    clock.set('2031-02-03T04:05:06.789Z');
    expect(decodeTime(body(ids.next('esc')))).toBe(Date.parse('2031-02-03T04:05:06.789Z'));

    clock.set('2001-09-09T01:46:40.000Z');
    const older = createIdFactory(clock).next('usr');
    expect(decodeTime(body(older))).toBe(1_000_000_000_000);
    expect(body(older).slice(0, 10)).toBe('00X3AAA400') // 10^12 in Crockford base32, 10 symbols;
  });

  it('the time part sorts with the clock', () => {
    const clock = new ManualClock();
    const ids = createIdFactory(clock);
    const a = ids.next('dec');
    clock.advance(1);
    const b = ids.next('dec');
    clock.advance(86_400_000);
    const c = ids.next('dec');
    expect(body(a).slice(0, 10) < body(b).slice(0, 10)).toBe(true);
    expect(body(b).slice(0, 10) < body(c).slice(0, 10)).toBe(true);
  });

  it('makes 10,000 strictly increasing, unique ids within one millisecond', () => {
    const clock = new ManualClock('2026-11-25T10:00:00.000Z');
    const ids = createIdFactory(clock);
    const made = Array.from({ length: 10_000 }, () => ids.next('dec'));
    expect(new Set(made).size).toBe(10_000);
    for (let i = 1; i < made.length; i++) {
      if (!(made[i - 1]! < made[i]!)) throw new Error(`not increasing at ${i}: ${made[i - 1]} then ${made[i]}`);
    }
    const now = clock.now();
    for (const id of made) {
      expect(id).toMatch(idPattern('dec'));
      if (decodeTime(body(id)) !== now) throw new Error(`${id} does not carry the clock time`);
    }
    // Sorting the ids does not change their order.
    expect([...made].sort()).toEqual(made);
  });

  it('stays monotonic across prefixes within one millisecond (one factory, one sequence)', () => {
    const ids = createIdFactory(new ManualClock());
    const bodies = Array.from({ length: 1000 }, (_, i) => body(ids.next(ID_PREFIXES[i % ID_PREFIXES.length]!)));
    for (let i = 1; i < bodies.length; i++) expect(bodies[i - 1]! < bodies[i]!).toBe(true);
  });

  it('stays monotonic across milliseconds', () => {
    const clock = new ManualClock();
    const ids = createIdFactory(clock);
    let previous = ids.next('dec');
    for (let i = 0; i < 500; i++) {
      if (i % 7 === 0) clock.advance(1 + (i % 3));
      const id = ids.next('dec');
      expect(previous < id).toBe(true);
      previous = id;
    }
  });

  it('keeps ids increasing when the clock steps back, holding the latest time seen', () => {
    const clock = new ManualClock('2026-11-25T10:00:00.500Z');
    const ids = createIdFactory(clock);
    const before = ids.next('dec');
    clock.advance(-400);
    const after = ids.next('dec');
    expect(before < after).toBe(true);
    expect(decodeTime(body(after))).toBe(Date.parse('2026-11-25T10:00:00.500Z'));
  });

  it('gives independent factories independent random parts', () => {
    const clock = new ManualClock();
    const a = createIdFactory(clock).next('dec');
    const b = createIdFactory(clock).next('dec');
    expect(a.slice(0, 14)).toBe(b.slice(0, 14));
    expect(a).not.toBe(b);
  });

  it('draws uniformly from all 32 symbols in the random part', () => {
    const clock = new ManualClock();
    const ids = createIdFactory(clock);
    const n = 4000;
    const counts = new Map<string, number>();
    const firstChar = new Set<string>();
    const lastChar = new Set<string>();
    const randoms = new Set<string>();
    for (let i = 0; i < n; i++) {
      clock.advance(1); // a new millisecond draws a fresh random part
      const random = body(ids.next('evd')).slice(10);
      expect(random).toHaveLength(16);
      randoms.add(random);
      firstChar.add(random[0]!);
      lastChar.add(random[15]!);
      for (const ch of random) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(randoms.size).toBe(n);
    expect([...counts.keys()].sort().join('')).toBe(CROCKFORD);
    expect(firstChar.size).toBe(32);
    expect(lastChar.size).toBe(32);
    // 64,000 symbols: 2,000 expected per symbol, σ ≈ 44; ±15% is more than 6σ.
    const expected = (n * 16) / 32;
    for (const [ch, count] of counts) {
      expect(Math.abs(count - expected) / expected, `symbol ${ch} appeared ${count} times`).toBeLessThan(0.15);
    }
  });

  it('the first random symbol covers its full range (no bias from the pooled PRNG)', () => {
    // A bug mapping bytes to 0..15 or 16..31 only would show up as half the alphabet missing here.
    const clock = new ManualClock();
    const ids = createIdFactory(clock);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      clock.advance(1);
      seen.add(body(ids.next('dec'))[10]!);
    }
    expect(seen.size).toBe(32);
  });
});

// Type-level check that the prefix list drives the parameter type.
const _prefix: IdPrefix = 'dec';
void _prefix;
