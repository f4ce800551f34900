import { describe, expect, it } from "vitest";
import {
  chars,
  displayZone,
  explainErrcode,
  formatFen,
  formatTime,
  formatYuan,
  reasonText,
  truncate,
} from "../../functions/console/src/format.ts";
import { NO_CREDIT } from "../../functions/core/push-task.ts";
import { INVALID_OPENID } from "../../functions/core/recipient-list.ts";
import { en, zh } from "../fixtures/console-catalogs.ts";

const SHANGHAI = "Asia/Shanghai";

describe("money", () => {
  it("shows fen as yuan with two decimals, counted in integers", () => {
    expect(formatFen(800)).toBe("¥8.00");
    expect(formatFen(5)).toBe("¥0.05");
    expect(formatFen(0)).toBe("¥0.00");
    expect(formatFen(123456789)).toBe("¥1,234,567.89");
    expect(formatFen(-250)).toBe("-¥2.50");
  });

  it("shows a goods price in yuan without float noise", () => {
    expect(formatYuan(39.9)).toBe("¥39.90");
    expect(formatYuan(0.1 + 0.2)).toBe("¥0.30");
    expect(formatYuan(250)).toBe("¥250.00");
  });
});

describe("times", () => {
  it("uses Asia/Shanghai unless the browser names a real place other than UTC", () => {
    expect(displayZone(undefined)).toBe(SHANGHAI);
    expect(displayZone("")).toBe(SHANGHAI);
    for (const utc of ["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/GMT-8", "Universal"])
      expect(displayZone(utc)).toBe(SHANGHAI);
    expect(displayZone(SHANGHAI)).toBe(SHANGHAI);
    expect(displayZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(displayZone("America/Los_Angeles")).toBe("America/Los_Angeles");
  });

  it("formats an API time in the zone, as year-month-day and a 24-hour clock", () => {
    expect(formatTime("2025-01-02T03:04:05.000Z", SHANGHAI)).toBe("2025-01-02 11:04:05");
    // Across midnight and a date line.
    expect(formatTime("2025-01-01T18:30:00Z", SHANGHAI)).toBe("2025-01-02 02:30:00");
    expect(formatTime("2025-07-01T00:00:00Z", "America/New_York")).toBe("2025-06-30 20:00:00");
    // An offset the API gives is honoured.
    expect(formatTime("2025-01-02T08:00:00+08:00", SHANGHAI)).toBe("2025-01-02 08:00:00");
    expect(formatTime("2025-01-01T16:00:00Z", SHANGHAI)).toBe("2025-01-02 00:00:00");
  });

  it("shows nothing for no time, and a value that is not a time as it is", () => {
    expect(formatTime(null, SHANGHAI)).toBe("");
    expect(formatTime("", SHANGHAI)).toBe("");
    expect(formatTime("soon", SHANGHAI)).toBe("soon");
  });
});

describe("text", () => {
  it("counts characters as the API does, a CJK character or an emoji as one", () => {
    expect(chars("春季上新")).toBe(4);
    expect(chars("🎉a")).toBe(2);
    expect(truncate("一二三四五", 3)).toBe("一二三…");
    expect(truncate("一二三", 3)).toBe("一二三");
  });
});

describe("errcodes", () => {
  it("explains each errcode an operator meets, in both languages", () => {
    expect(explainErrcode(0, zh)).toBe("成功");
    expect(explainErrcode(-1, zh)).toBe("系统繁忙，稍后重试");
    expect(explainErrcode(-2, zh)).toMatch(/^无应答，投递未知/);
    for (const code of [40001, 42001, 40014]) expect(explainErrcode(code, zh)).toMatch(/^access_token 失效/);
    expect(explainErrcode(40003, zh)).toBe("openid 无效");
    expect(explainErrcode(40037, zh)).toBe("模板 id 无效");
    expect(explainErrcode(43004, zh)).toMatch(/^用户未关注/);
    expect(explainErrcode(43101, zh)).toMatch(/^用户拒收/);
    expect(explainErrcode(45009, zh)).toBe("今日额度已用完");
    expect(explainErrcode(45011, zh)).toBe("调用过于频繁");
    expect(explainErrcode(45015, zh)).toMatch(/^客服窗口已关闭/);
    expect(explainErrcode(45047, zh)).toBe("客服消息额度已用完");
    expect(explainErrcode(47003, zh)).toBe("模板参数不合规");
    expect(explainErrcode(43004, en)).toBe("the user does not follow the account");
    expect(explainErrcode(-2, en)).toMatch(/^no answer: delivery unknown/);
  });

  it("takes byErrcode's keys (strings, `none`) and says so for a code it does not know", () => {
    expect(explainErrcode("45011", zh)).toBe(zh.errcode[45011]);
    expect(explainErrcode("none", en)).toBe(en.errcodeNone);
    expect(explainErrcode(null, zh)).toBe(zh.errcodeNone);
    expect(explainErrcode(99999, zh)).toBe(zh.errcodeUnknown);
    expect(explainErrcode("not-a-code", en)).toBe(en.errcodeUnknown);
  });

  it("words the API's own reasons in the operator's language, and passes others through", () => {
    expect(reasonText(INVALID_OPENID, zh)).toMatch(/^不是微信 openid/);
    expect(reasonText(NO_CREDIT, zh)).toMatch(/^无订阅额度/);
    expect(reasonText(NO_CREDIT, en)).toMatch(/^no subscription credit/);
    expect(reasonText("require subscribe", zh)).toBe("require subscribe");
    expect(reasonText(null, zh)).toBe("");
  });
});
