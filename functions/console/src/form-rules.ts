import type { CreateTaskBody, TaskView } from "../../contracts/api.ts";
import { TASK_LIMITS } from "../../core/push-task.ts";
import { chars } from "./format.ts";
import type { Catalog } from "./i18n.ts";

/**
 * The new-task form's rules: the limits the API enforces (TASK_LIMITS is the core's own table),
 * checked as the operator types, so most mistakes never reach the server. Pure: the form view
 * reads the inputs and shows the messages.
 */

export type TextField =
  | "name"
  | "templateId"
  | "templateName"
  | "topic"
  | "caption"
  | "tips"
  | "page"
  | "data"
  | "goodsId"
  | "goodsTitle"
  | "goodsPrice";
export type FormField = TextField | "channel" | "goodsOnShelf" | "audience";

interface Rule {
  readonly required: boolean;
  readonly max?: number;
  readonly kind?: "price" | "data";
}

/** Goods codes and template ids: the API's own caps (contracts/api.ts). */
const GOODS_ID_MAX = 64;
const TEMPLATE_ID_MAX = 128;

export const RULES: Readonly<Record<TextField, Rule>> = {
  name: { required: true, max: TASK_LIMITS.name },
  templateId: { required: true, max: TEMPLATE_ID_MAX },
  templateName: { required: true, max: TASK_LIMITS.templateName },
  topic: { required: true, max: TASK_LIMITS.topic },
  caption: { required: true, max: TASK_LIMITS.caption },
  tips: { required: false, max: TASK_LIMITS.tips },
  page: { required: false, max: TASK_LIMITS.page },
  data: { required: true, kind: "data" },
  goodsId: { required: true, max: GOODS_ID_MAX },
  goodsTitle: { required: true, max: TASK_LIMITS.goodsTitle },
  goodsPrice: { required: true, kind: "price" },
};

export type Problem =
  | { readonly kind: "required" }
  | { readonly kind: "tooLong"; readonly max: number; readonly now: number }
  | { readonly kind: "price" }
  | { readonly kind: "dataLine"; readonly line: number }
  | { readonly kind: "noData" };

export function problemText(problem: Problem, t: Catalog): string {
  switch (problem.kind) {
    case "required":
      return t.required;
    case "tooLong":
      return t.tooLong(problem.max, problem.now);
    case "price":
      return t.badPrice;
    case "dataLine":
      return t.badDataLine(problem.line);
    case "noData":
      return t.noData;
  }
}

const PRICE = /^\d{1,7}(\.\d{1,2})?$/;
const DATA_LINE = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+)$/;

/** `key=value` lines (blank lines ignored) as the task's template data, or the first bad line. */
export function parseData(text: string): { data: Record<string, string> } | { problem: Problem } {
  const data: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const match = DATA_LINE.exec(line);
    if (!match?.[1] || !match[2]) return { problem: { kind: "dataLine", line: index + 1 } };
    data[match[1]] = match[2].trim();
  }
  return Object.keys(data).length === 0 ? { problem: { kind: "noData" } } : { data };
}

/**
 * The field's problem, if any. An empty required field is told only once the operator has left it
 * or submits: "required" under a field one is about to fill in is noise.
 */
export function checkField(field: TextField, raw: string, shown: { touched: boolean }): Problem | null {
  const rule = RULES[field];
  const value = raw.trim();
  if (value === "") return rule.required && shown.touched ? { kind: "required" } : null;
  if (rule.max !== undefined && chars(value) > rule.max)
    return { kind: "tooLong", max: rule.max, now: chars(value) };
  if (rule.kind === "price" && !PRICE.test(value)) return { kind: "price" };
  if (rule.kind === "data") {
    const parsed = parseData(raw);
    if ("problem" in parsed) return parsed.problem;
  }
  return null;
}

/** The API's names for the form's fields, as its 400 messages spell them. */
const FIELD_OF_PATH: Readonly<Record<string, FormField>> = {
  name: "name",
  channel: "channel",
  templateId: "templateId",
  templateName: "templateName",
  topic: "topic",
  caption: "caption",
  tips: "tips",
  page: "page",
  data: "data",
  goods: "goodsId",
  "goods.id": "goodsId",
  "goods.title": "goodsTitle",
  "goods.price": "goodsPrice",
  "goods.onShelf": "goodsOnShelf",
  audience: "audience",
};

/**
 * A 400's problems by the field they name ("topic: at most 10 characters; data.thing2: …"); what
 * names no field of the form stays in `rest`. A `data.<key>` problem goes under the data field and
 * keeps its key.
 */
export function placeServerProblems(message: string): {
  fields: Partial<Record<FormField, string>>;
  rest: string[];
} {
  const fields: Partial<Record<FormField, string>> = {};
  const rest: string[] = [];
  for (const part of message.split("; ")) {
    const match = /^([A-Za-z0-9_.]+):\s*(.+)$/.exec(part);
    const path = match?.[1] ?? "";
    const text = match?.[2] ?? "";
    const [head = "", ...tail] = path.split(".");
    const exact = FIELD_OF_PATH[path];
    const parent = FIELD_OF_PATH[head];
    if (match && exact) fields[exact] = text;
    else if (match && parent) fields[parent] = `${tail.join(".")}: ${text}`;
    else rest.push(part);
  }
  return { fields, rest };
}

export interface FormValues {
  readonly text: Readonly<Record<TextField, string>>;
  readonly channel: TaskView["channel"];
  readonly audience: TaskView["audience"];
  readonly goodsOnShelf: boolean;
  /** An urgent service notice, sent in quiet hours too. */
  readonly ignoreQuietHours?: boolean;
}

/** The request body; call only once every field checks out. */
export function taskBody(values: FormValues): CreateTaskBody {
  const v = (field: TextField) => values.text[field].trim();
  const parsed = parseData(values.text.data);
  const page = v("page");
  return {
    name: v("name"),
    channel: values.channel,
    templateId: v("templateId"),
    templateName: v("templateName"),
    topic: v("topic"),
    caption: v("caption"),
    tips: v("tips"),
    data: "data" in parsed ? parsed.data : {},
    ...(page ? { page } : {}),
    goods: {
      id: v("goodsId"),
      title: v("goodsTitle"),
      price: Number(v("goodsPrice")),
      onShelf: values.goodsOnShelf,
    },
    audience: values.audience,
    ...(values.ignoreQuietHours ? { ignoreQuietHours: true } : {}),
  };
}
