import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import {
  buildTemplateData,
  formatTemplateValue,
  parseTemplateFieldMapping,
} from "../../functions/core/template-data.ts";

describe("formatTemplateValue", () => {
  it("truncates thing values to 20 characters with an ellipsis", () => {
    const long = "出售九成新二手叉车一台，价格面议，欢迎来电咨询看货";
    const v = formatTemplateValue("thing", long);
    expect(Array.from(v)).toHaveLength(20);
    expect(v.endsWith("…")).toBe(true);
    expect(formatTemplateValue("thing", "短文本")).toBe("短文本");
  });

  it("keeps character_string to 32 ASCII characters, dropping Chinese", () => {
    expect(formatTemplateValue("character_string", "订单T2026-0001")).toBe("T2026-0001");
    expect(Array.from(formatTemplateValue("character_string", "x".repeat(40)))).toHaveLength(32);
  });

  it("formats fen amounts and epoch times the WeChat way", () => {
    expect(formatTemplateValue("amount", 120050)).toBe("¥1200.50");
    expect(formatTemplateValue("time", Date.UTC(2026, 0, 1, 2, 30))).toBe("2026年01月01日 10:30");
  });

  it("fills an empty optional value with a placeholder WeChat accepts", () => {
    expect(formatTemplateValue("phone_number", "")).toBe("-");
    expect(formatTemplateValue("thing", "  ")).toBe("无");
  });

  it("keeps phrase to five Chinese characters", () => {
    expect(formatTemplateValue("phrase", "已上架 ok 新品推荐中")).toBe("已上架新品");
  });
});

describe("template field mapping", () => {
  it("builds data from a post by each key's type", () => {
    const mapping = parseTemplateFieldMapping(
      '{"thing1":"content","amount2":"amount","phone_number3":"contactPhone"}',
    );
    const data = buildTemplateData(mapping, {
      content: "求购钢材",
      amount: 500,
      contactPhone: "138-0000-0000",
      outTradeNo: "T1",
      paidAt: 0,
    });
    expect(data).toEqual({
      thing1: { value: "求购钢材" },
      amount2: { value: "¥5.00" },
      phone_number3: { value: "138-0000-0000" },
    });
  });

  it.each([
    ["not json", /not valid JSON/],
    ["[]", /must be a JSON object/],
    ["{}", /empty/],
    ['{"thing":"content"}', /<type><number>/],
    ['{"thing1":"price"}', /unknown post field "price"/],
  ])("rejects %s with a clear message", (json, message) => {
    expect(() => parseTemplateFieldMapping(json)).toThrow(ValidationError);
    expect(() => parseTemplateFieldMapping(json)).toThrow(message);
  });
});
