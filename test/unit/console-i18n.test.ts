import { describe, expect, it } from "vitest";
import {
  type Catalog,
  catalogs,
  DEFAULT_LANG,
  isLang,
  KNOWN_ERRCODES,
  LANGS,
} from "../../functions/console/src/i18n.ts";

/** Texts that take a broadcast's counts; every other function takes numbers or strings. */
const TAKES_COUNTS = new Set(["progress", "progressFanningOut", "progressCounting", "finished"]);
const COUNTS = { sent: 1, failed: 2, unknown: 3, skipped: 4, pending: 5, total: 15 };

/** Every entry of a catalog, groups flattened to `group.key`, functions called with sample arguments. */
function texts(catalog: Catalog): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (typeof value === "string") out.set(path, value);
    else if (typeof value === "function") {
      const args = TAKES_COUNTS.has(path) ? [COUNTS] : Array.from({ length: value.length }, (_, i) => i + 7);
      out.set(path, String(value(...args)));
    } else if (value && typeof value === "object")
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
  };
  walk(catalog, "");
  return out;
}

const zh = texts(catalogs["zh-CN"]);
const en = texts(catalogs.en);
const CJK = /[\u3400-\u9fff]/;

describe("the message catalog", () => {
  it("is Chinese by default, with English as the other language", () => {
    expect(DEFAULT_LANG).toBe("zh-CN");
    expect(LANGS).toEqual(["zh-CN", "en"]);
    expect(isLang("en")).toBe(true);
    expect(isLang("fr")).toBe(false);
    expect(isLang(null)).toBe(false);
  });

  it("has the same keys in both languages, none of them empty", () => {
    expect([...en.keys()].sort()).toEqual([...zh.keys()].sort());
    for (const [key, text] of [...zh, ...en]) expect(text.trim(), key).not.toBe("");
  });

  it("speaks Chinese in the Chinese catalog and English in the English one", () => {
    for (const [key, text] of zh) if (key !== "httpError") expect(text, key).toMatch(CJK);
    for (const [key, text] of en) expect(text, key).not.toMatch(CJK);
  });

  it("explains every known errcode and every status in both languages", () => {
    for (const code of KNOWN_ERRCODES) {
      expect(zh.get(`errcode.${code}`), String(code)).toBeDefined();
      expect(en.get(`errcode.${code}`), String(code)).toBeDefined();
    }
    expect(catalogs["zh-CN"].status).toEqual({
      draft: "草稿",
      scheduled: "已定时",
      sending: "发送中",
      paused: "已暂停",
      done: "已完成",
      deferred: "已延后（免打扰时段）",
      fanning_out: "分发中",
      awaiting_payment: "待支付",
      held: "待审核",
      rejected: "已驳回",
    });
  });

  it("puts the numbers it is given into the sentence", () => {
    expect(catalogs["zh-CN"].tooLong(10, 11)).toBe("最多 10 个字（当前 11 个）。");
    expect(catalogs.en.fixFields(1)).toBe("Not created: fix the field marked above.");
    expect(catalogs.en.fixFields(3)).toBe("Not created: fix the 3 fields marked above.");
    expect(catalogs["zh-CN"].fixFields(3)).toBe("未创建：请修改上面标出的 3 个字段。");
  });
});
