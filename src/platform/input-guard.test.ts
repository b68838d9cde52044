import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installErrorHandling } from './errors.js';
import { installInputGuard, jsonDepth, jsonProblems, loneSurrogateIndex } from './input-guard.js';

/** `{"a":{"a":…1}}` nested `levels` objects deep, built without recursion. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

describe('loneSurrogateIndex', () => {
  it('finds lone high and low surrogates and accepts pairs', () => {
    expect(loneSurrogateIndex('plain')).toBe(-1);
    expect(loneSurrogateIndex('agent:🤖')).toBe(-1);
    expect(loneSurrogateIndex('\ud800')).toBe(0);
    expect(loneSurrogateIndex('ab\udc00')).toBe(2);
    expect(loneSurrogateIndex('\ud83e\udd16\ud800x')).toBe(2);
    // A high surrogate followed by another high surrogate is lone.
    expect(loneSurrogateIndex('\ud800\ud800\udc00')).toBe(0);
    expect(loneSurrogateIndex('x\ud800')).toBe(1);
  });
});

describe('jsonDepth', () => {
  it('counts objects and arrays (a scalar is 0, {} is 1)', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth([[], { a: [1] }])).toBe(3);
    expect(jsonDepth(nested(5))).toBe(5);
  });

  it('measures a value far deeper than the stack allows, and stops at the cap', () => {
    const deep = nested(200_000);
    // A recursive measure overflows the stack here.
    expect(jsonDepth(deep)).toBe(200_000);
    expect(jsonDepth(deep, 5)).toBe(6);
    expect(jsonDepth(nested(5), 5)).toBe(5);
  });
});

describe('jsonProblems', () => {
  it('accepts well-formed values within the bound', () => {
    expect(jsonProblems({ a: ['x', { b: 'agent:🤖' }], n: 1, z: null }, { maxDepth: 3 })).toEqual([]);
    expect(jsonProblems(nested(32), { maxDepth: 32 })).toEqual([]);
  });

  it('reports the first level too deep, with its path, without recursion', () => {
    const problems = jsonProblems({ context: nested(500_000) }, { maxDepth: 32 });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'too_deep', message: 'is nested more than 32 levels deep' });
    expect(problems[0]!.field).toBe(['context', ...Array<string>(31).fill('a')].join('.'));
    const arrays = jsonProblems([[[[]]]], { maxDepth: 3 });
    expect(arrays).toEqual([{ field: '0.0.0', message: 'is nested more than 3 levels deep', code: 'too_deep' }]);
  });

  it('names every lone surrogate, in values and in keys (shown as U+FFFD)', () => {
    const body = JSON.parse('{"a":"\\udc00","reason":"\\ud800","list":["ok","x\\udfff"],"ctx":{"k\\ud800":"v"},"fine":"🤖"}');
    expect(jsonProblems(body, { maxDepth: 32 })).toEqual([
      { field: 'a', message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' },
      { field: 'reason', message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' },
      { field: 'list.1', message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' },
      { field: 'ctx.k\ufffd', message: 'has a name containing a lone surrogate (not valid Unicode)', code: 'lone_surrogate' },
    ]);
    expect(jsonProblems('\ud800', { maxDepth: 32 })).toEqual([
      { field: '(root)', message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' },
    ]);
  });

  it('reports at most maxProblems', () => {
    const many = Array.from({ length: 1000 }, () => '\ud800');
    expect(jsonProblems(many, { maxDepth: 32 })).toHaveLength(20);
    expect(jsonProblems(many, { maxDepth: 32, maxProblems: 3 })).toHaveLength(3);
  });
});

describe('installInputGuard', () => {
  it('checks the query string and path parameters too, and lets a route raise its body depth', async () => {
    // HTTP clients cannot put a lone surrogate in a URL (it is sent as UTF-8, and invalid UTF-8 stays
    // percent-encoded); a query parser that decodes more freely could, and the guard does not rely on it.
    const app = Fastify({ routerOptions: { querystringParser: (q) => (q === 'lone' ? { q: 'a\ud800' } : {}) } });
    installErrorHandling(app, { bodyLimit: 1024 });
    installInputGuard(app, { maxDepth: 3 });
    app.post('/p/:id', async () => ({ ok: true }));
    app.post('/deep', { config: { bodyDepth: 5 } }, async () => ({ ok: true }));
    const lone = await app.inject({ method: 'POST', url: '/p/x?lone', payload: {} });
    expect(lone.statusCode).toBe(400);
    expect(lone.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'Invalid querystring',
      details: [{ in: 'querystring', field: 'q', message: 'contains a lone surrogate (not valid Unicode)', code: 'lone_surrogate' }],
    });
    expect((await app.inject({ method: 'POST', url: '/p/x', payload: { a: { b: 1 } } })).statusCode).toBe(200);
    const deep = await app.inject({ method: 'POST', url: '/p/x', payload: { a: { b: { c: {} } } } });
    expect(deep.json().error.details).toEqual([{ in: 'body', field: 'a.b.c', message: 'is nested more than 3 levels deep', code: 'too_deep' }]);
    expect((await app.inject({ method: 'POST', url: '/deep', payload: { a: { b: { c: { d: {} } } } } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/deep', payload: { a: { b: { c: { d: { e: {} } } } } } })).statusCode).toBe(400);
    await app.close();
  });
});
