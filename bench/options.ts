/** Command-line options the benchmarks share: `--name=value` (or `--name value`) flags. */

/** The value of `--name=value` or `--name value` (a next argument not starting with `--`), or undefined. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const prefix = `--${name}=`;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith(prefix)) return a.slice(prefix.length);
    const next = argv[i + 1];
    if (a === `--${name}` && next !== undefined && !next.startsWith('--')) return next;
  }
  return undefined;
}

/** A positive number option, or its fallback; throws naming the option when it is not one. */
export function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${raw}'`);
  return n;
}

/** `total` connections spread over `targets` servers as evenly as possible (the first ones get the rest). */
export function splitConnections(total: number, targets: number): number[] {
  if (!Number.isInteger(total) || !Number.isInteger(targets) || targets < 1 || total < targets) {
    throw new Error(`cannot spread ${total} connections over ${targets} servers (at least one each)`);
  }
  return Array.from({ length: targets }, (_, i) => Math.floor(total / targets) + (i < total % targets ? 1 : 0));
}
