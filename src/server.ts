import path from 'node:path';
import { buildAppWithServices } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lexecon: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const { app, services } = await buildAppWithServices(config);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests and pending ledger appends');
    const timer = setTimeout(() => {
      app.log.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  if ((await services.auth.userCount()) === 0) app.log.warn(firstAdminHint(config));
}

/**
 * What a new installation needs first: every route but a few answers 401 until there is a user. Logged at
 * start while there are no users, with this server's own database path, so the CLI command works as shown.
 */
function firstAdminHint(config: Config): string {
  const db = path.resolve(config.dbPath);
  return (
    'no users yet: create the first admin, either by restarting with ' +
    `LEXECON_BOOTSTRAP_ADMIN='admin:<a passphrase of 12+ characters>' (created at start while there are no users), ` +
    `or now, next to this server, with: npx lexecon create-user --db ${db} --username admin --role admin ` +
    '(then log in with POST /auth/login and enrol in MFA; see SETUP.md, "The first admin and other users")'
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`lexecon: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
