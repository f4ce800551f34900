import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, notifySchema, webhookSchema } from "../../functions/config.ts";
import { contentCheckFrom } from "../../functions/content-check.ts";
import { reviewSettingsProblem } from "../../infra/local/review-settings.ts";

const notifyEnv = {
  TABLE_POSTS: "Posts",
  TABLE_BROADCASTS: "Broadcasts",
  QUEUE_URL_FANOUT: "http://127.0.0.1/0/FanoutQueue",
  QUEUE_URL_WEBHOOK: "http://127.0.0.1/0/WebhookQueue",
  WECHAT_APP_ID: "wxAPP",
  WECHAT_TEMPLATE_ID: "TPL",
  WECHATPAY_MCH_ID: "1900000001",
  WECHATPAY_APIV3_KEY: "0123456789abcdef0123456789abcdef",
  WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0114232134912410000000000000TEST",
};
const notify = (env: Record<string, string>) => loadConfig(notifySchema, { ...notifyEnv, ...env });
const webhook = (env: Record<string, string>) =>
  loadConfig(webhookSchema, { QUEUE_URL_WEBHOOK: notifyEnv.QUEUE_URL_WEBHOOK, ...env });

describe("the review settings", () => {
  it("default to keywords with an empty list: nothing is held until words are given", async () => {
    const config = notify({});
    expect(config.POST_REVIEW).toBe("keywords");
    expect(await contentCheckFrom(config).check("加微信")).toEqual({ held: false });
  });

  it("read the list and the file's lines together; manual holds all, off none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "blocklist-"));
    const file = join(dir, "words.txt");
    writeFileSync(file, "# one per line\n刷单\n/v\\d+/\n");
    const check = contentCheckFrom(notify({ POST_BLOCKED_WORDS: "加微信", POST_BLOCKED_WORDS_FILE: file }));
    expect(await check.check("加微信")).toMatchObject({ held: true });
    expect(await check.check("刷单返利")).toMatchObject({ held: true });
    expect(await check.check("v8")).toMatchObject({ held: true });
    expect(await check.check("叉车")).toEqual({ held: false });
    expect(await contentCheckFrom(notify({ POST_REVIEW: "manual" })).check("叉车")).toMatchObject({
      held: true,
    });
    expect(
      await contentCheckFrom(notify({ POST_REVIEW: "off", POST_BLOCKED_WORDS: "叉车" })).check("叉车"),
    ).toEqual({ held: false });
  });

  it("stop the start-up naming the setting and the entry that cannot be used", () => {
    expect(() => notify({ POST_BLOCKED_WORDS: "刷单, /a(/" })).toThrow(ConfigError);
    expect(() => notify({ POST_BLOCKED_WORDS: "刷单, /a(/" })).toThrow(
      /POST_BLOCKED_WORDS \/a\(\/ is not a regular expression/,
    );
    expect(() => notify({ POST_BLOCKED_WORDS_FILE: "/nonexistent/words.txt" })).toThrow(
      /POST_BLOCKED_WORDS_FILE cannot be read/,
    );
    expect(() => notify({ POST_REVIEW: "strict" })).toThrow(/POST_REVIEW/);
  });
});

describe("the webhook settings", () => {
  const secret = "0123456789abcdef";
  it("take https, or plain http to a loopback address only", () => {
    expect(
      webhook({ BROADCAST_WEBHOOK_URL: "https://app.example.com/hook", BROADCAST_WEBHOOK_SECRET: secret }),
    ).toMatchObject({ BROADCAST_WEBHOOK_URL: "https://app.example.com/hook" });
    expect(
      webhook({ BROADCAST_WEBHOOK_URL: "http://127.0.0.1:9000/hook", BROADCAST_WEBHOOK_SECRET: secret }),
    ).toMatchObject({ BROADCAST_WEBHOOK_URL: "http://127.0.0.1:9000/hook" });
    expect(() =>
      webhook({ BROADCAST_WEBHOOK_URL: "http://app.example.com/hook", BROADCAST_WEBHOOK_SECRET: secret }),
    ).toThrow(/BROADCAST_WEBHOOK_URL must be https/);
    expect(() => notify({ BROADCAST_WEBHOOK_URL: "http://10.0.0.8/hook" })).toThrow(/BROADCAST_WEBHOOK_URL/);
  });

  it("need a secret of at least 16 characters with a URL", () => {
    expect(() => webhook({ BROADCAST_WEBHOOK_URL: "https://app.example.com/hook" })).toThrow(
      /BROADCAST_WEBHOOK_SECRET is required/,
    );
    expect(() =>
      webhook({ BROADCAST_WEBHOOK_URL: "https://app.example.com/hook", BROADCAST_WEBHOOK_SECRET: "short" }),
    ).toThrow(/BROADCAST_WEBHOOK_SECRET must be at least 16 characters/);
    expect(webhook({}).BROADCAST_WEBHOOK_URL).toBeUndefined();
  });
});

describe("a local run", () => {
  it("refuses bad review or webhook settings before it starts, naming them", () => {
    expect(reviewSettingsProblem({})).toBeUndefined();
    expect(reviewSettingsProblem({ POST_BLOCKED_WORDS: "/a(/" })).toMatch(/POST_BLOCKED_WORDS/);
    expect(reviewSettingsProblem({ BROADCAST_WEBHOOK_URL: "http://127.0.0.1:9/h" })).toMatch(
      /BROADCAST_WEBHOOK_SECRET is required/,
    );
    expect(
      reviewSettingsProblem({
        BROADCAST_WEBHOOK_URL: "http://127.0.0.1:9/h",
        BROADCAST_WEBHOOK_SECRET: "0123456789abcdef",
      }),
    ).toBeUndefined();
  });
});
