import type { TaskView, UploadAnswer } from "../../contracts/api.ts";
import { api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { h } from "./dom.ts";
import { reasonText } from "./format.ts";

export interface UploadView {
  readonly root: HTMLElement;
  /** A fresh form for another task. */
  reset(): void;
  /** Only a draft with its own list takes an upload. */
  show(task: TaskView): void;
}

/** The recipient CSV upload of a task, with the API's report of what it added and refused. */
export function createUpload(ctx: Ctx, taskId: () => string | null, uploaded: (id: string) => Promise<void>) {
  const { t } = ctx;
  const file = h("input", {
    attrs: { id: "csv-file", name: "csv", type: "file", accept: ".csv,.txt,text/csv,text/plain" },
  });
  const button = h("button", { text: t.uploadButton, attrs: { type: "submit", id: "upload-button" } });
  const report = h("div", { attrs: { id: "upload-report", "aria-live": "polite" } });
  const error = (text: string) => report.replaceChildren(h("p", { className: "msg error", text }));
  let isDraft = false;

  function showReport(result: UploadAnswer): void {
    // The API lists the first invalid lines and counts them all.
    const shown =
      result.invalidCount > result.invalid.length ? t.uploadFirstShown(result.invalid.length) : "";
    const summary = t.uploadSummary(result.added, result.duplicates, result.invalidCount) + shown;
    report.replaceChildren(
      h("p", { className: "msg", text: summary, attrs: { id: "upload-summary" } }),
      result.invalid.length === 0
        ? ""
        : h(
            "table",
            { className: "errors", attrs: { "aria-label": t.invalidLines } },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { text: t.colLine, attrs: { scope: "col" } }),
                h("th", { text: t.colReason, attrs: { scope: "col" } }),
              ),
            ),
            h(
              "tbody",
              {},
              result.invalid.map((i) =>
                h(
                  "tr",
                  {},
                  h("td", { className: "num", text: i.line }),
                  h("td", { text: reasonText(i.reason, t) }),
                ),
              ),
            ),
          ),
    );
  }

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const id = taskId();
    const chosen = file.files?.[0];
    if (!id) return;
    if (!chosen) {
      error(t.chooseFile);
      return;
    }
    button.disabled = true;
    try {
      showReport(await api.uploadRecipients(id, await chosen.text()));
      file.value = "";
      await uploaded(id);
    } catch (e) {
      if (!isSignedOut(e)) error(t.uploadRefused + errorText(e, t));
    } finally {
      button.disabled = !isDraft;
    }
  }

  const root = h(
    "form",
    {
      className: "upload",
      attrs: { id: "upload-form", novalidate: true },
      on: { submit: (e) => void submit(e) },
    },
    h("h3", { text: t.uploadTitle }),
    h("label", { text: t.uploadLabel, attrs: { for: "csv-file" } }),
    file,
    button,
    report,
  );
  return {
    root,
    reset() {
      report.replaceChildren();
      file.value = "";
    },
    show(task: TaskView) {
      isDraft = task.status === "draft";
      button.disabled = !isDraft;
      root.hidden = task.audience === "all";
    },
  } satisfies UploadView;
}
