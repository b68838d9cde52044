/**
 * KeyManager: the server's signing keys (DESIGN §6).
 *
 * * An **Ed25519** key pair signs capability tokens, checkpoints, signed exports and interventions.
 * * An **RSA** key pair (4096 bits, RSA-PSS with SHA-256, MGF1-SHA-256, salt length 32 = the digest
 *   length, as JWS `PS256`) signs evidence packages where RSA is demanded.
 *
 * Layout of the keys directory (created mode 0700; never commit it):
 *
 * ```
 * manifest.json                 which keys exist, which one is active per algorithm, when created/retired
 * ed25519-<kid>.key.pem         PKCS#8 PEM private key, mode 0600 (active keys only)
 * ed25519-<kid>.pub.pem         SPKI PEM public key, mode 0644 (kept for every key, also retired ones)
 * rsa-<kid>.key.pem / .pub.pem  the same for RSA
 * ```
 *
 * The PEM files hold nothing but the standard `BEGIN/END` labels and the base64 body (no headers, no
 * metadata, nothing secret outside the private key itself); everything else lives in the manifest.
 * `kid` = the first 16 hex characters of SHA-256 over the SPKI DER of the public key; it is recomputed
 * from the public key file at every open and must match the manifest.
 *
 * Safety checks at open (a {@link KeyStoreError} with a clear message otherwise):
 * * a private key file that is group- or world-accessible (`mode & 0o077`) is refused: fix it with
 *   `chmod 600 <file>`; a keys directory accessible by group or others (anything but 0700) is refused
 *   too: `chmod 700 <dir>` (it also holds `secret-box.key`, checked by {@link SecretBox});
 * * each active private key must belong to its public key file, and each key must be of its algorithm.
 *
 * Generation: the Ed25519 key is created at open when missing (it takes well under a millisecond). The
 * RSA-4096 key takes ~1–3 s to generate, so it is created **lazily**: on first RSA use (synchronously,
 * {@link KeyManager.activeKid}/{@link KeyManager.sign}/{@link KeyManager.signer}), or ahead of time off
 * the event loop with {@link KeyManager.prepare} (a server calls `void keys.prepare('RSA-PSS-SHA256')`
 * at start so that no request ever waits for it). A test may shrink the RSA modulus only through the
 * explicit `testOnlyRsaModulusLength` option; the default is 4096.
 *
 * Rotation ({@link KeyManager.rotate}) creates a new active key and marks the previous one `retired`:
 * its public key stays (signatures made with it keep verifying), its private key file is deleted.
 * Every change of the manifest happens under a lock file (`manifest.lock`, created exclusively) and is
 * written atomically (temporary file, fsync, rename, fsync of the directory), re-reading the manifest
 * under the lock first, so a CLI rotation and a server start never lose each other's keys. A running
 * process notices a manifest changed by another process (the identity of the file: inode, size,
 * mtime, ctime) at most {@link MANIFEST_CHECK_MS} after the change, before it signs, verifies or lists
 * keys, and reloads it: replicas sharing one keys directory sign with the same active key, and a
 * rotation made by one is followed by all (signatures made meanwhile with the retired key still verify).
 *
 * KeyObjects are created once per key and cached: `sign`/`verify` never parse PEM.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { isoTimestamp, type Clock } from '../clock.js';
import { assertPrivateDir, assertPrivateFile, mkdirPrivate, POSIX_MODES } from '../files.js';
import { sha256Hex } from './sha256.js';

export const KEY_ALGS = ['Ed25519', 'RSA-PSS-SHA256'] as const;
export type KeyAlg = (typeof KEY_ALGS)[number];
export type KeyStatus = 'active' | 'retired';

/** A key id: 16 lowercase hex characters. */
export const KID_PATTERN = /^[0-9a-f]{16}$/;

export const RSA_MODULUS_LENGTH = 4096;
const MIN_TEST_RSA_MODULUS_LENGTH = 1024;

const MANIFEST = 'manifest.json';
const LOCK = 'manifest.lock';
/** A lock file older than this is taken to be left over by a crashed process. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

const RSA_PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } as const;

/** A public key as published (`GET /api/governance/keys`, `lexecon keys list --json`). */
export interface PublicKeyInfo {
  kid: string;
  alg: KeyAlg;
  public_key_pem: string;
  status: KeyStatus;
  created_at: string;
  /** When it stopped signing (retired keys only). */
  retired_at?: string;
}

/** Signs with one specific key (the active key of its algorithm when it was obtained). */
export interface Signer {
  readonly kid: string;
  readonly alg: KeyAlg;
  sign(data: Buffer): Buffer;
}

export interface RotationResult {
  kid: string;
  alg: KeyAlg;
  /** The key that was active before, now retired; null when the algorithm had no key yet. */
  previous_kid: string | null;
}

export interface KeyCreatedEvent {
  kid: string;
  alg: KeyAlg;
  created_at: string;
}

export interface KeyManagerOptions {
  clock: Clock;
  /**
   * Create the directory, the manifest and missing keys (default true). With false, open only reads:
   * a directory without a manifest is an error (for `lexecon keys list`).
   */
  create?: boolean;
  /**
   * Called for every key this manager generates because its algorithm had none (first start, lazy RSA),
   * not for rotations (the caller ledgers those from {@link KeyManager.rotate}'s result). A server
   * appends `key_created` to the ledger from here.
   */
  onKeyCreated?: (event: KeyCreatedEvent) => void;
  /** TESTS ONLY: a smaller RSA modulus (≥ 1024) to keep test suites fast. Never set it in production. */
  testOnlyRsaModulusLength?: number;
  /**
   * How often (ms, monotonic) the manager checks whether the manifest file changed on disk and, if so,
   * reloads it (default {@link MANIFEST_CHECK_MS}; 0 = before every use). Replicas sharing one keys
   * directory (a shared secret mount) thereby follow a rotation made by any of them within this bound.
   */
  manifestCheckMs?: number;
}

/** Default of {@link KeyManagerOptions.manifestCheckMs}. */
export const MANIFEST_CHECK_MS = 250;

/** A problem with the keys directory; the message is meant for the operator. */
export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

const ManifestKeySchema = z.strictObject({
  kid: z.string().regex(KID_PATTERN),
  alg: z.enum(KEY_ALGS),
  status: z.enum(['active', 'retired']),
  created_at: z.string(),
  retired_at: z.string().optional(),
});
const ManifestSchema = z.strictObject({ version: z.literal(1), keys: z.array(ManifestKeySchema) });
type ManifestKey = z.infer<typeof ManifestKeySchema>;
type Manifest = z.infer<typeof ManifestSchema>;

interface LoadedKey {
  info: ManifestKey;
  publicKey: KeyObject;
  publicPem: string;
  privateKey?: KeyObject;
  /** Its signer, made on first use (one per loaded key: a rotation loads new keys, with new signers). */
  signer?: Signer;
}

interface GeneratedKey {
  kid: string;
  alg: KeyAlg;
  files: string[];
}

/** `kid` of a public key (or of the public half of a private key): first 16 hex of SHA-256 of its SPKI DER. */
export function computeKid(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(pub.export({ type: 'spki', format: 'der' })).slice(0, 16);
}

function slug(alg: KeyAlg): string {
  return alg === 'Ed25519' ? 'ed25519' : 'rsa';
}

function nodeKeyType(alg: KeyAlg): string {
  return alg === 'Ed25519' ? 'ed25519' : 'rsa';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some platforms (Windows) cannot open a directory; the rename is still atomic there.
  }
}

/** Write a new file durably; fails when it exists. */
function writeNewFile(file: string, text: string, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    // Explicitly: the umask only narrows the mode given to open().
    if (POSIX_MODES) fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class KeyManager {
  private byKid = new Map<string, LoadedKey>();
  private active = new Map<KeyAlg, LoadedKey>();
  private ordered: LoadedKey[] = [];
  /** Bits of RSA keys this manager generates (4096 unless the test option says otherwise). */
  readonly rsaModulusLength: number;
  private readonly pending = new Map<KeyAlg, Promise<string>>();
  /** The manifest file's identity when it was last read, and when it was last compared (monotonic ms). */
  private manifestStamp = '';
  private checkedAt = -Infinity;

  private constructor(
    readonly dir: string,
    private readonly opts: KeyManagerOptions,
  ) {
    const bits = opts.testOnlyRsaModulusLength;
    if (bits !== undefined && (!Number.isInteger(bits) || bits < MIN_TEST_RSA_MODULUS_LENGTH)) {
      throw new RangeError(`testOnlyRsaModulusLength must be an integer ≥ ${MIN_TEST_RSA_MODULUS_LENGTH}`);
    }
    this.rsaModulusLength = bits ?? RSA_MODULUS_LENGTH;
  }

  /**
   * Open the keys in `dir`, creating the directory (0700), the manifest and the Ed25519 key when missing
   * (unless `create: false`). Throws {@link KeyStoreError} for a directory that fails the safety checks.
   */
  static open(dir: string, opts: KeyManagerOptions): KeyManager {
    const km = new KeyManager(path.resolve(dir), opts);
    const create = opts.create !== false;
    if (!fs.existsSync(km.dir)) {
      if (!create) throw new KeyStoreError(`no keys directory at ${km.dir}`);
      mkdirPrivate(km.dir);
    }
    const st = fs.statSync(km.dir);
    if (!st.isDirectory()) throw new KeyStoreError(`${km.dir} is not a directory`);
    // 0700 only: the directory lists the private keys and holds secret-box.key.
    assertPrivateDir(km.dir, 'keys directory', (m) => new KeyStoreError(m));
    if (!create && !fs.existsSync(km.file(MANIFEST))) throw new KeyStoreError(`no keys in ${km.dir} (no ${MANIFEST})`);
    km.reload();
    if (create) km.ensure('Ed25519');
    return km;
  }

  /** Re-read the manifest and keys from disk (picks up a rotation made by another process). */
  reload(): void {
    const stamp = this.stampOfManifest();
    this.install(this.readManifest());
    this.manifestStamp = stamp;
    this.checkedAt = performance.now();
  }

  /** The manifest file's identity (inode, size, mtime, ctime); '' when it does not exist. */
  private stampOfManifest(): string {
    try {
      const st = fs.statSync(this.file(MANIFEST), { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      return '';
    }
  }

  /**
   * Follow a manifest another process changed (a rotation on another replica): compared at most every
   * `manifestCheckMs`. A manifest that cannot be loaded now (a half-copied mount) keeps the keys in
   * memory and is tried again at the next check.
   */
  private followDisk(): void {
    const every = this.opts.manifestCheckMs ?? MANIFEST_CHECK_MS;
    const now = performance.now();
    if (now - this.checkedAt < every) return;
    this.checkedAt = now;
    const stamp = this.stampOfManifest();
    if (stamp === this.manifestStamp || stamp === '') return;
    try {
      this.install(this.readManifest());
      this.manifestStamp = stamp;
    } catch {
      // keep the loaded keys; the next check tries again
    }
  }

  /** The active key id of `alg`, creating the key if the algorithm has none yet (RSA: lazily, ~1–3 s). */
  activeKid(alg: KeyAlg): string {
    return this.ensure(alg).info.kid;
  }

  /** A signer bound to the current active key of `alg` (put `signer.kid` in what you sign, then sign). */
  signer(alg: KeyAlg): Signer {
    const key = this.ensure(alg);
    if (key.signer !== undefined) return key.signer;
    const privateKey = key.privateKey!;
    const kid = key.info.kid;
    key.signer =
      alg === 'Ed25519'
        ? { kid, alg, sign: (data) => cryptoSign(null, data, privateKey) }
        : { kid, alg, sign: (data) => cryptoSign('sha256', data, { key: privateKey, ...RSA_PSS }) };
    return key.signer;
  }

  /** Sign with the active key of `alg` (Ed25519: 64-byte signature; RSA-PSS-SHA256: modulus-size). */
  sign(alg: KeyAlg, data: Buffer): { kid: string; signature: Buffer } {
    const s = this.signer(alg);
    return { kid: s.kid, signature: s.sign(data) };
  }

  /** Whether `signature` over `data` was made by key `kid` (active or retired). Unknown kid → false. */
  verify(kid: string, data: Buffer, signature: Buffer): boolean {
    this.followDisk();
    const key = this.byKid.get(kid);
    if (!key) return false;
    try {
      return key.info.alg === 'Ed25519'
        ? cryptoVerify(null, data, key.publicKey, signature)
        : cryptoVerify('sha256', data, { key: key.publicKey, ...RSA_PSS }, signature);
    } catch {
      return false;
    }
  }

  /** Every key, active and retired, in creation order. */
  publicKeys(): PublicKeyInfo[] {
    this.followDisk();
    return this.ordered.map(({ info, publicPem }) => ({
      kid: info.kid,
      alg: info.alg,
      public_key_pem: publicPem,
      status: info.status,
      created_at: info.created_at,
      ...(info.retired_at !== undefined ? { retired_at: info.retired_at } : {}),
    }));
  }

  /** The cached public KeyObject of `kid`, or undefined. */
  publicKeyObject(kid: string): KeyObject | undefined {
    this.followDisk();
    return this.byKid.get(kid)?.publicKey;
  }

  /** The algorithm of `kid`, or undefined. */
  algOf(kid: string): KeyAlg | undefined {
    this.followDisk();
    return this.byKid.get(kid)?.info.alg;
  }

  /** Whether `alg` has an active key (without creating one). */
  hasActive(alg: KeyAlg): boolean {
    return this.active.has(alg);
  }

  /**
   * Make sure `alg` has an active key, generating it off the event loop when missing (for RSA at server
   * start). Resolves to the active kid. A concurrent synchronous creation wins; the spare key is dropped.
   */
  prepare(alg: KeyAlg): Promise<string> {
    const existing = this.active.get(alg);
    if (existing) return Promise.resolve(existing.info.kid);
    let p = this.pending.get(alg);
    if (!p) {
      p = this.prepareAsync(alg).finally(() => this.pending.delete(alg));
      this.pending.set(alg, p);
    }
    return p;
  }

  /** Create a new active key for `alg`; the previous one is retired (public key kept, private key deleted). */
  rotate(alg: KeyAlg): RotationResult {
    const generated = this.generate(alg);
    let previous: string | null = null;
    this.commit(
      (manifest) => {
        const now = isoTimestamp(this.opts.clock);
        for (const k of manifest.keys) {
          if (k.alg === alg && k.status === 'active') {
            previous = k.kid;
            k.status = 'retired';
            k.retired_at = now;
          }
        }
        manifest.keys.push({ kid: generated.kid, alg, status: 'active', created_at: now });
        return true;
      },
      () => this.discard(generated),
    );
    return { kid: generated.kid, alg, previous_kid: previous };
  }

  // ---------------------------------------------------------------------------------------------------

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private keyFiles(alg: KeyAlg, kid: string): { pub: string; priv: string } {
    const base = `${slug(alg)}-${kid}`;
    return { pub: this.file(`${base}.pub.pem`), priv: this.file(`${base}.key.pem`) };
  }

  private ensure(alg: KeyAlg): LoadedKey {
    this.followDisk();
    const found = this.active.get(alg);
    if (found) return found;
    if (this.opts.create === false) throw new KeyStoreError(`no active ${alg} key in ${this.dir}`);
    const generated = this.generate(alg);
    this.addIfMissing(generated);
    return this.active.get(alg)!;
  }

  private async prepareAsync(alg: KeyAlg): Promise<string> {
    if (this.opts.create === false) throw new KeyStoreError(`no active ${alg} key in ${this.dir}`);
    const generated = await this.generateAsync(alg);
    if (this.active.has(alg)) {
      this.discard(generated);
    } else {
      this.addIfMissing(generated);
    }
    return this.active.get(alg)!.info.kid;
  }

  /** Add a freshly generated key as the active one, unless another process or call got there first. */
  private addIfMissing(generated: GeneratedKey): void {
    let created: KeyCreatedEvent | undefined;
    this.commit(
      (manifest) => {
        if (manifest.keys.some((k) => k.alg === generated.alg && k.status === 'active')) return false;
        created = { kid: generated.kid, alg: generated.alg, created_at: isoTimestamp(this.opts.clock) };
        manifest.keys.push({ ...created, status: 'active' });
        return true;
      },
      () => this.discard(generated),
    );
    if (created) this.opts.onKeyCreated?.(created);
  }

  private generate(alg: KeyAlg): GeneratedKey {
    const pair =
      alg === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: this.rsaModulusLength, publicExponent: 0x10001 });
    return this.writeKeyFiles(alg, pair.publicKey, pair.privateKey);
  }

  private async generateAsync(alg: KeyAlg): Promise<GeneratedKey> {
    const gen = promisify(generateKeyPair);
    const pair =
      alg === 'Ed25519' ? await gen('ed25519') : await gen('rsa', { modulusLength: this.rsaModulusLength, publicExponent: 0x10001 });
    return this.writeKeyFiles(alg, pair.publicKey, pair.privateKey);
  }

  private writeKeyFiles(alg: KeyAlg, publicKey: KeyObject, privateKey: KeyObject): GeneratedKey {
    const kid = computeKid(publicKey);
    const { pub, priv } = this.keyFiles(alg, kid);
    writeNewFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeNewFile(pub, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
    fsyncDir(this.dir);
    return { kid, alg, files: [priv, pub] };
  }

  private discard(generated: GeneratedKey): void {
    for (const f of generated.files) fs.rmSync(f, { force: true });
  }

  /**
   * Change the manifest under the lock: re-read it, let `change` edit it (false = nothing to write, then
   * `onSkip` runs), write it atomically, reload the keys, delete private keys of retired keys.
   */
  private commit(change: (manifest: Manifest) => boolean, onSkip: () => void): void {
    this.withLock(() => {
      const manifest = this.readManifest();
      if (!change(manifest)) {
        onSkip();
        this.install(manifest);
        return;
      }
      this.writeManifest(manifest);
      this.install(manifest);
      // Our own write (under the lock): not a change to follow.
      this.manifestStamp = this.stampOfManifest();
    });
  }

  private withLock<T>(work: () => T): T {
    const lock = this.file(LOCK);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = fs.openSync(lock, 'wx', 0o600);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        let age = 0;
        try {
          age = Date.now() - fs.statSync(lock).mtimeMs;
        } catch {
          continue; // released meanwhile
        }
        if (age > STALE_LOCK_MS) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new KeyStoreError(`keys directory ${this.dir} is locked by another process (remove ${lock} if no Lexecon process is running)`);
        }
        sleepSync(20);
      }
    }
    try {
      return work();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  private readManifest(): Manifest {
    const file = this.file(MANIFEST);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: [] };
      throw new KeyStoreError(`cannot read ${file}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new KeyStoreError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = ManifestSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ');
      throw new KeyStoreError(`${file} is not a keys manifest: ${issues}`);
    }
    const seen = new Set<string>();
    const activeAlgs = new Set<KeyAlg>();
    for (const k of parsed.data.keys) {
      if (seen.has(k.kid)) throw new KeyStoreError(`${file} lists key ${k.kid} twice`);
      seen.add(k.kid);
      if (k.status === 'active') {
        if (activeAlgs.has(k.alg)) throw new KeyStoreError(`${file} has more than one active ${k.alg} key`);
        activeAlgs.add(k.alg);
      }
    }
    return parsed.data;
  }

  private writeManifest(manifest: Manifest): void {
    const file = this.file(MANIFEST);
    const tmp = this.file(`${MANIFEST}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      writeNewFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncDir(this.dir);
  }

  /** Load every key of `manifest`, check it, then swap the in-memory state in one step. */
  private install(manifest: Manifest): void {
    const byKid = new Map<string, LoadedKey>();
    const active = new Map<KeyAlg, LoadedKey>();
    const ordered: LoadedKey[] = [];
    for (const info of manifest.keys) {
      const { pub, priv } = this.keyFiles(info.alg, info.kid);
      const publicKey = this.readPublicKey(pub, info);
      const loaded: LoadedKey = { info: { ...info }, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
      if (info.status === 'active') {
        loaded.privateKey = this.readPrivateKey(priv, info, publicKey);
        active.set(info.alg, loaded);
      } else if (this.opts.create !== false && fs.existsSync(priv)) {
        // Left over by a rotation interrupted between the manifest write and the deletion.
        fs.rmSync(priv, { force: true });
      }
      byKid.set(info.kid, loaded);
      ordered.push(loaded);
    }
    this.byKid = byKid;
    this.active = active;
    this.ordered = ordered;
  }

  private readPublicKey(file: string, info: ManifestKey): KeyObject {
    let key: KeyObject;
    try {
      key = createPublicKey(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new KeyStoreError(`cannot load public key ${file}: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== nodeKeyType(info.alg)) {
      throw new KeyStoreError(`${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not ${info.alg}`);
    }
    const kid = computeKid(key);
    if (kid !== info.kid) throw new KeyStoreError(`${file} has kid ${kid}, but the manifest says ${info.kid}`);
    return key;
  }

  private readPrivateKey(file: string, info: ManifestKey, publicKey: KeyObject): KeyObject {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      throw new KeyStoreError(`the private key of active ${info.alg} key ${info.kid} is missing: ${(err as Error).message}`);
    }
    if (!st.isFile()) throw new KeyStoreError(`private key ${file} is not a regular file`);
    assertPrivateFile(file, 'private key file', (m) => new KeyStoreError(m));
    let key: KeyObject;
    try {
      key = createPrivateKey(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new KeyStoreError(`cannot load private key ${file}: ${(err as Error).message}`);
    }
    const derived = createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!derived.equals(publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new KeyStoreError(`private key ${file} does not belong to public key ${info.kid}`);
    }
    return key;
  }
}
