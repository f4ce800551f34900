/**
 * One benchmark audience: boots the whole local stack (emulators behind request-counting proxies,
 * the Lambda runner, the WeChat simulator), seeds the audience once, then broadcasts one paid post
 * per simulated WeChat latency and measures it from the notify to `pending: 0`, its delivery reports,
 * and the notify's answer times.
 */
import { readFileSync } from "node:fs";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { functions as definedFunctions, queues, tables } from "../../../common/definitions.ts";
import { RECORD_RETENTION_SECONDS } from "../../../functions/adapters/dynamodb/delivery-store.ts";
import { DEFAULT_MAX_IN_FLIGHT } from "../../../functions/config.ts";
import { FanoutClient, type PostStatus } from "../fanout-client.ts";
import type { RunnerStats } from "../lambda-runner.ts";
import { type LocalApp, startLocalApp } from "../local-app.ts";
import type { SimStats } from "../wechat-sim/simulator.ts";
import { buildTransaction, signNotify } from "../wechatpay-signer.ts";
import { type CostEstimate, estimateCost, type FunctionUsage } from "./cost-model.ts";

/** The functions a broadcast costs: the admin API's seeding and the benchmark's polling are not. */
const PIPELINE = ["notify", "fanout", "sender", "callback"] as const;
const NOTIFY_SAMPLES = 100;
const LOCAL_SENDERS = 4;
/** WeChat pushes reports to the callback many at a time; the local callback runs 8 containers. */
const REPORT_PUSHES_IN_FLIGHT = 32;
const LOCAL_CALLBACKS = 8;
/** An HTTPS request to WeChat: request line, headers and a template message body, roughly. */
const EGRESS_BYTES_PER_CALL = 1024;
/** WeChat's answer: status line, headers and `{"errcode":0,"errmsg":"ok","msgid":…}`, roughly. */
const INGRESS_BYTES_PER_CALL = 300;
const RECORD_DAYS = RECORD_RETENTION_SECONDS / 86_400;
/** DynamoDB adds 100 bytes per stored item (and per index entry) to the billed size. */
const ITEM_OVERHEAD_BYTES = 100;

export interface AudienceOptions {
  readonly audience: number;
  readonly latenciesMs: readonly number[];
  /**
   * Sender containers at once; default 4: on a 2-core machine more only contend for the CPU (AWS runs
   * up to the send queue's maximumConcurrency, each on its own share of a core).
   */
  readonly senders?: number;
  /**
   * Whether WeChat's delivery reports are pushed to the callback and counted (default true). Off for
   * the 1M audience: a million pushes take most of an hour here, and they are priced from smaller runs.
   */
  readonly reports?: boolean;
  readonly log?: (line: string) => void;
}

export interface ScenarioResult {
  readonly audience: number;
  readonly latencyMs: number;
  readonly recipients: number;
  readonly delivered: number;
  readonly failed: number;
  readonly elapsedSeconds: number;
  readonly recipientsPerSecond: number;
  /** In-flight WeChat calls the configuration allows, divided by the latency; null at 0 ms. */
  readonly idealRecipientsPerSecond: number | null;
  readonly shareOfIdeal: number | null;
  readonly senders: number;
  readonly maxInFlightPerSender: number;
  readonly notifyFirstMs: number;
  readonly notifyP50Ms: number;
  readonly notifyP99Ms: number;
  readonly peakRssMb: { readonly fanout: number; readonly sender: number };
  readonly tokenFetches: number;
  /** Requests by operation per 1,000 recipients: the pipeline's functions and Lambda's pollers. */
  readonly awsRequestsPer1k: Record<string, number>;
  /** The same requests as DynamoDB Local and the SQS emulator received them (proxies in front). */
  readonly emulatorRequestsPer1k: Record<string, number>;
  readonly countsAgree: boolean;
  /** Operations the two sides counted differently: `[functions and pollers, emulators]`. */
  readonly countMismatches: Record<string, [number, number]>;
  readonly dynamoWriteUnitsPerRecipient: number;
  readonly dynamoReadUnitsPerRecipient: number;
  readonly logBytesPerRecipient: number;
  readonly deliveryReports: { readonly confirmed: number; readonly rejected: number };
  /** The simulator's pushes of those reports to the callback: answered 2xx, and not. */
  readonly reportPushes: { readonly pushed: number; readonly failed: number };
  /** CPU seconds during the broadcast by process, and the share of both cores they used. */
  readonly cpuSeconds: Record<string, number>;
  readonly cpuBusyShare: number;
  readonly bottleneck: string;
  /** What each pipeline function did for this broadcast and its reports (the cost model's input). */
  readonly functions: Record<string, { invocations: number; billedMs: number; logBytes: number }>;
  /** Seconds from releasing WeChat's delivery reports until the tally had counted them all. */
  readonly reportSeconds: number;
  readonly cost: CostEstimate;
  readonly costPerMillionUsd: number;
}

interface Snapshot {
  readonly runner: RunnerStats;
  readonly emulator: Record<string, number>;
  readonly sqsUnits: Record<string, number>;
  readonly sim: SimStats;
  readonly cpu: Record<string, number>;
}

const openidOf = (i: number) => `oBench${String(i).padStart(22, "0")}`;

/** Boots a stack, seeds `audience` subscribers and runs one broadcast per latency. */
export async function runAudience(opts: AudienceOptions): Promise<ScenarioResult[]> {
  const log = opts.log ?? (() => {});
  const senders = opts.senders ?? LOCAL_SENDERS;
  const app = await startLocalApp({
    // No scheduled tally pass during the run: the benchmark asks for one once every report is in,
    // as the first pass (a minute after the broadcast) finds them in production.
    settings: { ...process.env, WECHAT_API_BASE: undefined, REPORT_TALLY_DELAY_SECONDS: "3600" },
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
    const seedStart = Date.now();
    const openids = Array.from({ length: opts.audience }, (_, i) => openidOf(i));
    sim.addUsers(openids);
    await client.importSubscribers(
      openids.map((openid) => ({ openid })),
      { parallel: 2 },
    );
    log(
      `seeded ${opts.audience.toLocaleString()} subscribers in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`,
    );

    // Warm containers, as in a deployment that is already busy: cold starts are a one-off second or
    // two that would swamp the small audiences' figures.
    await app.stack.runner.prewarm("sender", senders);
    await app.stack.runner.prewarm("fanout", queues.fanout.consumer.maximumConcurrency);
    const results: ScenarioResult[] = [];
    for (const latencyMs of opts.latenciesMs) {
      results.push(await runBroadcast(app, client, { ...opts, senders, latencyMs, log }));
    }
    return results;
  } finally {
    await app.stop();
  }
}

async function runBroadcast(
  app: LocalApp,
  client: FanoutClient,
  opts: AudienceOptions & { senders: number; latencyMs: number; log: (line: string) => void },
): Promise<ScenarioResult> {
  const sim = app.simulator as NonNullable<LocalApp["simulator"]>;
  const merchant = app.merchant as NonNullable<LocalApp["merchant"]>;
  const maxInFlight = Number(app.env.WECHAT_MAX_IN_FLIGHT ?? DEFAULT_MAX_IN_FLIGHT);
  sim.setFaults({ latencyMs: opts.latencyMs, latencyJitterMs: 0 });

  const outTradeNo = `BENCH${Date.now()}`;
  const amount = 990;
  await client.registerPost({ outTradeNo, amount, content: "供应：二手叉车一台，3 吨，价格面议" });
  const transaction = buildTransaction(merchant, { outTradeNo, amountTotal: amount });
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

  // WeChat's delivery reports, one per template message, after the broadcast so they do not slow it.
  const reportsStarted = performance.now();
  let pushes = { pushed: 0, failed: 0 };
  let reported = final;
  if (opts.reports !== false) {
    const pushedBefore = sim.reportStats();
    const pushedAfter = await sim.releaseReports(REPORT_PUSHES_IN_FLIGHT);
    pushes = {
      pushed: pushedAfter.pushed - pushedBefore.pushed,
      failed: pushedAfter.failed - pushedBefore.failed,
    };
    await client.tally(outTradeNo);
    reported = await client.waitForReports(outTradeNo, final.byChannel.template ?? 0, 3 * 60_000);
  }
  const reportSeconds = (performance.now() - reportsStarted) / 1000;
  // Containers report their counts when an invocation ends: none may be running at the snapshot.
  await app.stack.runner.idle();
  const after = snapshot(app);

  const notifyMs = [notifyFirstMs];
  for (let i = 1; i < NOTIFY_SAMPLES; i += 1) {
    // WeChat Pay's retries of the same notify: freshly signed, same transaction.
    const t = performance.now();
    const answer = await client.notify(signNotify(merchant, transaction));
    notifyMs.push(performance.now() - t);
    if (answer.status !== 204) throw new Error(`repeated notify answered ${answer.status}`);
  }

  return summarize({
    opts,
    maxInFlight,
    final,
    reported,
    elapsedSeconds,
    reportSeconds,
    reportPushes: pushes,
    notifyMs,
    before,
    broadcastDone,
    after,
    storedBytesPerRecipient: await sampleStoredBytes(app),
  });
}

function summarize(input: {
  opts: AudienceOptions & { senders: number; latencyMs: number };
  maxInFlight: number;
  final: PostStatus;
  reported: PostStatus;
  elapsedSeconds: number;
  reportSeconds: number;
  reportPushes: { pushed: number; failed: number };
  notifyMs: number[];
  before: Snapshot;
  broadcastDone: Snapshot;
  after: Snapshot;
  storedBytesPerRecipient: number;
}): ScenarioResult {
  const { opts, final, before, after, broadcastDone } = input;
  const recipients = final.total;
  const per1k = (n: number) => round((n * 1000) / recipients, 2);
  const perRecipient = (n: number) => round(n / recipients, 3);

  const fnDiff = (name: string) => {
    const a = after.runner.functions[name];
    const b = before.runner.functions[name];
    if (!a || !b) throw new Error(`no stats for ${name}`);
    return {
      invocations: a.invocations - b.invocations,
      billedMs: a.billedMs - b.billedMs,
      logBytes: a.logBytes - b.logBytes,
      dynamoReadUnits: a.dynamoReadUnits - b.dynamoReadUnits,
      dynamoWriteUnits: a.dynamoWriteUnits - b.dynamoWriteUnits,
    };
  };
  const pipeline = Object.fromEntries(PIPELINE.map((name) => [name, fnDiff(name)])) as Record<
    (typeof PIPELINE)[number],
    ReturnType<typeof fnDiff>
  >;
  const sumPipeline = (pick: (f: ReturnType<typeof fnDiff>) => number) =>
    Object.values(pipeline).reduce((n, f) => n + pick(f), 0);

  const requests = diff(sumRequests(after.runner, PIPELINE), sumRequests(before.runner, PIPELINE));
  const eventSource = diff(after.runner.eventSourceRequests, before.runner.eventSourceRequests);
  const sdkSide = addCounts(diff(after.runner.awsRequests, before.runner.awsRequests), eventSource);
  const emulatorSide = diff(after.emulator, before.emulator);
  const countMismatches = mismatches(sdkSide, emulatorSide);

  // Lambda's pollers long-poll 20 s in AWS, the local runner 1 s: only receives that returned a
  // batch (one per queue-consumer invocation) are a cost of the broadcast.
  const receivesWithMessages = pipeline.fanout.invocations + pipeline.sender.invocations;
  const pipelineAws = addCounts(requests, {
    "SQS.ReceiveMessage (Lambda poller, non-empty)": receivesWithMessages,
    "SQS.DeleteMessageBatch (Lambda poller)": eventSource["SQS.DeleteMessageBatch"] ?? 0,
  });
  const sqsUnits = diff(after.sqsUnits, before.sqsUnits);
  const sqsFunctionUnits = Object.entries(sqsUnits)
    .filter(
      ([op]) =>
        op !== "SQS.ReceiveMessage" && op !== "SQS.DeleteMessageBatch" && op !== "SQS.GetQueueAttributes",
    )
    .reduce((n, [, u]) => n + u, 0);
  const sqsBilledRequests =
    sqsFunctionUnits + receivesWithMessages + (eventSource["SQS.DeleteMessageBatch"] ?? 0);

  const simCalls = sumValues(after.sim.calls) - sumValues(before.sim.calls);
  const cost = estimateCost({
    recipients,
    functions: Object.fromEntries(
      PIPELINE.map((name): [string, FunctionUsage] => [
        name,
        { ...pipeline[name], memoryMb: definedFunctions[name].memoryMb },
      ]),
    ),
    sqsBilledRequests,
    dynamoWriteUnits: sumPipeline((f) => f.dynamoWriteUnits),
    dynamoReadUnits: sumPipeline((f) => f.dynamoReadUnits),
    storedBytesPerRecipient: input.storedBytesPerRecipient,
    storedDays: RECORD_DAYS,
    egressBytes: simCalls * EGRESS_BYTES_PER_CALL,
    ingressBytes: simCalls * INGRESS_BYTES_PER_CALL,
    // The default deploy: fck-nat, no per-GB charge beyond egress (the README prices managed NAT).
    nat: "ec2",
    platformLogBytesPerInvocation: 0,
  });

  const cpuSeconds = Object.fromEntries(
    Object.entries(broadcastDone.cpu).map(([k, v]) => [k, round(v - (before.cpu[k] ?? 0), 1)]),
  );
  const cpuTotal = sumValues(cpuSeconds);
  const [bottleneck = "?"] = Object.entries(cpuSeconds).sort(([, a], [, b]) => b - a)[0] ?? [];
  const tokens = (s: SimStats) =>
    s.tokenFetches.stable + s.tokenFetches.stableForced + s.tokenFetches.classic;
  const ideal =
    opts.latencyMs > 0 ? Math.round((opts.senders * input.maxInFlight * 1000) / opts.latencyMs) : null;
  const rps = Math.round(recipients / input.elapsedSeconds);
  const sorted = [...input.notifyMs].sort((a, b) => a - b);
  return {
    audience: opts.audience,
    latencyMs: opts.latencyMs,
    recipients,
    delivered: final.sent,
    failed: final.failed,
    elapsedSeconds: round(input.elapsedSeconds, 3),
    recipientsPerSecond: rps,
    idealRecipientsPerSecond: ideal,
    shareOfIdeal: ideal ? round(rps / ideal, 3) : null,
    senders: opts.senders,
    maxInFlightPerSender: input.maxInFlight,
    notifyFirstMs: round(input.notifyMs[0] ?? 0, 1),
    notifyP50Ms: round(percentile(sorted, 0.5), 1),
    notifyP99Ms: round(percentile(sorted, 0.99), 1),
    peakRssMb: {
      fanout: Math.round((after.runner.functions.fanout?.peakRssBytes ?? 0) / 2 ** 20),
      sender: Math.round((after.runner.functions.sender?.peakRssBytes ?? 0) / 2 ** 20),
    },
    tokenFetches: tokens(after.sim) - tokens(before.sim),
    awsRequestsPer1k: mapValues(pipelineAws, per1k),
    emulatorRequestsPer1k: mapValues(emulatorSide, per1k),
    countsAgree: Object.keys(countMismatches).length === 0,
    countMismatches,
    dynamoWriteUnitsPerRecipient: perRecipient(sumPipeline((f) => f.dynamoWriteUnits)),
    dynamoReadUnitsPerRecipient: perRecipient(sumPipeline((f) => f.dynamoReadUnits)),
    logBytesPerRecipient: round(sumPipeline((f) => f.logBytes) / recipients, 2),
    deliveryReports: { confirmed: input.reported.confirmed, rejected: input.reported.rejected },
    reportPushes: input.reportPushes,
    cpuSeconds,
    cpuBusyShare: round(cpuTotal / (input.elapsedSeconds * 2), 2),
    bottleneck,
    functions: Object.fromEntries(
      PIPELINE.map((name) => [
        name,
        {
          invocations: pipeline[name].invocations,
          billedMs: pipeline[name].billedMs,
          logBytes: pipeline[name].logBytes,
        },
      ]),
    ),
    reportSeconds: round(input.reportSeconds, 1),
    cost,
    costPerMillionUsd: round(cost.totalUsdPerMillion, 3),
  };
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
  const env = app.stack.awsEnv;
  const db = new DynamoDBClient({
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
    },
  });
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

function sumRequests(stats: RunnerStats, names: readonly string[]): Record<string, number> {
  return names.reduce((total, name) => addCounts(total, stats.awsRequestsByFunction[name] ?? {}), {});
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, n]) => [k, n - (before[k] ?? 0)] as const)
      .filter(([, n]) => n !== 0),
  );
}

function mismatches(a: Record<string, number>, b: Record<string, number>): Record<string, [number, number]> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return Object.fromEntries(
    keys.filter((k) => (a[k] ?? 0) !== (b[k] ?? 0)).map((k) => [k, [a[k] ?? 0, b[k] ?? 0]]),
  );
}

function sumValues(counts: Record<string, number>): number {
  return Object.values(counts).reduce((n, v) => n + v, 0);
}

function mapValues(counts: Record<string, number>, f: (n: number) => number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => [k, f(n)]),
  );
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
