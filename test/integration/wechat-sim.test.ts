import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SimulatorOptions, WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";

const APP_ID = "wx_test_app";
const APP_SECRET = "test_secret";
const TEMPLATE = "tmpl_paid_post";
const SUB_TEMPLATE = "tmpl_mp_notice";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** 2026-01-01 10:00 Beijing time, so a few hours of jumps never cross a quota day by accident. */
const START = Date.UTC(2026, 0, 1, 2, 0, 0);

type Json = Record<string, unknown>;

let clock = START;
let sim: WeChatSimulator;
let base: string;

async function boot(extra: Partial<SimulatorOptions> = {}): Promise<void> {
  await sim?.stop();
  clock = START;
  sim = new WeChatSimulator({
    appId: APP_ID,
    appSecret: APP_SECRET,
    templateIds: [TEMPLATE],
    subscribeTemplateIds: [SUB_TEMPLATE],
    now: () => clock,
    ...extra,
  });
  base = await sim.start(0);
}

async function post(path: string, body: unknown, init: RequestInit = {}): Promise<Json> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function get(path: string): Promise<Json> {
  const res = await fetch(`${base}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

function stableToken(extra: Json = {}): Promise<Json> {
  return post("/cgi-bin/stable_token", {
    grant_type: "client_credential",
    appid: APP_ID,
    secret: APP_SECRET,
    ...extra,
  });
}

async function token(): Promise<string> {
  const answer = await stableToken();
  expect(typeof answer.access_token).toBe("string");
  return answer.access_token as string;
}

function classicToken(): Promise<Json> {
  return get(`/cgi-bin/token?grant_type=client_credential&appid=${APP_ID}&secret=${APP_SECRET}`);
}

/** A call to `message/<api>/send`, as a sender makes it. */
function send(api: "custom" | "template" | "subscribe", tok: string, body: Json): Promise<Json> {
  return post(`/cgi-bin/message/${api}/send?access_token=${encodeURIComponent(tok)}`, body);
}

function custom(tok: string, touser: string, content = "hello"): Promise<Json> {
  return send("custom", tok, { touser, msgtype: "text", text: { content } });
}

/** A valid template message body, and a valid subscribe message body, each without its `touser`. */
const TEMPLATE_BODY = {
  template_id: TEMPLATE,
  url: "https://example.com/post/42",
  data: { thing1: { value: "二手叉车转让" }, character_string2: { value: "P20260101000042" } },
};
const SUBSCRIBE_BODY = {
  template_id: SUB_TEMPLATE,
  page: "pages/post/detail?id=42",
  data: { thing1: { value: "夏季新品上架" }, amount2: { value: "¥99.00" } },
};

function template(tok: string, touser: string, extra: Json = {}): Promise<Json> {
  return send("template", tok, { touser, ...TEMPLATE_BODY, ...extra });
}

function subscribe(tok: string, touser: string, extra: Json = {}): Promise<Json> {
  return send("subscribe", tok, { touser, ...SUBSCRIBE_BODY, ...extra });
}

beforeEach(async () => {
  await boot();
});

afterEach(async () => {
  await sim.stop();
});

describe("stable_token", () => {
  it("returns the same token while valid, with expires_in counting down", async () => {
    const first = await stableToken();
    clock += 10 * MINUTE;
    const second = await stableToken();
    expect(second.access_token).toBe(first.access_token);
    expect(first.expires_in).toBe(7200);
    expect(second.expires_in).toBe(7200 - 600);
    expect(sim.stats().tokenFetches).toEqual({ stable: 2, stableForced: 0, classic: 0 });
  });

  it("pre-rotates in the last 5 minutes and keeps the old token valid until it expires", async () => {
    const old = await token();
    clock += 7200_000 - 4 * MINUTE;
    const next = await stableToken();
    expect(next.access_token).not.toBe(old);
    expect(next.expires_in).toBe(7200);
    expect((await template(old, "o_user")).errcode).toBe(0);
    clock += 4 * MINUTE;
    expect((await template(old, "o_user")).errcode).toBe(42001);
    expect((await template(next.access_token as string, "o_user")).errcode).toBe(0);
  });

  it("force_refresh kills the old token at once, holds for 30 s, and stops after 20 a day", async () => {
    const old = await token();
    const forced = await stableToken({ force_refresh: true });
    expect(forced.access_token).not.toBe(old);
    const rejected = await template(old, "o_user");
    expect(rejected.errcode).toBe(40001);
    expect(rejected.errmsg).toMatch(
      /^invalid credential, access_token is invalid or not latest rid: [0-9a-f-]+$/,
    );
    clock += 10_000;
    expect((await stableToken({ force_refresh: true })).access_token).toBe(forced.access_token);
    for (let i = 2; i < 20; i += 1) {
      clock += 31_000;
      expect((await stableToken({ force_refresh: true })).access_token).toBeTypeOf("string");
    }
    clock += 31_000;
    expect((await stableToken({ force_refresh: true })).errcode).toBe(45009);
    expect(sim.stats().tokenFetches.stableForced).toBe(20);
  });

  it("rejects a wrong appid or secret and non-POST calls", async () => {
    expect((await stableToken({ appid: "wx_other" })).errcode).toBe(40013);
    const badSecret = await stableToken({ secret: "nope" });
    expect(badSecret.errcode).toBe(40125);
    expect(badSecret.errmsg).toMatch(/^invalid appsecret rid: /);
    expect((await fetch(`${base}/cgi-bin/stable_token`)).status).toBe(405);
    expect(sim.stats().tokenFetches.stable).toBe(0);
  });

  it("is isolated from the classic token, whose fetches supersede each other after 5 minutes", async () => {
    const stable = await token();
    const c1 = (await classicToken()).access_token as string;
    const c2 = (await classicToken()).access_token as string;
    expect(new Set([stable, c1, c2]).size).toBe(3);
    expect((await template(stable, "o_user")).errcode).toBe(0);
    expect((await template(c1, "o_user")).errcode).toBe(0);
    clock += 5 * MINUTE;
    expect((await template(c1, "o_user")).errcode).toBe(40001);
    expect((await template(c2, "o_user")).errcode).toBe(0);
    expect((await template(stable, "o_user")).errcode).toBe(0);
    expect(await token()).toBe(stable);
    expect(sim.stats().tokenFetches).toEqual({ stable: 2, stableForced: 0, classic: 2 });
  });
});

describe("the IP whitelist", () => {
  it("refuses every token call from an unlisted caller with 40164 naming its IP, or 89503", async () => {
    sim.setFaults({ refuseTokenCalls: 40164 });
    const refused = await stableToken();
    expect(refused.errcode).toBe(40164);
    expect(refused.errmsg).toMatch(
      /^invalid ip 127\.0\.0\.1 ipv6 ::ffff:127\.0\.0\.1, not in whitelist rid: /,
    );
    expect((await classicToken()).errcode).toBe(40164);
    sim.setFaults({ refuseTokenCalls: 89503 });
    expect((await stableToken()).errcode).toBe(89503);
    expect(sim.stats().tokenFetches).toEqual({ stable: 0, stableForced: 0, classic: 0 });
    const bad = await fetch(`${base}/__sim/faults`, { method: "POST", body: '{"refuseTokenCalls":40001}' });
    expect(bad.status).toBe(400);
    sim.setFaults({ refuseTokenCalls: null });
    expect(typeof (await stableToken()).access_token).toBe("string");
  });

  it("still grants the central token server's own fetch, which no HTTP call of the system made", async () => {
    sim.setFaults({ refuseTokenCalls: 40164 });
    const grant = sim.centralServerToken();
    expect(grant.expiresIn).toBeGreaterThan(7000);
    sim.addUsers(["o_central"]);
    expect((await template(grant.accessToken, "o_central")).errcode).toBe(0);
    expect(sim.stats().calls.stable_token).toBe(0);
  });
});

describe("access token on send APIs", () => {
  it("answers 41001 without a token, 40001 for an unknown one, 42001 once expired", async () => {
    const res = await post("/cgi-bin/message/template/send", {
      touser: "o",
      template_id: TEMPLATE,
      data: {},
    });
    expect(res.errcode).toBe(41001);
    expect((await template("made-up", "o_user")).errcode).toBe(40001);
    const tok = await token();
    clock += 2 * HOUR;
    expect((await template(tok, "o_user")).errcode).toBe(42001);
  });

  it("revokes the token at the k-th send as a force refresh elsewhere would", async () => {
    const tok = await token();
    sim.setFaults({ revokeTokenAtSend: 3 });
    expect((await template(tok, "o_a")).errcode).toBe(0);
    expect((await custom(tok, "o_a")).errcode).toBe(45015);
    expect((await template(tok, "o_a")).errcode).toBe(40001);
    expect((await template(tok, "o_a")).errcode).toBe(40001);
    const fresh = await token();
    expect(fresh).not.toBe(tok);
    expect((await template(fresh, "o_a")).errcode).toBe(0);
    expect(sim.stats().faultsInjected.revoked).toBe(1);
    expect(sim.ledger("o_a")).toHaveLength(2);
  });
});

describe("custom/send", () => {
  it("needs an open window: 45015 without one, 5 sends after a message, then 45047", async () => {
    const tok = await token();
    sim.addUsers(["o_a"]);
    const closed = await custom(tok, "o_a");
    expect(closed.errcode).toBe(45015);
    expect(closed.errmsg).toMatch(/^response out of time limit or subscription is canceled rid: /);
    sim.openWindow("o_a", "message");
    for (let i = 0; i < 5; i += 1)
      expect(await custom(tok, "o_a", `m${i}`)).toEqual({ errcode: 0, errmsg: "ok" });
    const usedUp = await custom(tok, "o_a");
    expect(usedUp.errcode).toBe(45047);
    expect(usedUp.errmsg).toMatch(/^out of response count limit rid: /);
    clock += 48 * HOUR;
    expect((await custom(await token(), "o_a")).errcode).toBe(45015);
    expect(sim.ledger("o_a").map((d) => (d.body as { text: { content: string } }).text.content)).toEqual([
      "m0",
      "m1",
      "m2",
      "m3",
      "m4",
    ]);
  });

  it("an event window allows 3 sends and closes after 1 minute", async () => {
    const tok = await token();
    sim.openWindow("o_a", "event");
    sim.openWindow("o_b", "event");
    for (let i = 0; i < 3; i += 1) expect((await custom(tok, "o_a")).errcode).toBe(0);
    expect((await custom(tok, "o_a")).errcode).toBe(45047);
    expect((await custom(tok, "o_b")).errcode).toBe(0);
    clock += MINUTE;
    expect((await custom(tok, "o_b")).errcode).toBe(45015);
  });

  it("reopening resets the count instead of adding to it", async () => {
    const tok = await token();
    sim.openWindow("o_a", "message");
    for (let i = 0; i < 2; i += 1) expect((await custom(tok, "o_a")).errcode).toBe(0);
    sim.openWindow("o_a", "message");
    for (let i = 0; i < 5; i += 1) expect((await custom(tok, "o_a")).errcode).toBe(0);
    expect((await custom(tok, "o_a")).errcode).toBe(45047);
  });

  it("answers 45009 past the custom daily quota", async () => {
    await boot({ customDailyQuota: 1 });
    const tok = await token();
    sim.openWindow("o_a", "message");
    expect((await custom(tok, "o_a")).errcode).toBe(0);
    expect((await custom(tok, "o_a")).errcode).toBe(45009);
  });

  it("answers 45015 to an unfollowed user even with a window", async () => {
    const tok = await token();
    sim.openWindow("o_a", "message");
    sim.setFollowed("o_a", false);
    expect((await custom(tok, "o_a")).errcode).toBe(45015);
    expect(sim.ledger("o_a")).toEqual([]);
  });

  it("rejects malformed bodies with WeChat's codes", async () => {
    const tok = await token();
    const path = `/cgi-bin/message/custom/send?access_token=${tok}`;
    expect((await post(path, { msgtype: "text", text: { content: "x" } })).errcode).toBe(44002);
    expect((await post(path, { touser: "o_a", text: { content: "x" } })).errcode).toBe(44002);
    expect((await post(path, { touser: "o_a", msgtype: "text" })).errcode).toBe(40008);
    expect((await post(path, { touser: "o_a", msgtype: "telegram", telegram: {} })).errcode).toBe(40008);
    const notJson = await post(path, "{not json");
    expect(notJson.errcode).toBe(47001);
    expect(notJson.errmsg).toMatch(/^data format error rid: /);
    expect((await fetch(`${base}${path}`)).status).toBe(405);
    expect((await fetch(`${base}/cgi-bin/message/mass/sendall`, { method: "POST" })).status).toBe(404);
  });
});

describe("template/send", () => {
  it("delivers with a numeric msgid and records it in the ledger", async () => {
    const tok = await token();
    const a = await template(tok, "o_a");
    const b = await template(tok, "o_a");
    expect(a).toMatchObject({ errcode: 0, errmsg: "ok" });
    expect(typeof a.msgid).toBe("number");
    expect(b.msgid).not.toBe(a.msgid);
    const ledger = sim.ledger("o_a");
    expect(ledger.map((d) => [d.channel, d.msgid, d.templateId, d.at])).toEqual([
      ["template", a.msgid, TEMPLATE, START],
      ["template", b.msgid, TEMPLATE, START],
    ]);
    expect(ledger[0]?.body).toMatchObject({
      url: "https://example.com/post/42",
      data: { thing1: { value: "二手叉车转让" } },
    });
  });

  it("answers 40037 for an unknown template and 43004 for an unfollowed user", async () => {
    const tok = await token();
    const badTemplate = await template(tok, "o_a", { template_id: "nope" });
    expect(badTemplate.errcode).toBe(40037);
    expect(badTemplate.errmsg).toMatch(/^invalid template_id rid: /);
    expect((await template(tok, "o_a", { template_id: SUB_TEMPLATE })).errcode).toBe(40037);
    sim.addUsers(["o_gone"], { followed: false });
    const gone = await template(tok, "o_gone");
    expect(gone.errcode).toBe(43004);
    expect(gone.errmsg).toMatch(/^require subscribe rid: /);
    expect(sim.stats().delivered).toBe(0);
  });

  it("in strict mode answers 40003 for unknown openids", async () => {
    await boot({ strictUsers: true });
    const tok = await token();
    sim.addUsers(["o_known"]);
    expect((await template(tok, "o_stranger")).errcode).toBe(40003);
    expect((await custom(tok, "o_stranger")).errcode).toBe(40003);
    expect((await template(tok, "o_known")).errcode).toBe(0);
  });

  it("de-duplicates openid + client_msg_id for 10 minutes, not after", async () => {
    const tok = await token();
    const first = await template(tok, "o_a", { client_msg_id: "post42:o_a" });
    clock += 9 * MINUTE;
    const retry = await template(tok, "o_a", { client_msg_id: "post42:o_a" });
    expect(retry).toEqual({ errcode: 0, errmsg: "ok", msgid: first.msgid });
    const otherUser = await template(tok, "o_b", { client_msg_id: "post42:o_a" });
    expect(otherUser.msgid).not.toBe(first.msgid);
    expect(sim.ledger("o_a")).toHaveLength(1);
    expect(sim.stats().duplicatesSuppressed).toBe(1);
    clock += MINUTE;
    const late = await template(tok, "o_a", { client_msg_id: "post42:o_a" });
    expect(late.errcode).toBe(0);
    expect(late.msgid).not.toBe(first.msgid);
    expect(sim.ledger("o_a").map((d) => d.clientMsgId)).toEqual(["post42:o_a", "post42:o_a"]);
  });

  it("answers 45009 past the daily quota until the next Beijing day", async () => {
    await boot({ templateDailyQuota: 2 });
    const tok = await token();
    expect((await template(tok, "o_a")).errcode).toBe(0);
    expect((await template(tok, "o_b", { client_msg_id: "x" })).errcode).toBe(0);
    const over = await template(tok, "o_c");
    expect(over.errcode).toBe(45009);
    expect(over.errmsg).toMatch(/^reach max api daily quota limit rid: /);
    expect((await template(tok, "o_b", { client_msg_id: "x" })).errcode).toBe(0);
    clock += 14 * HOUR;
    const nextDayToken = await token();
    expect((await template(nextDayToken, "o_c")).errcode).toBe(0);
  });

  it("validates category values (47003) and truncates an over-long OA thing", async () => {
    const tok = await token();
    const chinese = await template(tok, "o_a", { data: { character_string2: { value: "订单42" } } });
    expect(chinese.errcode).toBe(47003);
    expect(chinese.errmsg).toMatch(/^argument invalid! data\.character_string2\.value invalid rid: /);
    const badTime = await template(tok, "o_a", { data: { time3: { value: "soon" } } });
    expect(badTime.errmsg).toMatch(/data\.time3\.value invalid/);
    expect((await template(tok, "o_a", { data: { phrase4: { value: "delivered" } } })).errcode).toBe(47003);
    expect((await template(tok, "o_a", { data: { thing1: { value: "" } } })).errcode).toBe(47003);
    const long = "一二三四五六七八九十一二三四五六七八九十一二";
    const ok = await template(tok, "o_a", {
      data: {
        thing1: { value: long },
        time3: { value: "2026年01月01日 10:30" },
        amount4: { value: "¥1200.00" },
        keyword1: { value: "legacy keys are not checked: 随便" },
      },
    });
    expect(ok.errcode).toBe(0);
    const shown = sim.ledger("o_a")[0]?.body as { data: Record<string, { value: string }> };
    expect(shown.data.thing1?.value).toBe(`${long.slice(0, 19)}…`);
    expect(shown.data.amount4?.value).toBe("¥1200.00");
  });
});

describe("subscribe/send", () => {
  it("needs a credit per send: 43101 without, consumed on success", async () => {
    const tok = await token();
    const none = await subscribe(tok, "o_mp");
    expect(none.errcode).toBe(43101);
    expect(none.errmsg).toMatch(/^user refuse to accept the msg rid: /);
    sim.grantSubscription("o_mp", SUB_TEMPLATE, 2);
    expect((await subscribe(tok, "o_mp", { template_id: TEMPLATE })).errcode).toBe(40037);
    const a = await subscribe(tok, "o_mp");
    const b = await subscribe(tok, "o_mp");
    expect([a.errcode, b.errcode]).toEqual([0, 0]);
    expect(typeof a.msgid).toBe("number");
    expect((await subscribe(tok, "o_mp")).errcode).toBe(43101);
    expect(sim.ledger("o_mp").map((d) => [d.channel, d.msgid])).toEqual([
      ["subscribe", a.msgid],
      ["subscribe", b.msgid],
    ]);
  });

  it("rejects an over-long thing with 47003 and keeps the credit", async () => {
    const tok = await token();
    sim.grantSubscription("o_mp", SUB_TEMPLATE);
    const res = await subscribe(tok, "o_mp", {
      data: { thing1: { value: "一二三四五六七八九十一二三四五六七八九十一" } },
    });
    expect(res.errcode).toBe(47003);
    expect(res.errmsg).toMatch(/data\.thing1\.value invalid/);
    expect((await subscribe(tok, "o_mp")).errcode).toBe(0);
  });

  it("does not care whether the user follows the OA", async () => {
    const tok = await token();
    sim.setFollowed("o_mp", false);
    sim.grantSubscription("o_mp", SUB_TEMPLATE);
    expect((await subscribe(tok, "o_mp")).errcode).toBe(0);
  });
});

describe("faults", () => {
  async function sendMany(
    tok: string,
    n: number,
    init: RequestInit = {},
  ): Promise<(Json | number | "timeout")[]> {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        try {
          const res = await fetch(`${base}/cgi-bin/message/template/send?access_token=${tok}`, {
            method: "POST",
            body: JSON.stringify({ touser: `o_${i}`, template_id: TEMPLATE, data: {} }),
            ...init,
          });
          return res.status === 200 ? ((await res.json()) as Json) : res.status;
        } catch {
          return "timeout" as const;
        }
      }),
    );
  }

  it("answers -1 system error for about busyRate of sends, delivering nothing for them", async () => {
    const tok = await token();
    sim.setFaults({ busyRate: 0.3, seed: 7 });
    const answers = await sendMany(tok, 400);
    const busy = answers.filter((a) => typeof a === "object" && a.errcode === -1);
    expect(busy.length / 400).toBeGreaterThan(0.22);
    expect(busy.length / 400).toBeLessThan(0.38);
    expect((busy[0] as Json).errmsg).toMatch(/^system error rid: /);
    expect(sim.stats().delivered).toBe(400 - busy.length);
    expect(sim.stats().errcodes["-1"]).toBe(busy.length);
    expect(sim.stats().tokenFetches.stable).toBe(1);
  });

  it("is deterministic for a seed", async () => {
    const tok = await token();
    const pattern = async () => {
      sim.setFaults({ busyRate: 0.5, seed: 42 });
      const out: number[] = [];
      for (let i = 0; i < 20; i += 1) out.push((await template(tok, "o_a")).errcode as number);
      return out;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first).toContain(-1);
    expect(first).toContain(0);
  });

  it("answers HTTP 502 for about http5xxRate of sends", async () => {
    const tok = await token();
    sim.setFaults({ http5xxRate: 0.2, seed: 3 });
    const answers = await sendMany(tok, 400);
    const failed = answers.filter((a) => a === 502).length;
    expect(failed / 400).toBeGreaterThan(0.13);
    expect(failed / 400).toBeLessThan(0.27);
    expect(sim.stats().faultsInjected.http5xx).toBe(failed);
    expect(sim.stats().delivered).toBe(400 - failed);
  });

  it("holds about timeoutRate of sends open until the client gives up", async () => {
    const tok = await token();
    sim.setFaults({ timeoutRate: 0.25, seed: 11 });
    const answers = await sendMany(tok, 200, { signal: AbortSignal.timeout(2_000) });
    const timedOut = answers.filter((a) => a === "timeout").length;
    const held = sim.stats().faultsInjected.timeout;
    expect(held / 200).toBeGreaterThan(0.15);
    expect(held / 200).toBeLessThan(0.35);
    // A loaded machine may time out an answered call too, never the reverse.
    expect(timedOut).toBeGreaterThanOrEqual(held);
    expect(sim.stats().delivered).toBe(200 - held);
    await expect.poll(() => sim.stats().inFlight).toBe(0);
  });

  it("timeoutDelivers makes a timed-out send land anyway", async () => {
    const tok = await token();
    sim.setFaults({ timeoutRate: 1, timeoutDelivers: true });
    const answer = await fetch(`${base}/cgi-bin/message/template/send?access_token=${tok}`, {
      method: "POST",
      body: JSON.stringify({ touser: "o_b", template_id: TEMPLATE, data: {} }),
      signal: AbortSignal.timeout(100),
    }).catch((e: unknown) => e);
    expect(answer).toBeInstanceOf(Error);
    expect(sim.ledger("o_b")).toHaveLength(1);
    expect(sim.stats().faultsInjected.timeout).toBeGreaterThanOrEqual(1);
  });

  it("adds latency and tracks the in-flight peak; token endpoints only get the latency", async () => {
    const tok = await token();
    // Long enough that 20 requests started together overlap even on a loaded machine.
    sim.setFaults({ latencyMs: 500, busyRate: 1 });
    const started = performance.now();
    const tokenAnswer = await stableToken();
    expect(performance.now() - started).toBeGreaterThanOrEqual(495);
    expect(tokenAnswer.access_token).toBe(tok);
    await sendMany(tok, 20);
    expect(sim.stats().inFlightPeak).toBeGreaterThanOrEqual(20);
    await expect.poll(() => sim.stats().inFlight).toBe(0);
  });
});

describe("ledger and scale", () => {
  it("lists what each user received in order, across channels", async () => {
    const tok = await token();
    sim.openWindow("o_a", "message");
    sim.grantSubscription("o_a", SUB_TEMPLATE);
    await custom(tok, "o_a", "first");
    clock += 1000;
    const t = await template(tok, "o_a", { client_msg_id: "c1" });
    clock += 1000;
    const s = await subscribe(tok, "o_a");
    await template(tok, "o_b");
    expect(sim.ledger("o_a")).toEqual([
      {
        openid: "o_a",
        channel: "custom",
        msgid: null,
        body: { touser: "o_a", msgtype: "text", text: { content: "first" } },
        at: START,
      },
      expect.objectContaining({ channel: "template", msgid: t.msgid, clientMsgId: "c1", at: START + 1000 }),
      expect.objectContaining({
        channel: "subscribe",
        msgid: s.msgid,
        templateId: SUB_TEMPLATE,
        at: START + 2000,
      }),
    ]);
    expect(sim.allDelivered().map((d) => d.openid)).toEqual(["o_a", "o_a", "o_a", "o_b"]);
    expect(sim.ledger("o_nobody")).toEqual([]);
  });

  it("keeps bodies only for the first ledgerBodyLimit deliveries", async () => {
    await boot({ ledgerBodyLimit: 2 });
    const tok = await token();
    for (const u of ["o_1", "o_2", "o_3"]) await template(tok, u);
    const all = sim.allDelivered();
    expect(all.map((d) => d.body === undefined)).toEqual([false, false, true]);
    expect(all[2]).toMatchObject({ openid: "o_3", channel: "template", templateId: TEMPLATE });
  });

  it("holds a million users", async () => {
    await boot({ strictUsers: true });
    sim.addUsers(
      (function* () {
        for (let i = 0; i < 1_000_000; i += 1) yield `o_user_${i}`;
      })(),
    );
    expect(sim.stats().users).toBe(1_000_000);
    const tok = await token();
    expect((await template(tok, "o_user_999999")).errcode).toBe(0);
    expect((await template(tok, "o_user_1000000")).errcode).toBe(40003);
  });
});

describe("control API over HTTP", () => {
  it("drives users, follow, windows, credits, faults, ledger, stats and reset", async () => {
    const tok = await token();
    expect(await post("/__sim/users", { count: 3, prefix: "o_gen_" })).toEqual({ ok: true, users: 3 });
    await post("/__sim/users", { openids: ["o_x"], followed: false });
    expect((await template(tok, "o_x")).errcode).toBe(43004);
    await post("/__sim/follow", { openid: "o_x", followed: true });
    await post("/__sim/window", { openid: "o_x", kind: "event" });
    expect((await custom(tok, "o_x")).errcode).toBe(0);
    await post("/__sim/subscriptions", { openid: "o_gen_1", templateId: SUB_TEMPLATE });
    expect((await subscribe(tok, "o_gen_1")).errcode).toBe(0);

    const ledger = await get("/__sim/ledger?openid=o_x");
    expect(ledger).toMatchObject({ openid: "o_x", deliveries: [{ channel: "custom", msgid: null }] });
    expect(await get("/__sim/ledger?offset=1&limit=5")).toMatchObject({
      total: 2,
      offset: 1,
      deliveries: [{ openid: "o_gen_1", channel: "subscribe" }],
    });

    expect(await post("/__sim/faults", { busyRate: 1 })).toMatchObject({ ok: true, faults: { busyRate: 1 } });
    expect((await template(tok, "o_gen_0")).errcode).toBe(-1);
    const badFault = await fetch(`${base}/__sim/faults`, { method: "POST", body: '{"busyRate":2}' });
    expect(badFault.status).toBe(400);
    await fetch(`${base}/__sim/faults`, { method: "DELETE" });
    expect((await template(tok, "o_gen_0")).errcode).toBe(0);

    const stats = await get("/__sim/stats");
    expect(stats).toMatchObject({ delivered: 3, users: 4, calls: { template_send: 3, custom_send: 1 } });

    expect(await post("/__sim/reset", {})).toEqual({ ok: true });
    expect(sim.stats().delivered).toBe(0);
    expect((await template(tok, "o_gen_0")).errcode).toBe(40001);
    expect((await fetch(`${base}/__sim/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/__sim/stats`, { method: "POST" })).status).toBe(405);
  });

  it("reset can keep tokens valid", async () => {
    const tok = await token();
    await post("/__sim/reset", { keepTokens: true });
    expect((await template(tok, "o_a")).errcode).toBe(0);
    expect(sim.stats().tokenFetches.stable).toBe(0);
  });
});

describe("lifecycle", () => {
  it("stop() closes keep-alive sockets and held requests promptly", async () => {
    const tok = await token();
    sim.setFaults({ timeoutRate: 1 });
    const held = fetch(`${base}/cgi-bin/message/template/send?access_token=${tok}`, {
      method: "POST",
      body: JSON.stringify({ touser: "o_a", template_id: TEMPLATE, data: {} }),
    }).then(
      () => "answered",
      () => "closed",
    );
    await sleep(50);
    // The held request has no client timeout: stop() resolving at all means it closed it.
    await sim.stop();
    expect(await held).toBe("closed");
    base = await sim.start(0);
    expect((await stableToken()).access_token).toBe(tok);
  });
});
