import fs from 'node:fs';
import path from 'node:path';

/**
 * Private files and directories (DESIGN §6, SETUP "File modes"): what the server creates for itself (data
 * directory, database, keys, exports) is readable by its own user only, whatever the umask, and secrets
 * that are readable by anyone else are refused. Checks look at the mode bits, not at `access()`: a
 * process running as root passes every access check but must still refuse a world-readable key.
 */

/** Windows has no POSIX mode bits: nothing to set or check there. */
export const POSIX_MODES = process.platform !== 'win32';

/** Thrown for a secret (key file, keys directory) that others may read. The message says how to fix it. */
export class FileModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileModeError';
  }
}

const fileModeError = (message: string): Error => new FileModeError(message);

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, '0');

/**
 * Create `dir` (and its missing parents) with mode 0700. Only directories created by this call are
 * chmod-ed (explicitly, so the umask cannot widen or narrow them); existing ones are left as they are.
 */
export function mkdirPrivate(dir: string): void {
  const abs = path.resolve(dir);
  const first = fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
  if (first === undefined || !POSIX_MODES) return;
  // Every directory from the first created one down to `dir` is new.
  const created: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    created.push(d);
    if (d === first || path.dirname(d) === d) break;
  }
  for (const d of created) fs.chmodSync(d, 0o700);
}

/**
 * Create `file` empty with mode 0600 (explicitly, whatever the umask) unless it exists. Returns whether
 * this call created it.
 */
export function createPrivateFile(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    if (POSIX_MODES) fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Refuse a secret file that group or others may access in any way (`mode & 0o077`): the message names
 * the file, its mode and the `chmod 600` to run.
 */
export function assertPrivateFile(file: string, what: string, fail: (message: string) => Error = fileModeError): void {
  if (!POSIX_MODES) return;
  const mode = fs.statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw fail(
      `${what} ${file} is accessible by group or others (mode ${octal(mode)}); refusing to use it. Run: chmod 600 ${file}`,
    );
  }
}

/**
 * Refuse a directory of secrets that group or others may access in any way (`mode & 0o077`): the
 * message names the directory, its mode and the `chmod 700` to run.
 */
export function assertPrivateDir(dir: string, what: string, fail: (message: string) => Error = fileModeError): void {
  if (!POSIX_MODES) return;
  const mode = fs.statSync(dir).mode;
  if ((mode & 0o077) !== 0) {
    throw fail(
      `${what} ${dir} is accessible by group or others (mode ${octal(mode)}); refusing to use it. Run: chmod 700 ${dir}`,
    );
  }
}
