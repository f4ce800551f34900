import type { Ctx } from "./context.ts";
import { h, say } from "./dom.ts";
import { catalogs, type Lang } from "./i18n.ts";

export interface Shell {
  readonly header: HTMLElement;
  /** Where the signed-in views go. */
  readonly app: HTMLElement;
  readonly forget: HTMLButtonElement;
  notice(text: string, isError?: boolean): void;
}

/** The bar across the top (title, zone, language switch, sign-out) and the frame of the signed-in app. */
export function createShell(
  ctx: Pick<Ctx, "t" | "zone">,
  on: { other: Lang; switchLang: () => void; forget: () => void },
): Shell {
  const { t } = ctx;
  const notice = h("p", { className: "msg", attrs: { id: "notice", role: "status", "aria-live": "polite" } });
  const forget = h("button", {
    className: "link",
    text: t.forgetToken,
    attrs: { type: "button", id: "forget-token", hidden: true },
    on: { click: on.forget },
  });
  const app = h("main", { attrs: { id: "app", hidden: true } }, notice);
  const header = h(
    "header",
    { className: "bar" },
    h("h1", { text: t.appTitle }),
    h(
      "div",
      { className: "tools" },
      h("span", { className: "zone", text: t.zoneNote(ctx.zone), attrs: { id: "zone-note" } }),
      h("button", {
        className: "link",
        // Named in its own language, so it reads right to the one who needs it.
        text: catalogs[on.other].langName,
        attrs: { type: "button", id: "lang-switch", lang: on.other },
        on: { click: on.switchLang },
      }),
      forget,
    ),
  );
  return { header, app, forget, notice: (text, isError) => say(notice, text, isError) };
}
