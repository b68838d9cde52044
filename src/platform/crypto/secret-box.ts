import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
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

  private constructor(private readonly key: Buffer) {}

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

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** The plaintext, or throws when the value was not sealed by this key for this context. */
  open(sealed: string, context: string): string {
    const [version, iv, ciphertext, tag, ...rest] = sealed.split('.');
    if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
      throw new Error('not a sealed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
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
