import { describe, expect, it } from "vitest";
import {
  isSyncRunning,
  syncButton,
  syncLine,
  syncNote,
  syncReason,
} from "../../functions/console/src/sync-logic.ts";
import type { SyncView } from "../../functions/contracts/api.ts";
import { en, zh } from "../fixtures/console-catalogs.ts";

const sync = (fields: Partial<SyncView>): SyncView => ({
  status: "running",
  pages: 2,
  imported: 87,
  alreadyKnown: 13,
  ...fields,
});

describe("the follower import panel", () => {
  it("offers to start, waits while a sync runs, and offers to resume a paused one", () => {
    expect(syncButton(null, zh)).toEqual({ label: "从微信导入关注者", disabled: false });
    expect(syncButton(sync({ status: "running" }), zh)).toEqual({
      label: "从微信导入关注者",
      disabled: true,
    });
    expect(syncButton(sync({ status: "paused" }), zh)).toEqual({ label: "继续导入", disabled: false });
    expect(syncButton(sync({ status: "done" }), en)).toEqual({
      label: "Import followers from WeChat",
      disabled: false,
    });
    expect(syncButton(sync({ status: "failed" }), zh).disabled).toBe(false);
    expect(isSyncRunning(sync({ status: "running" }))).toBe(true);
    expect(isSyncRunning(sync({ status: "paused" }))).toBe(false);
    expect(isSyncRunning(null)).toBe(false);
  });

  it("shows the status with pages read, new and already known followers", () => {
    expect(syncLine(sync({}), zh)).toBe("导入中 · 已读取 2 页 · 新增 87 · 已有 13");
    expect(syncLine(sync({ status: "done", pages: 3 }), en)).toBe(
      "done · 3 pages read · 87 new · 13 already known",
    );
  });

  it("explains a pause in words: 45009 is the day's quota, with when it comes back", () => {
    const paused = sync({
      status: "paused",
      error: "45009: user/get's daily quota is used up (reach max api daily quota limit rid: 1-2-3)",
    });
    expect(syncReason(paused.error, zh)).toBe(
      "45009 今日额度已用完（获取关注者列表每天可调用 500 次，北京时间 0 点重置）",
    );
    expect(syncNote(paused, zh)).toBe(
      "暂停原因：45009 今日额度已用完（获取关注者列表每天可调用 500 次，北京时间 0 点重置）。点击“继续导入”将从中断处继续。",
    );
    expect(syncReason(paused.error, en)).toMatch(/^45009 the day's quota is used up \(the follower list/);
  });

  it("names the other reasons: refused or missing tokens, an unverified account, a stalled worker", () => {
    expect(syncReason("-1: system error", zh)).toBe("-1 系统繁忙，稍后重试");
    expect(syncReason("40001: WeChat refused the access token: invalid credential", zh)).toBe(
      "40001 access_token 失效",
    );
    expect(syncReason("48001: api unauthorized", zh)).toBe(
      "48001 接口未授权：公众号未认证或没有获取用户列表的权限",
    );
    expect(syncReason("61451: something new", zh)).toBe("61451 控制台未收录的错误码，请查阅微信文档");
    expect(syncReason("no usable access token: none stored yet", zh)).toBe(zh.syncNoToken);
    expect(syncReason("interrupted: its worker stopped", en)).toBe(en.syncInterrupted);
    expect(syncNote(sync({ status: "failed", error: "48001: api unauthorized" }), en)).toBe(
      "Import failed: 48001 API unauthorized: the account is not verified or may not read its follower list.",
    );
    expect(syncNote(sync({ status: "running" }), zh)).toBe("");
    expect(syncNote(sync({ status: "done" }), zh)).toBe("");
  });
});
