import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { CliError, configuredPath, dbOption, EXIT_ERROR, EXIT_INVALID, writeJson } from '../../cli/support.js';
import { withLedger } from '../../cli/database.js';
import { databaseUrlOption } from '../../cli/postgres.js';
import { parseKeyFile, publicKeyFromPem } from '../../cli/key-file.js';
import { systemClock } from '../../platform/clock.js';
import { computeKid, KeyManager, KeyStoreError, type KeyAlg, type KeyCreatedEvent } from '../../platform/crypto/keys.js';
import { verifyTokenOffline, type TokenKeySource, type TokenVerifyResult } from './token.js';

/** The keys directory: `--keys-dir`, else the server's configuration (`LEXECON_KEYS_DIR`, `<LEXECON_DATA_DIR>/keys`). */
export function keysDirectory(option: string | undefined): string {
  return configuredPath(option, (c) => c.keysDir);
}

function openKeys(dir: string, opts: { create: boolean; onKeyCreated?: (e: KeyCreatedEvent) => void }): KeyManager {
  try {
    return KeyManager.open(dir, { clock: systemClock, ...opts });
  } catch (err) {
    if (err instanceof KeyStoreError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * The verification key(s) in `text` (the contents of a `--public-key` file): an Ed25519 public key in
 * PEM, or the JSON published by `GET /api/governance/keys` (`{keys:[{kid, alg, public_key_pem, …}]}`,
 * or just the array), where every Ed25519 entry's kid must match its key. Throws CliError otherwise.
 */
export function loadVerificationKeys(text: string, file = 'the key file'): TokenKeySource {
  const parsed = parseKeyFile(text, file);
  if ('entries' in parsed) {
    const keys = new Map<string, KeyObject>();
    for (const [i, e] of parsed.entries.entries()) {
      if (e.alg !== 'Ed25519') continue;
      if (typeof e.kid !== 'string' || typeof e.public_key_pem !== 'string') throw new CliError(`${file}: keys[${i}] lacks kid or public_key_pem`);
      const key = parsePublicKey(e.public_key_pem, `${file}: keys[${i}]`);
      const kid = computeKid(key);
      if (kid !== e.kid) throw new CliError(`${file}: keys[${i}] says kid ${e.kid}, but its key has kid ${kid}`);
      keys.set(kid, key);
    }
    if (keys.size === 0) throw new CliError(`${file} lists no Ed25519 key`);
    return (kid) => keys.get(kid);
  }
  return parsePublicKey(parsed.pem, file);
}

function parsePublicKey(pem: string, what: string): KeyObject {
  const key = publicKeyFromPem(pem, what);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CliError(`${what} holds a ${key.asymmetricKeyType ?? 'unknown'} key; capability tokens are signed with Ed25519`);
  }
  return key;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** The answer of `verify-token` as text (one line). */
export function formatVerifyResult(result: TokenVerifyResult): string {
  if (result.valid && result.claims) {
    const c = result.claims;
    const cnd = c.cnd && c.cnd.length > 0 ? `, conditions ${c.cnd.join(', ')}` : '';
    return `valid: token ${c.jti} (kid ${c.kid}) lets ${c.sub} ${c.act} with ${c.tool}${cnd}; decision ${c.dec}; expires ${new Date(c.exp * 1000).toISOString()}`;
  }
  return `invalid: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`;
}

export interface VerifyTokenOptions {
  publicKey: string;
  action?: string;
  tool?: string;
  json?: boolean;
}

/** `lexecon verify-token`: exit 0 valid, 1 invalid (the reason printed), 2 error. */
export async function verifyTokenCommand(tokenArg: string, opts: VerifyTokenOptions): Promise<void> {
  const keys = loadVerificationKeys(readText(opts.publicKey), opts.publicKey);
  const token = (tokenArg === '-' ? await readStdin() : tokenArg).trim();
  const result = verifyTokenOffline(token, keys, { action: opts.action, tool: opts.tool });
  if (opts.json) writeJson({ valid: result.valid, reason: result.reason, claims: result.claims ?? null, ...(result.detail ? { detail: result.detail } : {}) });
  else process.stdout.write(`${formatVerifyResult(result)}\n`);
  if (!result.valid) process.exitCode = EXIT_INVALID;
}

const ALG_NAMES: Record<string, KeyAlg> = { ed25519: 'Ed25519', rsa: 'RSA-PSS-SHA256' };

/** `lexecon keys rotate`: a new active key, ledgered as `key_rotated` (and `key_created` for keys made on the way). */
export async function rotateKeysCommand(opts: { alg: string; keysDir?: string; db?: string; databaseUrl?: string }): Promise<void> {
  const alg = ALG_NAMES[opts.alg];
  if (!alg) throw new CliError(`--alg must be ed25519 or rsa`);
  const dir = keysDirectory(opts.keysDir);
  await withLedger(opts, async (ledger) => {
    const created: KeyCreatedEvent[] = [];
    const keys = openKeys(dir, { create: true, onKeyCreated: (e) => created.push(e) });
    let rotation;
    try {
      rotation = keys.rotate(alg);
    } catch (err) {
      if (err instanceof KeyStoreError) throw new CliError(err.message);
      throw err;
    }
    try {
      // One commit: the keys made on the way and the rotation are in the ledger together, or none is.
      const receipts = await ledger.appendAll([
        ...created.map((c) => ({ eventType: 'key_created', data: { kid: c.kid, alg: c.alg } })),
        { eventType: 'key_rotated', data: { kid: rotation.kid, alg: rotation.alg, previous_kid: rotation.previous_kid } },
      ]);
      const receipt = receipts[receipts.length - 1]!;
      process.stdout.write(
        `rotated ${alg}: new active key ${rotation.kid}${rotation.previous_kid ? `, ${rotation.previous_kid} retired (still verifies)` : ''}; ledger ${receipt.entryId}\n` +
          `a running server keeps signing with its loaded key until it restarts\n`,
      );
    } catch (err) {
      throw new CliError(`the key was rotated to ${rotation.kid}, but the ledger append failed: ${(err as Error).message}`);
    }
  });
}

/** `lexecon keys list`: every key, active and retired (reads only). */
export function listKeysCommand(opts: { keysDir?: string; json?: boolean }): void {
  const keys = openKeys(keysDirectory(opts.keysDir), { create: false });
  const list = keys.publicKeys();
  if (opts.json) {
    writeJson({ keys: list });
    return;
  }
  for (const k of list) {
    process.stdout.write(`${k.kid}  ${k.alg.padEnd(14)}  ${k.status.padEnd(7)}  created ${k.created_at}${k.retired_at ? `  retired ${k.retired_at}` : ''}\n`);
  }
}

/** `lexecon keys public`: the PEM of one public key (default: the active Ed25519 key). */
export function publicKeyCommand(opts: { keysDir?: string; kid?: string }): void {
  const keys = openKeys(keysDirectory(opts.keysDir), { create: false });
  const list = keys.publicKeys();
  const key = opts.kid !== undefined ? list.find((k) => k.kid === opts.kid) : list.find((k) => k.alg === 'Ed25519' && k.status === 'active');
  if (!key) throw new CliError(opts.kid !== undefined ? `no key ${opts.kid}` : 'no active Ed25519 key');
  process.stdout.write(key.public_key_pem);
}

const keysDirOption = () => new Option('--keys-dir <dir>', 'keys directory (default: LEXECON_KEYS_DIR or <LEXECON_DATA_DIR>/keys)');

/** `verify-token` and `keys rotate | list | public`. */
export function registerTokenCommands(program: Command): void {
  program
    .command('verify-token')
    .description(
      `Verify a capability token offline, with nothing but the public key (no database, no revocation check). Exit 0 valid, ${EXIT_INVALID} invalid (prints the reason), ${EXIT_ERROR} error.`,
    )
    .argument('<token>', 'the token (cap_…), or - to read it from stdin')
    .requiredOption('--public-key <file>', 'an Ed25519 public key (PEM), or the JSON of GET /api/governance/keys (every key, rotation included)')
    .option('--action <action>', 'the token must be for this action')
    .option('--tool <tool>', 'the token must be for this tool')
    .option('--json', 'print {valid, reason, claims} as JSON')
    .action(verifyTokenCommand);

  const keys = program.command('keys').description('Manage the signing keys (Ed25519 for tokens, RSA-PSS-SHA256 for evidence).');

  keys
    .command('rotate')
    .description(
      'Create a new active key; the old one is retired (its public key stays for verification, its private key is deleted). Ledgered as key_rotated, in the database (--db, or --database-url for PostgreSQL). A running server picks the new key up when it restarts.',
    )
    .addOption(new Option('--alg <alg>', 'which key').choices(['ed25519', 'rsa']).default('ed25519'))
    .addOption(keysDirOption())
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .action(rotateKeysCommand);

  keys
    .command('list')
    .description('List every key (kid, algorithm, active or retired, dates).')
    .addOption(keysDirOption())
    .option('--json', 'print {keys:[…]} as GET /api/governance/keys does')
    .action(listKeysCommand);

  keys
    .command('public')
    .description('Print a public key as PEM (default: the active Ed25519 key), e.g. for verify-token --public-key.')
    .addOption(keysDirOption())
    .option('--kid <kid>', 'this key instead of the active Ed25519 one')
    .action(publicKeyCommand);
}
