/**
 * The `--cpu-prof` summary of `npm run bench:decide`: the current server's main-thread .cpuprofile over
 * the measured windows only, src/ positions mapped back through tsx's source maps (written by the child
 * at stop): self time by area, top functions with their src/ callers, inclusive time of src/ functions,
 * each as a share of non-idle time and as µs per response.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');


interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The area a script URL belongs to: a src/ directory, an npm package, a node: module, … */
function areaOfUrl(url: string): string {
  if (url.startsWith('node:')) {
    const rest = url.slice('node:'.length).replace(/^internal\//, '');
    const first = rest.split('/')[0]!;
    if (/^_?http|^_http/.test(first) || first === 'net' || first === 'stream_base_commons') return 'node:http/net';
    if (first === 'streams' || first === 'stream') return 'node:streams';
    return `node:${first.replace(/^_/, '')}`;
  }
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const rel = path.relative(REPO_ROOT, file);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    const dir = path.dirname(rel);
    return dir === '.' ? rel : dir;
  }
  return url === '' ? '(native)' : 'other';
}

function shortUrl(url: string): string {
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  const rel = path.relative(REPO_ROOT, file);
  return !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function summarizeProfile(
  file: string,
  windows: ReadonlyArray<{ startUs: number; endUs: number }>,
  responses: number,
  sourceMapsFile: string,
): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const sourceMaps = new Map<string, SourceMap>();
  if (fs.existsSync(sourceMapsFile)) {
    const payloads = JSON.parse(fs.readFileSync(sourceMapsFile, 'utf8')) as Record<string, SourceMapPayload>;
    for (const [url, payload] of Object.entries(payloads)) sourceMaps.set(url, new SourceMap(payload));
  }
  /** 1-based line in the original file (through the source map when there is one). */
  const lineOf = (f: CpuProfileNode['callFrame']): number => {
    const entry = sourceMaps.get(f.url)?.findEntry(f.lineNumber, f.columnNumber);
    return entry && 'originalLine' in entry ? entry.originalLine + 1 : f.lineNumber + 1;
  };
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Area and label of every node; a native frame (no URL) belongs to its nearest caller with a URL.
  const areaMemo = new Map<number, string>();
  const callerArea = (id: number): string => {
    let p = parent.get(id);
    while (p !== undefined) {
      const f = byId.get(p)!.callFrame;
      if (f.url !== '') return areaOfUrl(f.url);
      p = parent.get(p);
    }
    return '?';
  };
  const areaOf = (id: number): string => {
    let a = areaMemo.get(id);
    if (a === undefined) {
      const f = byId.get(id)!.callFrame;
      if (SPECIAL.has(f.functionName) && f.url === '') a = f.functionName;
      else if (f.url === '') a = `native via ${callerArea(id)}`;
      else a = areaOfUrl(f.url);
      areaMemo.set(id, a);
    }
    return a;
  };
  const labelMemo = new Map<number, string>();
  const labelOf = (id: number): string => {
    let label = labelMemo.get(id);
    if (label === undefined) {
      const f = byId.get(id)!.callFrame;
      const name = f.functionName || '(anonymous)';
      if (f.url === '') label = SPECIAL.has(name) ? name : `${name} (native, via ${callerArea(id)})`;
      else label = `${name} ${shortUrl(f.url)}:${lineOf(f)}`;
      labelMemo.set(id, label);
    }
    return label;
  };

  // Sample i lasts until sample i+1; keep the samples inside the measured windows.
  let inWindow = true;
  const times: number[] = new Array<number>(profile.samples.length);
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times[i] = t;
  }
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  if (!windows.some((w) => w.endUs >= first && w.startUs <= last)) {
    console.log('  NOTE: the measured windows do not overlap the profile clock; summarizing the whole profile');
    inWindow = false;
  }
  const self = new Map<number, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  const isSrc = (id: number): boolean => byId.get(id)!.callFrame.url !== '' && areaOf(id).startsWith('src');
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ts = times[i]!;
    if (inWindow && !windows.some((w) => ts >= w.startUs && ts <= w.endUs)) continue;
    const next = times[i + 1];
    const dt = next === undefined ? 0 : next - ts;
    const id = profile.samples[i]!;
    const fn = byId.get(id)!.callFrame.functionName;
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
    // Which src/ function the sampled frame was (nearest, strictly above it) called from.
    let caller: number | undefined = parent.get(id);
    while (caller !== undefined && !isSrc(caller)) caller = parent.get(caller);
    if (caller !== undefined) {
      const key = labelOf(id);
      const m = callers.get(key) ?? new Map<string, number>();
      m.set(labelOf(caller), (m.get(labelOf(caller)) ?? 0) + dt);
      callers.set(key, m);
    }
    // Inclusive time of src/ functions, each counted once per sample (recursion).
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      if (!isSrc(n)) continue;
      const key = labelOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  }
  if (total === 0) {
    console.log('  (no non-idle samples in the measured windows)');
    return;
  }
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    byArea.set(areaOf(id), (byArea.get(areaOf(id)) ?? 0) + us);
    byFunction.set(labelOf(id), (byFunction.get(labelOf(id)) ?? 0) + us);
  }
  const perRequest = (us: number) => `${(us / responses).toFixed(1)} µs`.padStart(9);
  const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`.padStart(6) + perRequest(us);
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

  const windowS = (idle + total) / 1e6;
  console.log(
    `  ${(total / 1e6).toFixed(2)} s of non-idle samples in the ${windowS.toFixed(2)} s measured ` +
      `(idle ${((idle / (idle + total)) * 100).toFixed(1)}%), ${(total / responses).toFixed(0)} µs per response`,
  );
  console.log('  each line: share of non-idle time, µs per response, what');
  console.log('  self time by area:');
  let shown = 0;
  for (const [area, us] of top(byArea, 25)) {
    if (us / total < 0.005) break;
    console.log(`    ${pct(us)}  ${area}`);
    shown += us;
  }
  if (total - shown > 0) console.log(`    ${pct(total - shown)}  (the other areas)`);
  console.log('  top functions by self time:');
  for (const [label, us] of top(byFunction, 15)) {
    const from = top(callers.get(label) ?? new Map<string, number>(), 2)
      .filter(([, c]) => c / total >= 0.002)
      .map(([c, cus]) => `${((cus / total) * 100).toFixed(1)}% ${c}`);
    console.log(`    ${pct(us)}  ${label}${from.length > 0 ? `\n${' '.repeat(23)}← ${from.join('; ')}` : ''}`);
  }
  console.log('  inclusive time of src/ functions (synchronous work under them):');
  for (const [label, us] of top(inclusive, 12)) console.log(`    ${pct(us)}  ${label}`);
}


/**
 * The main thread's profile of process `pid` in `dir`: node names profiles
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (tsx's module loader
 * runs in a worker thread that writes a profile of its own).
 */
export function findMainProfile(dir: string, pid: number | undefined): string | undefined {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid) && f.split('.')[4] === '0')
    .map((f) => path.join(dir, f))[0];
}
