import type { PreviewAnswer } from "../../contracts/api.ts";
import { OPTED_OUT } from "../../core/push-task.ts";
import { OPENID_PATTERN } from "../../core/recipient-list.ts";
import { explainErrcode, reasonText } from "./format.ts";
import type { Catalog } from "./i18n.ts";

/** The preview route's limit: the operator's own few test users. */
export const MAX_TEST_OPENIDS = 10;

/** What is wrong with a list of test openids, for the field's message. */
export type TestOpenidsProblem =
  | { readonly kind: "empty" }
  | { readonly kind: "tooMany" }
  | { readonly kind: "invalid"; readonly line: number };

/** The test openids typed one per line (commas and spaces also part them), or what is wrong with them. */
export function parseTestOpenids(text: string): { openids: string[] } | { problem: TestOpenidsProblem } {
  const lines = text.split(/\r?\n/);
  const openids: string[] = [];
  for (const [index, line] of lines.entries()) {
    for (const value of line.split(/[\s,，]+/).filter(Boolean)) {
      if (!OPENID_PATTERN.test(value)) return { problem: { kind: "invalid", line: index + 1 } };
      if (!openids.includes(value)) openids.push(value);
    }
  }
  if (openids.length === 0) return { problem: { kind: "empty" } };
  if (openids.length > MAX_TEST_OPENIDS) return { problem: { kind: "tooMany" } };
  return { openids };
}

export function testOpenidsProblemText(problem: TestOpenidsProblem, t: Catalog): string {
  switch (problem.kind) {
    case "empty":
      return t.previewEmpty;
    case "tooMany":
      return t.previewTooMany(MAX_TEST_OPENIDS);
    case "invalid":
      return t.previewInvalid(problem.line);
  }
}

type PreviewResult = PreviewAnswer["results"][number];

/** One test user's outcome in words: sent, WeChat's errcode explained, or why Fanout did not send. */
export function previewResultText(result: PreviewResult, t: Catalog): string {
  if (result.errcode === 0) return t.previewDelivered;
  if (result.errcode === null)
    return result.errmsg === OPTED_OUT ? t.previewOptedOut : reasonText(result.errmsg, t);
  return `${result.errcode} ${explainErrcode(result.errcode, t)}`;
}
