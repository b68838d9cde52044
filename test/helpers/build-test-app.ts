import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAppWithServices, type AppServices } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';

export const TEST_START = '2026-11-25T10:00:00.000Z';

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'lexecon-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Configuration for tests: throwaway data dir, silent logs, rate limiting off unless asked for. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = tempDir();
  return loadConfig({
    LEXECON_DATA_DIR: dataDir,
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_RATE_LIMIT_RPM: '0',
    ...env,
  });
}

export interface TestApp {
  app: FastifyInstance;
  services: AppServices;
  db: Db;
  clock: ManualClock;
  config: Config;
}

/**
 * An app on an in-memory database (the test keeps the handle to inspect or tamper with it) and a
 * manual clock fixed at TEST_START.
 */
export async function buildTestApp(
  opts: { env?: Record<string, string>; clock?: ManualClock; db?: Db } = {},
): Promise<TestApp> {
  const config = testConfig(opts.env);
  const clock = opts.clock ?? new ManualClock(TEST_START);
  const db = opts.db ?? openDatabase(':memory:');
  const { app, services } = await buildAppWithServices(config, { clock, db });
  return { app, services, db, clock, config };
}

/** Drop the append-only triggers, as an attacker with write access to the file would. */
export function dropLedgerGuards(db: Db): void {
  db.exec(
    'DROP TRIGGER IF EXISTS ledger_entries_no_update; DROP TRIGGER IF EXISTS ledger_entries_no_delete; DROP TRIGGER IF EXISTS ledger_entries_no_replace;',
  );
}
