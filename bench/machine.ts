/** What the benchmarks measure of the machine's CPU use (Linux /proc; undefined elsewhere). */
import fs from 'node:fs';

/** Machine-wide CPU time (all cores) from /proc/stat on Linux, in ms (USER_HZ is 100: 10 ms a tick). */
export interface CpuStat {
  /** user + nice + system: work of every process, ours included (irq/softirq, e.g. loopback TCP, not). */
  busyMs: number;
  /** Taken by the hypervisor from this VM. */
  stealMs: number;
  totalMs: number;
}

export function cpuStat(): CpuStat | undefined {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map((x) => Number(x) * 10);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busyMs = user + nice + system;
    return { busyMs, stealMs: steal, totalMs: busyMs + irq + softirq + idle + iowait + steal };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) of process `pid` and its live children, from /proc/<pid>/stat (USER_HZ 100):
 * e.g. a PostgreSQL postmaster and its backends. Undefined when /proc cannot be read.
 */
export function processTreeCpuSeconds(pid: number): number | undefined {
  const fields = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  try {
    let ticks = 0;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let f: string[];
      try {
        f = fields(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'));
      } catch {
        continue; // gone meanwhile
      }
      // f[1] is the parent pid, f[11] utime and f[12] stime (fields 4, 14 and 15 of proc(5)).
      if (Number(entry) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    }
    return ticks / 100;
  } catch {
    return undefined;
  }
}
