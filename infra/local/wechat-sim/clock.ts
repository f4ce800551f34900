const DAY_MS = 86_400_000;
/** Beijing time has no DST, so a fixed offset is exact. */
const CHINA_OFFSET_MS = 8 * 3_600_000;

/** Day number for daily quotas: WeChat resets them at midnight Beijing time, not UTC. */
export function chinaDay(epochMs: number): number {
  return Math.floor((epochMs + CHINA_OFFSET_MS) / DAY_MS);
}
