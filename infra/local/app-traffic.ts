/**
 * What the demo, the benchmarks and the end-to-end tests do to a local app as its callers would:
 * seed an audience on both sides (Fanout and the simulated WeChat account) and register and pay posts.
 */
import { queues } from "../../common/definitions.ts";
import type { SubscriberImport } from "../../functions/contracts/api.ts";
import type { FanoutClient } from "./fanout-client.ts";
import type { LambdaRunner } from "./lambda-runner.ts";
import type { WeChatSimulator } from "./wechat-sim/simulator.ts";
import { buildTransaction, type WechatPayTestMerchant } from "./wechatpay-signer.ts";

/**
 * Sender containers of the demo and the benchmarks: on a machine with a few cores more only contend
 * for the CPU (AWS runs up to the send queue's maximumConcurrency, each on its own share of a core).
 */
export const LOCAL_SENDERS = 4;

/** Openids `o<prefix>000…<i>`, 28 characters like WeChat's. */
export function openids(prefix: string, count: number, start = 0): string[] {
  return Array.from(
    { length: count },
    (_, i) => `o${prefix}${String(start + i).padStart(27 - prefix.length, "0")}`,
  );
}

/** Registers subscribers with Fanout and as following users of the simulated account. */
export async function seedSubscribers(
  sim: WeChatSimulator,
  client: FanoutClient,
  subscribers: readonly SubscriberImport[],
  opts: { parallel?: number } = {},
): Promise<void> {
  sim.addUsers(subscribers.map((s) => s.openid));
  await client.importSubscribers(subscribers, opts);
}

/** Seeds `count` subscribers `openids(prefix, count)`, two imports at a time; logs how long it took. */
export async function seedAudience(
  sim: WeChatSimulator,
  client: FanoutClient,
  audience: { prefix: string; count: number },
  log: (line: string) => void,
): Promise<string[]> {
  const started = Date.now();
  const ids = openids(audience.prefix, audience.count);
  await seedSubscribers(
    sim,
    client,
    ids.map((openid) => ({ openid })),
    { parallel: 2 },
  );
  log(
    `seeded ${audience.count.toLocaleString()} subscribers in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return ids;
}

/** Registers a post with Fanout; returns the WeChat Pay transaction that pays for it, to sign. */
export async function registerPaidPost(
  client: FanoutClient,
  merchant: WechatPayTestMerchant,
  post: Parameters<FanoutClient["registerPost"]>[0],
): Promise<Record<string, unknown>> {
  await client.registerPost(post);
  return buildTransaction(merchant, { outTradeNo: post.outTradeNo, amountTotal: post.amount });
}

/**
 * Warm containers, as in a deployment that is already busy: cold starts are a one-off second or two
 * that would swamp the figures of a small broadcast.
 */
export async function prewarmPipeline(runner: LambdaRunner, senders: number): Promise<void> {
  await runner.prewarm("sender", senders);
  await runner.prewarm("fanout", queues.fanout.consumer.maximumConcurrency);
}
