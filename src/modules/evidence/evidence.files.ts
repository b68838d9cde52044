import fs from 'node:fs';
import path from 'node:path';
import { mkdirPrivate } from '../../platform/files.js';

/** A stored package's name: the export id and `.tar` (nothing else is ever read or deleted here). */
const PACKAGE_NAME = /^evd_[0-9A-HJKMNP-TV-Z]{26}\.tar$/;
/** A package being written: `<package>.<pid>.tmp`, renamed into place when complete. */
const PARTIAL_NAME = /^evd_[0-9A-HJKMNP-TV-Z]{26}\.tar\.\d{1,10}\.tmp$/;

/**
 * The exports directory (`<data dir>/exports`, 0700): evidence packages, written atomically (temp file
 * 0600, fsync, rename), read back for download, and deleted by the retention job. Only names of the
 * form `evd_<ulid>.tar` are touched.
 */
export class ExportFiles {
  constructor(readonly dir: string) {}

  private file(fileName: string): string {
    if (!PACKAGE_NAME.test(fileName)) throw new Error(`not an evidence package name: ${JSON.stringify(fileName)}`);
    return path.join(this.dir, fileName);
  }

  /** Write atomically into the directory (created 0700); a failed write leaves no partial file. */
  write(fileName: string, tar: Buffer): string {
    mkdirPrivate(this.dir);
    const file = this.file(fileName);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      try {
        fs.writeFileSync(fd, tar);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (err) {
      // A failed write (disk full, I/O error) leaves no partial file behind.
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return file;
  }

  read(fileName: string): Buffer {
    return fs.readFileSync(this.file(fileName));
  }

  exists(fileName: string): boolean {
    return fs.existsSync(this.file(fileName));
  }

  /** Delete a stored package; true when there was one. */
  remove(fileName: string): boolean {
    const file = this.file(fileName);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file, { force: true });
    return true;
  }

  /**
   * Delete partial packages (`*.tmp`) left by a process that died while writing one, when last modified
   * before `beforeMs` (file times are wall-clock: pass `Date.now()` minus a margin, so a package being
   * written now is never touched). Returns how many were deleted.
   */
  removePartials(beforeMs: number): number {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      if (!PARTIAL_NAME.test(name)) continue;
      const file = path.join(this.dir, name);
      try {
        if (fs.statSync(file).mtimeMs >= beforeMs) continue;
        fs.rmSync(file, { force: true });
        removed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }
}
