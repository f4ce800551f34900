import { beforeEach, describe, expect, it } from "vitest";
import { fanOutPage } from "../../functions/core/fan-out.ts";
import type { ChunkMessage, DeliveryRecord, TaskDraft } from "../../functions/core/model.ts";
import type { TaskMessenger, WeChatResult } from "../../functions/core/ports.ts";
import { WeChatTransportError } from "../../functions/core/ports.ts";
import { NO_CREDIT, prepareTaskMessage, taskBroadcastId } from "../../functions/core/push-task.ts";
import { OUTCOME_UNKNOWN, type SendChunkDeps, sendChunk } from "../../functions/core/send-chunk.ts";
import type { TaskRequest } from "../../functions/core/task-request.ts";
import {
  ArrayAudience,
  FakeClock,
  MemoryBroadcastStore,
  MemoryCredits,
  MemoryDeliveryStore,
  newBroadcast,
  RecordingQueues,
} from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";
import { plainChunkDeps } from "./send-chunk-fixture.ts";

const draft: TaskDraft = {
  name: "上新",
  channel: "subscribe",
  templateId: "SUB_TPL",
  templateName: "上新提醒",
  topic: "秋季上新",
  caption: "新品八折",
  tips: "",
  data: { thing1: "{{topic}}", amount2: "¥{{goods.price}}" },
  page: "pages/goods/detail?id={{goods.id}}",
  goods: { id: "1989", title: "商品", price: 250, onShelf: true },
  audience: "uploaded",
};
const B = taskBroadcastId("t1");
const OK: WeChatResult = { errcode: 0, errmsg: "ok" };
const REFUSED: WeChatResult = { errcode: 43101, errmsg: "user refuse to accept the msg" };
const BUSY: WeChatResult = { errcode: -1, errmsg: "system error" };

class ScriptedTaskWeChat implements TaskMessenger {
  readonly calls: TaskRequest[] = [];
  constructor(private readonly script: (openid: string, call: number) => WeChatResult | "transport") {}
  async sendTaskMessage(_token: string, request: TaskRequest) {
    const openid = request.body.touser as string;
    const n = this.calls.filter((c) => c.body.touser === openid).length + 1;
    this.calls.push(request);
    const r = this.script(openid, n);
    if (r === "transport") throw new WeChatTransportError("timeout");
    return r.errcode === 0 ? { ...r, msgid: 7000 + this.calls.length } : r;
  }
  callsTo(openid: string) {
    return this.calls.filter((c) => c.body.touser === openid).length;
  }
}

let broadcasts: MemoryBroadcastStore;
let deliveries: MemoryDeliveryStore;
let credits: MemoryCredits;
let clock: FakeClock;

function deps(wechat: TaskMessenger): SendChunkDeps {
  const unused = async () => {
    throw new Error("post messenger used for a task");
  };
  return {
    ...plainChunkDeps({ broadcasts, deliveries, clock }, { sendCustomText: unused, sendTemplate: unused }),
    tasks: {
      credits,
      wechat,
      settings: { miniProgramState: "formal", miniProgramAppId: "wxMINI0000000001" },
    },
  };
}
const opts = { receiveCount: 1, maxReceiveCount: 5, leaseMs: 70_000 };
const chunk = (openids: string[], extra: Partial<ChunkMessage> = {}): ChunkMessage => ({
  broadcastId: B,
  chunkId: "0-0",
  openids,
  ...extra,
});
const record = (openid: string) => deliveries.records.get(`${B}/${openid}`);

function useTask(channel: "template" | "subscribe") {
  const message = prepareTaskMessage({ ...draft, channel });
  broadcasts.items.set(
    B,
    newBroadcast(B, { task: { taskId: "t1", audience: "uploaded", message }, fanoutDone: true, total: 3 }),
  );
}

beforeEach(() => {
  broadcasts = new MemoryBroadcastStore();
  deliveries = new MemoryDeliveryStore();
  credits = new MemoryCredits();
  clock = new FakeClock();
});

describe("sendChunk for a template-message task", () => {
  it("sends the rendered template with client_msg_id and the mini-program page to each recipient", async () => {
    useTask("template");
    const wechat = new ScriptedTaskWeChat(() => OK);
    const result = await sendChunk(chunk(["oA", "oB", "oC"]), deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 3, byChannel: { template: 3 } } });
    expect(wechat.calls).toHaveLength(3);
    expect(wechat.calls[0]).toMatchObject({
      api: "template",
      body: {
        template_id: "SUB_TPL",
        client_msg_id: expect.any(String),
        miniprogram: { appid: "wxMINI0000000001", pagepath: "pages/goods/detail?id=1989" },
        data: { thing1: { value: "秋季上新" }, amount2: { value: "¥250" } },
      },
    });
    expect(credits.reservations.size).toBe(0);
  });
});

describe("sendChunk for a subscribe-message task", () => {
  beforeEach(() => useTask("subscribe"));

  it("skips users without a credit without calling WeChat; the others get one message and use one credit", async () => {
    await credits.grant("oA", "SUB_TPL", 1);
    await credits.grant("oB", "SUB_TPL", 2);
    const wechat = new ScriptedTaskWeChat(() => OK);
    const result = await sendChunk(chunk(["oA", "oB", "oC"]), deps(wechat), opts);
    expect(result).toMatchObject({
      kind: "settled",
      tally: { sent: 2, skipped: 1, byChannel: { subscribe: 2 }, byErrcode: { none: 1 } },
    });
    expect(wechat.callsTo("oC")).toBe(0);
    expect(record("oC")).toMatchObject({ outcome: "skipped", errmsg: NO_CREDIT, attempts: 0 });
    expect(record("oC")).not.toHaveProperty("channel");
    expect(wechat.calls[0]).toMatchObject({
      api: "subscribe",
      body: { page: "pages/goods/detail?id=1989", miniprogram_state: "formal" },
    });
    expect(credits.balance.get("oA/SUB_TPL")).toBe(0);
    expect(credits.balance.get("oB/SUB_TPL")).toBe(1);
  });

  it("records 43101 as refused and drops the user's remaining credits", async () => {
    await credits.grant("oA", "SUB_TPL", 3);
    const wechat = new ScriptedTaskWeChat(() => REFUSED);
    await sendChunk(chunk(["oA"]), deps(wechat), opts);
    expect(record("oA")).toMatchObject({ outcome: "failed", channel: "subscribe", errcode: 43101 });
    expect(wechat.calls).toHaveLength(1);
    expect(credits.balance.get("oA/SUB_TPL")).toBe(0);
  });

  it("does not message a recipient twice when an earlier delivery stopped during its call", async () => {
    await credits.grant("oA", "SUB_TPL", 2);
    // The earlier delivery reserved the credit and was calling WeChat when it crashed.
    await credits.reserve("oA", "SUB_TPL", B);
    const wechat = new ScriptedTaskWeChat(() => OK);
    const result = await sendChunk(chunk(["oA"]), deps(wechat), opts);
    expect(wechat.calls).toHaveLength(0);
    expect(record("oA")).toMatchObject({ outcome: "unknown", errcode: -2, errmsg: OUTCOME_UNKNOWN });
    expect(result).toMatchObject({ kind: "settled", tally: { failed: 0, unknown: 1 } });
    expect(credits.balance.get("oA/SUB_TPL")).toBe(1);
  });

  it("keeps the credit for the queue's retry when WeChat answers busy, and uses no second one", async () => {
    await credits.grant("oA", "SUB_TPL", 2);
    let busy = true;
    const wechat = new ScriptedTaskWeChat(() => (busy ? BUSY : OK));
    const first = await sendChunk(chunk(["oA"]), deps(wechat), opts);
    expect(first).toMatchObject({ kind: "retry", reason: "transient", pending: 1 });
    expect(credits.reservations.get(`oA/${B}`)).toBe("held");
    busy = false;
    const second = await sendChunk(chunk(["oA"]), deps(wechat), { ...opts, receiveCount: 2 });
    expect(second).toMatchObject({ kind: "settled", tally: { sent: 1 } });
    expect(credits.balance.get("oA/SUB_TPL")).toBe(1);
    expect(wechat.calls.filter((c) => c.body.touser === "oA")).toHaveLength(4);
  });

  it("records a call that got no answer as unknown and does not repeat it", async () => {
    await credits.grant("oA", "SUB_TPL", 2);
    const wechat = new ScriptedTaskWeChat(() => "transport");
    await sendChunk(chunk(["oA"]), deps(wechat), opts);
    expect(wechat.calls).toHaveLength(1);
    expect(record("oA")).toMatchObject({ outcome: "unknown", errcode: -2, errmsg: OUTCOME_UNKNOWN });
  });
});

describe("an operator's retry chunk", () => {
  it("re-does the failures it re-queued, replaces them on the counters, and leaves newer records alone", async () => {
    useTask("template");
    const old = (openid: string, errcode: number): DeliveryRecord => ({
      broadcastId: B,
      openid,
      outcome: "failed",
      channel: "template",
      errcode,
      errmsg: "busy",
      attempts: 3,
      at: clock.now() - 1000,
    });
    await deliveries.putMany({ broadcastId: B, chunkId: "0-0" }, [old("oA", -1), old("oB", 45011)]);
    const b = broadcasts.items.get(B);
    if (b) Object.assign(b, { failed: 2, byErrcode: { "-1": 1, "45011": 1 } });
    const wechat = new ScriptedTaskWeChat(() => OK);
    const retry = chunk(["oA", "oB"], {
      chunkId: "r1-0",
      retryOf: { oA: { outcome: "failed", errcode: -1 }, oB: { outcome: "failed", errcode: 45011 } },
      retryAt: clock.now(),
    });
    const result = await sendChunk(retry, deps(wechat), opts);
    expect(result).toMatchObject({
      kind: "settled",
      tally: { sent: 2, failed: -2, byErrcode: { "-1": -1, "45011": -1 } },
    });
    expect(await broadcasts.get(B)).toMatchObject({ sent: 2, failed: 0, byErrcode: { "-1": 0, "45011": 0 } });
    expect(record("oA")).toMatchObject({ outcome: "sent" });
    // Delivered again (a redelivery of the same retry chunk): nothing re-sent, nothing counted twice.
    broadcasts.chunks.clear();
    await sendChunk(retry, deps(wechat), opts);
    expect(wechat.calls).toHaveLength(2);
  });
});

describe("fanOutPage for a task", () => {
  it("reads the task's uploaded list, not the subscribers, and never marks windows", async () => {
    const message = prepareTaskMessage({ ...draft, channel: "template" });
    broadcasts.items.set(B, newBroadcast(B, { task: { taskId: "t1", audience: "uploaded", message } }));
    const queues = new RecordingQueues();
    const uploaded = new ArrayAudience(["oU1", "oU2", "oU3"], new Set(["oU1"]));
    const reads: string[] = [];
    await fanOutPage(
      { broadcastId: B, page: 0, cursor: null },
      {
        broadcasts,
        audience: new ArrayAudience(["oS1"]),
        parking: new MemoryParkStore(broadcasts),
        taskRecipients: {
          readTaskPage: (taskId, cursor, limit) => {
            reads.push(taskId);
            return uploaded.readPage(cursor, limit);
          },
        },
        sendQueue: queues,
        fanoutQueue: queues,
        clock,
      },
      { pageSize: 10, chunkSize: 2, reportTallyDelaySeconds: 60 },
    );
    expect(reads).toEqual(["t1"]);
    expect(queues.chunks.flatMap((c) => c.openids)).toEqual(["oU1", "oU2", "oU3"]);
    expect(queues.chunks.some((c) => c.windowed)).toBe(false);
    expect(await broadcasts.get(B)).toMatchObject({ total: 3, fanoutDone: true });
  });
});
