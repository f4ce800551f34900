import { setTimeout as sleep } from "node:timers/promises";
import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostView } from "../../functions/contracts/api.ts";
import { localDocumentClient } from "../../infra/local/aws-clients.ts";
import {
  type CallbackTarget,
  eventXml,
  postRaw,
  pushToCallback,
  replyContent,
  templateReportXml,
  textMessageXml,
  verificationUrl,
} from "../../infra/local/wechat-sim/push.ts";
import { gained, openids, startTestApp, type TestApp } from "./harness.ts";
import { appCallback, namedOpenids } from "./setup.ts";

let t: TestApp;
let db: DynamoDBDocumentClient;
let plain: CallbackTarget;

const audience = openids("Cb", 5);
const [quitter, rejoiner, leaver, forged, retried] = audience as [string, string, string, string, string];
const [newcomer] = namedOpenids("CbNew", 1);

const subscriber = (openid: string) => t.subscriber(openid);

async function inboxSize(): Promise<number> {
  const out = await db.send(new ScanCommand({ TableName: t.app.stack.awsEnv.TABLE_INBOX, Select: "COUNT" }));
  return out.Count ?? 0;
}

/** The post's status with the broadcast id and the delivery-report counters. */
async function postStatus(outTradeNo: string) {
  return (await t.client.getPost(outTradeNo)) as PostView & { broadcastId: string };
}

let postNo = 0;
/** Pays a fresh post and waits for its broadcast; returns who gained a message. */
async function broadcast(): Promise<{ outTradeNo: string; got: (openid: string) => number }> {
  postNo += 1;
  const outTradeNo = `CB${String(postNo).padStart(8, "0")}`;
  const before = t.received();
  expect((await t.client.notify(await t.postAndNotify(outTradeNo))).status).toBe(204);
  await t.client.waitForBroadcast(outTradeNo, { timeoutMs: 30_000 });
  const after = t.received();
  return { outTradeNo, got: (openid) => gained(before, after, openid) };
}

beforeAll(async () => {
  t = await startTestApp();
  const env = t.app.stack.awsEnv;
  db = localDocumentClient(env);
  plain = appCallback(t);
  await t.seed(audience.map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

describe("URL verification", () => {
  it("echoes echostr for a good signature", async () => {
    const res = await fetch(verificationUrl(plain, "5837397390431"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("5837397390431");
  });

  it("refuses a bad or missing signature and echoes nothing", async () => {
    const bad = await fetch(verificationUrl(plain, "5837397390431", { signature: "0".repeat(40) }));
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toContain("5837397390431");
    const url = new URL(verificationUrl(plain, "5837397390431"));
    url.searchParams.delete("signature");
    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(await missing.text()).not.toContain("5837397390431");
  });
});

describe("URL verification, as an attacker would try it", () => {
  it("answers echostr as plain text a browser will not sniff, and refuses a stale or zero-padded timestamp", async () => {
    const ok = await fetch(verificationUrl(plain, "<script>x</script>"));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-content-type-options")).toBe("nosniff");
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain/);
    const stale = String(Math.floor(Date.now() / 1000) - 3600);
    const old = await fetch(verificationUrl(plain, "5837397390431", { timestamp: stale }));
    expect(old.status).toBe(401);
    expect(await old.text()).not.toContain("5837397390431");
    const padded = await fetch(
      verificationUrl(plain, "5837397390431", { timestamp: `0${Math.floor(Date.now() / 1000)}` }),
    );
    expect(padded.status).toBe(401);
  });
});

describe("refused pushes change nothing", () => {
  it("refuses unsigned, badly signed, stale, oversized, DTD-laden and malformed pushes", async () => {
    const before = await subscriber(forged);
    const inbox = await inboxSize();
    const optOut = textMessageXml({ from: forged, content: "0" });
    const unsigned = await pushToCallback(plain, optOut, { signature: null });
    expect(unsigned.status).toBe(401);
    expect((await pushToCallback(plain, optOut, { signature: "f".repeat(40) })).status).toBe(401);
    expect((await pushToCallback({ ...plain, token: "someoneElse" }, optOut)).status).toBe(401);
    expect(
      (await pushToCallback(plain, optOut, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) }))
        .status,
    ).toBe(401);

    const big = textMessageXml({ from: forged, content: `0${" ".repeat(70_000)}` });
    expect((await pushToCallback(plain, big)).status).toBe(413);

    const laden =
      '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY z "0"><!ENTITY e SYSTEM "file:///etc/passwd">]>' +
      `<xml><ToUserName>gh_x</ToUserName><FromUserName>${forged}</FromUserName><CreateTime>1</CreateTime>` +
      "<MsgType>text</MsgType><Content>&z;&e;</Content><MsgId>1</MsgId></xml>";
    expect((await pushToCallback(plain, laden)).status).toBe(400);
    expect((await pushToCallback(plain, "<xml><Content>0</xml>")).status).toBe(400);
    // Refusals before the signature is checked say nothing of what was sent.
    const nested = await pushToCallback(plain, "<xml><Evil_Name_123><x>1</x></Evil_Name_123></xml>");
    expect(nested.status).toBe(400);
    expect(nested.body).not.toContain("Evil_Name_123");
    const padded = await pushToCallback(plain, optOut, { timestamp: `0${Math.floor(Date.now() / 1000)}` });
    expect(padded.status).toBe(401);
    expect((await pushToCallback(plain, "<xml><Content>0</Content></xml>")).status).toBe(400);
    expect((await postRaw(plain.url, optOut)).status).toBe(401);

    expect(await subscriber(forged)).toEqual(before);
    expect(await inboxSize()).toBe(inbox);
  });
});

describe("subscribers steer themselves", () => {
  it("0 opts out with a passive reply, and the next broadcast leaves them out; 1 brings them back", async () => {
    const out = await pushToCallback(plain, textMessageXml({ from: quitter, to: "gh_demo", content: " 0 " }));
    expect(out.status).toBe(200);
    expect(replyContent(out.body)).toContain("回复1");
    expect(out.body).toContain(`<ToUserName><![CDATA[${quitter}]]></ToUserName>`);
    expect(out.body).toContain("<FromUserName><![CDATA[gh_demo]]></FromUserName>");
    const full = await pushToCallback(plain, textMessageXml({ from: rejoiner, content: "０" }));
    expect(replyContent(full.body)).toContain("已退订");
    const item = await subscriber(quitter);
    expect(item).toMatchObject({ optedIn: false, windowRemaining: 5 });
    expect(Number(item?.windowUntil)).toBeGreaterThan(Date.now() + 47 * 3600_000);
    expect(Number(item?.lastInteractionAt)).toBeGreaterThan(Date.now() - 60_000);

    const first = await broadcast();
    expect(first.got(quitter)).toBe(0);
    expect(first.got(rejoiner)).toBe(0);
    expect(first.got(leaver)).toBe(1);

    const back = await pushToCallback(plain, textMessageXml({ from: rejoiner, content: "1" }));
    expect(replyContent(back.body)).toContain("已恢复");
    // Other text: no reply, only the window.
    const chat = await pushToCallback(plain, textMessageXml({ from: quitter, content: "你好" }));
    expect(chat.body).toBe("success");
    expect(await subscriber(quitter)).toMatchObject({ optedIn: false });

    const second = await broadcast();
    expect(second.got(rejoiner)).toBe(1);
    expect(second.got(quitter)).toBe(0);
  });

  it("an import's optedIn: true never undoes a user's own 0, but an operator's own opt-out it may", async () => {
    const [user, operated] = namedOpenids("CbConsent", 2);
    await t.seed([user, operated].map((openid) => ({ openid })));
    await pushToCallback(plain, textMessageXml({ from: user, content: "0" }));
    const optOut = await t.client.api<{ imported: number; keptOptedOut: number }>(
      "POST",
      "/api/subscribers",
      {
        subscribers: [{ openid: operated, optedIn: false }],
      },
    );
    expect(optOut).toEqual({ imported: 1, keptOptedOut: 0 });
    const expires = "2099-01-01T00:00:00+08:00";
    const back = await t.client.api<{ imported: number; keptOptedOut: number }>("POST", "/api/subscribers", {
      subscribers: [
        { openid: user, optedIn: true, membershipExpiresAt: expires },
        { openid: operated, optedIn: true },
      ],
    });
    expect(back).toEqual({ imported: 2, keptOptedOut: 1 });
    expect(await subscriber(user)).toMatchObject({ optedIn: false, optedInBy: "user" });
    // The rest of the row is still imported.
    expect((await subscriber(user))?.membershipExpiresAt).toBe(Date.parse(expires));
    expect(await subscriber(operated)).toMatchObject({ optedIn: true, optedInBy: "operator" });
    const next = await broadcast();
    expect(next.got(user)).toBe(0);
    expect(next.got(operated)).toBe(1);
    // The user's own 1 brings them back.
    await pushToCallback(plain, textMessageXml({ from: user, content: "1" }));
    expect((await broadcast()).got(user)).toBe(1);
  });

  it("unfollow leaves them out; a new follower is included, an earlier 0 survives re-following", async () => {
    expect((await pushToCallback(plain, eventXml({ from: leaver, event: "unsubscribe" }))).body).toBe(
      "success",
    );
    expect(await subscriber(leaver)).toMatchObject({ followed: false });
    expect((await pushToCallback(plain, eventXml({ from: newcomer, event: "subscribe" }))).body).toBe(
      "success",
    );
    const created = await subscriber(newcomer);
    expect(created).toMatchObject({ followed: true, optedIn: true, windowRemaining: 3 });
    expect(Number(created?.windowUntil)).toBeLessThanOrEqual(Date.now() + 60_000);
    t.sim.addUsers([newcomer]);
    // The quitter follows again: still opted out; their 48-h window stays, topped up to ≥ 3 (it has 5).
    await pushToCallback(plain, eventXml({ from: quitter, event: "subscribe" }));
    const quitterItem = await subscriber(quitter);
    expect(quitterItem).toMatchObject({ followed: true, optedIn: false, windowRemaining: 5 });
    expect(Number(quitterItem?.windowUntil)).toBeGreaterThan(Date.now() + 47 * 3600_000);

    const next = await broadcast();
    expect(next.got(leaver)).toBe(0);
    expect(next.got(newcomer)).toBe(1);
    expect(next.got(quitter)).toBe(0);
  });

  it("handles a retried push (same MsgId) once", async () => {
    const xml = textMessageXml({ from: retried, content: "0" });
    const first = await pushToCallback(plain, xml);
    expect(replyContent(first.body)).toBeDefined();
    const afterFirst = await subscriber(retried);
    // Meanwhile the user opted in again; WeChat's retry of the old 0 must not undo it.
    await pushToCallback(plain, textMessageXml({ from: retried, content: "1" }));
    const retry = await Promise.all([pushToCallback(plain, xml), pushToCallback(plain, xml)]);
    for (const r of retry) expect(r.body).toBe("success");
    const item = await subscriber(retried);
    expect(afterFirst).toMatchObject({ optedIn: false });
    expect(item).toMatchObject({ optedIn: true });
  });
});

describe("delivery reports (TEMPLATESENDJOBFINISH)", () => {
  it("keeps each report by the msgid it names, once, and the tally counts confirmed / rejected", async () => {
    const { outTradeNo, got } = await broadcast();
    const { broadcastId } = await postStatus(outTradeNo);
    const reached = audience.filter((id) => got(id) === 1);
    expect(reached.length).toBeGreaterThanOrEqual(3);
    const latest = (id: string) => t.sim.ledger(id).at(-1)?.msgid as number;
    const [ok, blocked, systemFailed] = reached as [string, string, string];
    const pushes = [
      templateReportXml({ from: ok, msgid: latest(ok), status: "success" }),
      templateReportXml({ from: blocked, msgid: latest(blocked), status: "failed:user block" }),
      templateReportXml({ from: systemFailed, msgid: latest(systemFailed), status: "failed: system failed" }),
      // Unknown msgid: kept (it may name a record written a moment later), counted by nothing.
      templateReportXml({ from: ok, msgid: 999_999_999_999, status: "success" }),
    ];
    for (const xml of pushes) expect((await pushToCallback(plain, xml)).body).toBe("success");
    // A second report for the same msgid (a later, distinct push) changes nothing.
    const again = templateReportXml({
      from: ok,
      msgid: latest(ok),
      status: "failed:user block",
      createTime: 1,
    });
    expect((await pushToCallback(plain, again)).body).toBe("success");

    const report = async (openid: string) =>
      (
        await db.send(
          new GetCommand({
            TableName: t.app.stack.awsEnv.TABLE_INBOX,
            Key: { eventKey: `report#${latest(openid)}` },
            ConsistentRead: true,
          }),
        )
      ).Item;
    expect(await report(ok)).toMatchObject({ report: "success" });
    expect(await report(blocked)).toMatchObject({ report: "failed:user block" });
    expect(await report(systemFailed)).toMatchObject({ report: "failed: system failed" });

    // The tally's passes (1 s, 10 s, 60 s after the broadcast settled here) count them.
    const counted = await waitFor(async () => {
      const s = await postStatus(outTradeNo);
      return s.confirmed + s.rejected >= 3 ? s : undefined;
    });
    expect(counted).toMatchObject({ confirmed: 1, rejected: 2 });
    const meta = await db.send(
      new GetCommand({ TableName: t.app.stack.awsEnv.TABLE_BROADCASTS, Key: { broadcastId, sk: "META" } }),
    );
    expect(meta.Item).toMatchObject({ confirmed: 1, rejected: 2 });
    expect(Number(meta.Item?.reportsCountedAt)).toBeGreaterThan(0);
  });

  it("the simulator reports every delivered template message to the callback by itself", async () => {
    t.sim.setCallback({ ...plain, failedShare: 0.5, reportDelayMs: 300 });
    try {
      const { outTradeNo } = await broadcast();
      const stats = await t.sim.flushReports();
      const status = await waitFor(async () => {
        const s = await postStatus(outTradeNo);
        return s.confirmed + s.rejected >= s.sent ? s : undefined;
      });
      expect(stats.failed).toBe(0);
      expect(stats.pushed).toBeGreaterThanOrEqual(status.sent);
      expect(status.confirmed + status.rejected).toBe(status.sent);
      expect(status.rejected).toBeGreaterThan(0);
      expect(status.confirmed).toBeGreaterThan(0);
    } finally {
      t.sim.setCallback(null);
    }
  });

  it("the simulator's users push their own messages and events", async () => {
    t.sim.setCallback(plain);
    try {
      const someone = openids("CbSim", 1)[0] as string;
      expect((await t.sim.follow(someone)).status).toBe(200);
      expect(await subscriber(someone)).toMatchObject({ followed: true, optedIn: true });
      const reply = await t.sim.userSends(someone, "0");
      expect(replyContent(reply.body)).toContain("已退订");
      expect((await t.sim.unfollow(someone)).body).toBe("success");
      expect(await subscriber(someone)).toMatchObject({ followed: false, optedIn: false });
    } finally {
      t.sim.setCallback(null);
    }
  });
});

/** Polls `probe` every 250 ms until it returns a value (at most 20 s). */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(250);
  }
}
