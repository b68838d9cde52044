/**
 * The first-load time of the built console, as `npm run build` reports it (issue 18: "the bundle size and
 * first-load time are reported by npm run build"). The built files (dist/console) are served by a
 * throwaway static server on 127.0.0.1, and Debian's Chromium (/usr/bin/chromium, headless, through
 * playwright-core) loads `/console/` three times, each in a fresh context (cold cache): the median first
 * contentful paint and load event of the sign-in screen. Without Chromium, or when it cannot start, the
 * report says so and the build goes on: the time is a measurement, not a gate (the size is the gate).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

export type FirstLoad = { measured: true; fcpMs: number; loadMs: number; runs: number } | { measured: false; reason: string };

/** Serves `outDir` at /console/ (the shell for every other path under it), as the server does. */
function serve(outDir: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    const rel = url.startsWith('/console/assets/') ? url.slice('/console/'.length) : 'index.html';
    const file = path.join(outDir, rel);
    if (!file.startsWith(outDir + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureFirstLoad(outDir: string, runs = 3): Promise<FirstLoad> {
  if (!fs.existsSync(CHROMIUM_PATH)) return { measured: false, reason: `no Chromium at ${CHROMIUM_PATH}` };
  const { chromium } = await import('playwright-core');
  const server = await serve(path.resolve(outDir));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const fcp: number[] = [];
    const load: number[] = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/console/`, { waitUntil: 'load' });
      // The paint entry can trail the load event by a frame: wait for it (bounded).
      await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, undefined, { timeout: 5_000 });
      // A string: the page's code runs in the browser (DOM types), not under this file's Node types.
      const m = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        return { fcp: paint ? paint.startTime : -1, load: nav ? nav.loadEventEnd - nav.startTime : -1 };
      })()`)) as { fcp: number; load: number };
      fcp.push(m.fcp);
      load.push(m.load);
      await context.close();
    }
    return { measured: true, fcpMs: median(fcp), loadMs: median(load), runs };
  } catch (err) {
    return { measured: false, reason: `Chromium could not measure it: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  } finally {
    await browser?.close().catch(() => undefined);
    await new Promise((resolve) => server.close(resolve));
  }
}

export function describeFirstLoad(f: FirstLoad): string {
  return f.measured
    ? `  first-load time (sign-in screen, Chromium headless, local static server, cold cache, median of ${f.runs}): first contentful paint ${Math.round(f.fcpMs)} ms, load event ${Math.round(f.loadMs)} ms`
    : `  first-load time: not measured (${f.reason})`;
}
