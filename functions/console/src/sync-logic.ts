import type { SyncView } from "../../contracts/api.ts";
import { explainErrcode } from "./format.ts";
import type { Catalog } from "./i18n.ts";

/** Still moving: worth polling. */
export const isSyncRunning = (sync: SyncView | null): boolean => sync?.status === "running";

/** The start button: resumes a paused sync (the API resumes it from its cursor), waits while one runs. */
export function syncButton(sync: SyncView | null, t: Catalog): { label: string; disabled: boolean } {
  if (sync?.status === "paused") return { label: t.syncResume, disabled: false };
  return { label: t.syncButton, disabled: isSyncRunning(sync) };
}

/** Status and counts in one line: `导入中 · 已读取 2 页 · 新增 87 · 已有 13`. */
export function syncLine(sync: SyncView, t: Catalog): string {
  return `${t.syncStatus[sync.status]} · ${t.syncCounts(sync.pages, sync.imported, sync.alreadyKnown)}`;
}

/**
 * Why a sync paused or failed, in words. The API's `error` starts with WeChat's errcode when WeChat
 * gave one (`45009: …`); the console explains the code and keeps WeChat's own text for the tooltip.
 */
export function syncReason(error: string | undefined, t: Catalog): string {
  if (!error) return "";
  if (error.startsWith("interrupted")) return t.syncInterrupted;
  if (error.startsWith("no usable access token")) return t.syncNoToken;
  const code = /^(-?\d+):/.exec(error)?.[1];
  if (code === undefined) return error;
  const n = Number(code);
  const words = t.syncErrcode[n] ?? explainErrcode(n, t);
  return `${code} ${words}${n === 45009 ? t.syncQuotaHint : ""}`;
}

/** The sentence under the counts: why it paused or failed; nothing while it runs or once done. */
export function syncNote(sync: SyncView, t: Catalog): string {
  if (sync.status === "paused") return t.syncPaused(syncReason(sync.error, t));
  if (sync.status === "failed") return t.syncFailed(syncReason(sync.error, t));
  return "";
}
