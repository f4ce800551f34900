import type { PostView, TaskView } from "../../contracts/api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { h, say } from "./dom.ts";
import { canResume, holdNote } from "./hold-logic.ts";

export interface HoldView {
  readonly root: HTMLElement;
  show(view: Pick<PostView | TaskView, "status" | "resumesAt">): void;
}

/**
 * A detail card's hold: why a deferred or paused broadcast sends nothing, and 继续发送 for a quota
 * pause, which ends it (the API answers 202; the parked recipients go on within a minute).
 */
export function createHold(
  ctx: Ctx,
  prefix: string,
  message: HTMLElement,
  resume: () => Promise<unknown>,
): HoldView {
  const { t } = ctx;
  const note = h("p", { className: "help", attrs: { id: `${prefix}-hold-note` } });
  const button = h("button", {
    text: t.resumeButton,
    attrs: {
      type: "button",
      id: `${prefix}-resume`,
      "aria-describedby": `${prefix}-hold-note`,
      hidden: true,
    },
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await resume();
      say(message, t.resumeStarted);
      button.hidden = true;
    } catch (error) {
      if (isSignedOut(error)) return;
      say(message, t.resumeRefused + errorText(error, t), true);
      button.disabled = false;
    }
  });
  const root = h("div", { className: "hold", attrs: { id: `${prefix}-hold`, hidden: true } }, note, button);
  return {
    root,
    show(view) {
      const text = holdNote(view, t, ctx.zone);
      root.hidden = text === "";
      note.textContent = text;
      root.dataset.status = view.status;
      const offered = canResume(view);
      if (offered && button.hidden) button.disabled = false;
      button.hidden = !offered;
    },
  };
}
