/**
 * Per-type rules for category template values (WECHAT_FACTS §4.2), shared by OA template messages
 * and mini-program subscribe messages. Keys named `<type><digits>` are checked; any other key
 * (legacy OA templates: `first`, `keyword1`, `remark`) passes untouched.
 */

/** OA templates truncate an over-long `thing` for display; mini programs reject it (§3 vs §4.2). */
export type TemplateFlavour = "official-account" | "mini-program";

export type DataCheck =
  | { ok: true; data: Record<string, Record<string, unknown>> }
  | { ok: false; key: string | null };

const KEY =
  /^(thing|short_thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number|name|phrase|enum)(\d+)$/;

const THING_MAX = 20;
const DATE = String.raw`(?:(?:\d{4}年)?\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})`;
const CLOCK = String.raw`(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?`;
const TIME_POINT = String.raw`(?:${DATE}\s*)?${CLOCK}`;
const DATE_POINT = String.raw`${DATE}(?:\s*${CLOCK})?`;
const range = (point: string) => new RegExp(String.raw`^${point}(?:\s*~\s*${point})?$`);
const TIME_RE = range(TIME_POINT);
// A date range may end in a bare clock time ("2026年1月1日 10:00~12:00").
const DATE_RE = range(`(?:${DATE_POINT}|${CLOCK})`);
const DATE_START_RE = new RegExp(`^${DATE}`);

function length(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

function truncateThing(value: string): string {
  return `${Array.from(value)
    .slice(0, THING_MAX - 1)
    .join("")}…`;
}

/** Whether `value` satisfies the rule for `type`; length is counted in characters (code points). */
export function isValidValue(type: string, value: string): boolean {
  if (value.trim() === "") return false;
  const n = length(value);
  switch (type) {
    case "thing":
      return n <= THING_MAX;
    case "short_thing":
      return n <= 5;
    case "number":
      return n <= 32 && /^-?\d+(?:\.\d+)?$/.test(value);
    case "letter":
      return n <= 32 && /^[A-Za-z]+$/.test(value);
    case "symbol":
      return n <= 5 && /^[^\p{L}\p{N}\s]+$/u.test(value);
    case "character_string":
      return n <= 32 && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value);
    case "time":
      return TIME_RE.test(value);
    case "date":
      return DATE_START_RE.test(value) && DATE_RE.test(value);
    case "amount":
      return /^[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?$/.test(value);
    case "phone_number":
      return n <= 17 && /^[\d+\-() ]+$/.test(value) && /\d/.test(value);
    case "car_number":
      return n <= 8 && /^\p{Script=Han}?[A-Za-z0-9]*\p{Script=Han}?$/u.test(value);
    case "name":
      return /^[A-Za-z][A-Za-z .'-]*$/.test(value) ? n <= 20 : n <= 10 && !/\d/.test(value);
    case "phrase":
      return /^\p{Script=Han}{1,5}$/u.test(value);
    default:
      // `enum` lists its allowed values per template, which the simulator is not told.
      return true;
  }
}

function asRecord(x: unknown): Record<string, unknown> | null {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

/**
 * Checks a `data` object and returns it as it would be displayed (OA `thing` truncated), or the
 * first offending key (`null` when `data` itself is malformed).
 */
export function checkTemplateData(data: unknown, flavour: TemplateFlavour): DataCheck {
  if (data === undefined) return { ok: true, data: {} };
  const entries = asRecord(data);
  if (entries === null) return { ok: false, key: null };
  const shown: Record<string, Record<string, unknown>> = {};
  for (const [key, entry] of Object.entries(entries)) {
    const item = asRecord(entry);
    const raw = item?.value;
    if (item === null || (typeof raw !== "string" && typeof raw !== "number")) return { ok: false, key };
    const value = String(raw);
    const type = KEY.exec(key)?.[1];
    if (type === undefined) {
      shown[key] = { ...item, value };
      continue;
    }
    if (
      type === "thing" &&
      flavour === "official-account" &&
      value.trim() !== "" &&
      length(value) > THING_MAX
    ) {
      shown[key] = { ...item, value: truncateThing(value) };
      continue;
    }
    if (!isValidValue(type, value)) return { ok: false, key };
    shown[key] = { ...item, value };
  }
  return { ok: true, data: shown };
}
