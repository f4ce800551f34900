/**
 * CSV exports of delivery records: RFC 4180 (comma, CRLF, quotes doubled inside quoted cells), safe to
 * open in a spreadsheet. A text cell that starts like a formula (= + - @, tab, CR) is prefixed with
 * an apostrophe, so Excel shows it instead of evaluating it: an openid or a WeChat errmsg is not
 * ours to trust. Numbers are written as numbers (an errcode of -1 is a number, not a formula).
 */
import type { DeliveryRecord } from "./core/model.ts";

/**
 * Excel, as installed in China, reads a CSV without a byte-order mark as GBK and garbles UTF-8
 * (errmsg, skipped reasons); with it, Excel and WPS read UTF-8. Other readers drop it (Python's
 * `utf-8-sig`, pandas) or show it once, before the header.
 */
export const UTF8_BOM = "\uFEFF";

export const DELIVERY_COLUMNS = ["openid", "status", "channel", "errcode", "errmsg", "at"] as const;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: numbers as they are; text defused against formulas, then quoted when it must be. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(cells: readonly (string | number | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/**
 * A time in the operators' zone, Asia/Shanghai (UTC+8 all year, no daylight saving since 1991), as
 * ISO 8601 with its offset: what the console shows, and unambiguous to any program that reads it.
 */
export function shanghaiTime(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

export function deliveryRow(r: DeliveryRecord): string {
  return csvRow([r.openid, r.outcome, r.channel, r.errcode, r.errmsg, shanghaiTime(r.at)]);
}

/**
 * The export as text pieces, one per page of records, the BOM and header with the first page: the
 * first page is read before anything is written, so a failure there is still answered as an error.
 */
export async function* deliveriesCsv(
  pages: AsyncIterable<readonly DeliveryRecord[]>,
): AsyncGenerator<string> {
  let head = `${UTF8_BOM}${csvRow(DELIVERY_COLUMNS)}`;
  for await (const page of pages) {
    yield head + page.map(deliveryRow).join("");
    head = "";
  }
  if (head) yield head;
}
