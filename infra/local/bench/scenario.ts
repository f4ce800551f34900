/**
 * One benchmark audience: boots the whole local stack (emulators behind request-counting proxies,
 * the Lambda runner, the WeChat simulator), seeds the audience once, then broadcasts one paid post
 * per simulated WeChat latency and measures it from the notify to `pending: 0`, its delivery reports,
 * and the notify's answer times.
 */
import { readFileSync } from "node:fs";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { tables } from "../../../common/definitions.ts";
import { DEFAULT_MAX_IN_FLIGHT } from "../../../functions/config.ts";
import type { PostView } from "../../../functions/contracts/api.ts";
import { LOCAL_SENDERS, prewarmPipeline, registerPaidPost, seedAudience } from "../app-traffic.ts";
import { localDynamoClient } from "../aws-clients.ts";
import { FanoutClient } from "../fanout-client.ts";
import { type LocalApp, startLocalApp } from "../local-app.ts";
import type { WeChatSimulator } from "../wechat-sim/simulator.ts";
import { buildTransaction, type SignedNotify, signNotify } from "../wechatpay-signer.ts";
import { type ScenarioResult, type Snapshot, summarize } from "./summary.ts";

export type { ScenarioResult } from "./summary.ts";

const NOTIFY_SAMPLES = 100;
/** WeChat pushes reports to the callback many at a time; the local callback runs 8 containers. */
const REPORT_PUSHES_IN_FLIGHT = 32;
const LOCAL_CALLBACKS = 8;
/** DynamoDB adds 100 bytes per stored item (and per index entry) to the billed size. */
const ITEM_OVERHEAD_BYTES = 100;

export interface AudienceOptions {
  readonly audience: number;
  readonly latenciesMs: readonly number[];
  /** Sender containers at once; default LOCAL_SENDERS. */
  readonly senders?: number;
  /**
   * Whether WeChat's delivery reports are pushed to the callback and counted (default true). Off for
   * the 1M audience: a million pushes take most of an hour here, and they are priced from smaller runs.
   */
  readonly reports?: boolean;
  /** MAX_POSTS_PER_SUBSCRIBER_PER_DAY for the stack; unset: no cap. */
  readonly dailyCap?: number;
  readonly log?: (line: string) => void;
}

/** Boots a stack, seeds `audience` subscribers and runs one broadcast per latency. */
export async function runAudience(opts: AudienceOptions): Promise<ScenarioResult[]> {
  const log = opts.log ?? (() => {});
  const senders = opts.senders ?? LOCAL_SENDERS;
  const app = await startLocalApp({
    // No scheduled tally pass during the run: the benchmark asks for one once every report is in,
    // as the first pass (a minute after the broadcast) finds them in production.
    settings: {
      ...process.env,
      WECHAT_API_BASE: undefined,
      REPORT_TALLY_DELAY_SECONDS: "3600",
      MAX_POSTS_PER_SUBSCRIBER_PER_DAY: opts.dailyCap === undefined ? undefined : String(opts.dailyCap),
    },
    concurrency: { sender: senders, callback: LOCAL_CALLBACKS },
    countEmulatorRequests: true,
    // One stack sends the audience once per latency: an account whose quota covers them all, or the
    // second 100k run would stop at WeChat's default 100,000 a day (45009) and wait for tomorrow.
    templateDailyQuota: Math.max(100_000, opts.audience * opts.latenciesMs.length),
  });
  try {
    const sim = app.simulator;
    if (!sim || !app.merchant) throw new Error("the benchmark needs the built-in simulator");
    const client = new FanoutClient(app.baseUrl, app.adminToken);
    if (opts.reports !== false)
      sim.setCallback({
        url: `${app.baseUrl}/wechat/callback`,
        token: app.env.WECHAT_CALLBACK_TOKEN ?? "",
        appId: app.env.WECHAT_APP_ID ?? "",
        failedShare: 0.01,
        holdReports: true,
      });
    await seedAudience(sim, client, { prefix: "Bench", count: opts.audience }, log);

    await prewarmPipeline(app.stack.runner, senders);
    const results: ScenarioResult[] = [];
    for (const latencyMs of opts.latenciesMs) {
      results.push(await runBroadcast(app, client, { ...opts, senders, latencyMs, log }));
    }
    return results;
  } finally {
    await app.stop();
  }
}

type BroadcastOptions = AudienceOptions & { senders: number; latencyMs: number; log: (line: string) => void };

async function runBroadcast(
  app: LocalApp,
  client: FanoutClient,
  opts: BroadcastOptions,
): Promise<ScenarioResult> {
  const sim = app.simulator as NonNullable<LocalApp["simulator"]>;
  const merchant = app.merchant as NonNullable<LocalApp["merchant"]>;
  sim.setFaults({ latencyMs: opts.latencyMs, latencyJitterMs: 0 });

  const outTradeNo = `BENCH${Date.now()}`;
  const amount = 990;
  const post = { outTradeNo, amount, content: "供应：二手叉车一台，3 吨，价格面议" };
  const transaction = await registerPaidPost(client, merchant, post);
  // A genuine notify for a trade Fanout does not know first (404): the measured ones find a warm
  // container with its DynamoDB client connected, as all but a container's first request do.
  const stranger = buildTransaction(merchant, { outTradeNo: `${outTradeNo}X`, amountTotal: amount });
  await client.notify(signNotify(merchant, stranger));

  const before = snapshot(app);
  const started = performance.now();
  const first = await client.notify(signNotify(merchant, transaction));
  const notifyFirstMs = performance.now() - started;
  if (first.status !== 204) throw new Error(`notify refused: ${first.status} ${first.body}`);
  const final = await client.waitForBroadcast(outTradeNo, {
    timeoutMs: 60 * 60_000,
    intervalMs: 100,
    onProgress: (s) => {
      if (s.status === "paused")
        throw new Error(`broadcast paused (daily quota?): ${JSON.stringify(s.byErrcode)}`);
    },
  });
  const elapsedSeconds = (performance.now() - started) / 1000;
  const broadcastDone = snapshot(app);
  opts.log(
    `${opts.audience.toLocaleString()} recipients, ${opts.latencyMs} ms: ${final.total.toLocaleString()} settled in ${elapsedSeconds.toFixed(1)} s`,
  );

  const reportsStarted = performance.now();
  const { reported, reportPushes } =
    opts.reports === false
      ? { reported: final, reportPushes: { pushed: 0, failed: 0 } }
      : await countReports(client, sim, outTradeNo, final);
  const reportSeconds = (performance.now() - reportsStarted) / 1000;
  // Containers report their counts when an invocation ends: none may be running at the snapshot.
  await app.stack.runner.idle();
  const after = snapshot(app);
  const repeats = await repeatedNotifyMs(client, () => signNotify(merchant, transaction));

  return summarize({
    audience: opts.audience,
    latencyMs: opts.latencyMs,
    senders: opts.senders,
    maxInFlight: Number(app.env.WECHAT_MAX_IN_FLIGHT ?? DEFAULT_MAX_IN_FLIGHT),
    final,
    reported,
    elapsedSeconds,
    reportSeconds,
    reportPushes,
    notifyMs: [notifyFirstMs, ...repeats],
    before,
    broadcastDone,
    after,
    storedBytesPerRecipient: await sampleStoredBytes(app),
  });
}

/**
 * WeChat's delivery reports, one per template message, released after the broadcast so they do not
 * slow it; waits until the tally has counted them.
 */
async function countReports(client: FanoutClient, sim: WeChatSimulator, outTradeNo: string, final: PostView) {
  const pushedBefore = sim.reportStats();
  const pushedAfter = await sim.releaseReports(REPORT_PUSHES_IN_FLIGHT);
  const reportPushes = {
    pushed: pushedAfter.pushed - pushedBefore.pushed,
    failed: pushedAfter.failed - pushedBefore.failed,
  };
  await client.tally(outTradeNo);
  const reported = await client.waitForReports(outTradeNo, final.byChannel.template ?? 0, 3 * 60_000);
  return { reported, reportPushes };
}

/** Answer times of WeChat Pay's retries of the same notify: freshly signed, same transaction. */
async function repeatedNotifyMs(client: FanoutClient, signed: () => SignedNotify): Promise<number[]> {
  const times: number[] = [];
  for (let i = 1; i < NOTIFY_SAMPLES; i += 1) {
    const t = performance.now();
    const answer = await client.notify(signed());
    times.push(performance.now() - t);
    if (answer.status !== 204) throw new Error(`repeated notify answered ${answer.status}`);
  }
  return times;
}

function snapshot(app: LocalApp): Snapshot {
  const runner = app.stack.runner.stats();
  const [dynamoPid, sqsPid] = app.stack.emulatorPids;
  const own = process.cpuUsage();
  const cpu: Record<string, number> = {
    "DynamoDB Local": processCpuSeconds(dynamoPid),
    "SQS emulator": processCpuSeconds(sqsPid),
    "benchmark process (runner, WeChat simulator, proxies)": (own.user + own.system) / 1e6,
  };
  for (const [name, stats] of Object.entries(runner.functions)) cpu[`${name} function`] = stats.cpuMs / 1000;
  return {
    runner,
    emulator: app.stack.emulatorRequests(),
    sqsUnits: app.stack.sqsBilledUnits(),
    sim: (app.simulator as NonNullable<LocalApp["simulator"]>).stats(),
    cpu,
  };
}

/** utime + stime from /proc (Linux); 0 where it cannot be read. */
function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return 0;
  }
}

/** Average billed size of a recipient's stored delivery record and delivery report, overheads included. */
async function sampleStoredBytes(app: LocalApp): Promise<number> {
  const db = localDynamoClient(app.stack.awsEnv);
  try {
    const average = async (table: string, filter?: string) => {
      const out = await db.send(
        new ScanCommand({
          TableName: table,
          Limit: 500,
          ...(filter
            ? {
                FilterExpression: "begins_with(eventKey, :p)",
                ExpressionAttributeValues: { ":p": { S: filter } },
              }
            : {}),
        }),
      );
      const items = (out.Items ?? []) as unknown as Record<string, Attribute>[];
      const bytes = items.reduce((n, item) => n + itemBytes(item) + ITEM_OVERHEAD_BYTES, 0);
      // A paid post's records are grouped: an item holds one entry per recipient.
      const recipients = items.reduce((n, item) => {
        const entries = item.entries?.L;
        return n + (Array.isArray(entries) ? entries.length : 1);
      }, 0);
      return recipients ? bytes / recipients : 0;
    };
    return Math.round(
      (await average(tables.deliveries.name)) + (await average(tables.inbox.name, "report#")),
    );
  } finally {
    db.destroy();
  }
}

/** A marshalled DynamoDB attribute value (`{ S: "…" }`, `{ N: "…" }`, …). */
type Attribute = Record<string, unknown>;

/** DynamoDB's item size rule: attribute names plus values (strings in UTF-8, numbers ~1 byte per 2 digits). */
export function itemBytes(item: Record<string, Attribute>): number {
  return Object.entries(item).reduce(
    (n, [name, value]) => n + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

function valueBytes(value: Attribute): number {
  if (typeof value.S === "string") return Buffer.byteLength(value.S);
  if (typeof value.N === "string") return Math.ceil(value.N.replace(/[^0-9]/g, "").length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M) return 3 + itemBytes(value.M as Record<string, Attribute>);
  if (Array.isArray(value.L)) return 3 + (value.L as Attribute[]).reduce((n, v) => n + 1 + valueBytes(v), 0);
  if (Array.isArray(value.SS)) return (value.SS as string[]).reduce((n, v) => n + Buffer.byteLength(v), 0);
  return 0;
}
