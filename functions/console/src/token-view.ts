import type { Ctx } from "./context.ts";
import { h, say } from "./dom.ts";

export interface TokenView {
  readonly root: HTMLElement;
  /** Shows the prompt, empty, with an optional reason (a refused token). */
  show(reason?: string): void;
  hide(): void;
}

/** The prompt for the admin token; the page itself needs none. */
export function createTokenView(ctx: Pick<Ctx, "t">, onToken: (token: string) => void): TokenView {
  const { t } = ctx;
  const input = h("input", {
    attrs: { id: "token-input", name: "token", type: "password", autocomplete: "off", required: true },
  });
  const msg = h("p", { className: "msg", attrs: { id: "login-msg", role: "alert" } });
  const form = h(
    "form",
    {
      attrs: { id: "login-form", novalidate: true },
      on: {
        submit: (event) => {
          event.preventDefault();
          const value = input.value.trim();
          if (value === "") say(msg, t.tokenEmpty, true);
          else onToken(value);
        },
      },
    },
    h("label", { text: t.tokenLabel, attrs: { for: "token-input" } }),
    input,
    msg,
    h("button", { text: t.tokenSubmit, attrs: { type: "submit" } }),
  );
  const root = h(
    "section",
    { className: "card narrow", attrs: { id: "login", "aria-labelledby": "login-title", hidden: true } },
    h("h2", { text: t.tokenTitle, attrs: { id: "login-title" } }),
    form,
  );
  return {
    root,
    show(reason) {
      root.hidden = false;
      say(msg, reason ?? "", reason !== undefined);
      input.value = "";
      input.focus();
    },
    hide() {
      root.hidden = true;
    },
  };
}
