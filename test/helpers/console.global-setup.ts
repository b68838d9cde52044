/**
 * vitest globalSetup: builds the oversight console into dist/console (scripts/build-console.ts, esbuild,
 * ~0.2 s) before any test, as `npm run build` does before `npm start`. Every app a test starts then
 * serves the real console, and starts without the "oversight console unavailable" warning of a source
 * checkout that was never built (a clean clone under .ci/run runs the tests without `npm run build`).
 */
import { buildConsole, describeBuild } from '../../scripts/build-console.js';

export default async function setup(): Promise<void> {
  const build = await buildConsole();
  if (process.env.LEXECON_TEST_VERBOSE) process.stdout.write(`${describeBuild(build)}\n`);
}
