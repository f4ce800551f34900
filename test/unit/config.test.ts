import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  fallbackBaseUrl,
  loadConfig,
  notifySchema,
  pemText,
  senderSchema,
  tokenPushSchema,
  tokenRefresherSchema,
} from "../../functions/config.ts";

const resources = {
  TABLE_SUBSCRIBERS: "Subscribers",
  TABLE_POSTS: "Posts",
  TABLE_BROADCASTS: "Broadcasts",
  TABLE_DELIVERIES: "Deliveries",
  TABLE_TOKENS: "Tokens",
  TABLE_TASKS: "PushTasks",
  TABLE_TASK_RECIPIENTS: "TaskRecipients",
  TABLE_CREDITS: "SubscriptionCredits",
  TABLE_INBOX: "Inbox",
  QUEUE_URL_FANOUT: "http://127.0.0.1/0/FanoutQueue",
  QUEUE_URL_SEND: "http://127.0.0.1/0/SendQueue",
  QUEUE_URL_TOKEN_REFRESH: "http://127.0.0.1/0/TokenRefreshQueue",
  QUEUE_URL_WEBHOOK: "http://127.0.0.1/0/WebhookQueue",
};
const wechat = { WECHAT_APP_ID: "wxAPP", WECHAT_APP_SECRET: "secret", WECHAT_TEMPLATE_ID: "TPL" };

describe("loadConfig", () => {
  it("names every missing or malformed variable", () => {
    const { TABLE_TOKENS: _, ...withoutTokens } = resources;
    const attempt = () => loadConfig(senderSchema, { ...withoutTokens, WECHAT_MAX_IN_FLIGHT: "lots" });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/TABLE_TOKENS/);
    expect(attempt).toThrow(/WECHAT_APP_ID/);
    expect(attempt).toThrow(/WECHAT_MAX_IN_FLIGHT/);
  });

  it("applies defaults and parses the template field mapping", () => {
    const config = loadConfig(senderSchema, { ...resources, ...wechat });
    expect(config.WECHAT_API_BASE).toBe("https://api.weixin.qq.com");
    expect(config.WECHAT_MAX_IN_FLIGHT).toBe(32);
    expect(config.WECHAT_TOKEN_SOURCE).toBe("refresher");
    const notify = loadConfig(notifySchema, {
      ...resources,
      ...wechat,
      WECHATPAY_MCH_ID: "1900000001",
      WECHATPAY_APIV3_KEY: "0123456789abcdef0123456789abcdef",
      WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0114232134912410000000000000TEST",
    });
    expect(notify.WECHAT_TEMPLATE_FIELDS).toEqual({ thing1: "content", time2: "paidAt" });
  });

  it("calls WeChat over https only, plain http only to the local loopback simulator", () => {
    const sender = (base: string) =>
      loadConfig(senderSchema, { ...resources, ...wechat, WECHAT_API_BASE: base });
    expect(sender("https://hk.api.weixin.qq.com").WECHAT_API_BASE).toBe("https://hk.api.weixin.qq.com");
    expect(sender("http://127.0.0.1:8900").WECHAT_API_BASE).toBe("http://127.0.0.1:8900");
    expect(sender("http://localhost:8900/wx").WECHAT_API_BASE).toBe("http://localhost:8900/wx");
    expect(() => sender("http://api.weixin.qq.com")).toThrow(/WECHAT_API_BASE must be https/);
    expect(() => sender("http://10.0.0.5:8080")).toThrow(/WECHAT_API_BASE must be https/);
    expect(() => sender("ftp://127.0.0.1")).toThrow(/WECHAT_API_BASE/);
    expect(() =>
      loadConfig(senderSchema, { ...resources, ...wechat, WECHAT_API_FALLBACK_BASE: "http://b.example.com" }),
    ).toThrow(/WECHAT_API_FALLBACK_BASE must be https/);
  });

  it("falls back to api2 only from WeChat's own domain, unless a fallback is set", () => {
    expect(fallbackBaseUrl({ WECHAT_API_BASE: "https://api.weixin.qq.com" })).toBe(
      "https://api2.weixin.qq.com",
    );
    expect(fallbackBaseUrl({ WECHAT_API_BASE: "https://hk.api.weixin.qq.com" })).toBeUndefined();
    expect(fallbackBaseUrl({ WECHAT_API_BASE: "https://proxy.example.com/wx" })).toBeUndefined();
    expect(
      fallbackBaseUrl({
        WECHAT_API_BASE: "https://proxy.example.com",
        WECHAT_API_FALLBACK_BASE: "https://b.example.com",
      }),
    ).toBe("https://b.example.com");
  });

  it("asks for the AppSecret only where the refresher fetches, and for the push secret only in external mode", () => {
    const tokens = { TABLE_TOKENS: "Tokens", WECHAT_APP_ID: "wxAPP" };
    expect(() => loadConfig(tokenRefresherSchema, tokens)).toThrow(/WECHAT_APP_SECRET is required/);
    expect(loadConfig(tokenRefresherSchema, { ...tokens, WECHAT_TOKEN_SOURCE: "external" })).toMatchObject({
      WECHAT_TOKEN_SOURCE: "external",
    });
    expect(loadConfig(tokenPushSchema, tokens).WECHAT_TOKEN_SOURCE).toBe("refresher");
    expect(() => loadConfig(tokenPushSchema, { ...tokens, WECHAT_TOKEN_SOURCE: "external" })).toThrow(
      /WECHAT_TOKEN_PUSH_SECRET is required/,
    );
    expect(() =>
      loadConfig(tokenPushSchema, {
        ...tokens,
        WECHAT_TOKEN_SOURCE: "external",
        WECHAT_TOKEN_PUSH_SECRET: "short",
      }),
    ).toThrow(/at least 16/);
    expect(() =>
      loadConfig(senderSchema, { ...resources, ...wechat, WECHAT_TOKEN_SOURCE: "central" }),
    ).toThrow(/WECHAT_TOKEN_SOURCE/);
  });

  it("reads the optional mini program settings of push tasks", () => {
    expect(loadConfig(senderSchema, { ...resources, ...wechat })).toMatchObject({
      WECHAT_MINIPROGRAM_STATE: "formal",
    });
    expect(loadConfig(senderSchema, { ...resources, ...wechat }).WECHAT_MINIPROGRAM_APP_ID).toBeUndefined();
    const set = { WECHAT_MINIPROGRAM_APP_ID: "wx1234567890abcdef", WECHAT_MINIPROGRAM_STATE: "trial" };
    expect(loadConfig(senderSchema, { ...resources, ...wechat, ...set })).toMatchObject(set);
    expect(() =>
      loadConfig(senderSchema, { ...resources, ...wechat, WECHAT_MINIPROGRAM_STATE: "beta" }),
    ).toThrow(/WECHAT_MINIPROGRAM_STATE/);
    expect(() =>
      loadConfig(senderSchema, { ...resources, ...wechat, WECHAT_MINIPROGRAM_APP_ID: "mini" }),
    ).toThrow(/WECHAT_MINIPROGRAM_APP_ID/);
  });

  it("refuses a bad template mapping, APIv3 key or public key id", () => {
    const notify = {
      ...resources,
      ...wechat,
      WECHATPAY_MCH_ID: "1900000001",
      WECHATPAY_APIV3_KEY: "0123456789abcdef0123456789abcdef",
      WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0114232134912410000000000000TEST",
    };
    expect(() =>
      loadConfig(notifySchema, { ...notify, WECHAT_TEMPLATE_FIELDS: '{"thing1":"price"}' }),
    ).toThrow(/WECHAT_TEMPLATE_FIELDS.*unknown post field/);
    expect(() => loadConfig(notifySchema, { ...notify, WECHATPAY_APIV3_KEY: "short" })).toThrow(
      /WECHATPAY_APIV3_KEY must be 32 bytes/,
    );
    expect(() => loadConfig(notifySchema, { ...notify, WECHATPAY_PLATFORM_CERT_FILES: "[1]" })).toThrow(
      /WECHATPAY_PLATFORM_CERT_FILES/,
    );
    expect(() =>
      loadConfig(notifySchema, { ...notify, WECHATPAY_PUBLIC_KEY_ID: "0114232134912410" }),
    ).toThrow(/WECHATPAY_PUBLIC_KEY_ID must look like/);
  });
});

describe("pemText", () => {
  it("takes PEM text as it is, and reads a file otherwise", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    expect(pemText(pem)).toBe(pem);
    const dir = mkdtempSync(join(tmpdir(), "pem-"));
    writeFileSync(join(dir, "cert.pem"), pem);
    expect(pemText(join(dir, "cert.pem"))).toBe(pem);
    expect(() => pemText(join(dir, "missing.pem"))).toThrow(/ENOENT/);
  });
});
