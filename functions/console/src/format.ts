import { NO_CREDIT } from "../../core/push-task.ts";
import { INVALID_OPENID } from "../../core/recipient-list.ts";
import { type Catalog, KNOWN_ERRCODES, type KnownErrcode } from "./i18n.ts";

/** The operators' zone: WeChat's quotas reset at its midnight, and the old back office showed it. */
export const OPERATOR_ZONE = "Asia/Shanghai";

/** Characters as the API counts them (code points, so 温 is one, not a UTF-16 pair). */
export const chars = (text: string): number => Array.from(text).length;

export function truncate(text: string, max: number): string {
  const all = Array.from(text);
  return all.length > max ? `${all.slice(0, max).join("")}…` : text;
}

/** Fen (WeChat Pay's unit, whole numbers) as yuan, counted in integers so no float rounding shows. */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(Math.round(fen));
  const yuan = Math.trunc(abs / 100).toLocaleString("en-US");
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, "0")}`;
}

/** Yuan (the push-task API's unit, at most two decimals). */
export const formatYuan = (yuan: number): string => formatFen(Math.round(yuan * 100));

const UTC_ALIASES = new Set(["UTC", "UCT", "GMT", "Universal", "Zulu", "Greenwich"]);

/**
 * The zone times are shown in: the browser's own when it names a real place other than UTC (an
 * operator abroad reads their own clock), else Asia/Shanghai. A container or kiosk left at UTC, or
 * a fixed `Etc/…` offset, says nothing about where the operator is.
 */
export function displayZone(resolved: string | undefined): string {
  if (!resolved || UTC_ALIASES.has(resolved) || resolved.startsWith("Etc/") || !resolved.includes("/"))
    return OPERATOR_ZONE;
  return resolved;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2025-03-01 14:05:09` in `zone`; empty for no time, the text itself if it is not a time. */
export function formatTime(iso: string | null | undefined, zone: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, format);
  }
  const part = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
}

const isKnown = (code: number): code is KnownErrcode => KNOWN_ERRCODES.some((known) => known === code);

/** What an errcode means, in the catalog's language; `none` (a key of byErrcode) for no errcode. */
export function explainErrcode(code: number | string | null, t: Catalog): string {
  if (code === null || code === "none") return t.errcodeNone;
  const n = Number(code);
  return isKnown(n) ? t.errcode[n] : t.errcodeUnknown;
}

/** A reason the API words in English, in the catalog's language when the console knows it. */
export function reasonText(reason: string | null, t: Catalog): string {
  if (reason === INVALID_OPENID) return t.invalidOpenid;
  if (reason === NO_CREDIT) return t.noCredit;
  // Skips by the daily cap or a suppression, in words (core/daily-cap.ts, core/suppression.ts).
  return reason ? (t.skipReasons[reason] ?? reason) : "";
}
