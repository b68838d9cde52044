import { describe, expect, it, vi } from 'vitest';
import * as nodeCrypto from 'node:crypto';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { secretsEqual } = await import('./secrets-equal.js');

describe('secretsEqual', () => {
  it.each([
    ['metrics-token-0123456789', 'metrics-token-0123456789', true],
    ['metrics-token-0123456789', 'metrics-token-0123456788', false],
    ['metrics-token-0123456789', 'metrics-token-012345678', false],
    ['', '', true],
    ['', 'x', false],
    ['é', 'e\u0301', false],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(secretsEqual(a, b)).toBe(expected);
  });

  it('always compares two 32-byte digests with timingSafeEqual, whatever the lengths', () => {
    const spy = vi.mocked(nodeCrypto.timingSafeEqual);
    spy.mockClear();
    secretsEqual('short', 'a much longer presented value');
    expect(spy).toHaveBeenCalledTimes(1);
    const [x, y] = spy.mock.calls[0]!;
    expect((x as Buffer).length).toBe(32);
    expect((y as Buffer).length).toBe(32);
  });
});
