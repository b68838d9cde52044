import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { assertPrivateDir, assertPrivateFile, mkdirPrivate, POSIX_MODES } from '../files.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = 'v1';

/**
 * Authenticated encryption (AES-256-GCM) for secrets the server must read back, such as TOTP seeds.
 * Sealed values are `v1.<iv>.<ciphertext>.<tag>` (base64url); `context` (e.g. the owning user id) is
 * bound as associated data, so a sealed value copied to another row does not open.
 */
export class SecretBox {
  private readonly macKeys = new Map<string, Buffer>();
  /** The key as a KeyObject, made once (a cipher made from it skips preparing the raw key every time). */
  private readonly cipherKey: KeyObject;

  private constructor(private readonly key: Buffer) {
    this.cipherKey = createSecretKey(key);
  }

  /**
   * A box over the key in `file`, creating the file (32 random bytes, mode 0600) and its directory (0700)
   * when missing. Refuses ({@link FileModeError}, naming the `chmod` to run) a key file or a directory
   * that group or others may access.
   */
  static fromKeyFile(file: string): SecretBox {
    const dir = path.dirname(file);
    mkdirPrivate(dir);
    assertPrivateDir(dir, 'keys directory');
    if (!fs.existsSync(file)) createKeyFile(file);
    assertPrivateFile(file, 'secret box key file');
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
    return new SecretBox(key);
  }

  /** A box over a key held in memory (tests, tools). */
  static fromKey(key: Buffer): SecretBox {
    if (key.length !== KEY_BYTES) throw new Error(`a secret box key has ${KEY_BYTES} bytes`);
    return new SecretBox(Buffer.from(key));
  }

  /**
   * A keyed, stable pseudonym of `value` (hex HMAC-SHA-256), for values that must be recognisable in
   * the ledger without being readable or guessable from it (e.g. failed login names, often mistyped
   * passwords). The HMAC key is derived from this box's key per `purpose` (HKDF-SHA-256), so it is
   * stable per server, differs between purposes, and never doubles as the encryption key.
   */
  mac(purpose: string, value: string): string {
    let key = this.macKeys.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `lexecon mac: ${purpose}`, KEY_BYTES));
      this.macKeys.set(purpose, key);
    }
    return createHmac('sha256', key).update(value, 'utf8').digest('hex');
  }

  /** `v1.<iv>.<ciphertext>.<tag>`: a fresh random 12-byte nonce ({@link nextNonce}) for every value. */
  seal(plaintext: string, context: string): string {
    const iv = nextNonce();
    const cipher = createCipheriv('aes-256-gcm', this.cipherKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64url');
    return `${VERSION}.${iv.toString('base64url')}.${ciphertext}.${cipher.getAuthTag().toString('base64url')}`;
  }

  /** The plaintext, or throws when the value was not sealed by this key for this context. */
  open(sealed: string, context: string): string {
    const [version, iv, ciphertext, tag, ...rest] = sealed.split('.');
    if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
      throw new Error('not a sealed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.cipherKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** Nonces drawn per refill of {@link noncePool} (one CSPRNG call instead of one per sealed value). */
const NONCES_PER_REFILL = 256;
const noncePool = Buffer.allocUnsafeSlow(IV_BYTES * NONCES_PER_REFILL);
let nonceOffset = noncePool.length;

/**
 * A random 96-bit GCM nonce, as random as `randomBytes(12)` (the same CSPRNG, filled in bulk): each
 * slice of the pool is handed out once, the pool is refilled only when all are used, so no nonce is
 * handed out twice (beyond the 2⁻⁹⁶ chance of random nonces, which is what GCM's random-nonce bound
 * assumes). Returns a copy: nothing that keeps it can see it change.
 */
export function nextNonce(): Buffer {
  if (nonceOffset === noncePool.length) {
    randomFillSync(noncePool);
    nonceOffset = 0;
  }
  const nonce = Buffer.from(noncePool.subarray(nonceOffset, nonceOffset + IV_BYTES));
  nonceOffset += IV_BYTES;
  return nonce;
}

/**
 * Create the key file with its whole content at once: written and fsynced under a temporary name, then
 * hard-linked to `file`, which fails if the file exists. Replicas (or a CLI) starting together on one
 * shared keys directory therefore never read a file another one has created but not yet written: one
 * creates it, the others read that one's key.
 */
function createKeyFile(file: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    if (POSIX_MODES) fs.fchmodSync(fd, 0o600);
    fs.writeFileSync(fd, randomBytes(KEY_BYTES).toString('base64') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
