/**
 * WeChat's follower list (user/get) as the simulator serves it, read through the production client
 * (WeChatApiClient.followerPage): pages in follow order, the end-of-list quirk, token checks, the
 * daily quota and the injected failures the end-to-end tests rely on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WeChatApiClient } from "../../functions/adapters/wechat/api-client.ts";
import { readPage } from "../../functions/core/follower-sync.ts";
import { WeChatTransportError } from "../../functions/core/ports.ts";
import { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";

const appId = "wxFOLLOWERS00001";
const appSecret = "followers-secret-0001";
/** 2026-01-01 23:00 Beijing time: an hour later is another quota day. */
let clock = Date.UTC(2026, 0, 1, 15, 0, 0);
let sim: WeChatSimulator;
let client: WeChatApiClient;
let token: string;

beforeAll(async () => {
  sim = new WeChatSimulator({ appId, appSecret, templateIds: ["TPL"], now: () => clock });
  const base = await sim.start(0);
  client = new WeChatApiClient({ baseUrl: base, maxInFlight: 2, timeoutMs: 2000 });
});
beforeEach(async () => {
  sim.reset();
  token = (await client.stableToken(appId, appSecret)).accessToken;
});
afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `o${prefix}${i}`);

/** Every page until the end, as the sync reads them. */
async function allPages(): Promise<{ pages: string[][]; calls: number }> {
  const pages: string[][] = [];
  let cursor = "";
  for (let calls = 1; calls < 50; calls += 1) {
    const reading = readPage(await client.followerPage(token, cursor));
    if (reading.kind === "error") throw new Error(`errcode ${reading.errcode}`);
    if (reading.kind === "end") return { pages, calls };
    pages.push([...reading.openids]);
    if (reading.next === null) return { pages, calls };
    cursor = reading.next;
  }
  throw new Error("the list never ended");
}

describe("GET /cgi-bin/user/get", () => {
  it("pages the followers in follow order, leaving out those who unfollowed, 10,000 a page by default", async () => {
    sim.addUsers(ids("A", 5));
    sim.setFollowed("oA2", false);
    sim.addUsers(ids("B", 1));
    expect(sim.followers.current().pageSize).toBe(10_000);
    const first = await client.followerPage(token, "");
    expect(first).toEqual({
      errcode: 0,
      errmsg: "",
      openids: ["oA0", "oA1", "oA3", "oA4", "oB0"],
      count: 5,
      nextOpenid: "oB0",
    });
    sim.followers.configure({ pageSize: 2 });
    expect(await allPages()).toEqual({
      pages: [["oA0", "oA1"], ["oA3", "oA4"], ["oB0"]],
      calls: 4,
    });
  });

  it("names a next_openid on the last page, then answers count 0 without data (the quirk), or not", async () => {
    sim.addUsers(ids("Q", 4));
    sim.followers.configure({ pageSize: 2 });
    const last = await client.followerPage(token, "oQ1");
    expect(last).toMatchObject({ openids: ["oQ2", "oQ3"], nextOpenid: "oQ3" });
    const after = await client.followerPage(token, "oQ3");
    expect(after).toEqual({ errcode: 0, errmsg: "", count: 0, nextOpenid: "" });
    expect(after.openids).toBeUndefined();
    sim.followers.configure({ nextOpenidOnLastPage: false });
    expect(await client.followerPage(token, "oQ1")).toMatchObject({ nextOpenid: "" });
    expect((await allPages()).calls).toBe(2);
  });

  it("checks the token like every other API, and refuses an unknown next_openid", async () => {
    sim.addUsers(ids("T", 2));
    expect(await client.followerPage("not-a-token", "")).toMatchObject({ errcode: 40001 });
    expect(await client.followerPage("", "")).toMatchObject({ errcode: 41001 });
    expect(await client.followerPage(token, "oNobody")).toMatchObject({ errcode: 40003 });
    expect(sim.stats().calls.user_get).toBe(3);
  });

  it("answers 45009 past its daily quota, and again on the next Beijing day", async () => {
    sim.addUsers(ids("D", 3));
    sim.followers.configure({ dailyQuota: 2 });
    for (let i = 0; i < 2; i += 1) expect(await client.followerPage(token, "")).toMatchObject({ errcode: 0 });
    const refused = await client.followerPage(token, "");
    expect(refused.errcode).toBe(45009);
    expect(refused.errmsg).toMatch(/^reach max api daily quota limit/);
    expect(sim.followers.usedToday()).toBe(2);
    clock += 3_600_000;
    expect(await client.followerPage(token, "")).toMatchObject({ errcode: 0, count: 3 });
    expect(sim.followers.current().dailyQuota).toBe(2);
  });

  it("fails the next calls on request, and holds one open until released", async () => {
    sim.addUsers(ids("F", 2));
    sim.followers.failNext(-1, 2);
    expect(await client.followerPage(token, "")).toMatchObject({ errcode: -1 });
    expect(await client.followerPage(token, "")).toMatchObject({ errcode: -1 });
    const held = sim.followers.hold(1);
    expect(await client.followerPage(token, "")).toMatchObject({ count: 2 });
    const pending = client.followerPage(token, "");
    await held.reached;
    let answered = false;
    void pending.then(() => {
      answered = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    held.release();
    expect(await pending).toMatchObject({ count: 2 });
  });

  it("is configured over the control API too, with bad settings refused", async () => {
    const post = (body: unknown) =>
      fetch(`${sim.url}/__sim/follower-list`, { method: "POST", body: JSON.stringify(body) });
    const ok = await post({ pageSize: 7, dailyQuota: 9, failNext: { errcode: 45009 } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ pageSize: 7, dailyQuota: 9, usedToday: 0 });
    expect((await post({ pageSize: 0 })).status).toBe(400);
    expect((await post({ failNext: { errcode: 12345 } })).status).toBe(400);
    expect(await client.followerPage(token, "")).toMatchObject({ errcode: 45009 });
  });

  it("reads an answer that is not WeChat's JSON as a transport failure", async () => {
    const broken = new WeChatApiClient({ baseUrl: `${sim.url}/nowhere`, maxInFlight: 1, timeoutMs: 1000 });
    await expect(broken.followerPage(token, "")).rejects.toThrow(WeChatTransportError);
    await broken.close();
  });
});
