/** Arithmetic on the benchmarks' counters: counts by name (`Service.Operation`, errcode, …) and rounding. */

export type Counts = Record<string, number>;

/** What changed from `before` to `after`; unchanged names are left out. */
export function diff(after: Counts, before: Counts): Counts {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, n]) => [k, n - (before[k] ?? 0)] as const)
      .filter(([, n]) => n !== 0),
  );
}

export function addCounts(a: Counts, b: Counts): Counts {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** The names the two count differently: `[a's, b's]`. */
export function mismatches(a: Counts, b: Counts): Record<string, [number, number]> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return Object.fromEntries(
    keys.filter((k) => (a[k] ?? 0) !== (b[k] ?? 0)).map((k) => [k, [a[k] ?? 0, b[k] ?? 0]]),
  );
}

export function sumValues(counts: Counts): number {
  return Object.values(counts).reduce((n, v) => n + v, 0);
}

/** `f` of every count, by name in alphabetical order. */
export function mapValues(counts: Counts, f: (n: number) => number): Counts {
  return Object.fromEntries(
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => [k, f(n)]),
  );
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Milliseconds as seconds with one decimal, for progress lines. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
