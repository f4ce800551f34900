import { describe, expect, it } from "vitest";
import { devSummary, FROM_ENVIRONMENT } from "../../infra/local/dev-summary.ts";

const baseUrl = "http://127.0.0.1:3000";
const env = {
  ADMIN_TOKEN: "generated-admin-token-000000",
  APP_TOKEN: "generated-app-token-0000000",
  WECHAT_CALLBACK_TOKEN: "cbtoken0123456789",
  WECHAT_APP_ID: "wx0000000000demo",
  WECHAT_APP_SECRET: "sim-secret-0001",
  WECHAT_API_BASE: "http://127.0.0.1:8900",
  WECHATPAY_MCH_ID: "1900000001",
};
const awsEnv = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:8000",
  AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9324",
  TABLE_POSTS: "Posts",
  QUEUE_URL_SEND: "http://127.0.0.1:9324/000000000000/SendQueue",
  QUEUE_URL_SEND_DLQ: "http://127.0.0.1:9324/000000000000/SendDeadLetterQueue",
};
const simulator = { official: ["TPL_SUPPLY_DEMAND_NOTICE", "TPL_MINE"], subscribe: ["TPL_SUBSCRIBE_DEMO"] };

const line = (lines: string[], label: string) =>
  lines.find((l) => l.trimStart().startsWith(`${label} `)) ?? "";

describe("npm run dev's summary", () => {
  it("shows what was generated here, the simulator's template ids, the callback and the emulators", () => {
    const lines = devSummary({
      baseUrl,
      env,
      awsEnv,
      given: {},
      simulator,
      merchantFile: "/x/demo-merchant.json",
    });
    expect(line(lines, "ADMIN_TOKEN")).toContain("generated-admin-token-000000  (generated)");
    expect(line(lines, "WECHAT_CALLBACK_TOKEN")).toContain("cbtoken0123456789");
    expect(line(lines, "callback URL")).toContain(`${baseUrl}/wechat/callback`);
    expect(line(lines, "template ids")).toContain("TPL_SUPPLY_DEMAND_NOTICE, TPL_MINE");
    expect(line(lines, "template ids")).toContain("SIM_TEMPLATE_IDS");
    expect(line(lines, "subscribe template ids")).toContain("TPL_SUBSCRIBE_DEMO");
    expect(line(lines, "QUEUE_URL_SEND")).toContain(awsEnv.QUEUE_URL_SEND);
    expect(line(lines, "QUEUE_URL_SEND_DLQ")).toContain(awsEnv.QUEUE_URL_SEND_DLQ);
    expect(line(lines, "TABLE_POSTS")).toContain("Posts");
    expect(line(lines, "credentials")).toContain(
      "export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
    );
    expect(line(lines, "endpoints")).toContain("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000");
    expect(line(lines, "pay a post")).toContain("npm run pay -- <outTradeNo>");
    expect(lines).toContain("WeChat (built-in simulator)");
  });

  it("never shows a value the developer gave in the environment", () => {
    const given = {
      ADMIN_TOKEN: env.ADMIN_TOKEN,
      APP_TOKEN: env.APP_TOKEN,
      WECHAT_CALLBACK_TOKEN: env.WECHAT_CALLBACK_TOKEN,
      WECHAT_APP_SECRET: env.WECHAT_APP_SECRET,
    };
    const text = devSummary({ baseUrl, env, awsEnv, given, simulator }).join("\n");
    for (const secret of Object.values(given)) expect(text).not.toContain(secret);
    expect(line(text.split("\n"), "ADMIN_TOKEN")).toContain(FROM_ENVIRONMENT);
    expect(line(text.split("\n"), "WECHAT_CALLBACK_TOKEN")).toContain(FROM_ENVIRONMENT);
  });

  it("without the simulator, names the given WeChat API and template instead of a list", () => {
    const given = {
      WECHAT_API_BASE: "https://wechat.example",
      WECHAT_TEMPLATE_ID: "TPL_REAL",
      WECHATPAY_MCH_ID: "1",
    };
    const lines = devSummary({
      baseUrl,
      env: { ...env, ...given },
      awsEnv,
      given,
    });
    expect(lines).toContain("WeChat");
    expect(line(lines, "WECHAT_API_BASE")).toContain(`https://wechat.example  ${FROM_ENVIRONMENT}`);
    expect(line(lines, "WECHAT_TEMPLATE_ID")).toContain("TPL_REAL");
    expect(line(lines, "template ids")).toBe("");
    expect(line(lines, "pay a post")).toBe("");
  });
});
