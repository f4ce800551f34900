import { describe, expect, it } from "vitest";
import {
  BlocklistError,
  blocklistCheck,
  compactText,
  firstBlocked,
  manualCheck,
  noCheck,
  parseBlocklist,
} from "../../functions/core/blocklist.ts";

const entries = (text: string) => parseBlocklist(text).map((t) => t.entry);
const blocked = (list: string, content: string) => firstBlocked(parseBlocklist(list), content)?.entry;

describe("parseBlocklist", () => {
  it("reads words separated by commas (ASCII and full-width), 、, semicolons and lines, without comments", () => {
    expect(entries("加微信, 代开发票，刷单、赌博;博彩\n# a comment, not an entry\n  兼职  \n\n")).toEqual([
      "加微信",
      "代开发票",
      "刷单",
      "赌博",
      "博彩",
      "兼职",
    ]);
  });

  it("reads /patterns/ with flags, a / inside a character class, and drops repeats", () => {
    expect(entries("/v\\d{3,}/, /[a/b]x/i\n/qq群/s\n刷单\n刷单")).toEqual([
      "/v\\d{3,}/",
      "/[a/b]x/i",
      "/qq群/s",
      "刷单",
    ]);
  });

  it.each([
    ["/unclosed", "has no closing /"],
    ["/a(/", "is not a regular expression"],
    ["/abc/g", "flags may only be i, m and s"],
    ["//", "the pattern is empty"],
    ["/abc/x刷单", "put a comma or a new line after a /pattern/"],
    ["刷单, ！！", "has nothing left to match"],
  ])("refuses %j, saying why", (text, why) => {
    expect(() => parseBlocklist(text)).toThrow(BlocklistError);
    expect(() => parseBlocklist(text)).toThrow(why);
  });
});

describe("matching", () => {
  it("finds a word anywhere, across full-width forms, case, spaces, punctuation, emoji and zero-width characters", () => {
    expect(blocked("加微信", "欢迎咨询，加 微·信 详谈")).toBe("加微信");
    expect(blocked("qq群", "进 Ｑ\u200bＱ 群 了解")).toBe("qq群");
    expect(blocked("刷单", "刷🔥单返利")).toBe("刷单");
    expect(compactText("Ｑ Ｑ·群")).toBe("qq群");
  });

  it("lets content without any entry through, and does not fold traditional into simplified", () => {
    expect(blocked("加微信,刷单", "出售二手叉车一台，价格面议")).toBeUndefined();
    expect(blocked("赌博", "賭博")).toBeUndefined();
  });

  it("tests patterns case-insensitively against the folded and the compacted content", () => {
    expect(blocked("/v\\d{3,}/", "加我 V１２３４ 详聊")).toBe("/v\\d{3,}/");
    expect(blocked("/1\\d{10}/", "电话 138 0013 8000")).toBe("/1\\d{10}/");
    expect(blocked("/^急售/m", "第一行\n急售库存")).toBe("/^急售/m");
    expect(blocked("/v\\d{3,}/", "v12 only")).toBeUndefined();
  });

  it("gives the first matching entry in the list's order", () => {
    expect(blocked("代购,/代.*购/", "海外代购")).toBe("代购");
  });
});

describe("the content checks", () => {
  it("the blocklist holds a match, naming the word or the pattern", async () => {
    const check = blocklistCheck(parseBlocklist("加微信, /v\\d+/"));
    expect(await check.check("请加微信")).toEqual({ held: true, reason: 'blocked word "加微信"' });
    expect(await check.check("v8 发动机")).toEqual({ held: true, reason: "blocked pattern /v\\d+/" });
    expect(await check.check("出售叉车")).toEqual({ held: false });
  });

  it("an empty list holds nothing; manual holds everything; off nothing", async () => {
    expect(await blocklistCheck([]).check("加微信")).toEqual({ held: false });
    expect(await manualCheck.check("出售叉车")).toEqual({ held: true, reason: "manual review" });
    expect(await noCheck.check("加微信")).toEqual({ held: false });
  });
});
