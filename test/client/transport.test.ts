/**
 * The client's two transports (src/client/transport.ts) hold one contract against a real node:http
 * server on 127.0.0.1: the answer with its status and headers, the body cap, the attempt's timeout, the
 * caller's abort (its reason), and — for the default node:http transport — one kept-alive connection
 * for sequential calls.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTransport, nodeTransport, type Attempt, type Transport } from '../../src/client/transport.js';

let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/big') {
        res.end('x'.repeat(64 * 1024));
        return;
      }
      res.writeHead(req.url === '/busy' ? 503 : 200, { 'content-type': 'application/json', 'retry-after': '2', 'x-request-id': 'req-1' });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] ?? null, port: req.socket.remotePort }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const attempt = (path: string, over: Partial<Attempt> = {}): Attempt => ({
  url: base + path,
  method: 'GET',
  headers: { accept: 'application/json' },
  body: undefined,
  signal: undefined,
  timeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  ...over,
});

describe.each([
  ['node:http', () => nodeTransport()],
  ['fetch', () => fetchTransport(globalThis.fetch)],
])('%s transport', (_name, make: () => Transport) => {
  it('answers status, body, Retry-After and the request id; a POST body arrives with its length', async () => {
    const t = make();
    const a = await t.send(attempt('/busy', { method: 'POST', body: '{"é":1}', headers: { 'content-type': 'application/json' } }));
    expect(a.status).toBe(503);
    expect(a.retryAfter).toBe('2');
    expect(a.requestId).toBe('req-1');
    expect(JSON.parse(a.text)).toMatchObject({ method: 'POST', body: '{"é":1}', length: String(Buffer.byteLength('{"é":1}')) });
    t.close();
  });

  it('refuses an answer larger than maxBytes', async () => {
    const t = make();
    await expect(t.send(attempt('/big', { maxBytes: 1024 }))).rejects.toThrow(/larger than 1024 bytes/);
    t.close();
  });

  it('gives up after timeoutMs when no answer comes', async () => {
    const t = make();
    const started = Date.now();
    await expect(t.send(attempt('/hang', { timeoutMs: 300 }))).rejects.toThrow(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
    t.close();
  });

  it("rejects with the caller's abort reason, at once", async () => {
    const t = make();
    const ac = new AbortController();
    const pending = t.send(attempt('/hang', { signal: ac.signal }));
    setTimeout(() => ac.abort(new Error('the agent gave up')), 50);
    await expect(pending).rejects.toThrow('the agent gave up');
    t.close();
  });
});

it('node:http keeps one connection alive across sequential calls', async () => {
  const t = nodeTransport();
  const ports = new Set<number>();
  for (let i = 0; i < 50; i++) ports.add((JSON.parse((await t.send(attempt('/ok'))).text) as { port: number }).port);
  expect(ports.size).toBe(1);
  t.close();
});
