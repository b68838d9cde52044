/**
 * `lexecon verify-receipt`: verifies a decision receipt (`GET /decide/:decision_id/receipt`) fully
 * offline, from the file alone (no database, no server): see `receipt.ts`.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT_ERROR, EXIT_INVALID, writeJson } from '../../cli/support.js';
import { loadTrustedKeys } from '../../cli/key-file.js';
import { parseReceipt, ReceiptFormatError, verifyReceipt, type ReceiptReport } from './receipt.js';

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function formatReceiptReport(report: ReceiptReport, file: string): string {
  const key =
    report.key_source === 'trusted'
      ? 'checkpoint signed by a trusted key (--public-key)'
      : 'checkpoint signature checked with the key from the receipt itself, not independently trusted (pass --public-key to check the origin)';
  if (!report.valid) return `INVALID: ${file}: ${report.failure!.reason} [${report.failure!.code}]\n`;
  return (
    `valid: ${file} is the receipt of decision ${report.decision_id}: ledger entry seq ${report.seq}, entry hash recomputed, ` +
    `included in the tree of ${report.tree_size} entries of checkpoint ${report.origin}\n${key}\n`
  );
}

/** Exit 0 valid, 1 invalid (the reason printed), 2 unusable input. */
export function verifyReceiptCommand(file: string, opts: { publicKey?: string; json?: boolean }): void {
  const text = readText(file);
  const trusted = opts.publicKey === undefined ? undefined : loadTrustedKeys(readText(opts.publicKey), opts.publicKey);
  if (trusted !== undefined && !trusted.some((k) => k.asymmetricKeyType === 'ed25519')) {
    throw new CliError(`${opts.publicKey} holds no Ed25519 public key (checkpoints are signed with Ed25519)`);
  }
  let report: ReceiptReport;
  try {
    report = verifyReceipt(parseReceipt(text), trusted);
  } catch (err) {
    if (err instanceof ReceiptFormatError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  if (opts.json) writeJson(report);
  else process.stdout.write(formatReceiptReport(report, file));
  if (!report.valid) process.exitCode = EXIT_INVALID;
}

export function registerReceiptCommands(program: Command): void {
  program
    .command('verify-receipt')
    .description(
      `Verify a decision receipt (GET /decide/:decision_id/receipt) offline, from the file alone: the entry is the decision's, its entry hash recomputes, the checkpoint's note signature verifies, and the inclusion proof leads from the entry to the checkpoint's root. Without --public-key the receipt's own key checks the signature (integrity, not origin). Exit 0 valid, ${EXIT_INVALID} invalid (prints the reason), ${EXIT_ERROR} unusable input.`,
    )
    .argument('<receipt>', 'the receipt (JSON)')
    .option('--public-key <file>', 'the trusted Ed25519 public key (PEM) or the JSON of GET /api/governance/keys')
    .option('--json', 'print the report as JSON')
    .action(verifyReceiptCommand);
}
