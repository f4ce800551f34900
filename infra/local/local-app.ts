import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { functionVariables } from "../settings.ts";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "./stack.ts";
import { WeChatSimulator } from "./wechat-sim/simulator.ts";
import { createTestMerchant, type WechatPayTestMerchant, writeMerchantFiles } from "./wechatpay-signer.ts";

/**
 * Settings the functions read, from their config schemas (every one can come from the caller's
 * environment, see README), and Powertools' log level.
 */
const APP_SETTINGS = [...functionVariables(), "POWERTOOLS_LOG_LEVEL"];
const WECHATPAY_SETTINGS = [
  "WECHATPAY_MCH_ID",
  "WECHATPAY_APIV3_KEY",
  "WECHATPAY_PUBLIC_KEY_ID",
  "WECHATPAY_PUBLIC_KEY_FILE",
] as const;

export interface LocalAppOptions extends Omit<LocalStackOptions, "env"> {
  /** Where settings are read from; unset ones get demo values. Defaults to process.env. */
  readonly settings?: Readonly<Record<string, string | undefined>>;
  /** Extra settings for the functions, over everything else (tests use this). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** The built-in simulator's daily template-message quota (WeChat's default: 100,000). */
  readonly templateDailyQuota?: number;
}

export interface LocalApp {
  readonly stack: LocalStack;
  readonly baseUrl: string;
  /** The settings the functions run with. */
  readonly env: Readonly<Record<string, string>>;
  readonly adminToken: string;
  /** The business app's token (posts, subscriber imports, subscribe credits). */
  readonly appToken: string;
  /** The built-in WeChat simulator, when WECHAT_API_BASE was not given. */
  readonly simulator: WeChatSimulator | undefined;
  /** A demo WeChat Pay merchant whose private key can sign notifies, when WECHATPAY_* were not given. */
  readonly merchant: WechatPayTestMerchant | undefined;
  stop(): Promise<void>;
}

/**
 * Boots the whole local system: emulators, the Lambda runner with every function and, for any
 * WeChat or WeChat Pay setting left unset, a demo value (the built-in WeChat simulator, a fresh
 * WeChat Pay key pair). Settings that are given are used as they are.
 */
export async function startLocalApp(opts: LocalAppOptions = {}): Promise<LocalApp> {
  const given = opts.settings ?? process.env;
  const env: Record<string, string> = {};
  for (const key of APP_SETTINGS) {
    const value = given[key];
    if (value !== undefined && value !== "") env[key] = value;
  }
  env.WECHAT_APP_ID ??= "wx0000000000demo";
  env.WECHAT_APP_SECRET ??= randomBytes(16).toString("hex");
  env.WECHAT_TEMPLATE_ID ??= "TPL_SUPPLY_DEMAND_NOTICE";
  env.ADMIN_TOKEN ??= randomBytes(24).toString("base64url");
  env.APP_TOKEN ??= randomBytes(24).toString("base64url");
  env.WECHAT_CALLBACK_TOKEN ??= randomBytes(16).toString("hex");

  let simulator: WeChatSimulator | undefined;
  if (!env.WECHAT_API_BASE) {
    simulator = new WeChatSimulator({
      appId: env.WECHAT_APP_ID,
      appSecret: env.WECHAT_APP_SECRET,
      templateIds: [env.WECHAT_TEMPLATE_ID],
      ...(opts.templateDailyQuota === undefined ? {} : { templateDailyQuota: opts.templateDailyQuota }),
    });
    env.WECHAT_API_BASE = await simulator.start(0);
  }

  let merchant: WechatPayTestMerchant | undefined;
  let keyDir: string | undefined;
  const missingPay = WECHATPAY_SETTINGS.filter((k) => !env[k]);
  if (missingPay.length === WECHATPAY_SETTINGS.length) {
    merchant = createTestMerchant({ appId: env.WECHAT_APP_ID });
    keyDir = mkdtempSync(join(tmpdir(), "fanout-wechatpay-"));
    env.WECHATPAY_MCH_ID = merchant.mchId;
    env.WECHATPAY_APIV3_KEY = merchant.apiV3Key;
    env.WECHATPAY_PUBLIC_KEY_ID = merchant.publicKeyId;
    env.WECHATPAY_PUBLIC_KEY_FILE = writeMerchantFiles(merchant, keyDir);
  } else if (missingPay.length > 0) {
    await simulator?.stop();
    throw new Error(`set all WeChat Pay settings or none; missing: ${missingPay.join(", ")}`);
  }
  Object.assign(env, opts.overrides);
  // The central token server's secret, for a stage that takes its token from one.
  if (env.WECHAT_TOKEN_SOURCE === "external")
    env.WECHAT_TOKEN_PUSH_SECRET ??= randomBytes(24).toString("base64url");

  let stack: LocalStack;
  try {
    stack = await startLocalStack({ ...opts, env });
  } catch (error) {
    await simulator?.stop();
    throw error;
  }
  return {
    stack,
    baseUrl: stack.baseUrl,
    env,
    adminToken: env.ADMIN_TOKEN,
    appToken: env.APP_TOKEN,
    simulator,
    merchant,
    async stop() {
      await stack.stop();
      await simulator?.stop();
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
