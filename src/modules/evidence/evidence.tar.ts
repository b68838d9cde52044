/**
 * The bag in a tar (ustar), in memory, with tar-stream. Packing is deterministic: the bag's files in
 * path order under one top-level directory named after the export, mode 0644, uid/gid 0, one fixed
 * mtime (the export time).
 */
import { pack as tarPack, extract as tarExtract } from 'tar-stream';

/** The package is not a tar this verifier accepts (the message says why). */
export class TarFormatError extends Error {}

/** Pack `files` (bag-relative paths) under `root/`. */
export async function packBag(files: ReadonlyMap<string, Buffer>, root: string, mtime: Date): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    // NOTE: tar-stream's streams (streamx) type their chunks as unknown; they are Buffers.
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const p of [...files.keys()].sort()) {
    const body = files.get(p)!;
    pack.entry({ name: `${root}/${p}`, size: body.length, mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file' }, body);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Read a tar into bag-relative paths. Every entry must be a regular file (directories are skipped)
 * under one common top-level directory, which is returned as `root`; duplicate or unsafe paths are refused.
 */
export async function unpackBag(tar: Buffer): Promise<{ root: string; files: Map<string, Buffer> }> {
  const extract = tarExtract();
  const files = new Map<string, Buffer>();
  let root: string | undefined;
  const result = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        try {
          const name = header.name.replace(/\/+$/, '');
          if (header.type === 'directory') return next();
          if (header.type !== 'file') throw new TarFormatError(`tar entry ${header.name} is a ${header.type ?? 'unknown entry'}, not a regular file`);
          const parts = name.split('/');
          if (parts.length < 2 || parts.some((s) => s === '' || s === '.' || s === '..')) {
            throw new TarFormatError(`tar entry ${header.name} is not inside the bag's top-level directory`);
          }
          root ??= parts[0]!;
          if (parts[0] !== root) throw new TarFormatError(`tar entry ${header.name} is outside the bag's top-level directory ${root}/`);
          const rel = parts.slice(1).join('/');
          if (files.has(rel)) throw new TarFormatError(`tar holds ${header.name} twice`);
          files.set(rel, Buffer.concat(chunks));
          next();
        } catch (err) {
          next(err as Error);
        }
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve());
    extract.on('error', (err: Error) => reject(err instanceof TarFormatError ? err : new TarFormatError(`not a readable tar: ${err.message}`)));
  });
  extract.end(tar);
  await result;
  if (root === undefined) throw new TarFormatError('the tar holds no file');
  return { root, files };
}
