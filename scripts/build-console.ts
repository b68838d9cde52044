/**
 * Builds the oversight console (console/) into dist/console/: one JS bundle and one CSS file with
 * content-hashed names under assets/ (served immutable), and index.html naming them. Part of
 * `npm run build`; the browser tests call {@link buildConsole} in their setup.
 *
 *   tsx scripts/build-console.ts [--out <dir>]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { describeFirstLoad, measureFirstLoad } from './console-first-load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SRC = path.join(ROOT, 'console');
export const CONSOLE_OUT = path.join(ROOT, 'dist', 'console');
/** The goal of issue 18 for the console's JavaScript, gzipped. */
export const JS_GZIP_BUDGET = 150 * 1024;

export interface ConsoleBuild {
  outDir: string;
  /** Paths under outDir, e.g. `assets/main-3KXQ2ZP4.js`. */
  js: string;
  css: string;
  jsBytes: number;
  jsGzipBytes: number;
  cssBytes: number;
  cssGzipBytes: number;
  /** index.html + JS + CSS, gzipped: what a first visit downloads. */
  firstLoadGzipBytes: number;
  ms: number;
}

const gz = (buf: Buffer | string) => zlib.gzipSync(buf, { level: 9 }).length;

/** Bundle, minify and hash the console into `outDir` (emptied first). */
export async function buildConsole(opts: { outDir?: string } = {}): Promise<ConsoleBuild> {
  const started = performance.now();
  const outDir = opts.outDir ?? CONSOLE_OUT;
  fs.rmSync(outDir, { recursive: true, force: true });
  const assets = path.join(outDir, 'assets');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { main: path.join(CONSOLE_SRC, 'src', 'main.tsx'), styles: path.join(CONSOLE_SRC, 'styles.css') },
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(CONSOLE_SRC, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(outDir, path.resolve(ROOT, p)).split(path.sep).join('/'));
  const js = outputs.find((p) => p.endsWith('.js'));
  const css = outputs.find((p) => p.endsWith('.css'));
  if (!js || !css || outputs.length !== 2) throw new Error(`console build: expected one JS and one CSS file, got ${outputs.join(', ')}`);
  const template = fs.readFileSync(path.join(CONSOLE_SRC, 'index.html'), 'utf8');
  if (!template.includes('%JS%') || !template.includes('%CSS%')) throw new Error('console/index.html lacks the %JS% or %CSS% placeholder');
  const html = template.replace('%JS%', `/console/${js}`).replace('%CSS%', `/console/${css}`);
  fs.writeFileSync(path.join(outDir, 'index.html'), html);
  const jsBuf = fs.readFileSync(path.join(outDir, js));
  const cssBuf = fs.readFileSync(path.join(outDir, css));
  return {
    outDir,
    js,
    css,
    jsBytes: jsBuf.length,
    jsGzipBytes: gz(jsBuf),
    cssBytes: cssBuf.length,
    cssGzipBytes: gz(cssBuf),
    firstLoadGzipBytes: gz(jsBuf) + gz(cssBuf) + gz(html),
    ms: performance.now() - started,
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** The build's report, as `npm run build` prints it. */
export function describeBuild(b: ConsoleBuild): string {
  const within = b.jsGzipBytes <= JS_GZIP_BUDGET ? 'within' : 'OVER';
  return [
    `console: built in ${Math.round(b.ms)} ms into ${path.relative(ROOT, b.outDir) || b.outDir}/`,
    `  ${b.js}: ${kb(b.jsBytes)} raw, ${kb(b.jsGzipBytes)} gzipped (${within} the ${kb(JS_GZIP_BUDGET)} goal)`,
    `  ${b.css}: ${kb(b.cssBytes)} raw, ${kb(b.cssGzipBytes)} gzipped`,
    `  first load (index.html + JS + CSS): ${kb(b.firstLoadGzipBytes)} gzipped`,
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? process.argv[i + 1] : undefined;
  if (i > 0 && !outDir) {
    process.stderr.write('usage: tsx scripts/build-console.ts [--out <dir>] [--no-first-load]\n');
    process.exit(2);
  }
  buildConsole(outDir ? { outDir: path.resolve(outDir) } : {}).then(
    async (b) => {
      process.stdout.write(`${describeBuild(b)}\n`);
      if (b.jsGzipBytes > JS_GZIP_BUDGET) process.exitCode = 1;
      if (!process.argv.includes('--no-first-load')) process.stdout.write(`${describeFirstLoad(await measureFirstLoad(b.outDir))}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`console build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
