import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the console (scripts/build-console.ts): <repo>/dist/console, from src/ or dist/. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/**
 * The console's own Content-Security-Policy: nothing but this origin's script, style and API, images
 * only from here or data: URIs; no inline script or style, no eval, no plugins, no forms posting
 * anywhere, no framing. As strict as the API's policy (which stays as it is for every other route).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

export type ConsoleFiles =
  | { built: true; indexHtml: Buffer; assets: ReadonlyMap<string, ConsoleAsset> }
  | { built: false; reason: string };

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** The configured OIDC provider's name in the page's meta tag (HTML-escaped), or empty when none. */
function withOidcProvider(html: string, provider: string | undefined): string {
  const escaped = (provider ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return html.replace('<meta name="lexecon-oidc-provider" content="" />', `<meta name="lexecon-oidc-provider" content="${escaped}" />`);
}

/**
 * Read the built console once: index.html (with the OIDC provider filled in) and every file under
 * assets/ (flat: the build writes hashed names there). A missing build is reported, not thrown: the
 * server still starts and /console answers 503 saying how to build it.
 */
export function loadConsoleFiles(dir: string, oidcProvider: string | undefined): ConsoleFiles {
  let html: string;
  try {
    html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  } catch {
    return { built: false, reason: `the console is not built (no ${path.join(dir, 'index.html')}): run \`npm run build\`` };
  }
  const assets = new Map<string, ConsoleAsset>();
  const assetsDir = path.join(dir, 'assets');
  let names: string[] = [];
  try {
    names = fs.readdirSync(assetsDir);
  } catch {
    return { built: false, reason: `the console build is incomplete (no ${assetsDir}): run \`npm run build\`` };
  }
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    const file = path.join(assetsDir, name);
    if (type && fs.statSync(file).isFile()) assets.set(name, { body: fs.readFileSync(file), contentType: type });
  }
  return { built: true, indexHtml: Buffer.from(withOidcProvider(html, oidcProvider)), assets };
}
