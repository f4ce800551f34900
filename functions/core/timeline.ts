/**
 * A broadcast's deliveries over time, kept as counters on its own item and added in the write that
 * settles each chunk (no write of its own): minute buckets while the broadcast is young, hour
 * buckets after, so a broadcast the day's quota stretches over days still holds a few hundred
 * counters at most (the item's size is what each settling write costs).
 */
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Minute buckets for this long after the broadcast starts; hour buckets from then on. */
export const MINUTE_BUCKETS_FOR_MS = 2 * HOUR_MS;

/** What a bucket counts: delivered (`s`) and failed (`f`), as the broadcast's `sent` and `failed`. */
type Kind = "s" | "f";

/** One point of the chart: `minutes` long from `at` (ISO 8601, UTC). */
export interface TimelinePoint {
  readonly at: string;
  readonly minutes: 1 | 60;
  readonly sent: number;
  readonly failed: number;
}

/** The bucket a settlement at `at` falls in, for a broadcast that started at `startedAt`. */
export function bucketOf(at: number, startedAt: number): { readonly at: number; readonly minutes: 1 | 60 } {
  if (at - startedAt < MINUTE_BUCKETS_FOR_MS) return { at: at - (at % MINUTE_MS), minutes: 1 };
  return { at: at - (at % HOUR_MS), minutes: 60 };
}

/** The counter's key on the broadcast item: `<bucket start, epoch minutes>/<minutes>/<kind>`. */
const keyOf = (bucket: { at: number; minutes: number }, kind: Kind) =>
  `${bucket.at / MINUTE_MS}/${bucket.minutes}/${kind}`;

const KEY = /^(\d+)\/(1|60)\/([sf])$/;

/** The counter increments a chunk's settled records add, by key. */
export function timelineIncrements(
  records: Iterable<{ readonly outcome: string; readonly at: number }>,
  startedAt: number,
): Record<string, number> {
  const increments: Record<string, number> = {};
  for (const r of records) {
    const kind: Kind | undefined = r.outcome === "sent" ? "s" : r.outcome === "failed" ? "f" : undefined;
    if (!kind) continue;
    const key = keyOf(bucketOf(r.at, startedAt), kind);
    increments[key] = (increments[key] ?? 0) + 1;
  }
  return increments;
}

/** The stored counters as points in time order; keys this module did not write are ignored. */
export function timelinePoints(counters: Readonly<Record<string, number>> | undefined): TimelinePoint[] {
  const points = new Map<string, { start: number; minutes: 1 | 60; sent: number; failed: number }>();
  for (const [key, n] of Object.entries(counters ?? {})) {
    const match = KEY.exec(key);
    if (!match) continue;
    const [, start, width, kind] = match as unknown as [string, string, string, Kind];
    const id = `${start}/${width}`;
    const point = points.get(id) ?? {
      start: Number(start) * MINUTE_MS,
      minutes: width === "60" ? 60 : 1,
      sent: 0,
      failed: 0,
    };
    if (kind === "s") point.sent += n;
    else point.failed += n;
    points.set(id, point);
  }
  return [...points.values()]
    .sort((a, b) => a.start - b.start || a.minutes - b.minutes)
    .map(({ start, ...counts }) => ({ at: new Date(start).toISOString(), ...counts }));
}
