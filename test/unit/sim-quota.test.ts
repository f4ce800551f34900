import { describe, expect, it } from "vitest";
import { handleControl, type SimulatorControls } from "../../infra/local/wechat-sim/control-api.ts";
import { DailyQuota, quotaAnswer } from "../../infra/local/wechat-sim/template-quota.ts";

const DAY = 86_400_000;

describe("the simulator's template quota", () => {
  it("runs out, comes back when told, and resets at 00:00 Beijing time", () => {
    let now = Date.parse("2026-12-01T15:00:00Z"); // 23:00 Beijing
    const quota = new DailyQuota(2, () => now);
    expect([quota.take(), quota.take(), quota.take()]).toEqual([true, true, false]);
    expect(quota.state()).toEqual({ dailyLimit: 2, used: 2, remain: 0 });
    quota.setRemain(1);
    expect([quota.take(), quota.take()]).toEqual([true, false]);
    now = Date.parse("2026-12-01T16:00:00Z"); // 00:00 Beijing: a new quota day
    expect(quota.state()).toEqual({ dailyLimit: 3, used: 0, remain: 3 });
    now += DAY;
    expect(quota.take()).toBe(true);
  });

  it("answers quota/get for the template API and 76021 for a path it does not know", () => {
    const quota = new DailyQuota(5, () => 0);
    quota.take();
    const paths = { "/cgi-bin/message/template/send": quota };
    expect(quotaAnswer(paths, { cgi_path: "/cgi-bin/message/template/send" })).toEqual({
      errcode: 0,
      errmsg: "ok",
      quota: { daily_limit: 5, used: 1, remain: 4 },
    });
    expect(quotaAnswer(paths, { cgi_path: "/cgi-bin/nope" })).toMatchObject({ errcode: 76021 });
    expect(quotaAnswer(paths, {})).toMatchObject({ errcode: 44002 });
  });

  it("is set through /__sim/quota, refusing what it does not understand", () => {
    const templateQuota = new DailyQuota(100, () => 0);
    const sim = { templateQuota } as unknown as SimulatorControls;
    const url = (path: string) => new URL(`http://sim${path}`);
    expect(handleControl(sim, "POST", url("/__sim/quota"), '{"templateRemain":0}')).toEqual({
      status: 200,
      body: { ok: true, template: { dailyLimit: 0, used: 0, remain: 0 } },
    });
    expect(handleControl(sim, "GET", url("/__sim/quota"), "").body).toEqual({
      template: { dailyLimit: 0, used: 0, remain: 0 },
    });
    expect(handleControl(sim, "POST", url("/__sim/quota"), '{"templateRemain":-1}').status).toBe(400);
    expect(handleControl(sim, "POST", url("/__sim/quota"), '{"remain":1}').status).toBe(400);
  });
});
