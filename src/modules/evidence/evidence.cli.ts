import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { CliError, configuredPath, dbOption, EXIT_ERROR, EXIT_INVALID, writeJson } from '../../cli/support.js';
import { withLedger } from '../../cli/database.js';
import { databaseUrlOption } from '../../cli/postgres.js';
import { loadTrustedKeys } from '../../cli/key-file.js';
import { systemClock } from '../../platform/clock.js';
import { KeyManager, KeyStoreError, type KeyCreatedEvent } from '../../platform/crypto/keys.js';
import { createIdFactory } from '../../platform/ids.js';
import { VERSION } from '../../platform/version.js';
import { EXPORT_KINDS, type ExportKind } from './bagit.js';
import { EvidenceRepo } from './evidence.repo.js';
import { EvidenceService } from './evidence.service.js';
import { TarFormatError, unpackBag } from './evidence.tar.js';
import { verifyEvidencePackage, type EvidenceVerifyReport } from './evidence.verify.js';

export interface ExportEvidenceOptions {
  from: string;
  to: string;
  include?: string;
  out?: string;
  db?: string;
  databaseUrl?: string;
  keysDir?: string;
  exportsDir?: string;
  /** `--no-progress` sets false: no stage lines on stderr. */
  progress?: boolean;
}

/** `lexecon export-evidence`: build, store and ledger a package as the `cli` actor; optionally copy it to `--out`. */
export async function exportEvidenceCommand(opts: ExportEvidenceOptions): Promise<void> {
  const include = opts.include?.split(',').map((s) => s.trim());
  const unknown = include?.filter((k) => !EXPORT_KINDS.includes(k as ExportKind)) ?? [];
  if (unknown.length > 0) throw new CliError(`--include: unknown kind ${unknown.join(', ')} (choose from ${EXPORT_KINDS.join(', ')})`);
  const keysDir = configuredPath(opts.keysDir, (c) => c.keysDir);
  const exportsDir = configuredPath(opts.exportsDir, (c) => path.join(c.dataDir, 'exports'));
  await withLedger(opts, async (ledger, port) => {
    const created: KeyCreatedEvent[] = [];
    let keys: KeyManager;
    try {
      keys = KeyManager.open(keysDir, { clock: systemClock, onKeyCreated: (e) => created.push(e) });
      for (const alg of ['Ed25519', 'RSA-PSS-SHA256'] as const) keys.activeKid(alg);
    } catch (err) {
      if (err instanceof KeyStoreError) throw new CliError(err.message);
      throw err;
    }
    for (const c of created) await ledger.append('key_created', { kid: c.kid, alg: c.alg });
    const service = new EvidenceService({
      repo: new EvidenceRepo(port),
      keys,
      ledger,
      clock: systemClock,
      ids: createIdFactory(systemClock),
      exportsDir,
      softwareVersion: VERSION,
    });
    const started = Date.now();
    if (opts.progress !== false) process.stderr.write(`building evidence export of [${opts.from}, ${opts.to}): collecting, signing, packing…\n`);
    const record = await service.create({ from: opts.from, to: opts.to, include: include as ExportKind[] | undefined }, { id: 'cli', role: null });
    if (opts.progress !== false) {
      process.stderr.write(`evidence export built: ${record.size.toLocaleString('en-US')} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    let file = path.join(exportsDir, record.fileName);
    if (opts.out !== undefined) {
      fs.copyFileSync(file, opts.out);
      fs.chmodSync(opts.out, 0o600);
      file = opts.out;
    }
    const counts = Object.entries(record.counts).map(([k, n]) => `${k} ${n}`).join(', ');
    process.stdout.write(
      `export ${record.exportId} written to ${file}\n` +
        `period [${record.from}, ${record.to}): ${counts}\n` +
        `sha256 ${record.sha256}, ${record.size} bytes; ledgered as entry_${record.ledgerSeq} (export_created)\n`,
    );
  });
}

/** The verdict of `verify-export` as text lines. */
export function formatExportReport(report: EvidenceVerifyReport, file: string): string {
  const out: string[] = [];
  if (report.valid) {
    const counts = Object.entries(report.counts).map(([k, n]) => `${k} ${n}`).join(', ');
    const l = report.ledger;
    out.push(`valid: ${file} is evidence export ${report.exportId ?? '?'} (${counts})`);
    if (l) out.push(`ledger segment: ${l.entriesChecked} entries${l.firstSeq === null ? '' : `, seq ${l.firstSeq}–${l.lastSeq}`}, hash chain intact`);
  } else {
    out.push(`INVALID: ${report.failure!.message} [${report.failure!.code}]`);
  }
  for (const s of report.signatures) {
    out.push(`signature ${s.alg} (key ${s.kid}): ${s.valid ? 'valid' : 'INVALID'}${s.trusted === null ? '' : s.trusted ? ', trusted key' : ', not a trusted key'}`);
  }
  for (const w of report.warnings) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}

/** `lexecon verify-export`: exit 0 valid, 1 invalid (the first failure printed), 2 error. */
export async function verifyExportCommand(file: string, opts: { publicKey?: string; json?: boolean; progress?: boolean }): Promise<void> {
  let tar: Buffer;
  try {
    tar = fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let trustedKeys: KeyObject[] | undefined;
  if (opts.publicKey !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(opts.publicKey, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${opts.publicKey}: ${(err as Error).message}`);
    }
    trustedKeys = loadTrustedKeys(text, opts.publicKey);
  }
  let report: EvidenceVerifyReport;
  try {
    const { files } = await unpackBag(tar);
    let shown = false;
    report = verifyEvidencePackage(files, {
      ...(trustedKeys ? { trustedKeys } : {}),
      ...(opts.progress === false
        ? {}
        : {
            onProgress: (done: number, total: number) => {
              if (total < 10_000) return;
              shown = true;
              process.stderr.write(`verifying ledger segment: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} entries\n`);
            },
          }),
    });
    if (shown) process.stderr.write('ledger segment checked\n');
  } catch (err) {
    if (!(err instanceof TarFormatError)) throw err;
    report = {
      valid: false,
      failure: { code: 'invalid_bagit', file: null, message: `${file}: ${err.message}` },
      exportId: null,
      counts: {},
      ledger: null,
      signatures: [],
      warnings: [],
    };
  }
  if (opts.json) writeJson(report);
  else process.stdout.write(formatExportReport(report, file));
  if (!report.valid) process.exitCode = EXIT_INVALID;
}

/** `export-evidence` and `verify-export`. */
export function registerEvidenceCommands(program: Command): void {
  program
    .command('export-evidence')
    .description(
      'Build a signed evidence export (BagIt tar) of the period [from, to) from the database (--db, or --database-url for PostgreSQL), store it under the exports directory and ledger it as export_created (generated by `cli`). Progress on stderr (its stages). Exit 0 done, 2 error.',
    )
    .requiredOption('--from <time>', 'start of the period, RFC 3339 (inclusive)')
    .requiredOption('--to <time>', 'end of the period, RFC 3339 (exclusive)')
    .option('--include <kinds>', `comma-separated kinds (default all: ${EXPORT_KINDS.join(',')})`)
    .option('--out <file>', 'also write the package here')
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .addOption(new Option('--keys-dir <dir>', 'keys directory (default: LEXECON_KEYS_DIR or <LEXECON_DATA_DIR>/keys)'))
    .addOption(new Option('--exports-dir <dir>', 'where packages are stored (default: <LEXECON_DATA_DIR>/exports)'))
    .option('--no-progress', 'do not print progress on stderr')
    .action(exportEvidenceCommand);

  program
    .command('verify-export')
    .description(
      `Verify an evidence export offline, from the package alone: BagIt layout, manifests, signatures, the ledger segment's hash chain and the counts. Progress on stderr for segments of 10,000 entries or more. Exit 0 valid, ${EXIT_INVALID} invalid (prints the first failure, with file and line), ${EXIT_ERROR} error.`,
    )
    .argument('<file>', 'the package (.tar)')
    .option(
      '--public-key <file>',
      "a trusted public key (PEM) or the JSON of GET /api/governance/keys; without it the package's own keys prove integrity, not origin",
    )
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress lines on stderr')
    .action(verifyExportCommand);
}
