import { describe, expect, it } from 'vitest';
import { argValue, positiveNumber, splitConnections } from '../../bench/options.js';

describe('benchmark options', () => {
  const argv = ['node', 'bench.ts', '--backend', 'postgres', '--quick', '--duration=2', '--dir', '--writers'];

  it('reads --name=value and --name value (as in `npm run bench:ledger -- --backend postgres`)', () => {
    expect(argValue('duration', argv)).toBe('2');
    expect(argValue('backend', argv)).toBe('postgres');
  });

  it('does not take the next flag, or nothing, as a value', () => {
    expect(argValue('dir', argv)).toBeUndefined();
    expect(argValue('writers', argv)).toBeUndefined();
    expect(argValue('quick', argv)).toBeUndefined();
    expect(argValue('pool', argv)).toBeUndefined();
  });

  it('rejects a non-positive number naming the option', () => {
    expect(() => positiveNumber('pool', '0', 4)).toThrow(/--pool must be a positive number/);
    expect(positiveNumber('pool', undefined, 4)).toBe(4);
  });

  it('spreads connections over servers evenly, every server at least one', () => {
    expect(splitConnections(32, 1)).toEqual([32]);
    expect(splitConnections(32, 2)).toEqual([16, 16]);
    expect(splitConnections(33, 2)).toEqual([17, 16]);
    expect(splitConnections(7, 3)).toEqual([3, 2, 2]);
    expect(() => splitConnections(1, 2)).toThrow(/cannot spread 1 connections over 2 servers/);
    expect(() => splitConnections(4, 0)).toThrow(/cannot spread/);
  });
});
