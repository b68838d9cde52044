/**
 * Offline verification of an evidence package (see bagit.ts for the layout), pure apart from the
 * crypto calls: it needs nothing but the package's files, and optionally trusted public keys.
 * It stops at the first failure and names the file and line.
 */
import { createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { computeKid, KEY_ALGS, type KeyAlg } from '../../platform/crypto/keys.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { checkEntry, GENESIS_PREVIOUS_HASH, type StoredEntry } from '../ledger/ledger.chain.js';
import {
  BAGIT_TXT,
  EXPORT_KINDS,
  KIND_FILES,
  LEDGER_HEAD_FILE,
  MANIFEST,
  payloadOxum,
  PUBLIC_KEYS_FILE,
  QUERY_FILE,
  SIGNATURE_FILES,
  SIGNATURE_KEYS_FILE,
  TAG_FILES,
  TAG_MANIFEST,
  type ExportKind,
} from './bagit.js';

export type VerifyFailureCode =
  | 'missing_file'
  | 'extra_file'
  | 'invalid_bagit'
  | 'invalid_bag_info'
  | 'manifest_syntax'
  | 'unlisted_file'
  | 'hash_mismatch'
  | 'invalid_signature_keys'
  | 'signature_invalid'
  | 'untrusted_key'
  | 'invalid_json'
  | 'ledger_seq'
  | 'ledger_chain'
  | 'ledger_head'
  | 'count_mismatch'
  | 'record_ledger_mismatch';

/** The first thing found wrong, with where it is. */
export interface VerifyFailure {
  code: VerifyFailureCode;
  /** The bag-relative file, or null for the package as a whole. */
  file: string | null;
  /** 1-based line in `file`, when the failure is on one line. */
  line?: number;
  message: string;
}

export interface SignatureCheck {
  alg: KeyAlg;
  kid: string;
  valid: boolean;
  /** Whether the key is one of the trusted keys; null when none were given. */
  trusted: boolean | null;
}

export interface EvidenceVerifyReport {
  valid: boolean;
  failure?: VerifyFailure;
  exportId: string | null;
  /** Records per payload file, as counted (filled as far as verification got). */
  counts: Record<string, number>;
  ledger: { firstSeq: number | null; lastSeq: number | null; entriesChecked: number } | null;
  signatures: SignatureCheck[];
  warnings: string[];
}

export interface EvidenceVerifyOptions {
  /** Keys obtained from the operator; at least one signature must be by one of them. */
  trustedKeys?: readonly KeyObject[];
  /** Called every `progressEvery` ledger entries (default 10,000) and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.message);
  }
}

function fail(code: VerifyFailureCode, file: string | null, message: string, line?: number): never {
  const where = file === null ? '' : line === undefined ? `${file}: ` : `${file} line ${line}: `;
  throw new Failed({ code, file, ...(line !== undefined ? { line } : {}), message: `${where}${message}` });
}

const RSA_PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } as const;
const HEX64 = /^[0-9a-f]{64}$/;

/** The lines of a text file that must end with a newline (none for an empty file). */
function lines(files: ReadonlyMap<string, Buffer>, file: string): string[] {
  const text = need(files, file).toString('utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) fail('manifest_syntax', file, 'the last line does not end with a newline');
  return text.slice(0, -1).split('\n');
}

function need(files: ReadonlyMap<string, Buffer>, file: string): Buffer {
  const b = files.get(file);
  if (b === undefined) fail('missing_file', file, 'the file is missing from the package');
  return b;
}

function parseJson(files: ReadonlyMap<string, Buffer>, file: string): unknown {
  try {
    return JSON.parse(need(files, file).toString('utf8'));
  } catch (err) {
    if (err instanceof Failed) throw err;
    return fail('invalid_json', file, `not valid JSON (${(err as Error).message})`);
  }
}

/** Check a manifest's lines against the files; returns the listed paths. */
function checkManifest(files: ReadonlyMap<string, Buffer>, manifest: string, accept: (path: string) => boolean): Set<string> {
  const listed = new Set<string>();
  lines(files, manifest).forEach((text, i) => {
    const line = i + 1;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(text);
    if (!m) fail('manifest_syntax', manifest, `expected "<sha256 hex>  <path>", found ${JSON.stringify(text.slice(0, 120))}`, line);
    const [, hash, path] = m;
    if (!accept(path!)) fail('manifest_syntax', manifest, `${path} does not belong in this manifest`, line);
    if (listed.has(path!)) fail('manifest_syntax', manifest, `${path} is listed twice`, line);
    listed.add(path!);
    const body = files.get(path!);
    if (body === undefined) fail('missing_file', path!, `listed in ${manifest} line ${line}, but missing from the package`);
    const actual = sha256Hex(body);
    if (actual !== hash) fail('hash_mismatch', path!, `SHA-256 ${actual} does not match ${manifest} line ${line} (${hash}): the file was changed`);
  });
  return listed;
}

function checkSignatures(files: ReadonlyMap<string, Buffer>, opts: EvidenceVerifyOptions, report: EvidenceVerifyReport): void {
  const doc = parseJson(files, SIGNATURE_KEYS_FILE) as { signed_file?: unknown; keys?: unknown };
  if (doc === null || typeof doc !== 'object' || doc.signed_file !== TAG_MANIFEST || !Array.isArray(doc.keys)) {
    fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `expected {"signed_file": "${TAG_MANIFEST}", "keys": [...]}`);
  }
  const signed = need(files, TAG_MANIFEST);
  const seen = new Set<KeyAlg>();
  for (const [i, raw] of (doc.keys as unknown[]).entries()) {
    const k = raw as { kid?: unknown; alg?: unknown; public_key_pem?: unknown; signature_file?: unknown };
    const alg = k.alg as KeyAlg;
    if (!KEY_ALGS.includes(alg) || typeof k.kid !== 'string' || typeof k.public_key_pem !== 'string') {
      fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}] needs kid, alg (${KEY_ALGS.join(' or ')}) and public_key_pem`);
    }
    if (k.signature_file !== SIGNATURE_FILES[alg].sig) {
      fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}].signature_file must be ${SIGNATURE_FILES[alg].sig}`);
    }
    if (seen.has(alg)) fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}]: a second ${alg} key`);
    seen.add(alg);
    const names = SIGNATURE_FILES[alg];
    let key: KeyObject;
    try {
      key = createPublicKey(k.public_key_pem);
    } catch (err) {
      return fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}] is not a PEM public key (${(err as Error).message})`);
    }
    const type = alg === 'Ed25519' ? 'ed25519' : 'rsa';
    if (key.asymmetricKeyType !== type) fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}] is a ${key.asymmetricKeyType} key, not ${alg}`);
    const kid = computeKid(key);
    if (kid !== k.kid) fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `keys[${i}] says kid ${k.kid}, but its key has kid ${kid}`);
    if (need(files, names.pem).toString('utf8') !== k.public_key_pem) {
      fail('invalid_signature_keys', names.pem, `differs from the ${alg} key in ${SIGNATURE_KEYS_FILE}`);
    }
    const signature = need(files, names.sig);
    let ok: boolean;
    try {
      ok = alg === 'Ed25519' ? cryptoVerify(null, signed, key, signature) : cryptoVerify('sha256', signed, { key, ...RSA_PSS }, signature);
    } catch {
      ok = false;
    }
    const trusted = opts.trustedKeys ? opts.trustedKeys.some((t) => t.equals(key)) : null;
    report.signatures.push({ alg, kid, valid: ok, trusted });
    if (!ok) fail('signature_invalid', names.sig, `the ${alg} signature (key ${kid}) does not verify over ${TAG_MANIFEST}`);
  }
  for (const alg of KEY_ALGS) {
    if (!seen.has(alg)) fail('invalid_signature_keys', SIGNATURE_KEYS_FILE, `no ${alg} key: the package must carry both signatures`);
  }
  if (opts.trustedKeys) {
    if (!report.signatures.some((s) => s.trusted)) {
      fail('untrusted_key', SIGNATURE_KEYS_FILE, `no signature is by a trusted key (package keys: ${report.signatures.map((s) => `${s.alg} ${s.kid}`).join(', ')})`);
    }
  } else {
    report.warnings.push(
      "no trusted public key given: the signatures were checked with the package's own keys, which proves the package is intact, not who made it (pass --public-key with the operator's key)",
    );
  }
}

function parseBagInfo(files: ReadonlyMap<string, Buffer>): Map<string, string> {
  const info = new Map<string, string>();
  let last: string | undefined;
  lines(files, 'bag-info.txt').forEach((text, i) => {
    if (/^[ \t]/.test(text) && last !== undefined) {
      info.set(last, `${info.get(last)!} ${text.trim()}`);
      return;
    }
    const m = /^([^:\s][^:]*):\s*(.*)$/.exec(text);
    if (!m) fail('invalid_bag_info', 'bag-info.txt', `expected "Label: value", found ${JSON.stringify(text.slice(0, 120))}`, i + 1);
    last = m[1]!;
    info.set(last, m[2]!);
  });
  return info;
}

function jsonLines(files: ReadonlyMap<string, Buffer>, file: string): Array<Record<string, unknown>> {
  return lines(files, file).map((text, i) => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      return fail('invalid_json', file, `not valid JSON (${(err as Error).message})`, i + 1);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('invalid_json', file, 'expected a JSON object', i + 1);
    return v as Record<string, unknown>;
  });
}

function segmentHead(v: unknown, file: string, field: string): { seq: number | null; entry_hash: string } {
  const h = v as { seq?: unknown; entry_hash?: unknown } | null;
  if (!h || (h.seq !== null && !Number.isSafeInteger(h.seq)) || typeof h.entry_hash !== 'string' || !HEX64.test(h.entry_hash)) {
    fail('ledger_head', file, `${field} must be {seq: integer or null, entry_hash: 64 hex}`);
  }
  return { seq: h.seq as number | null, entry_hash: h.entry_hash };
}

function checkLedger(files: ReadonlyMap<string, Buffer>, opts: EvidenceVerifyOptions, report: EvidenceVerifyReport): Map<number, string> {
  const file = KIND_FILES.ledger;
  const headDoc = parseJson(files, LEDGER_HEAD_FILE) as Record<string, unknown>;
  const before = segmentHead(headDoc?.head_before, LEDGER_HEAD_FILE, 'head_before');
  const after = segmentHead(headDoc?.head_after, LEDGER_HEAD_FILE, 'head_after');
  const live = segmentHead(headDoc?.live_head, LEDGER_HEAD_FILE, 'live_head');
  if (before.seq === null && before.entry_hash !== GENESIS_PREVIOUS_HASH) {
    fail('ledger_head', LEDGER_HEAD_FILE, 'head_before without a seq (before genesis) must have the all-zero hash');
  }
  const entries = jsonLines(files, file);
  const total = entries.length;
  const every = opts.progressEvery ?? 10_000;
  let expectedSeq = before.seq === null ? 0 : before.seq + 1;
  let previousHash = before.entry_hash;
  const hashes = new Map<number, string>();
  entries.forEach((e, i) => {
    const line = i + 1;
    for (const f of ['entry_id', 'event_type', 'timestamp', 'data', 'previous_hash', 'entry_hash'] as const) {
      if (typeof e[f] !== 'string') fail('ledger_chain', file, `${f} must be a string`, line);
    }
    if (!Number.isSafeInteger(e.seq)) fail('ledger_chain', file, 'seq must be an integer', line);
    const entry: StoredEntry = {
      seq: e.seq as number,
      entryId: e.entry_id as string,
      eventType: e.event_type as string,
      timestamp: e.timestamp as string,
      dataJson: e.data as string,
      previousHash: e.previous_hash as string,
      entryHash: e.entry_hash as string,
    };
    if (entry.seq !== expectedSeq) {
      fail('ledger_seq', file, `expected seq ${expectedSeq}, found seq ${entry.seq}: a ledger line is missing, added or out of order`, line);
    }
    const finding = checkEntry(entry, expectedSeq, previousHash);
    if (finding) {
      const why = i === 0 && finding.code === 'broken_link' ? `previous_hash does not equal head_before.entry_hash in ${LEDGER_HEAD_FILE}` : finding.reason;
      fail('ledger_chain', file, `seq ${entry.seq} (${entry.entryId}): ${finding.code}: ${why}`, line);
    }
    hashes.set(entry.seq, entry.entryHash);
    expectedSeq++;
    previousHash = entry.entryHash;
    if (opts.onProgress && (line % every === 0 || line === total)) opts.onProgress(line, total);
  });
  const lastSeq = expectedSeq - 1;
  const firstSeq = total === 0 ? null : lastSeq - total + 1;
  if (total === 0 ? after.seq !== before.seq || after.entry_hash !== before.entry_hash : after.seq !== lastSeq || after.entry_hash !== previousHash) {
    fail('ledger_head', LEDGER_HEAD_FILE, `head_after (seq ${after.seq}) is not the last entry of ${file}${total === 0 ? ' (empty segment: it must equal head_before)' : ` (seq ${lastSeq})`}`);
  }
  if (headDoc.first_seq !== firstSeq || headDoc.last_seq !== (total === 0 ? null : lastSeq)) {
    fail('ledger_head', LEDGER_HEAD_FILE, `first_seq/last_seq (${String(headDoc.first_seq)}/${String(headDoc.last_seq)}) do not match ${file}`);
  }
  if (live.seq !== null && after.seq !== null && live.seq < after.seq) {
    fail('ledger_head', LEDGER_HEAD_FILE, `live_head (seq ${live.seq}) is before head_after (seq ${after.seq})`);
  }
  report.ledger = { firstSeq, lastSeq: total === 0 ? null : lastSeq, entriesChecked: total };
  return hashes;
}

/** Records that name a ledger entry of the exported segment must name it with its hash. */
function checkRecordLinks(files: ReadonlyMap<string, Buffer>, kind: ExportKind, hashes: ReadonlyMap<number, string>): void {
  const file = KIND_FILES[kind];
  jsonLines(files, file).forEach((r, i) => {
    if (typeof r.ledger_seq !== 'number' || typeof r.ledger_entry_hash !== 'string') return;
    const h = hashes.get(r.ledger_seq);
    if (h !== undefined && h !== r.ledger_entry_hash) {
      fail('record_ledger_mismatch', file, `ledger_entry_hash of seq ${r.ledger_seq} differs from that entry in ${KIND_FILES.ledger}`, i + 1);
    }
  });
}

/**
 * Verify an evidence package given as its files (bag-relative path → bytes): the BagIt layout, both
 * signatures over the tag manifest, every line of both manifests (missing, changed and unlisted files),
 * bag-info.txt, the ledger segment's hash chain and heads, and the counts in `data/query.json`.
 */
export function verifyEvidencePackage(files: ReadonlyMap<string, Buffer>, opts: EvidenceVerifyOptions = {}): EvidenceVerifyReport {
  const report: EvidenceVerifyReport = { valid: false, exportId: null, counts: {}, ledger: null, signatures: [], warnings: [] };
  try {
    if (need(files, 'bagit.txt').toString('utf8') !== BAGIT_TXT) {
      fail('invalid_bagit', 'bagit.txt', `must read exactly ${JSON.stringify(BAGIT_TXT)}`);
    }
    checkSignatures(files, opts, report);
    const tagListed = checkManifest(files, TAG_MANIFEST, (p) => !p.startsWith('data/') && !p.startsWith('signature/') && p !== TAG_MANIFEST);
    for (const f of TAG_FILES) if (!tagListed.has(f)) fail('unlisted_file', TAG_MANIFEST, `does not list ${f}`);
    const payloadListed = checkManifest(files, MANIFEST, (p) => p.startsWith('data/'));
    const signatureFiles = new Set<string>([SIGNATURE_KEYS_FILE, ...KEY_ALGS.flatMap((a) => [SIGNATURE_FILES[a].sig, SIGNATURE_FILES[a].pem])]);
    for (const p of [...files.keys()].sort()) {
      if (p.startsWith('data/')) {
        if (!payloadListed.has(p)) fail('extra_file', p, `a payload file not listed in ${MANIFEST}`);
      } else if (p !== TAG_MANIFEST && !tagListed.has(p) && !signatureFiles.has(p)) {
        fail('extra_file', p, `a file listed in no manifest`);
      }
    }
    const info = parseBagInfo(files);
    const oxum = payloadOxum(files);
    if (info.get('Payload-Oxum') !== oxum) fail('invalid_bag_info', 'bag-info.txt', `Payload-Oxum ${info.get('Payload-Oxum') ?? '(missing)'} does not match the payload (${oxum})`);
    const exportId = info.get('External-Identifier');
    if (!exportId) fail('invalid_bag_info', 'bag-info.txt', 'External-Identifier (the export id) is missing');
    report.exportId = exportId;

    for (const f of [LEDGER_HEAD_FILE, PUBLIC_KEYS_FILE]) need(files, f);
    const query = parseJson(files, QUERY_FILE) as { export_id?: unknown; parameters?: { include?: unknown }; counts?: unknown };
    if (query?.export_id !== exportId) fail('invalid_json', QUERY_FILE, `export_id ${String(query?.export_id)} differs from External-Identifier ${exportId} in bag-info.txt`);
    const include = query.parameters?.include;
    if (!Array.isArray(include) || include.some((k) => !EXPORT_KINDS.includes(k as ExportKind))) {
      fail('invalid_json', QUERY_FILE, `parameters.include must list kinds among ${EXPORT_KINDS.join(', ')}`);
    }
    const kinds = include as ExportKind[];
    for (const kind of EXPORT_KINDS) {
      const file = KIND_FILES[kind];
      if (!kinds.includes(kind) && files.has(file)) fail('extra_file', file, `${kind} is not among the included kinds of ${QUERY_FILE}`);
      if (kinds.includes(kind)) need(files, file);
    }
    if (kinds.includes('ledger')) {
      const hashes = checkLedger(files, opts, report);
      for (const kind of ['decisions', 'overrides'] as const) if (kinds.includes(kind)) checkRecordLinks(files, kind, hashes);
    }
    const stated = (query.counts ?? {}) as Record<string, unknown>;
    for (const kind of EXPORT_KINDS) {
      const file = KIND_FILES[kind];
      if (!kinds.includes(kind)) continue;
      const n = lines(files, file).length;
      report.counts[kind] = n;
      if (stated[kind] !== n) fail('count_mismatch', QUERY_FILE, `counts.${kind} is ${String(stated[kind])}, but ${file} holds ${n} records`);
    }
    report.valid = true;
  } catch (err) {
    if (!(err instanceof Failed)) throw err;
    report.failure = err.failure;
  }
  return report;
}
