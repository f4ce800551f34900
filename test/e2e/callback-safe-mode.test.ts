import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallbackTarget,
  openEncryptedReply,
  pushToCallback,
  replyContent,
  textMessageXml,
  verificationUrl,
} from "../../infra/local/wechat-sim/push.ts";
import { startTestApp, type TestApp } from "./harness.ts";
import { appCallback, namedOpenids } from "./setup.ts";

/** A stage in safe mode (安全模式): WECHAT_ENCODING_AES_KEY is set, so every push must be encrypted. */
let t: TestApp;
let safe: CallbackTarget;
const encodingAesKey = randomBytes(32).toString("base64").slice(0, 43);
const [user, downgraded] = namedOpenids("Safe", 2);

const optedIn = async (openid: string) => (await t.subscriber(openid))?.optedIn;

beforeAll(async () => {
  t = await startTestApp({ overrides: { WECHAT_ENCODING_AES_KEY: encodingAesKey } });
  safe = { ...appCallback(t), encodingAesKey };
  await t.seed([user, downgraded].map((openid) => ({ openid })));
});
afterAll(async () => {
  await t?.stop();
});

describe("the callback in safe mode", () => {
  it("decrypts a push and answers encrypted", async () => {
    const res = await pushToCallback(safe, textMessageXml({ from: user, to: "gh_demo", content: "0" }));
    expect(res.status).toBe(200);
    expect(res.body).toContain("<Encrypt>");
    expect(res.body).not.toContain("已退订");
    const inner = openEncryptedReply(safe, res.body);
    expect(replyContent(inner)).toContain("已退订");
    expect(inner).toContain(`<ToUserName><![CDATA[${user}]]></ToUserName>`);
    expect(await optedIn(user)).toBe(false);
  });

  it("refuses a push encrypted with another key, or with a bad msg_signature, and changes nothing", async () => {
    const other = { ...safe, encodingAesKey: randomBytes(32).toString("base64").slice(0, 43) };
    expect((await pushToCallback(other, textMessageXml({ from: user, content: "1" }))).status).toBe(400);
    const forged = await pushToCallback(safe, textMessageXml({ from: user, content: "1" }), {
      signature: "a".repeat(40),
    });
    expect(forged.status).toBe(401);
    expect(await optedIn(user)).toBe(false);
  });

  it("refuses a plaintext push, however well signed: no downgrade", async () => {
    const res = await pushToCallback(safe, textMessageXml({ from: downgraded, content: "0" }), {
      mode: "plain",
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/must be encrypted/);
    expect(await optedIn(downgraded)).toBe(true);
  });

  it("still verifies the server URL, which WeChat signs in plaintext in every mode", async () => {
    const res = await fetch(verificationUrl(safe, "81234567"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("81234567");
  });
});
