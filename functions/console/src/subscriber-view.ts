import type { SubscriberView } from "../../contracts/api.ts";
import { OPENID_PATTERN } from "../../core/recipient-list.ts";
import { ApiError, api } from "./api.ts";
import { searchNote, subscriberLines } from "./broadcast-logic.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { summaryTerms } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { explainErrcode, formatTime, reasonText } from "./format.ts";
import { unsuppressButton } from "./guard-view.ts";

/**
 * The search box for one subscriber and what the lookup says: their own choice and whose it is,
 * following, membership, the customer-service window, subscribe credits, and recent deliveries.
 */
export function createSubscriberLookup(ctx: Ctx): HTMLElement {
  const { t } = ctx;
  const input = h("input", {
    attrs: { id: "lookup-openid", type: "search", autocomplete: "off", spellcheck: "false" },
  });
  const message = h("p", {
    className: "msg",
    attrs: { id: "lookup-msg", role: "status", "aria-live": "polite" },
  });
  const result = h("div", { attrs: { id: "lookup-result", hidden: true } });
  const form = h(
    "form",
    { className: "lookup", on: { submit: (event) => void lookUp(event) } },
    h("label", { text: t.lookupLabel, attrs: { for: "lookup-openid" } }),
    h("div", { className: "row" }, input, h("button", { text: t.lookupButton, attrs: { type: "submit" } })),
  );
  let asked = 0;

  async function lookUp(event: Event): Promise<void> {
    event.preventDefault();
    const openid = input.value.trim();
    result.hidden = true;
    if (openid === "") return say(message, t.lookupEmpty, true);
    if (!OPENID_PATTERN.test(openid)) return say(message, t.lookupBadOpenid, true);
    const mine = ++asked;
    say(message, "");
    await show(openid, mine);
  }

  async function show(openid: string, mine: number): Promise<void> {
    try {
      const found = await api.getSubscriber(openid);
      // A later search replaced this one while it was on its way.
      if (mine !== asked) return;
      render(found);
    } catch (error) {
      if (mine !== asked || isSignedOut(error)) return;
      if (error instanceof ApiError && error.status === 404) say(message, t.lookupNotFound, true);
      else say(message, t.lookupFailed + errorText(error, t), true);
    }
  }

  const table = (id: string, columns: string[], rows: HTMLTableRowElement[]) =>
    h(
      "div",
      { className: "scroll" },
      h(
        "table",
        { attrs: { id } },
        h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { text: c, attrs: { scope: "col" } })))),
        h("tbody", {}, rows),
      ),
    );

  function render(s: SubscriberView): void {
    const time = (iso: string | null) => formatTime(iso, ctx.zone);
    const credits =
      s.credits.length === 0
        ? h("p", { className: "empty", text: t.creditsEmpty })
        : table(
            "lookup-credits",
            [t.colTemplateId, t.colCredits, t.colUpdated],
            s.credits.map((c) =>
              h(
                "tr",
                { attrs: { "data-template-id": c.templateId } },
                h("td", { className: "mono", text: c.templateId }),
                h("td", { className: "num", text: c.credits }),
                h("td", { text: time(c.updatedAt) }),
              ),
            ),
          );
    const recent = s.recentDeliveries;
    const deliveries =
      recent.items.length === 0
        ? h("p", { className: "empty", text: t.recentEmpty })
        : table(
            "lookup-deliveries",
            [t.colAt, t.colSource, t.colStatus, t.colChannel, t.colErrcode, t.colMeaning, t.colErrmsg],
            recent.items.map((d) =>
              h(
                "tr",
                { attrs: { "data-broadcast-id": d.broadcastId, "data-status": d.status } },
                h("td", { text: time(d.at), attrs: { title: d.at } }),
                h(
                  "td",
                  {},
                  `${t.sourceKind[d.kind]} `,
                  h("span", { className: "mono", text: d.id }),
                  h("span", { className: "sub", text: d.title }),
                ),
                h("td", { text: t.outcome[d.status] }),
                h("td", { text: d.channel ? t.deliveryChannel[d.channel] : "" }),
                h("td", { className: "num", text: d.errcode ?? "" }),
                h("td", { text: d.errcode === null ? "" : explainErrcode(d.errcode, t) }),
                h("td", { text: d.status === "sent" ? "" : reasonText(d.errmsg, t) }),
              ),
            ),
          );
    result.replaceChildren(
      h(
        "dl",
        { className: "summary", attrs: { id: "lookup-summary" } },
        summaryTerms(subscriberLines(s, t, ctx.zone)),
      ),
      unsuppressButton(ctx, s, message, () => show(s.openid, ++asked)),
      h("h3", { text: t.creditsTitle }),
      credits,
      h("h3", { text: t.recentTitle }),
      deliveries,
      h("p", {
        className: recent.complete ? "help" : "help warn",
        text: searchNote(recent, t),
        attrs: { id: "lookup-searched", "data-complete": String(recent.complete) },
      }),
    );
    result.hidden = false;
  }

  return h(
    "section",
    { className: "card", attrs: { id: "subscriber-lookup", "aria-labelledby": "lookup-title" } },
    h("h2", { text: t.lookupTitle, attrs: { id: "lookup-title" } }),
    form,
    message,
    result,
  );
}
