import type { SyncView } from "../../contracts/api.ts";
import { ApiError, api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { panelCard } from "./detail-card.ts";
import { h, say } from "./dom.ts";
import { isSyncRunning, syncButton, syncLine, syncNote } from "./sync-logic.ts";

/** The sync being watched, kept for this tab like the token, so a reload shows it again. */
const SYNC_KEY = "fanout.syncId";
const POLL_MS = 1000;

export interface SyncPanel {
  readonly root: HTMLElement;
  /** Shows the sync this tab last started, and follows it if it still runs. */
  restore(): Promise<void>;
  /** Stops following (signed out, or the views are rebuilt in another language). */
  stop(): void;
}

/** 「从微信导入关注者」: starts (or resumes) the import of the account's followers and follows it. */
export function createSyncPanel(ctx: Ctx): SyncPanel {
  const { t } = ctx;
  const button = h("button", { text: t.syncButton, attrs: { type: "button", id: "sync-start" } });
  const line = h("p", { className: "status", attrs: { id: "sync-progress", role: "status", hidden: true } });
  const note = h("p", { className: "msg", attrs: { id: "sync-msg", "aria-live": "polite" } });
  const root = panelCard("sync", { title: t.syncTitle, action: button, help: t.syncHelp }, line, note);
  let syncId: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function render(sync: SyncView | null): void {
    const { label, disabled } = syncButton(sync, t);
    button.textContent = label;
    button.disabled = disabled;
    line.hidden = sync === null;
    if (!sync) return;
    line.textContent = syncLine(sync, t);
    line.dataset.status = sync.status;
    const text = syncNote(sync, t);
    say(note, text, sync.status === "failed");
    note.title = sync.error ?? "";
  }

  async function follow(): Promise<void> {
    timer = undefined;
    if (!syncId) return;
    try {
      const sync = await api.getSync(syncId);
      render(sync);
      if (isSyncRunning(sync)) timer = setTimeout(() => void follow(), POLL_MS);
    } catch (error) {
      if (isSignedOut(error)) return;
      say(note, t.syncLoadFailed + errorText(error, t), true);
      button.disabled = false;
    }
  }

  async function start(): Promise<void> {
    // Disabled before the request, so a double click starts nothing twice.
    button.disabled = true;
    try {
      const { syncId: id } = await api.startSync();
      const resumed = id === syncId;
      syncId = id;
      sessionStorage.setItem(SYNC_KEY, id);
      ctx.notice(resumed ? t.syncResumed : t.syncStarted);
      clearTimeout(timer);
      await follow();
    } catch (error) {
      if (isSignedOut(error)) return;
      const conflict = error instanceof ApiError && error.status === 409;
      say(note, (conflict ? t.syncConflict : t.syncRefused) + errorText(error, t), true);
      button.disabled = false;
    }
  }
  button.addEventListener("click", () => void start());

  return {
    root,
    async restore() {
      syncId = sessionStorage.getItem(SYNC_KEY);
      render(null);
      clearTimeout(timer);
      await follow();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
