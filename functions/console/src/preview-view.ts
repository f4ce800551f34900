import type { PreviewAnswer } from "../../contracts/api.ts";
import { whileDisabled } from "./busy-button.ts";
import type { Ctx } from "./context.ts";
import { h, say } from "./dom.ts";
import { parseTestOpenids, previewResultText, testOpenidsProblemText } from "./preview-logic.ts";

/** The operator's test openids, kept across sessions: they are the operator's own, not a secret. */
const TEST_OPENIDS_KEY = "fanout.testOpenids";

function remembered(): string {
  try {
    return localStorage.getItem(TEST_OPENIDS_KEY) ?? "";
  } catch {
    return "";
  }
}

function remember(text: string): void {
  try {
    localStorage.setItem(TEST_OPENIDS_KEY, text);
  } catch {
    // Storage refused (a private window): the list still works for this page.
  }
}

export interface PreviewView {
  readonly root: HTMLElement;
  /** Clears the last results and shows the remembered test openids, for another task or post. */
  reset(title?: string): void;
}

/** A 预览 panel: test openids (remembered), one button, and each test user's outcome in words. */
export function createPreview(
  ctx: Ctx,
  id: string,
  send: (openids: string[]) => Promise<PreviewAnswer>,
): PreviewView {
  const { t } = ctx;
  const title = h("h3", { text: t.previewTitle });
  const field = h("textarea", {
    attrs: { id: `${id}-openids`, rows: 3, spellcheck: false, autocomplete: "off" },
  });
  field.value = remembered();
  const button = h("button", { text: t.previewButton, attrs: { type: "button", id: `${id}-button` } });
  const message = h("p", {
    className: "msg",
    attrs: { id: `${id}-msg`, role: "status", "aria-live": "polite" },
  });
  const results = h("ul", { className: "preview-results", attrs: { id: `${id}-results` } });
  const root = h(
    "div",
    { className: "preview", attrs: { id } },
    title,
    h("p", { className: "hint", text: t.previewHint }),
    h("label", { text: t.previewLabel, attrs: { for: field.id } }),
    field,
    h("div", { className: "actions" }, button),
    message,
    results,
  );

  button.addEventListener("click", async () => {
    const parsed = parseTestOpenids(field.value);
    if ("problem" in parsed) {
      say(message, testOpenidsProblemText(parsed.problem, t), true);
      field.setAttribute("aria-invalid", "true");
      return;
    }
    field.removeAttribute("aria-invalid");
    remember(field.value);
    say(message, "");
    await whileDisabled(ctx, button, message, t.previewFailed, async () => {
      const answer = await send(parsed.openids);
      const ok = answer.results.filter((r) => r.errcode === 0).length;
      say(message, t.previewDone(ok, answer.results.length), ok < answer.results.length);
      results.replaceChildren(
        ...answer.results.map((r) =>
          h(
            "li",
            { attrs: { "data-openid": r.openid, "data-errcode": r.errcode ?? "none" } },
            h("span", { className: "mono", text: r.openid }),
            ` ${previewResultText(r, t)}`,
          ),
        ),
      );
    });
  });

  return {
    root,
    reset(text) {
      if (text) title.textContent = text;
      // The list another panel saved since this one was built.
      field.value = remembered();
      say(message, "");
      results.replaceChildren();
    },
  };
}
