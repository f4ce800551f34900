import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { templateId } from "../../functions/contracts/api.ts";
import { functionVariables } from "../settings.ts";
import { demoRoutes } from "./demo-pay.ts";
import { FanoutClient } from "./fanout-client.ts";
import { reviewSettingsProblem } from "./review-settings.ts";
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

/** The mini-program subscribe template the built-in simulator accepts besides SIM_SUBSCRIBE_TEMPLATE_IDS. */
export const DEMO_SUBSCRIBE_TEMPLATE_ID = "TPL_SUBSCRIBE_DEMO";

/** A local setting that cannot be used; the message names it and says what it must be. */
export class LocalSettingError extends Error {
  override readonly name = "LocalSettingError";
}

/** SIM_TEMPLATE_IDS / SIM_SUBSCRIBE_TEMPLATE_IDS: template ids separated by commas or spaces. */
export function templateIdList(name: string, value: string | undefined): string[] {
  const ids = (value ?? "").split(/[\s,]+/).filter((id) => id !== "");
  const bad = ids.find((id) => !templateId.safeParse(id).success);
  if (bad !== undefined)
    throw new LocalSettingError(
      `${name}: ${JSON.stringify(bad)} is not a template id (1–128 letters, digits, _ or -; separate ids with commas)`,
    );
  return ids;
}

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
  /**
   * The built-in WeChat simulator, when WECHAT_API_BASE was not given. Its template ids:
   * WECHAT_TEMPLATE_ID and SIM_TEMPLATE_IDS (template messages), DEMO_SUBSCRIBE_TEMPLATE_ID and
   * SIM_SUBSCRIBE_TEMPLATE_IDS (subscribe messages); `simulator.templateIds()` lists them.
   */
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
    const extraTemplates = templateIdList("SIM_TEMPLATE_IDS", given.SIM_TEMPLATE_IDS);
    const subscribeTemplates = templateIdList("SIM_SUBSCRIBE_TEMPLATE_IDS", given.SIM_SUBSCRIBE_TEMPLATE_IDS);
    simulator = new WeChatSimulator({
      appId: env.WECHAT_APP_ID,
      appSecret: env.WECHAT_APP_SECRET,
      templateIds: [...new Set([env.WECHAT_TEMPLATE_ID, ...extraTemplates])],
      subscribeTemplateIds: [...new Set([DEMO_SUBSCRIBE_TEMPLATE_ID, ...subscribeTemplates])],
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
    throw new LocalSettingError(`set all WeChat Pay settings or none; missing: ${missingPay.join(", ")}`);
  }
  Object.assign(env, opts.overrides);
  const reviewProblem = reviewSettingsProblem(env);
  if (reviewProblem) {
    await simulator?.stop();
    throw new LocalSettingError(reviewProblem);
  }
  // The central token server's secret, for a stage that takes its token from one.
  if (env.WECHAT_TOKEN_SOURCE === "external")
    env.WECHAT_TOKEN_PUSH_SECRET ??= randomBytes(24).toString("base64url");

  let stack: LocalStack | undefined;
  const demo = merchant
    ? demoRoutes({
        merchant,
        adminToken: env.ADMIN_TOKEN,
        client: () => new FanoutClient((stack as LocalStack).baseUrl, env.ADMIN_TOKEN as string),
        log: opts.log ?? (() => {}),
      })
    : [];
  try {
    stack = await startLocalStack({ ...opts, env, localRoutes: [...(opts.localRoutes ?? []), ...demo] });
  } catch (error) {
    await simulator?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    throw error;
  }
  const started = stack;
  return {
    stack: started,
    baseUrl: started.baseUrl,
    env,
    adminToken: env.ADMIN_TOKEN,
    appToken: env.APP_TOKEN,
    simulator,
    merchant,
    async stop() {
      await started.stop();
      await simulator?.stop();
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
