import { ValidationError } from "./errors.ts";

/** Post fields a template key can be filled from. */
export const POST_FIELDS = ["content", "contactPhone", "amount", "outTradeNo", "paidAt"] as const;
export type PostField = (typeof POST_FIELDS)[number];

/** Maps template keys (`thing1`, `phone_number2`, …) to the post field that fills each. */
export type TemplateFieldMapping = Readonly<Record<string, PostField>>;

export interface TemplateSource {
  readonly content: string;
  readonly contactPhone?: string;
  /** Fen. */
  readonly amount: number;
  readonly outTradeNo: string;
  /** Epoch ms. */
  readonly paidAt: number;
}

const KEY_PATTERN = /^([a-z_]+?)(\d+)$/;

/** Parses and checks a template field mapping such as `{"thing1":"content","time2":"paidAt"}`. */
export function parseTemplateFieldMapping(json: string): TemplateFieldMapping {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ValidationError("template field mapping is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError("template field mapping must be a JSON object of key → post field");
  }
  const mapping: Record<string, PostField> = {};
  for (const [key, field] of Object.entries(parsed)) {
    if (!KEY_PATTERN.test(key)) throw new ValidationError(`template key "${key}" is not <type><number>`);
    if (!POST_FIELDS.includes(field as PostField)) {
      throw new ValidationError(`template key "${key}" maps to unknown post field "${String(field)}"`);
    }
    mapping[key] = field as PostField;
  }
  if (Object.keys(mapping).length === 0) throw new ValidationError("template field mapping is empty");
  return mapping;
}

const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});

function formatChinaTime(epochMs: number, withTime: boolean): string {
  const parts = Object.fromEntries(CHINA_TIME.formatToParts(epochMs).map((p) => [p.type, p.value]));
  const date = `${parts.year}年${parts.month}月${parts.day}日`;
  return withTime ? `${date} ${parts.hour}:${parts.minute}` : date;
}

const PLACEHOLDER_BY_TYPE: Readonly<Record<string, string>> = { thing: "无", name: "无", phrase: "无" };

/** Cuts free text to at most `max` characters (code points), marking the cut with "…". */
function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join("")}…`;
}

/** Cuts without a marker, for types whose character set has no room for "…". */
function cut(value: string, max: number): string {
  return Array.from(value).slice(0, max).join("");
}

function rawValue(source: TemplateSource, field: PostField): string | number {
  switch (field) {
    case "content":
      return source.content;
    case "contactPhone":
      return source.contactPhone ?? "";
    case "amount":
      return source.amount;
    case "outTradeNo":
      return source.outTradeNo;
    case "paidAt":
      return source.paidAt;
  }
}

/**
 * Formats one value by its key type, following WeChat's per-type rules (WECHAT_FACTS §4.2), so a
 * category template never answers 47003 for a value we could have shaped.
 */
export function formatTemplateValue(keyType: string, value: string | number): string {
  const text = typeof value === "number" ? String(value) : value.replace(/\s+/g, " ").trim();
  // Category templates refuse empty values (47003); an optional field left blank gets a placeholder.
  if (text === "") return PLACEHOLDER_BY_TYPE[keyType] ?? "-";
  switch (keyType) {
    case "thing":
      return truncate(text, 20);
    case "character_string":
      return cut(text.replace(/[^\x21-\x7e]/g, ""), 32);
    case "number":
      return cut(text.replace(/[^\d.]/g, ""), 32);
    case "letter":
      return cut(text.replace(/[^A-Za-z]/g, ""), 32);
    case "phone_number":
      return cut(text.replace(/[^\d+\-() ]/g, ""), 17);
    case "amount":
      return typeof value === "number" ? `¥${(value / 100).toFixed(2)}` : cut(text, 11);
    case "time":
    case "date":
      return typeof value === "number" ? formatChinaTime(value, true) : text;
    case "name":
      return truncate(text, 10);
    case "phrase":
      return cut(text.replace(/[^\u4e00-\u9fff]/g, ""), 5);
    default:
      return truncate(text, 20);
  }
}

/** Builds a template's `data` from a post, shaping each value for its key's type. */
export function buildTemplateData(
  mapping: TemplateFieldMapping,
  source: TemplateSource,
): Record<string, { value: string }> {
  const data: Record<string, { value: string }> = {};
  for (const [key, field] of Object.entries(mapping)) {
    const keyType = KEY_PATTERN.exec(key)?.[1] ?? "thing";
    data[key] = { value: formatTemplateValue(keyType, rawValue(source, field)) };
  }
  return data;
}

/** The type part of a category template key (`thing` of `thing3`); undefined for legacy keys (`first`). */
export function templateKeyType(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

const DATE_PART = String.raw`(?:(?:\d{4}年)?\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})`;
const CLOCK_PART = String.raw`(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?`;
const between = (point: string) => new RegExp(String.raw`^${point}(?:\s*~\s*${point})?$`);
const TIME_VALUE = between(String.raw`(?:${DATE_PART}\s*)?${CLOCK_PART}`);
const DATE_VALUE = between(String.raw`(?:${DATE_PART}(?:\s*${CLOCK_PART})?|${CLOCK_PART})`);
const STARTS_WITH_DATE = new RegExp(`^${DATE_PART}`);

/**
 * What is wrong with `value` for a key of type `keyType` under WeChat's per-type rules (WECHAT_FACTS
 * §4.2), or undefined when it passes. Mini-program subscribe messages answer 47003 for any of these,
 * and OA category templates validate the same way (only an over-long `thing` is cut instead), so push
 * tasks check their rendered values with this before anything is stored or sent. Lengths count
 * characters (code points), as WeChat does.
 */
export function templateValueProblem(keyType: string, value: string): string | undefined {
  if (value.trim() === "") return "must not be empty";
  if (value !== value.trim()) return "must not start or end with a space";
  const n = Array.from(value).length;
  const atMost = (max: number, what: string) => `${what}, at most ${max} characters (has ${n})`;
  switch (keyType) {
    case "thing":
      return n <= 20 ? undefined : atMost(20, "thing: text");
    case "short_thing":
      return n <= 5 ? undefined : atMost(5, "short_thing: text");
    case "number":
      return n <= 32 && /^-?\d+(?:\.\d+)?$/.test(value) ? undefined : atMost(32, "number: digits");
    case "letter":
      return n <= 32 && /^[A-Za-z]+$/.test(value) ? undefined : atMost(32, "letter: letters only");
    case "symbol":
      return n <= 5 && /^[^\p{L}\p{N}\s]+$/u.test(value) ? undefined : atMost(5, "symbol: symbols only");
    case "character_string":
      return n <= 32 && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)
        ? undefined
        : atMost(32, "character_string: letters, digits and symbols, no Chinese");
    case "time":
      return TIME_VALUE.test(value)
        ? undefined
        : "time: a 24-hour time, optionally after a date (2026年1月1日 15:01)";
    case "date":
      return STARTS_WITH_DATE.test(value) && DATE_VALUE.test(value)
        ? undefined
        : "date: a date, optionally with a 24-hour time (2026年1月1日)";
    case "amount":
      return /^[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?$/.test(value)
        ? undefined
        : "amount: one currency symbol and at most 10 digits (¥250.00)";
    case "phone_number":
      return n <= 17 && /^[\d+\-() ]+$/.test(value) && /\d/.test(value)
        ? undefined
        : atMost(17, "phone_number: digits and + - ( )");
    case "car_number":
      return n <= 8 && /^\p{Script=Han}?[A-Za-z0-9]*\p{Script=Han}?$/u.test(value)
        ? undefined
        : atMost(8, "car_number: a plate number");
    case "name":
      if (/^[A-Za-z][A-Za-z .'-]*$/.test(value)) return n <= 20 ? undefined : atMost(20, "name: letters");
      return n <= 10 && !/\d/.test(value) ? undefined : atMost(10, "name: Chinese, no digits");
    case "phrase":
      return /^\p{Script=Han}{1,5}$/u.test(value) ? undefined : "phrase: 1 to 5 Chinese characters only";
    default:
      // `enum` values are listed per template, which Fanout is not told; WeChat checks them.
      return undefined;
  }
}
