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
