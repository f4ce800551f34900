import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { SubscriberImport } from "../../functions/contracts/api.ts";
import { registerPaidPost, seedSubscribers } from "../../infra/local/app-traffic.ts";
import { localDocumentClient } from "../../infra/local/aws-clients.ts";
import { FanoutClient } from "../../infra/local/fanout-client.ts";
import { type LocalApp, type LocalAppOptions, startLocalApp } from "../../infra/local/local-app.ts";
import type { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";
import {
  type SignedNotify,
  signNotify,
  type WechatPayTestMerchant,
} from "../../infra/local/wechatpay-signer.ts";
import { accessBeyondPermissions } from "./permissions.ts";

export { openids } from "../../infra/local/app-traffic.ts";

export interface TestApp {
  readonly app: LocalApp;
  readonly client: FanoutClient;
  readonly sim: WeChatSimulator;
  readonly merchant: WechatPayTestMerchant;
  /** Registers subscribers with Fanout and as following users on the simulated WeChat side. */
  seed(subscribers: readonly SubscriberImport[]): Promise<void>;
  /** Registers a post and returns a genuine notify paying for it. */
  postAndNotify(outTradeNo: string, amount?: number): Promise<SignedNotify>;
  /** The subscriber's item as the Subscribers table holds it. */
  subscriber(openid: string): Promise<Record<string, unknown> | undefined>;
  /** The shared access token's item as the Tokens table holds it. */
  storedToken(): Promise<Record<string, unknown> | undefined>;
  /** Messages each openid has received so far, by channel. */
  received(): Map<string, { custom: number; template: number }>;
  stop(): Promise<void>;
}

/**
 * A whole local stack for one test file, hermetic (no settings from the caller's environment), with
 * short queue timeouts so crash-recovery paths finish in seconds. Production values stay in
 * common/definitions.ts.
 */
export async function startTestApp(opts: Omit<LocalAppOptions, "settings"> = {}): Promise<TestApp> {
  const app = await startLocalApp({
    settings: {},
    concurrency: { sender: 3, fanout: 1, notify: 2, admin: 1 },
    // The sender starts calls until WECHAT_TIMEOUT_MS + 2 s before its timeout: 3 s of each 7 s.
    queueOverrides: { send: { visibilityTimeoutSeconds: 8 }, fanout: { visibilityTimeoutSeconds: 6 } },
    functionOverrides: { sender: { timeoutSeconds: 7 }, fanout: { timeoutSeconds: 5 } },
    ...opts,
    overrides: {
      SEND_RETRY_DELAY_SECONDS: "1",
      WECHAT_TIMEOUT_MS: "2000",
      REPORT_TALLY_DELAY_SECONDS: "1",
      ...opts.overrides,
    },
  });
  const { simulator: sim, merchant } = app;
  if (!sim || !merchant) throw new Error("the test app needs the built-in simulator and a demo merchant");
  const client = new FanoutClient(app.baseUrl, app.adminToken);
  const env = app.stack.awsEnv;
  const db = localDocumentClient(env);
  const item = async (table: string | undefined, key: Record<string, unknown>) =>
    (await db.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  return {
    app,
    client,
    sim,
    merchant,
    seed: (subscribers) => seedSubscribers(sim, client, subscribers),
    async postAndNotify(outTradeNo, amount = 500) {
      const content = "供应：二手叉车一台，价格面议";
      return signNotify(merchant, await registerPaidPost(client, merchant, { outTradeNo, amount, content }));
    },
    subscriber: (openid) => item(env.TABLE_SUBSCRIBERS, { openid }),
    storedToken: () => item(env.TABLE_TOKENS, { appId: app.env.WECHAT_APP_ID }),
    received() {
      const counts = new Map<string, { custom: number; template: number }>();
      for (const d of sim.deliveries()) {
        const c = counts.get(d.openid) ?? { custom: 0, template: 0 };
        if (d.channel === "custom" || d.channel === "template") c[d.channel] += 1;
        counts.set(d.openid, c);
      }
      return counts;
    },
    stop: async () => {
      db.destroy();
      const beyond = accessBeyondPermissions(app.stack.runner.stats().awsAccessByFunction);
      await app.stop();
      if (beyond.length > 0)
        throw new Error(
          `requests common/definitions.ts \`permissions\` does not grant:\n${beyond.join("\n")}`,
        );
    },
  };
}

/** Messages per openid gained between two `received()` snapshots. */
export function gained(
  before: Map<string, { custom: number; template: number }>,
  after: Map<string, { custom: number; template: number }>,
  openid: string,
): number {
  const a = after.get(openid);
  const b = before.get(openid);
  return (a ? a.custom + a.template : 0) - (b ? b.custom + b.template : 0);
}
