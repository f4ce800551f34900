/** The deploy's settings, read before anything is created: every problem named at once. */
import { describe, expect, it } from "vitest";
import { readSettings, settingNames } from "../../infra/settings.ts";
import { requiredSettings as given } from "./required-settings.ts";

describe("readSettings", () => {
  it("names every missing or malformed setting, with the functions' own rules", () => {
    const attempt = () =>
      readSettings({
        WECHAT_APP_ID: "wxAPP",
        WECHAT_MAX_IN_FLIGHT: "lots",
        ALARM_EMAIL: "ops",
        WECHAT_EGRESS: "nat",
      });
    expect(attempt).toThrow(/WECHAT_TEMPLATE_ID is required/);
    expect(attempt).toThrow(/WECHATPAY_MCH_ID is required/);
    expect(attempt).toThrow(/WECHAT_MAX_IN_FLIGHT/);
    expect(attempt).toThrow(/ALARM_EMAIL must be an e-mail address/);
    expect(attempt).toThrow(/WECHAT_EGRESS/);
  });

  it("offers every variable a function reads for a stage, resources and secrets aside", () => {
    expect(settingNames("sender")).toEqual(
      expect.arrayContaining([
        "WECHAT_MAX_IN_FLIGHT",
        "WECHAT_TIMEOUT_MS",
        "SEND_RETRY_DELAY_SECONDS",
        "WECHAT_API_BASE",
        "WECHAT_API_FALLBACK_BASE",
        "WECHAT_TOKEN_SOURCE",
      ]),
    );
    expect(settingNames("fanout")).toEqual([
      "FANOUT_PAGE_SIZE",
      "REPORT_TALLY_DELAY_SECONDS",
      "BROADCAST_WEBHOOK_URL",
      "QUIET_HOURS",
      "QUIET_HOURS_TZ",
    ]);
    expect(settingNames("sender")).not.toContain("TABLE_TOKENS");
    expect(settingNames("tokenRefresher")).not.toContain("WECHAT_APP_SECRET");
    const settings = readSettings({
      ...given,
      WECHAT_MAX_IN_FLIGHT: "16",
      FANOUT_PAGE_SIZE: "500",
      REPORT_TALLY_DELAY_SECONDS: "30",
      SEND_RETRY_DELAY_SECONDS: "10",
    });
    expect(settings.environment.sender).toMatchObject({
      WECHAT_MAX_IN_FLIGHT: "16",
      SEND_RETRY_DELAY_SECONDS: "10",
    });
    expect(settings.environment.fanout).toEqual({
      FANOUT_PAGE_SIZE: "500",
      REPORT_TALLY_DELAY_SECONDS: "30",
    });
  });

  it("deploys quiet hours to every function that decides whether a chunk may go, and refuses a malformed window", () => {
    const quiet = readSettings({ ...given, QUIET_HOURS: "22:00-08:00", QUOTA_CHECK_MINUTES: "10" });
    for (const key of ["sender", "fanout", "resumer"] as const)
      expect(quiet.environment[key]).toMatchObject({ QUIET_HOURS: "22:00-08:00" });
    expect(quiet.environment.resumer).toMatchObject({ QUOTA_CHECK_MINUTES: "10" });
    expect(() => readSettings({ ...given, QUIET_HOURS: "22-08" })).toThrow(/QUIET_HOURS.*HH:MM-HH:MM/);
    expect(() => readSettings({ ...given, QUIET_HOURS_TZ: "Mars/Olympus" })).toThrow(/QUIET_HOURS_TZ/);
  });

  it("deploys the token push only with an external token server", () => {
    expect(readSettings(given).functions).not.toContain("tokenPush");
    expect(readSettings({ ...given, WECHAT_TOKEN_SOURCE: "external" }).functions).toContain("tokenPush");
  });

  it("refuses a proxy without its address, kept IPs that do not match the zones, and a call timeout the sender cannot fit", () => {
    expect(() => readSettings({ ...given, WECHAT_EGRESS: "proxy" })).toThrow(/WECHAT_API_BASE is required/);
    expect(() => readSettings({ ...given, WECHAT_EGRESS_EIPS: "eipalloc-0a1" })).toThrow(/one per zone/);
    expect(() => readSettings({ ...given, WECHAT_EGRESS_EIPS: "eip-1,eip-2" })).toThrow(/eipalloc/);
    expect(() => readSettings({ ...given, WECHAT_TIMEOUT_MS: "12000" })).toThrow(
      /WECHAT_TIMEOUT_MS 12000 leaves the sender/,
    );
    expect(
      readSettings({ ...given, WECHAT_EGRESS_AZS: "1", WECHAT_EGRESS_EIPS: "eipalloc-0a1" }).deploy,
    ).toMatchObject({
      WECHAT_EGRESS_AZS: 1,
      WECHAT_EGRESS_EIPS: ["eipalloc-0a1"],
    });
  });
});

describe("review and webhook settings", () => {
  it("are offered to the functions that read them, the webhook's secret never as a plain setting", () => {
    expect(settingNames("notify")).toEqual(
      expect.arrayContaining(["POST_REVIEW", "POST_BLOCKED_WORDS", "BROADCAST_WEBHOOK_URL"]),
    );
    expect(settingNames("webhook")).toEqual(
      expect.arrayContaining(["BROADCAST_WEBHOOK_URL", "BROADCAST_WEBHOOK_RETRY_SECONDS"]),
    );
    expect(settingNames("webhook")).not.toContain("BROADCAST_WEBHOOK_SECRET");
    const settings = readSettings({
      ...given,
      POST_REVIEW: "manual",
      BROADCAST_WEBHOOK_URL: "https://a.example.com/h",
    });
    expect(settings.environment.notify).toMatchObject({ POST_REVIEW: "manual" });
    expect(settings.environment.webhook).toMatchObject({ BROADCAST_WEBHOOK_URL: "https://a.example.com/h" });
  });

  it("refuses a bad blocklist, a file (not in the bundle), a list too big for Lambda's environment, a plain-http URL", () => {
    expect(() => readSettings({ ...given, POST_BLOCKED_WORDS: "/a(/" })).toThrow(/POST_BLOCKED_WORDS/);
    expect(() => readSettings({ ...given, POST_BLOCKED_WORDS_FILE: "words.txt" })).toThrow(
      /POST_BLOCKED_WORDS_FILE is for local runs only/,
    );
    expect(() => readSettings({ ...given, POST_BLOCKED_WORDS: "刷单,".repeat(400) })).toThrow(
      /POST_BLOCKED_WORDS is over 2048 bytes/,
    );
    expect(() => readSettings({ ...given, BROADCAST_WEBHOOK_URL: "http://a.example.com/h" })).toThrow(
      /BROADCAST_WEBHOOK_URL must be https/,
    );
  });

  it("refuses a webhook try longer than the webhook function's run leaves it", () => {
    expect(() => readSettings({ ...given, BROADCAST_WEBHOOK_TIMEOUT_MS: "26000" })).toThrow(
      /BROADCAST_WEBHOOK_TIMEOUT_MS 26000 does not fit the webhook function's 30 s: set at most 25000/,
    );
    expect(
      readSettings({ ...given, BROADCAST_WEBHOOK_TIMEOUT_MS: "25000" }).environment.webhook,
    ).toMatchObject({
      BROADCAST_WEBHOOK_TIMEOUT_MS: "25000",
    });
  });
});
