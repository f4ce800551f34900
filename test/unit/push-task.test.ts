import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import type { TaskDraft } from "../../functions/core/model.ts";
import {
  isRetryableFailure,
  type PushTask,
  prepareTaskMessage,
  renderPlaceholders,
  taskProgress,
} from "../../functions/core/push-task.ts";
import { taskRequest } from "../../functions/core/task-request.ts";
import { templateValueProblem } from "../../functions/core/template-data.ts";
import { sampleTaskDraft } from "../fixtures/task-draft.ts";
import { newBroadcast } from "./fakes.ts";

// Spaces inside a placeholder's braces are allowed.
const draft: TaskDraft = { ...sampleTaskDraft, data: { ...sampleTaskDraft.data, thing5: "{{ tips }}" } };

const problem = (d: TaskDraft) => {
  try {
    prepareTaskMessage(d);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
};

describe("prepareTaskMessage", () => {
  it("renders every placeholder of data and page", () => {
    expect(prepareTaskMessage(draft)).toEqual({
      channel: "template",
      templateId: "TPL_TASK",
      data: {
        thing1: { value: "秋季上新" },
        thing2: { value: "全场新品八折起" },
        thing3: { value: "健康助利测试商品1" },
        amount4: { value: "¥250" },
        thing5: { value: "数量有限先到先得" },
      },
      page: "pages/goods/detail?id=1989",
    });
  });

  it("enforces the form's limits, naming the field", () => {
    expect(problem({ ...draft, topic: "一二三四五六七八九十一" })).toMatch(
      /^topic: at most 10 characters \(has 11\)/,
    );
    expect(problem({ ...draft, caption: "字".repeat(31) })).toMatch(/^caption: at most 30/);
    expect(problem({ ...draft, tips: "字".repeat(31) })).toMatch(/^tips: at most 30/);
    expect(problem({ ...draft, topic: "  " })).toMatch(/^topic: must not be empty/);
    expect(problem({ ...draft, topic: "一二三四五六七八九十" })).toBeUndefined();
    expect(problem({ ...draft, goods: { ...draft.goods, price: 1.234 } })).toMatch(/^goods.price/);
  });

  it("checks each rendered value against its key type's WeChat rule", () => {
    // A 30-character caption fits the form but not a thing (≤ 20): refused before anything is sent.
    expect(problem({ ...draft, caption: "字".repeat(30) })).toMatch(
      /^data.thing2: .*at most 20 characters \(has 30\)/,
    );
    expect(problem({ ...draft, data: { ...draft.data, amount4: "{{goods.price}}元整" } })).toMatch(
      /^data.amount4/,
    );
    expect(problem({ ...draft, data: { phrase1: "{{topic}}" } })).toBeUndefined();
    expect(problem({ ...draft, data: { phrase1: "{{caption}}" } })).toMatch(/^data.phrase1/);
    expect(problem({ ...draft, data: { character_string1: "{{topic}}" } })).toMatch(
      /^data.character_string1/,
    );
    expect(problem({ ...draft, tips: "", data: { thing1: "{{tips}}" } })).toMatch(/^data.thing1: .*empty/);
  });

  it("refuses unknown placeholders, keys and misplaced fields", () => {
    expect(problem({ ...draft, data: { thing1: "{{goods.stock}}" } })).toMatch(
      /^data.thing1: unknown placeholder \{\{goods.stock\}\}/,
    );
    expect(problem({ ...draft, page: "pages/{{nope}}" })).toMatch(/^page: unknown placeholder/);
    expect(problem({ ...draft, data: {} })).toMatch(/^data: must map at least one/);
    expect(problem({ ...draft, channel: "subscribe", data: { keyword1: "x" } })).toMatch(/^data.keyword1/);
    expect(problem({ ...draft, data: { keyword1: "{{topic}}" } })).toBeUndefined();
    expect(problem({ ...draft, channel: "subscribe", url: "https://example.com" })).toMatch(/^url/);
    expect(problem({ ...draft, url: "ftp://x" })).toMatch(/^url: must be an http/);
  });

  it("leaves text without placeholders alone", () => {
    expect(renderPlaceholders("满{{ topic }}减", { topic: "100" }, "x")).toBe("满100减");
    expect(renderPlaceholders("{single} braces", {}, "x")).toBe("{single} braces");
  });
});

describe("templateValueProblem", () => {
  it.each([
    ["thing", "字".repeat(20), true],
    ["thing", "字".repeat(21), false],
    ["thing", " leading", false],
    ["number", "12.5", true],
    ["number", "12a", false],
    ["amount", "¥250.00", true],
    ["amount", "250元", true],
    ["amount", "¥12345678901", false],
    ["character_string", "P2026-0001", true],
    ["character_string", "订单1", false],
    ["phrase", "已上架", true],
    ["phrase", "已上架了吗啊", false],
    ["time", "2026年01月01日 10:30", true],
    ["date", "2026年1月1日", true],
    ["date", "tomorrow", false],
    ["phone_number", "+86 138-0000", true],
    ["name", "张三", true],
    ["name", "张三1", false],
    ["letter", "abc", true],
    ["symbol", "!!", true],
    ["car_number", "粤A12345", true],
    ["enum", "anything", true],
  ])("%s %s → %s", (type, value, ok) => {
    expect(templateValueProblem(type, value) === undefined).toBe(ok);
  });
});

describe("taskRequest", () => {
  const message = prepareTaskMessage(draft);
  const MINI_FORMAL = { miniProgramAppId: "wxMINI0000000001", miniProgramState: "formal" } as const;

  it("addresses a template message with client_msg_id and the page in the configured mini program", () => {
    const withApp = taskRequest(message, "oUser", MINI_FORMAL, "cid");
    expect(withApp).toEqual({
      api: "template",
      body: {
        touser: "oUser",
        template_id: "TPL_TASK",
        miniprogram: { appid: "wxMINI0000000001", pagepath: "pages/goods/detail?id=1989" },
        client_msg_id: "cid",
        data: message.data,
      },
    });
    const without = taskRequest(message, "oUser", { miniProgramState: "formal" }, "cid");
    expect(without.body).not.toHaveProperty("miniprogram");
    const linked = taskRequest(
      { ...message, url: "https://shop.example/1989" },
      "oUser",
      { miniProgramState: "formal" },
      "c",
    );
    expect(linked.body).toMatchObject({ url: "https://shop.example/1989" });
  });

  it("addresses a subscribe message with page and miniprogram_state, no client_msg_id", () => {
    const sub = prepareTaskMessage({ ...draft, channel: "subscribe" });
    const request = taskRequest(sub, "oUser", { ...MINI_FORMAL, miniProgramState: "trial" }, "cid");
    expect(request).toEqual({
      api: "subscribe",
      body: {
        touser: "oUser",
        template_id: "TPL_TASK",
        page: "pages/goods/detail?id=1989",
        miniprogram_state: "trial",
        lang: "zh_CN",
        data: sub.data,
      },
    });
  });
});

describe("task progress and retryable failures", () => {
  const task: PushTask = {
    ...draft,
    taskId: "t1",
    status: "draft",
    recipients: 7,
    message: prepareTaskMessage(draft),
    createdAt: 1,
  };

  it("shows a draft's recipients as pending and a sent task's broadcast counters", () => {
    expect(taskProgress(task, undefined)).toMatchObject({ status: "draft", total: 7, pending: 7, sent: 0 });
    const sending = { ...task, status: "sending" as const };
    expect(taskProgress(sending, undefined)).toMatchObject({ status: "sending", total: 7 });
    const b = newBroadcast("task-t1", { fanoutDone: true, total: 7, sent: 5, failed: 1, skipped: 1 });
    expect(taskProgress(sending, b)).toMatchObject({
      status: "done",
      total: 7,
      sent: 5,
      failed: 1,
      skipped: 1,
      pending: 0,
    });
    expect(taskProgress(sending, newBroadcast("task-t1"))).toMatchObject({ status: "sending" });
  });

  it("retries WeChat's transient answers and token failures only", () => {
    expect(isRetryableFailure({ outcome: "failed", errcode: -1 })).toBe(true);
    expect(isRetryableFailure({ outcome: "failed", errcode: 45011 })).toBe(true);
    expect(isRetryableFailure({ outcome: "failed", errcode: -2 })).toBe(true);
    expect(isRetryableFailure({ outcome: "failed", errcode: 40001 })).toBe(true);
    expect(isRetryableFailure({ outcome: "failed", errcode: 43101 })).toBe(false);
    expect(isRetryableFailure({ outcome: "failed", errcode: 43004 })).toBe(false);
    expect(isRetryableFailure({ outcome: "skipped" })).toBe(false);
    expect(isRetryableFailure({ outcome: "sent", errcode: 0 })).toBe(false);
  });
});
