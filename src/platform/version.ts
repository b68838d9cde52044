import { readFileSync } from 'node:fs';

// Resolves to the repository's package.json from both src/platform (tsx, tests) and dist/platform (build).
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
