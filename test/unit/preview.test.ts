import { beforeEach, describe, expect, it } from "vitest";
import { TokenUnavailableError } from "../../functions/core/access-token.ts";
import { clientMsgId } from "../../functions/core/chunk-run.ts";
import { NotFoundError, WeChatRefusedError } from "../../functions/core/errors.ts";
import type { TaskDraft } from "../../functions/core/model.ts";
import {
  type AccessTokenProvider,
  type TemplateListing,
  type WeChatResult,
  WeChatTransportError,
} from "../../functions/core/ports.ts";
import { listTemplates, type PreviewDeps, previewPost, previewTask } from "../../functions/core/preview.ts";
import {
  NO_CREDIT,
  OPTED_OUT,
  type PushTask,
  prepareTaskMessage,
  taskBroadcastId,
} from "../../functions/core/push-task.ts";
import type { TaskRequest } from "../../functions/core/task-request.ts";
import { FakeClock, MemoryBroadcastStore, MemoryCredits, MemoryPostStore } from "./fakes.ts";

const draft: TaskDraft = {
  name: "上新",
  channel: "template",
  templateId: "TPL_TASK",
  templateName: "上新提醒",
  topic: "秋季上新",
  caption: "新品八折",
  tips: "",
  data: { thing1: "{{topic}}" },
  goods: { id: "1989", title: "商品", price: 250, onShelf: true },
  audience: "uploaded",
};
const taskOf = (d: TaskDraft): PushTask => ({
  ...d,
  taskId: "t1",
  status: "draft",
  recipients: 3,
  message: prepareTaskMessage(d),
  createdAt: 1,
});
const OK: WeChatResult = { errcode: 0, errmsg: "ok" };

/** Every call WeChat got, by kind, answered by `answer` (or a transport failure). */
class ScriptedWeChat {
  readonly calls: { token: string; openid: string; clientMsgId?: string; body?: TaskRequest["body"] }[] = [];
  answer: (openid: string, token: string) => WeChatResult | "transport" = () => OK;
  listing: TemplateListing = { ...OK, templates: [{ templateId: "TPL_A", title: "上新", keys: ["thing1"] }] };
  private reply(openid: string, token: string) {
    const r = this.answer(openid, token);
    if (r === "transport") throw new WeChatTransportError("WeChat unreachable: timeout");
    return r;
  }
  async sendCustomText(): Promise<WeChatResult> {
    throw new Error("previews never use the customer-service channel");
  }
  async sendTemplate(token: string, openid: string, _t: unknown, clientMsgId: string) {
    this.calls.push({ token, openid, clientMsgId });
    return this.reply(openid, token);
  }
  async sendTaskMessage(token: string, request: TaskRequest) {
    const openid = request.body.touser as string;
    this.calls.push({ token, openid, body: request.body });
    return this.reply(openid, token);
  }
  async privateTemplates(token: string) {
    this.calls.push({ token, openid: "" });
    const r = this.answer("", token);
    if (r === "transport") throw new WeChatTransportError("WeChat unreachable: timeout");
    return r.errcode === 0 ? this.listing : { ...r, templates: [] };
  }
}

/** Tokens T1, T2…: a rejected one is replaced by the next. */
class RotatingTokens implements AccessTokenProvider {
  current = 1;
  readonly rejected: string[] = [];
  unavailable = false;
  async get() {
    if (this.unavailable) throw new TokenUnavailableError("no access token in the table yet");
    return `T${this.current}`;
  }
  async reject(token: string) {
    this.rejected.push(token);
    if (token === `T${this.current}`) this.current += 1;
  }
}

let wechat: ScriptedWeChat;
let tokens: RotatingTokens;
let credits: MemoryCredits;
let posts: MemoryPostStore;
let optedOut: Set<string>;
let deps: PreviewDeps;

beforeEach(() => {
  wechat = new ScriptedWeChat();
  tokens = new RotatingTokens();
  credits = new MemoryCredits();
  posts = new MemoryPostStore(new MemoryBroadcastStore());
  optedOut = new Set();
  deps = {
    tokens,
    wechat,
    credits,
    posts,
    consent: { optedOut: async (openids) => new Set(openids.filter((o) => optedOut.has(o))) },
    clock: new FakeClock(),
    postMessage: { templateId: "TPL_POST", fieldMapping: { thing1: "content", time2: "paidAt" } },
    taskSettings: { miniProgramState: "formal" },
  };
});

describe("previewTask", () => {
  it("sends the rendered message to each test openid with a client_msg_id the real send never uses", async () => {
    const results = await previewTask(taskOf(draft), ["oA", "oB"], "p1", deps);
    expect(results).toEqual([
      { openid: "oA", errcode: 0, errmsg: "ok" },
      { openid: "oB", errcode: 0, errmsg: "ok" },
    ]);
    expect(wechat.calls.map((c) => c.body?.data)).toEqual([
      { thing1: { value: "秋季上新" } },
      { thing1: { value: "秋季上新" } },
    ]);
    const ids = wechat.calls.map((c) => c.body?.client_msg_id);
    expect(ids[0]).not.toBe(clientMsgId(taskBroadcastId("t1"), "oA"));
    await previewTask(taskOf(draft), ["oA"], "p2", deps);
    expect(wechat.calls[2]?.body?.client_msg_id).not.toBe(ids[0]);
  });

  it("keeps a subscriber's 0: not sent, and says so", async () => {
    optedOut.add("oOut");
    const results = await previewTask(taskOf(draft), ["oOut", "oIn"], "p1", deps);
    expect(results[0]).toEqual({ openid: "oOut", errcode: null, errmsg: OPTED_OUT });
    expect(wechat.calls.map((c) => c.openid)).toEqual(["oIn"]);
  });

  it("replaces a refused token once and reports it; WeChat's other answers and silence are told as they are", async () => {
    wechat.answer = (openid, token) => {
      if (token === "T1") return { errcode: 40001, errmsg: "invalid credential" };
      if (openid === "oBusy") return { errcode: -1, errmsg: "system error" };
      if (openid === "oGone") return "transport";
      return OK;
    };
    const results = await previewTask(taskOf(draft), ["oA", "oBusy", "oGone"], "p1", deps);
    expect(results).toEqual([
      { openid: "oA", errcode: 0, errmsg: "ok" },
      { openid: "oBusy", errcode: -1, errmsg: "system error" },
      { openid: "oGone", errcode: -2, errmsg: "WeChat unreachable: timeout" },
    ]);
    expect(tokens.rejected).toContain("T1");
    expect(wechat.calls.filter((c) => c.token === "T1")).toHaveLength(3);
    expect(wechat.calls.filter((c) => c.token === "T2")).toHaveLength(3);
  });

  it("answers without sending when no token is there", async () => {
    tokens.unavailable = true;
    const [result] = await previewTask(taskOf(draft), ["oA"], "p1", deps);
    expect(result).toMatchObject({
      openid: "oA",
      errcode: null,
      errmsg: expect.stringMatching(/^not sent:/),
    });
    expect(wechat.calls).toHaveLength(0);
  });

  it("uses a subscribe credit like a real send: none, not sent; 43101 drops the rest", async () => {
    const task = taskOf({
      ...draft,
      channel: "subscribe",
      templateId: "SUB_TPL",
      data: { thing1: "{{topic}}" },
    });
    await credits.grant("oHas", "SUB_TPL", 2);
    await credits.grant("oStale", "SUB_TPL", 5);
    wechat.answer = (openid) =>
      openid === "oStale" ? { errcode: 43101, errmsg: "user refuse to accept the msg" } : OK;
    const results = await previewTask(task, ["oHas", "oNone", "oStale"], "p1", deps);
    expect(results).toEqual([
      { openid: "oHas", errcode: 0, errmsg: "ok" },
      { openid: "oNone", errcode: null, errmsg: NO_CREDIT },
      { openid: "oStale", errcode: 43101, errmsg: "user refuse to accept the msg" },
    ]);
    expect(credits.balance.get("oHas/SUB_TPL")).toBe(1);
    expect(credits.balance.get("oStale/SUB_TPL")).toBe(0);
    expect(wechat.calls.map((c) => c.openid)).toEqual(["oHas", "oStale"]);
  });
});

describe("previewPost", () => {
  it("sends the post's template message whether paid or not, and changes nothing", async () => {
    await posts.create({
      postId: "p",
      outTradeNo: "T0001",
      amount: 500,
      content: "求购钢材",
      status: "PENDING",
      createdAt: 1,
    });
    expect(await previewPost("T0001", ["oA"], "p1", deps)).toEqual([
      { openid: "oA", errcode: 0, errmsg: "ok" },
    ]);
    expect(wechat.calls[0]?.clientMsgId).not.toBe(clientMsgId("post-T0001", "oA"));
    expect((await posts.get("T0001"))?.status).toBe("PENDING");
    await expect(previewPost("NOPE01", ["oA"], "p1", deps)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("listTemplates", () => {
  it("lists the account's templates; a refusal or silence is a 502 with WeChat's words", async () => {
    expect(await listTemplates(deps)).toEqual(wechat.listing.templates);
    wechat.answer = () => ({ errcode: 48001, errmsg: "api unauthorized" });
    await expect(listTemplates(deps)).rejects.toThrow(WeChatRefusedError);
    await expect(listTemplates(deps)).rejects.toThrow(/48001 api unauthorized/);
    wechat.answer = () => "transport";
    await expect(listTemplates(deps)).rejects.toMatchObject({ status: 502 });
  });
});
