/**
 * The evidence package as a BagIt bag (RFC 8493), pure: no I/O, no clock. {@link buildEvidenceBag} lays
 * out every file of the bag from data the caller read; {@link verifyEvidencePackage} (evidence.verify.ts)
 * checks one. Both sides share the names and formats fixed here.
 *
 * Layout (paths relative to the bag's base directory):
 * - `bagit.txt`, `bag-info.txt`, `VERIFY.md`: tag files;
 * - `data/…`: the payload (see {@link PAYLOAD_FILES});
 * - `manifest-sha256.txt`: `<sha256>  data/<file>` for every payload file;
 * - `tagmanifest-sha256.txt`: the same for `bagit.txt`, `bag-info.txt`, `manifest-sha256.txt`, `VERIFY.md`;
 * - `signature/`: detached signatures over the bytes of `tagmanifest-sha256.txt` (raw binary signatures,
 *   not base64, so that `openssl pkeyutl -sigfile` reads them as they are), the public keys as PEM and
 *   `keys.json`. A signature cannot cover itself, so `signature/` is outside both manifests: it is
 *   checked by verifying the signatures, which cover the tag manifest, which covers everything else.
 */
import { sha256Hex } from '../../platform/crypto/sha256.js';
import type { KeyAlg } from '../../platform/crypto/keys.js';
import type { StoredEntry } from '../ledger/ledger.chain.js';

/** The record kinds an export can include (`include` in the request). */
export const EXPORT_KINDS = ['ledger', 'decisions', 'escalations', 'overrides', 'interventions', 'policies'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** The JSONL payload file of each record kind. */
export const KIND_FILES: Record<ExportKind, string> = {
  ledger: 'data/ledger.jsonl',
  decisions: 'data/decisions.jsonl',
  escalations: 'data/escalations.jsonl',
  overrides: 'data/overrides.jsonl',
  interventions: 'data/interventions.jsonl',
  policies: 'data/policy-versions.jsonl',
};

export const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
export const LEDGER_HEAD_FILE = 'data/ledger-head.json';
export const PUBLIC_KEYS_FILE = 'data/public-keys.json';
export const QUERY_FILE = 'data/query.json';
export const MANIFEST = 'manifest-sha256.txt';
export const TAG_MANIFEST = 'tagmanifest-sha256.txt';
/** Tag files the tag manifest must list. */
export const TAG_FILES = ['bagit.txt', 'bag-info.txt', MANIFEST, 'VERIFY.md'] as const;
export const SIGNATURE_KEYS_FILE = 'signature/keys.json';

/** The signature files of one algorithm. */
export const SIGNATURE_FILES: Record<KeyAlg, { sig: string; pem: string }> = {
  Ed25519: { sig: `signature/${TAG_MANIFEST}.ed25519.sig`, pem: 'signature/ed25519-public.pem' },
  'RSA-PSS-SHA256': { sig: `signature/${TAG_MANIFEST}.rsa-pss-sha256.sig`, pem: 'signature/rsa-pss-sha256-public.pem' },
};

/** Where the exported ledger segment sits in the chain. */
export interface SegmentHead {
  /** The seq of the entry; null for "before genesis" (the head before a segment that starts at seq 0). */
  seq: number | null;
  entry_hash: string;
}

export interface LedgerHeadDoc {
  /** The entry right before the first exported one (the first exported entry links to its hash). */
  head_before: SegmentHead;
  /** The last exported entry (equal to head_before when the period holds no entry). */
  head_after: SegmentHead;
  /** The ledger's head when the package was built. */
  live_head: SegmentHead;
  first_seq: number | null;
  last_seq: number | null;
}

/** One exported ledger entry: `data` is the canonical JSON text exactly as hashed (a string, not an object). */
export interface LedgerLine {
  seq: number;
  entry_id: string;
  event_type: string;
  timestamp: string;
  data: string;
  previous_hash: string;
  entry_hash: string;
}

export interface BagSigner {
  kid: string;
  alg: KeyAlg;
  publicKeyPem: string;
  sign(data: Buffer): Buffer;
}

export interface EvidenceBagInput {
  exportId: string;
  /** RFC 3339 time of the export. */
  createdAt: string;
  generatedBy: { id: string; role: string | null };
  softwareVersion: string;
  period: { from: string; to: string };
  include: readonly ExportKind[];
  /** The request as received, recorded in `data/query.json`. */
  request: Record<string, unknown>;
  ledger: { entries: readonly StoredEntry[]; head: LedgerHeadDoc };
  /** Records per kind (ids and hashes; no raw personal data), already in their export order. */
  records: Partial<Record<Exclude<ExportKind, 'ledger'>, readonly Record<string, unknown>[]>>;
  publicKeys: readonly unknown[];
}

export interface EvidenceBag {
  files: Map<string, Buffer>;
  counts: Record<string, number>;
  tagManifestSha256: string;
}

/** How records are selected for a period; written into `data/query.json` and VERIFY.md. */
export const SELECTION_RULES: Record<ExportKind, string> = {
  ledger:
    'every entry from the first with timestamp >= from to the last with timestamp < to (a contiguous run of seqs)',
  decisions: 'decisions with created_at in [from, to)',
  escalations: 'escalations with created_at in [from, to)',
  overrides: 'overrides with created_at in [from, to)',
  interventions: 'signed intervention records with at in [from, to)',
  policies: 'every policy version loaded before to (the versions decisions in the period may refer to)',
};

/** One JSON value per line, `\n`-terminated (an empty file for no records). */
export function jsonl(records: readonly unknown[]): Buffer {
  return Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
}

/** A ledger entry as one line of `data/ledger.jsonl`. */
export function ledgerLine(e: StoredEntry): LedgerLine {
  return {
    seq: e.seq,
    entry_id: e.entryId,
    event_type: e.eventType,
    timestamp: e.timestamp,
    data: e.dataJson,
    previous_hash: e.previousHash,
    entry_hash: e.entryHash,
  };
}

/** `<sha256>  <path>\n` per file, in path order (the format `sha256sum -c` reads). */
export function manifestText(files: ReadonlyMap<string, Buffer>, paths: readonly string[]): string {
  return [...paths]
    .sort()
    .map((p) => `${sha256Hex(files.get(p)!)}  ${p}\n`)
    .join('');
}

/** `octets.streamcount` of the payload (RFC 8493 §2.2.2). */
export function payloadOxum(files: ReadonlyMap<string, Buffer>): string {
  let octets = 0;
  let count = 0;
  for (const [p, b] of files) {
    if (!p.startsWith('data/')) continue;
    octets += b.length;
    count++;
  }
  return `${octets}.${count}`;
}

function bagInfo(input: EvidenceBagInput, oxum: string, head: LedgerHeadDoc): string {
  const fields: Array<[string, string]> = [
    ['Source-Organization', 'Lexecon governance engine'],
    ['Bagging-Date', input.createdAt.slice(0, 10)],
    ['Payload-Oxum', oxum],
    ['External-Identifier', input.exportId],
    ['External-Description', `Lexecon evidence export for [${input.period.from}, ${input.period.to})`],
    ['Bag-Software-Agent', `Lexecon ${input.softwareVersion}`],
    ['Lexecon-Software-Version', input.softwareVersion],
    ['Lexecon-Generated-At', input.createdAt],
    ['Lexecon-Generated-By', input.generatedBy.id],
    ['Lexecon-Generated-By-Role', input.generatedBy.role ?? 'none (local CLI)'],
    ['Lexecon-Period-From', input.period.from],
    ['Lexecon-Period-To', input.period.to],
    ['Lexecon-Include', input.include.join(',')],
    ['Lexecon-Ledger-First-Seq', head.first_seq === null ? 'none' : String(head.first_seq)],
    ['Lexecon-Ledger-Last-Seq', head.last_seq === null ? 'none' : String(head.last_seq)],
    ['Lexecon-Query', QUERY_FILE],
  ];
  return fields.map(([k, v]) => `${k}: ${v}\n`).join('');
}

function verifyMd(input: EvidenceBagInput): string {
  const ed = SIGNATURE_FILES.Ed25519;
  const rsa = SIGNATURE_FILES['RSA-PSS-SHA256'];
  return `# Verifying evidence export ${input.exportId}

This is a BagIt bag (RFC 8493). Everything below works offline, from the package alone. The first way
needs nothing from Lexecon: only \`tar\`, \`sha256sum\` (on macOS: \`shasum -a 256\`) and OpenSSL 3.

## 1. With standard tools

Unpack the package and enter the bag's directory:

    tar -xf ${input.exportId}.tar
    cd ${input.exportId}

Check every file against the manifests (each line must say OK):

    sha256sum -c ${MANIFEST}
    sha256sum -c ${TAG_MANIFEST}

Check both signatures over the tag manifest (each must say \`Signature Verified Successfully\` or
\`Verified OK\`):

    openssl pkeyutl -verify -pubin -inkey ${ed.pem} -rawin -in ${TAG_MANIFEST} -sigfile ${ed.sig}
    openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -verify ${rsa.pem} -signature ${rsa.sig} ${TAG_MANIFEST}

A valid signature proves that the package is intact, not who made it: the keys are shipped in
\`signature/\`. Check that they are the operator's. Each key's id (kid) is the first 16 hex digits of
the SHA-256 of its public key (DER); compare it, or the whole PEM, with the keys you obtained from the
operator (\`GET /api/governance/keys\` lists \`kid\` and \`public_key_pem\`):

    openssl pkey -pubin -in ${ed.pem} -outform DER | sha256sum | cut -c1-16
    openssl pkey -pubin -in ${rsa.pem} -outform DER | sha256sum | cut -c1-16

The signature files hold raw binary signatures (Ed25519: 64 bytes; RSA-PSS-SHA256, salt length 32:
the modulus size) over the bytes of \`${TAG_MANIFEST}\`. The \`signature/\` directory is listed in
neither manifest (a signature cannot cover itself); \`${SIGNATURE_KEYS_FILE}\` names each key (kid, alg,
public key PEM). The tag manifest covers \`bagit.txt\`, \`bag-info.txt\`, \`${MANIFEST}\` and this file;
the manifest covers every file under \`data/\`. The manifests prove the files are the ones signed;
that the ledger segment's hash chain is unbroken is checked by recomputing it (next section), which the
Lexecon CLI does for you.

## 2. With the Lexecon CLI, from a checkout of its repository

The \`lexecon\` command is not published as a package: run it from a checkout of the Lexecon source
repository (ideally at the version in \`bag-info.txt\`, \`Lexecon-Software-Version\`), with Node.js 20.19
or later:

    npm ci && npm run build
    node dist/cli.js verify-export /path/to/${input.exportId}.tar --public-key <trusted-key.pem>

It checks the layout, both manifests, both signatures, the hash chain of the ledger segment and the
counts in \`${QUERY_FILE}\`, and prints the first failure (file and line). Exit code 0 valid, 1 invalid,
2 error. \`--public-key\` takes a PEM or the JSON of \`GET /api/governance/keys\`; without it the
signatures are checked with the keys shipped in \`signature/\` (integrity, not origin, as above).

## The ledger segment

\`data/ledger.jsonl\` holds one entry per line as stored: \`seq\`, \`entry_id\`, \`event_type\`,
\`timestamp\`, \`data\` (the canonical JSON text of the entry's data, exactly as hashed, as a string),
\`previous_hash\`, \`entry_hash\`. Each entry_hash is the SHA-256 (lowercase hex) of the UTF-8 bytes of

    {"data":<data>,"entry_id":"…","event_type":"…","previous_hash":"…","timestamp":"…"}

(RFC 8785 canonical JSON, keys in that order, \`<data>\` inserted as it is). Seqs are contiguous; the
first entry's previous_hash is \`head_before.entry_hash\` of \`${LEDGER_HEAD_FILE}\` and the last entry
is its \`head_after\`. \`live_head\` is the ledger's head when the export was made.

## Selection

${EXPORT_KINDS.map((k) => `- \`${KIND_FILES[k]}\`: ${SELECTION_RULES[k]}${input.include.includes(k) ? '' : ' (not included in this export)'}`).join('\n')}

Records hold ids, hashes and outcomes; raw personal data (decision requests: context, intent,
resource) and free-text justifications are not exported (justifications appear as their SHA-256).
`;
}

/**
 * Lay out the bag: payload, manifests, tag files, and the signatures of every signer over the tag
 * manifest. Deterministic for equal inputs and signers (JSON lines keep the key order of the records).
 */
export function buildEvidenceBag(input: EvidenceBagInput, signers: readonly BagSigner[]): EvidenceBag {
  const files = new Map<string, Buffer>();
  const counts: Record<string, number> = {};
  if (input.include.includes('ledger')) {
    files.set(KIND_FILES.ledger, jsonl(input.ledger.entries.map(ledgerLine)));
    counts.ledger = input.ledger.entries.length;
  }
  for (const kind of EXPORT_KINDS) {
    if (kind === 'ledger' || !input.include.includes(kind)) continue;
    const records = input.records[kind] ?? [];
    files.set(KIND_FILES[kind], jsonl(records));
    counts[kind] = records.length;
  }
  files.set(LEDGER_HEAD_FILE, Buffer.from(`${JSON.stringify(input.ledger.head, null, 2)}\n`));
  files.set(PUBLIC_KEYS_FILE, Buffer.from(`${JSON.stringify({ keys: input.publicKeys }, null, 2)}\n`));
  const query = {
    export_id: input.exportId,
    generated_at: input.createdAt,
    generated_by: { id: input.generatedBy.id, role: input.generatedBy.role },
    software_version: input.softwareVersion,
    request: input.request,
    parameters: {
      from: input.period.from,
      to: input.period.to,
      include: [...input.include],
      period: '[from, to): from inclusive, to exclusive',
      selection: Object.fromEntries(input.include.map((k) => [k, SELECTION_RULES[k]])),
    },
    counts,
  };
  files.set(QUERY_FILE, Buffer.from(`${JSON.stringify(query, null, 2)}\n`));

  const payloadPaths = [...files.keys()];
  files.set(MANIFEST, Buffer.from(manifestText(files, payloadPaths)));
  files.set('bagit.txt', Buffer.from(BAGIT_TXT));
  files.set('bag-info.txt', Buffer.from(bagInfo(input, payloadOxum(files), input.ledger.head)));
  files.set('VERIFY.md', Buffer.from(verifyMd(input)));
  const tagManifest = Buffer.from(manifestText(files, TAG_FILES));
  files.set(TAG_MANIFEST, tagManifest);

  for (const s of signers) {
    files.set(SIGNATURE_FILES[s.alg].sig, s.sign(tagManifest));
    files.set(SIGNATURE_FILES[s.alg].pem, Buffer.from(s.publicKeyPem));
  }
  const keys = signers.map((s) => ({ kid: s.kid, alg: s.alg, public_key_pem: s.publicKeyPem, signature_file: SIGNATURE_FILES[s.alg].sig }));
  files.set(SIGNATURE_KEYS_FILE, Buffer.from(`${JSON.stringify({ signed_file: TAG_MANIFEST, keys }, null, 2)}\n`));
  return { files, counts, tagManifestSha256: sha256Hex(tagManifest) };
}
