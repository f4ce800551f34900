/**
 * Quiet hours (免打扰时段): a daily window, on the wall clock of one time zone, in which broadcasts
 * send nothing. `22:00-08:00` wraps past midnight; the window includes its start minute and ends at
 * its end minute. Times are computed in the zone itself (Intl), so a zone with daylight saving ends
 * the window at the right instant too.
 */

export interface QuietHours {
  /** Minutes after local midnight at which the window starts and ends; end < start wraps midnight. */
  readonly start: number;
  readonly end: number;
  readonly timeZone: string;
}

const SPEC = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
const MINUTE_MS = 60_000;

/** What is wrong with a `HH:MM-HH:MM` window, in words; undefined when it is one. */
export function quietHoursProblem(spec: string): string | undefined {
  const match = SPEC.exec(spec);
  if (!match) return "must be HH:MM-HH:MM (24-hour clock), e.g. 22:00-08:00";
  if (match[1] === match[3] && match[2] === match[4]) return "start and end must differ";
  return undefined;
}

/** Whether Intl knows the zone (an IANA name such as Asia/Shanghai). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The window of a `HH:MM-HH:MM` spec in `timeZone`; throws for a spec quietHoursProblem refuses. */
export function parseQuietHours(spec: string, timeZone: string): QuietHours {
  const problem = quietHoursProblem(spec) ?? (isTimeZone(timeZone) ? undefined : "unknown time zone");
  if (problem) throw new Error(`quiet hours ${JSON.stringify(spec)} in ${timeZone}: ${problem}`);
  const [, sh, sm, eh, em] = (SPEC.exec(spec) ?? []).map(Number) as [number, number, number, number, number];
  return { start: sh * 60 + sm, end: eh * 60 + em, timeZone };
}

/**
 * When the window that `now` falls in ends (epoch ms, always after `now`); undefined outside the
 * window or without quiet hours.
 */
export function quietUntil(quiet: QuietHours | undefined, now: number): number | undefined {
  if (!quiet) return undefined;
  const local = wallClock(now, quiet.timeZone);
  const { start, end } = quiet;
  const inside =
    start < end ? local.minute >= start && local.minute < end : local.minute >= start || local.minute < end;
  if (!inside) return undefined;
  // Evening part of a window that wraps: it ends tomorrow (local date).
  const nextDay = start > end && local.minute >= start ? 1 : 0;
  const until = instantOf(local.year, local.month, local.day + nextDay, end, quiet.timeZone);
  // A local end time that a clock change skipped resolves near it; never before now.
  return until > now ? until : now + MINUTE_MS;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      hourCycle: "h23",
    });
    formatters.set(zone, format);
  }
  return format;
}

/** The local date and minute of the day of `at` in `zone`, and that wall time read as if it were UTC. */
function wallClock(at: number, zone: string) {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(at))
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<"year" | "month" | "day" | "hour" | "minute" | "second", number>;
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    minute: parts.hour * 60 + parts.minute,
    asUtc: asUtc + (at % 1000),
  };
}

/** The zone's offset from UTC at `at`, in ms. */
const offsetAt = (at: number, zone: string) => wallClock(at, zone).asUtc - at;

/** The instant the zone's clocks show `minute` (of the day) on that local date; day overflow rolls over. */
function instantOf(year: number, month: number, day: number, minute: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day, 0, minute);
  const first = wall - offsetAt(wall, zone);
  // Read the offset again at the candidate instant: it differs when a clock change lies in between.
  const second = wall - offsetAt(first, zone);
  return second;
}
