import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, expect, it } from "vitest";
import { TokenUnavailableError } from "../../functions/core/access-token.ts";
import { InFlightLimit } from "../../functions/core/in-flight-limit.ts";
import type { BroadcastMessage } from "../../functions/core/model.ts";
import {
  type SubscriberStatusStore,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "../../functions/core/ports.ts";
import {
  clientMsgId,
  OUTCOME_UNKNOWN,
  type SendChunkDeps,
  sendChunk,
} from "../../functions/core/send-chunk.ts";
import { FakeClock, MemoryBroadcastStore, MemoryDeliveryStore, newBroadcast } from "./fakes.ts";
import { MemoryParkStore } from "./parking-fakes.ts";

type Script = (channel: "custom" | "template", openid: string, call: number) => WeChatResult | "transport";
const OK: WeChatResult = { errcode: 0, errmsg: "ok" };
const NO_WINDOW: WeChatResult = { errcode: 45015, errmsg: "response out of time limit" };

class ScriptedWeChat implements WeChatMessenger {
  readonly calls: { channel: string; openid: string; token: string; clientMsgId?: string }[] = [];
  private msgid = 1000;
  constructor(private readonly script: Script) {}
  private answer(channel: "custom" | "template", openid: string, token: string, id?: string) {
    const n = this.calls.filter((c) => c.openid === openid).length + 1;
    this.calls.push({ channel, openid, token, ...(id ? { clientMsgId: id } : {}) });
    const r = this.script(channel, openid, n);
    if (r === "transport") throw new WeChatTransportError("timeout");
    return r.errcode === 0 && channel === "template" ? { ...r, msgid: this.msgid++ } : r;
  }
  async sendCustomText(token: string, openid: string) {
    return this.answer("custom", openid, token);
  }
  async sendTemplate(token: string, openid: string, _t: BroadcastMessage["template"], id: string) {
    return this.answer("template", openid, token, id);
  }
}

/** A token source whose refused token is replaced by a newer one at once (a refresher that answers fast). */
class CountingTokens {
  current = "T1";
  rejected: string[] = [];
  async get() {
    return this.current;
  }
  async reject(token: string) {
    this.rejected.push(token);
    if (token === this.current) this.current = `${token}+`;
  }
}

const B = "post-T1";
const openids = ["oA", "oB", "oC"];
let broadcasts: MemoryBroadcastStore;
let parking: MemoryParkStore;
let deliveries: MemoryDeliveryStore;
let tokens: CountingTokens;
let clock: FakeClock;
/** Windows as the adapter keeps them: messages left, and the broadcasts noted on each. */
let subscribers: SubscriberStatusStore & {
  unfollowed: string[];
  windows: Map<string, number>;
  notes: Set<string>;
};

function deps(wechat: WeChatMessenger): SendChunkDeps {
  return {
    broadcasts,
    deliveries,
    subscribers,
    wechat,
    tokens,
    clock,
    loadBroadcast: (id) => broadcasts.get(id),
    parking,
  };
}
const opts = { receiveCount: 1, maxReceiveCount: 5, leaseMs: 70_000 };

beforeEach(() => {
  broadcasts = new MemoryBroadcastStore();
  parking = new MemoryParkStore(broadcasts);
  broadcasts.items.set(B, newBroadcast(B, { total: 3, fanoutDone: true, fanoutPage: 1 }));
  deliveries = new MemoryDeliveryStore();
  tokens = new CountingTokens();
  clock = new FakeClock();
  subscribers = {
    unfollowed: [],
    windows: new Map(),
    notes: new Set(),
    async markUnfollowed(openids) {
      this.unfollowed.push(...openids);
    },
    async consumeWindow(openid, broadcastId) {
      if (this.notes.has(`${openid}/${broadcastId}`)) return "in_doubt";
      const left = this.windows.get(openid) ?? 0;
      if (left <= 0) return "none";
      this.windows.set(openid, left - 1);
      this.notes.add(`${openid}/${broadcastId}`);
      return "taken";
    },
    async releaseWindow(openid, broadcastId, refund) {
      if (!this.notes.delete(`${openid}/${broadcastId}`)) return;
      if (refund) this.windows.set(openid, (this.windows.get(openid) ?? 0) + 1);
    },
  };
});

describe("sendChunk", () => {
  it("sends a customer-service message only inside a tracked window, a template message to the rest", async () => {
    subscribers.windows.set("oA", 5);
    const wechat = new ScriptedWeChat(() => OK);
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids, windowed: ["oA", "oB"] },
      deps(wechat),
      opts,
    );

    expect(result).toMatchObject({
      kind: "settled",
      tally: { sent: 3, byChannel: { custom: 1, template: 2 } },
    });
    expect(wechat.calls.map((c) => [c.openid, c.channel]).sort()).toEqual([
      ["oA", "custom"],
      ["oB", "template"],
      ["oC", "template"],
    ]);
    expect(subscribers.windows.get("oA")).toBe(4);
    expect(deliveries.records.get(`${B}/oC`)).toMatchObject({
      outcome: "sent",
      channel: "template",
      attempts: 1,
    });
    expect(deliveries.records.get(`${B}/oC`)?.msgid).toBeTypeOf("number");
    expect(new Set(wechat.calls.filter((c) => c.channel === "template").map((c) => c.clientMsgId))).toEqual(
      new Set([clientMsgId(B, "oB"), clientMsgId(B, "oC")]),
    );
    expect(await broadcasts.get(B)).toMatchObject({
      sent: 3,
      failed: 0,
      byChannel: { custom: 1, template: 2 },
    });
  });

  it("falls back to the template message when WeChat closed a tracked window early", async () => {
    subscribers.windows.set("oA", 5);
    const wechat = new ScriptedWeChat((channel) => (channel === "custom" ? NO_WINDOW : OK));
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids: ["oA"], windowed: ["oA"] },
      deps(wechat),
      opts,
    );
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 1, byChannel: { template: 1 } } });
    expect(wechat.calls.map((c) => c.channel)).toEqual(["custom", "template"]);
    expect(deliveries.records.get(`${B}/oA`)).toMatchObject({ channel: "template", attempts: 2 });
    // WeChat said the window was used up: the message stays used, the broadcast's note goes.
    expect(subscribers.windows.get("oA")).toBe(4);
    expect(subscribers.notes.size).toBe(0);
  });

  it("does not send a customer-service message again after a call without an answer", async () => {
    subscribers.windows.set("oA", 5);
    const wechat = new ScriptedWeChat((channel) => (channel === "custom" ? "transport" : OK));
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids: ["oA"], windowed: ["oA"] },
      deps(wechat),
      opts,
    );
    expect(result).toMatchObject({
      kind: "settled",
      tally: { failed: 0, unknown: 1, byErrcode: { "-2": 1 } },
    });
    expect(wechat.calls.map((c) => c.channel)).toEqual(["custom"]);
    expect(deliveries.records.get(`${B}/oA`)).toMatchObject({
      outcome: "unknown",
      channel: "custom",
      errcode: -2,
      errmsg: OUTCOME_UNKNOWN,
    });
  });

  it("records a customer-service message a stopped delivery may have sent as unknown, without calling WeChat", async () => {
    // An earlier delivery of this chunk took oA's window and stopped before writing its record.
    subscribers.windows.set("oA", 4);
    subscribers.notes.add(`oA/${B}`);
    const wechat = new ScriptedWeChat(() => OK);
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids: ["oA", "oB"], windowed: ["oA"] },
      deps(wechat),
      { ...opts, receiveCount: 2 },
    );
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 1, failed: 0, unknown: 1 } });
    expect(wechat.calls.map((c) => c.openid)).toEqual(["oB"]);
    expect(deliveries.records.get(`${B}/oA`)).toMatchObject({
      outcome: "unknown",
      errcode: -2,
      errmsg: OUTCOME_UNKNOWN,
      attempts: 0,
    });
    expect(subscribers.windows.get("oA")).toBe(4);
  });

  it("gives the window message back when WeChat answered busy, and the queue's retry uses it once", async () => {
    subscribers.windows.set("oA", 5);
    const busy = new ScriptedWeChat(() => ({ errcode: -1, errmsg: "system error" }));
    const chunk = { broadcastId: B, chunkId: "0-0", openids: ["oA"], windowed: ["oA"] };
    expect(await sendChunk(chunk, deps(busy), opts)).toMatchObject({ kind: "retry", reason: "transient" });
    expect(busy.calls.map((c) => c.channel)).toEqual(["custom", "custom", "custom"]);
    expect(subscribers.windows.get("oA")).toBe(5);
    expect(subscribers.notes.size).toBe(0);

    const ok = new ScriptedWeChat(() => OK);
    expect(await sendChunk(chunk, deps(ok), { ...opts, receiveCount: 2 })).toMatchObject({
      kind: "settled",
      tally: { sent: 1, byChannel: { custom: 1 } },
    });
    expect(ok.calls.map((c) => c.channel)).toEqual(["custom"]);
    expect(subscribers.windows.get("oA")).toBe(4);
  });

  it("records permanent failures with WeChat's errcode and errmsg, without retrying", async () => {
    const wechat = new ScriptedWeChat(() => ({ errcode: 43004, errmsg: "require subscribe" }));
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: ["oB"] }, deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { failed: 1, byErrcode: { "43004": 1 } } });
    expect(deliveries.records.get(`${B}/oB`)).toMatchObject({
      outcome: "failed",
      errcode: 43004,
      errmsg: "require subscribe",
    });
    expect(wechat.calls).toHaveLength(1);
    expect(subscribers.unfollowed).toEqual(["oB"]);
  });

  it("skips recipients an earlier delivery of the chunk settled, and counts them once", async () => {
    const first = new ScriptedWeChat((_c, openid) => (openid === "oC" ? "transport" : OK));
    const r1 = await sendChunk({ broadcastId: B, chunkId: "0-0", openids }, deps(first), opts);
    expect(r1).toMatchObject({ kind: "retry", reason: "transient", pending: 1 });
    expect((await broadcasts.get(B))?.sent).toBe(0);

    const second = new ScriptedWeChat(() => OK);
    const r2 = await sendChunk({ broadcastId: B, chunkId: "0-0", openids }, deps(second), {
      ...opts,
      receiveCount: 2,
    });
    expect(second.calls.map((c) => c.openid)).toEqual(["oC"]);
    expect(r2).toMatchObject({ kind: "settled", tally: { sent: 3 } });

    const third = new ScriptedWeChat(() => OK);
    const r3 = await sendChunk({ broadcastId: B, chunkId: "0-0", openids }, deps(third), opts);
    expect(r3).toEqual({ kind: "settled", tally: null });
    expect(third.calls).toHaveLength(0);
    expect((await broadcasts.get(B))?.sent).toBe(3);
  });

  it("retries transient errors with backoff inside one receive", async () => {
    const wechat = new ScriptedWeChat((_c, _o, call) =>
      call < 3 ? { errcode: -1, errmsg: "system error" } : OK,
    );
    const before = clock.now();
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: ["oA"] }, deps(wechat), opts);
    expect(result.kind).toBe("settled");
    expect(wechat.calls).toHaveLength(3);
    expect(clock.now()).toBeGreaterThan(before);
  });

  it("records a transient failure as failed on the last receive instead of leaving it pending forever", async () => {
    const wechat = new ScriptedWeChat(() => ({ errcode: -1, errmsg: "system error" }));
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: ["oA"] }, deps(wechat), {
      ...opts,
      receiveCount: 5,
    });
    expect(result).toMatchObject({ kind: "settled", tally: { failed: 1, byErrcode: { "-1": 1 } } });
  });

  it("reports a refused token and sends again with the newer one", async () => {
    const wechat = new ScriptedWeChat((_c, _o, call) =>
      call === 1 ? { errcode: 40001, errmsg: "invalid credential" } : OK,
    );
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: ["oA"] }, deps(wechat), opts);
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 1 } });
    expect(tokens.rejected).toEqual(["T1"]);
    expect(wechat.calls.map((c) => c.token)).toEqual(["T1", "T1+"]);
  });

  it("leaves a recipient whose tokens keep being refused pending for a token, even on the last receive", async () => {
    const wechat = new ScriptedWeChat(() => ({ errcode: 42001, errmsg: "access_token expired" }));
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids: ["oA"] }, deps(wechat), {
      ...opts,
      receiveCount: 5,
    });
    expect(result).toMatchObject({ kind: "retry", reason: "token", pending: 1 });
    expect(wechat.calls.map((c) => c.token)).toEqual(["T1", "T1+", "T1++"]);
    expect(deliveries.records.size).toBe(0);
  });

  it("pauses the broadcast on 45009 and parks the rest of the chunk outside the queue", async () => {
    const wechat = new ScriptedWeChat(() => ({ errcode: 45009, errmsg: "reach max api daily quota limit" }));
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids }, deps(wechat), {
      ...opts,
      receiveCount: 5,
    });
    expect(result).toMatchObject({ kind: "parked", hold: { kind: "quota", hit: true }, parked: 3 });
    expect((await broadcasts.get(B))?.paused).toBe(true);
    expect(deliveries.records.size).toBe(0);
    expect(parking.chunksOf(B).map((c) => [c.chunkId, c.openids])).toEqual([["0-0~1", openids]]);

    // While paused, another chunk calls nobody and joins the parked ones.
    const idle = new ScriptedWeChat(() => OK);
    const joined = await sendChunk({ broadcastId: B, chunkId: "0-1", openids: ["oD"] }, deps(idle), opts);
    expect(joined).toMatchObject({ kind: "parked", hold: { kind: "quota", hit: false }, parked: 1 });
    expect(idle.calls).toHaveLength(0);
    expect(parking.chunksOf(B).map((c) => c.chunkId)).toEqual(["0-0~1", "0-1~1"]);
  });

  it("answers busy while another live invocation holds the chunk", async () => {
    await broadcasts.claimChunk(B, "0-0", 60_000, clock.now());
    const wechat = new ScriptedWeChat(() => OK);
    const result = await sendChunk({ broadcastId: B, chunkId: "0-0", openids }, deps(wechat), opts);
    expect(result).toMatchObject({ kind: "retry", reason: "busy" });
    expect(wechat.calls).toHaveLength(0);
  });

  it("refuses a chunk of an unknown broadcast", async () => {
    const wechat = new ScriptedWeChat(() => OK);
    await expect(
      sendChunk({ broadcastId: "nope", chunkId: "0-0", openids }, deps(wechat), opts),
    ).rejects.toThrow(/does not exist/);
  });

  it("writes records in groups so a crash mid-chunk keeps what was sent", async () => {
    const many = Array.from({ length: 60 }, (_, i) => `o${i}`);
    const wechat = new ScriptedWeChat(() => OK);
    await sendChunk({ broadcastId: B, chunkId: "0-0", openids: many }, deps(wechat), {
      ...opts,
      flushEvery: 25,
    });
    expect(deliveries.writes).toBe(3);
  });
});

describe("sendChunk within the container's limits", () => {
  it("takes a window only when its call can start: a queued turn holds no window", async () => {
    const many = Array.from({ length: 6 }, (_, i) => `oW${i}`);
    for (const openid of many) subscribers.windows.set(openid, 5);
    broadcasts.items.set(B, newBroadcast(B, { total: 6, fanoutDone: true, fanoutPage: 1 }));
    let inCall = 0;
    let peak = 0;
    let started = 0;
    let takenNotCalling = 0;
    const wechat = new ScriptedWeChat(() => OK);
    const slow: WeChatMessenger = {
      sendCustomText: async (token, openid) => {
        inCall += 1;
        started += 1;
        peak = Math.max(peak, inCall);
        takenNotCalling = Math.max(takenNotCalling, subscribers.notes.size - started);
        await sleep(5);
        inCall -= 1;
        return wechat.sendCustomText(token, openid);
      },
      sendTemplate: (token, openid, template, id) => wechat.sendTemplate(token, openid, template, id),
    };
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids: many, windowed: many },
      { ...deps(slow), inFlight: new InFlightLimit(2) },
      opts,
    );
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 6, byChannel: { custom: 6 } } });
    expect(peak).toBe(2);
    // A window taken ahead of its call belongs to a turn holding one of the two slots (the other is
    // the call starting now); none was taken by the four turns still waiting for a slot.
    expect(takenNotCalling).toBeLessThan(2);
  });

  it("reports a refused token before its slot goes to a waiting turn, so none starts with that token", async () => {
    const slowTokens = {
      current: "T1",
      async get() {
        return this.current;
      },
      async reject(token: string) {
        await sleep(5);
        if (token === this.current) this.current = "T2";
      },
    };
    const wechat = new ScriptedWeChat((_c, openid, call) =>
      openid === "oA" && call === 1 ? { errcode: 40001, errmsg: "invalid credential" } : OK,
    );
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids },
      { ...deps(wechat), tokens: slowTokens, inFlight: new InFlightLimit(1) },
      opts,
    );
    expect(result).toMatchObject({ kind: "settled", tally: { sent: 3 } });
    expect(wechat.calls.map((c) => c.token)).toEqual(["T1", "T2", "T2", "T2"]);
  });

  it("starts no call past its deadline and leaves those recipients pending, windows untouched", async () => {
    subscribers.windows.set("oA", 5);
    const wechat = new ScriptedWeChat(() => OK);
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids, windowed: ["oA"] },
      deps(wechat),
      { ...opts, receiveCount: 5, stopStartingAt: clock.now() },
    );
    expect(result).toMatchObject({ kind: "retry", reason: "deadline", pending: 3 });
    expect(wechat.calls).toHaveLength(0);
    expect(subscribers.windows.get("oA")).toBe(5);
    expect(deliveries.records.size).toBe(0);
  });

  it("keeps recipients pending for a token when none comes, without taking a window", async () => {
    subscribers.windows.set("oA", 5);
    const wechat = new ScriptedWeChat(() => OK);
    const noToken = {
      get: async () => {
        throw new TokenUnavailableError("no usable access token: none stored yet");
      },
      reject: async () => {},
    };
    const result = await sendChunk(
      { broadcastId: B, chunkId: "0-0", openids, windowed: ["oA"] },
      { ...deps(wechat), tokens: noToken },
      { ...opts, receiveCount: 5 },
    );
    expect(result).toMatchObject({ kind: "retry", reason: "token", pending: 3, detail: /none stored yet/ });
    expect(wechat.calls).toHaveLength(0);
    expect(subscribers.windows.get("oA")).toBe(5);
  });
});

describe("clientMsgId", () => {
  it("is stable per broadcast and recipient and differs otherwise", () => {
    expect(clientMsgId("b1", "oA")).toBe(clientMsgId("b1", "oA"));
    expect(clientMsgId("b1", "oA")).not.toBe(clientMsgId("b1", "oB"));
    expect(clientMsgId("b1", "oA")).not.toBe(clientMsgId("b2", "oA"));
    expect(clientMsgId("b1", "oA").length).toBeLessThanOrEqual(32);
  });
});
