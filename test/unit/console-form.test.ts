import { describe, expect, it } from "vitest";
import {
  checkField,
  type FormValues,
  parseData,
  placeServerProblems,
  problemText,
  type TextField,
  taskBody,
} from "../../functions/console/src/form-rules.ts";
import { createTaskBody } from "../../functions/contracts/api.ts";
import { prepareTaskMessage } from "../../functions/core/push-task.ts";
import { en, zh } from "../fixtures/console-catalogs.ts";

const touched = { touched: true };
const message = (field: TextField, value: string, lang = zh) => {
  const problem = checkField(field, value, touched);
  return problem ? problemText(problem, lang) : "";
};

describe("the form's limits", () => {
  it("counts characters, not bytes, against the API's limits", () => {
    expect(message("topic", "十一个字的活动主题名称")).toBe("最多 10 个字（当前 11 个）。");
    expect(message("topic", "十个字的活动主题名称")).toBe("");
    expect(message("caption", "c".repeat(31))).toBe("最多 30 个字（当前 31 个）。");
    expect(message("tips", "温馨提示".repeat(8), en)).toBe("At most 30 characters (now 32).");
    expect(message("name", "n".repeat(51))).toBe("最多 50 个字（当前 51 个）。");
    expect(message("goodsId", "g".repeat(65))).toBe("最多 64 个字（当前 65 个）。");
  });

  it("tells an empty required field only once it was left or the form submitted", () => {
    expect(checkField("name", "  ", { touched: false })).toBeNull();
    expect(message("name", "  ")).toBe("必填。");
    expect(message("name", "  ", en)).toBe("Required.");
    // Optional fields may stay empty.
    expect(message("tips", "")).toBe("");
    expect(message("page", "")).toBe("");
  });

  it("takes a price in yuan with at most two decimals", () => {
    for (const ok of ["0", "12", "12.5", "12.50", "9999999.99"]) expect(message("goodsPrice", ok)).toBe("");
    for (const bad of ["12.345", "-1", "1,5", "12.", "¥12", "1e3", "abc"])
      expect(message("goodsPrice", bad)).toBe("请输入以元为单位、最多两位小数的价格，如 12.50。");
  });

  it("reads template data as key=value lines and names the first bad one", () => {
    expect(parseData("thing1={{topic}}\n\n  thing2 = {{caption}} ")).toEqual({
      data: { thing1: "{{topic}}", thing2: "{{caption}}" },
    });
    expect(message("data", "thing1={{topic}}\nno equals sign")).toBe(
      "第 2 行：应为 key=value，如 thing1={{topic}}",
    );
    expect(message("data", "\n \n")).toBe("必填。");
    expect(message("data", "1thing=x")).toBe("第 1 行：应为 key=value，如 thing1={{topic}}");
  });
});

describe("the API's 400, placed under the fields it names", () => {
  it("puts each problem under its field, a data key under the data field, the rest aside", () => {
    const placed = placeServerProblems(
      'topic: at most 10 characters (has 11); data.thing2: "x" is not valid: at most 20 characters; ' +
        "goods.price: at most two decimals (yuan); url: must be an http(s) URL; request body must be JSON",
    );
    expect(placed.fields).toEqual({
      topic: "at most 10 characters (has 11)",
      data: 'thing2: "x" is not valid: at most 20 characters',
      goodsPrice: "at most two decimals (yuan)",
    });
    expect(placed.rest).toEqual(["url: must be an http(s) URL", "request body must be JSON"]);
  });
});

describe("the request body", () => {
  const values: FormValues = {
    text: {
      name: " 春季上新推送 ",
      templateId: "TPL_1",
      templateName: "上新通知",
      topic: "春季上新",
      caption: "新品到货",
      tips: "",
      page: "",
      data: "thing1={{topic}}\nthing2={{caption}}",
      goodsId: "G-1001",
      goodsTitle: "保温杯",
      goodsPrice: "39.90",
    },
    channel: "subscribe",
    audience: "all",
    goodsOnShelf: false,
  };

  it("is what the API's schema accepts and the core can render, trimmed, without an empty page", () => {
    const body = taskBody(values);
    expect(body).toMatchObject({
      name: "春季上新推送",
      goods: { price: 39.9, onShelf: false },
      audience: "all",
    });
    expect(body).not.toHaveProperty("page");
    const parsed = createTaskBody.parse(body);
    const message = prepareTaskMessage({
      ...parsed,
      goods: { ...parsed.goods, id: String(parsed.goods.id) },
    });
    expect(message.data).toEqual({ thing1: { value: "春季上新" }, thing2: { value: "新品到货" } });
  });

  it("keeps a page when one is given", () => {
    expect(
      taskBody({ ...values, text: { ...values.text, page: " pages/goods?id={{goods.id}} " } }).page,
    ).toBe("pages/goods?id={{goods.id}}");
  });
});
