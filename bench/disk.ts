/** What the benchmarks report about the disk they write to (durable commits cost at least one fsync). */
import fs from 'node:fs';
import path from 'node:path';

/** Filesystem name for statfs magic numbers we are likely to meet. */
export function fsName(dir: string): string {
  const names: Record<number, string> = {
    0xef53: 'ext2/3/4',
    0x58465342: 'xfs',
    0x9123683e: 'btrfs',
    0x01021994: 'tmpfs',
    0x794c7630: 'overlayfs',
    0x2fc12fc1: 'zfs',
    0x6969: 'nfs',
    0x65735546: 'fuse',
  };
  try {
    const type = Number(fs.statfsSync(dir).type);
    return names[type] ?? `statfs type 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

/** Mean latency in µs of write(4 KiB)+fsync in `dir`, measured for `ms`: what one durable commit costs at least. */
export function probeFsyncMicros(dir: string, ms: number): number {
  const file = path.join(dir, 'fsync-probe.tmp');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(4096, 0x61);
  let n = 0;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < ms) {
      fs.writeSync(fd, buf, 0, buf.length, (n % 16) * 4096);
      fs.fsyncSync(fd);
      n++;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return ((performance.now() - t0) * 1000) / n;
}
