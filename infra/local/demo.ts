/**
 * `npm start`: boots the local stack, seeds an audience, registers a post, pays for it with a
 * genuinely signed and encrypted WeChat Pay notify, shows the broadcast's progress and prints a
 * delivery report. Exits 0 when every recipient is settled, leaving no process behind.
 */
import type { PostView } from "../../functions/contracts/api.ts";
import { LOCAL_SENDERS, openids, registerPaidPost, seedSubscribers } from "./app-traffic.ts";
import { BroadcastProgressView } from "./broadcast-progress.ts";
import { numberAtLeast, readCommandLine, wholeNumber } from "./cli.ts";
import { FanoutClient } from "./fanout-client.ts";
import { LocalSettingError, startLocalApp } from "./local-app.ts";
import type { SimStats, WeChatSimulator } from "./wechat-sim/simulator.ts";
import { signNotify } from "./wechatpay-signer.ts";

const { values } = readCommandLine({
  command: "npm start",
  summary: [
    "npm start: the demo (演示). Boots the local stack, seeds an audience on the simulated WeChat account,",
    "registers a post, pays for it with a signed WeChat Pay notify, shows the broadcast's progress and",
    "prints a delivery report. Leaves no process behind.",
  ].join("\n"),
  flags: {
    subscribers: {
      type: "string",
      placeholder: "n",
      default: "10000",
      description: "audience size, 1 to 1,000,000 (订阅用户数)",
      parse: wholeNumber(1, 1_000_000),
    },
    latency: {
      type: "string",
      placeholder: "ms",
      default: "20",
      description: "simulated WeChat API latency in milliseconds, plus up to half of it as jitter",
      parse: numberAtLeast(0, "milliseconds"),
    },
    reports: {
      type: "boolean",
      description: "push a delivery report (TEMPLATESENDJOBFINISH) per template message and count them",
    },
    verbose: { type: "boolean", description: "print the functions' logs to stderr" },
  },
  examples: ["npm start", "npm start -- --subscribers 50000 --latency 50", "npm start -- --reports"],
});
const audience = values.subscribers;
const latencyMs = values.latency;

async function main(): Promise<void> {
  console.log("Starting the local stack (DynamoDB Local, SQS emulator, Lambda runner, WeChat simulator)…");
  const app = await startLocalApp({
    settings: { ...process.env, WECHAT_API_BASE: undefined },
    concurrency: { sender: LOCAL_SENDERS },
    ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  try {
    const sim = app.simulator;
    const merchant = app.merchant;
    if (!sim || !merchant) throw new Error("the demo needs the built-in simulator and demo merchant");
    const client = new FanoutClient(app.baseUrl, app.adminToken);

    // WeChat pushes user messages and delivery reports to Fanout's callback, as the real one does.
    sim.setCallback({
      url: `${app.baseUrl}/wechat/callback`,
      token: app.env.WECHAT_CALLBACK_TOKEN ?? "",
      appId: app.env.WECHAT_APP_ID ?? "",
      reports: values.reports,
      failedShare: 0.01,
    });
    await seedDemoAudience(sim, client);
    sim.setFaults({ latencyMs, latencyJitterMs: Math.round(latencyMs / 2) });

    const outTradeNo = `DEMO${Date.now()}`;
    const transaction = await registerPaidPost(client, merchant, {
      outTradeNo,
      amount: 990,
      content: "供应：九成新二手叉车一台，3 吨，价格面议，可送货上门",
      contactPhone: "138-0000-0000",
    });
    const awsBefore = pipelineRequests(app.stack.runner.stats().awsRequestsByFunction);
    const notify = signNotify(merchant, transaction);
    const started = Date.now();
    const answer = await client.notify(notify);
    if (answer.status !== 204) throw new Error(`notify refused: ${answer.status} ${answer.body}`);
    console.log(
      `Payment notify accepted (HTTP ${answer.status}) in ${Date.now() - started} ms; broadcasting…`,
    );

    const final = await watchBroadcast(client, outTradeNo);
    const elapsedS = (Date.now() - started) / 1000;
    const reported = values.reports
      ? await sim.flushReports().then(async () => {
          // Rather than wait for the tally's first scheduled pass (a minute after the broadcast).
          await client.tally(outTradeNo);
          return client.waitForReports(outTradeNo, final.byChannel.template ?? 0, 60_000);
        })
      : final;
    const aws = diffCounts(pipelineRequests(app.stack.runner.stats().awsRequestsByFunction), awsBefore);
    console.log(reportLines(final, reported, elapsedS, sim.stats(), aws).join("\n"));
    if (final.sent + final.failed + final.skipped !== final.total) throw new Error("report does not add up");
  } finally {
    await app.stop();
  }
}

/**
 * Most subscribers follow with no customer-service window (template message); 5% wrote to the
 * account lately (customer-service message). Some reply 0 and some unfollow, both pushed to the
 * callback: the broadcast leaves them out. A few more unfollowed without Fanout hearing of it:
 * WeChat refuses them with 43004.
 */
async function seedDemoAudience(sim: WeChatSimulator, client: FanoutClient): Promise<void> {
  const ids = openids("Demo", audience);
  const seedStart = Date.now();
  await seedSubscribers(
    sim,
    client,
    ids.map((id) => ({ openid: id })),
  );
  const talkers = ids.filter((_, i) => i % 20 === 0);
  for (let i = 0; i < talkers.length; i += 20) {
    await Promise.all(talkers.slice(i, i + 20).map((id) => sim.userSends(id, "请问还有货吗？")));
  }
  const steering = ids.flatMap((id, i) =>
    i % 200 === 3 ? [() => sim.userSends(id, "0")] : i % 200 === 5 ? [() => sim.unfollow(id)] : [],
  );
  for (let i = 0; i < steering.length; i += 20)
    await Promise.all(steering.slice(i, i + 20).map((push) => push()));
  ids.forEach((id, i) => {
    if (i % 200 === 11) sim.setFollowed(id, false);
  });
  console.log(
    `Seeded ${audience.toLocaleString()} subscribers in ${((Date.now() - seedStart) / 1000).toFixed(1)} s: ` +
      `${talkers.length.toLocaleString()} wrote to the account, ${steering.length.toLocaleString()} replied 0 or unfollowed.`,
  );
}

/** Waits for the broadcast, showing its progress: the bar comes once its total is known. */
async function watchBroadcast(client: FanoutClient, outTradeNo: string): Promise<PostView> {
  const view = new BroadcastProgressView();
  try {
    return await client.waitForBroadcast(outTradeNo, {
      timeoutMs: 30 * 60_000,
      intervalMs: 250,
      onProgress: (s) => view.show(s),
    });
  } finally {
    view.stop();
  }
}

function reportLines(
  final: PostView,
  reported: PostView,
  elapsedS: number,
  stats: SimStats,
  aws: Record<string, number>,
): string[] {
  return [
    "",
    "Delivery report",
    `  audience (active subscribers): ${final.total.toLocaleString()}`,
    `  delivered: ${final.sent.toLocaleString()}  ${formatCounts(final.byChannel)}`,
    `  failed with a reason: ${final.failed.toLocaleString()}  ${formatCounts(final.byErrcode)}`,
    `  skipped: ${final.skipped.toLocaleString()}   pending: ${final.pending}`,
    values.reports
      ? `  delivery reports (TEMPLATESENDJOBFINISH): ${reported.confirmed.toLocaleString()} confirmed, ${reported.rejected.toLocaleString()} rejected`
      : "  delivery reports: not simulated (--reports pushes one per template message to the callback)",
    `  elapsed (notify → pending 0): ${elapsedS.toFixed(1)} s   ${Math.round(final.total / elapsedS).toLocaleString()} recipients/s`,
    `  WeChat simulator: ${stats.delivered.toLocaleString()} messages delivered, ${stats.tokenFetches.stable} stable_token fetches, ${latencyMs} ms latency`,
    "  AWS requests by operation, notify + fan-out + senders (per 1,000 recipients):",
    ...Object.entries(aws)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([op, n]) =>
          `    ${op.padEnd(34)} ${String(n).padStart(8)}  ${((n * 1000) / Math.max(final.total, 1)).toFixed(2)}`,
      ),
  ];
}

/** AWS requests of the pipeline's functions: the admin API's (seeding, this demo's polling) are not its cost. */
function pipelineRequests(byFunction: Record<string, Record<string, number>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const fn of ["notify", "fanout", "sender"]) {
    for (const [op, n] of Object.entries(byFunction[fn] ?? {})) total[op] = (total[op] ?? 0) + n;
  }
  return total;
}

/** AWS requests made since `before`: the broadcast's own, without the seeding's. */
function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length ? `(${entries.map(([k, n]) => `${k}: ${n.toLocaleString()}`).join(", ")})` : "";
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof LocalSettingError ? 2 : 1);
  },
);
