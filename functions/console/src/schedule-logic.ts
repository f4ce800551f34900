import { MAX_SCHEDULE_AHEAD_MS } from "../../core/push-task.ts";

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;

/** The offset of `zone` from UTC at `utcMs`, in minutes (Asia/Shanghai: +480). */
function offsetMinutes(zone: string, utcMs: number): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    })
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, Number(p.value)]),
  );
  const asUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
  );
  return Math.round((asUtc - Math.floor(utcMs / 60_000) * 60_000) / 60_000);
}

/**
 * A `datetime-local` value (`2026-12-02T09:00`, the wall clock in `zone`) as ISO 8601 with that
 * zone's offset, as the send route takes it; null when it is not such a value.
 */
export function zonedIso(local: string, zone: string): string | null {
  const m = LOCAL.exec(local);
  if (!m) return null;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // The offset at the wall time itself (one correction settles it outside a DST jump).
  let offset = offsetMinutes(zone, wall);
  offset = offsetMinutes(zone, wall - offset * 60_000);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}:00${sign}${hh}:${mm}`;
}

export type ScheduleProblem = "empty" | "past" | "tooFar";

/** Why a time cannot be scheduled (the route's own rules), checked before asking it. */
export function scheduleProblem(iso: string | null, now: number): ScheduleProblem | null {
  if (iso === null) return "empty";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "empty";
  if (at <= now) return "past";
  if (at > now + MAX_SCHEDULE_AHEAD_MS) return "tooFar";
  return null;
}
