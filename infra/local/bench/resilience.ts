/**
 * `npm run bench:resilience`: three failure scenarios on the whole local stack, each on a fresh stack
 * with the built-in WeChat simulator and demo merchant, and the production function timeouts and
 * queue visibility of common/definitions.ts (no overrides: the figures are what production settings
 * give, a crashed chunk coming back only after the send queue's visibility timeout).
 *
 * - revocation: the access token is revoked mid-run; the calls wasted on the dead token, the token
 *   fetches, the elapsed time and whether everyone got exactly one message.
 * - crash: a broadcast without kills, then one during which busy sender containers are killed.
 * - windows: subscribers with an open customer-service window (recorded by Fanout through the
 *   callback) and sender kills: who among them got nothing, and what Fanout recorded for them.
 *
 * `--only revocation|crash|windows` runs one, `--json` prints one JSON object instead of the summary.
 * Progress goes to stderr. Exits 1 when a scenario could not complete, 2 on bad flags.
 */
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { functions, queues, tables } from "../../../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../../../common/env-names.ts";
import { postBroadcastId } from "../../../functions/core/model.ts";
import { FanoutClient, type PostStatus } from "../fanout-client.ts";
import { type LocalApp, startLocalApp } from "../local-app.ts";
import type { SimStats, WeChatSimulator } from "../wechat-sim/simulator.ts";
import { buildTransaction, signNotify, type WechatPayTestMerchant } from "../wechatpay-signer.ts";

const SCENARIOS = ["revocation", "crash", "windows"] as const;
type ScenarioName = (typeof SCENARIOS)[number];

/** As the demo and the benchmark: on a 2-core machine more senders only contend for the CPU. */
const SENDERS = 4;
const LATENCY_MS = 50;
/** Kills are spread out: at least this long after the previous one that hit a container. */
const KILL_INTERVAL_MS = 2_500;
/** Sending has started once the simulator delivered this many messages of the broadcast. */
const KILL_AFTER_DELIVERED = 100;
const TOKEN_ERRCODES = ["40001", "42001", "40014"] as const;
/** The errcode Fanout records for a call whose outcome it does not know (functions/core/errcodes.ts). */
const UNKNOWN_ERRCODE = "-2";
const MINUTE = 60_000;

const USAGE = "usage: npm run bench:resilience -- [--only revocation|crash|windows] [--json]";

function flags(): { only: readonly ScenarioName[]; json: boolean } {
  let parsed: { values: { only?: string | undefined; json?: boolean | undefined } };
  try {
    parsed = parseArgs({
      options: { only: { type: "string" }, json: { type: "boolean", default: false } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return badFlags(message.split("\n", 1)[0] ?? message);
  }
  const { only, json = false } = parsed.values;
  if (only === undefined) return { only: SCENARIOS, json };
  const name = SCENARIOS.find((s) => s === only);
  if (!name) return badFlags(`unknown scenario "${only}"`);
  return { only: [name], json };
}

function badFlags(message: string): never {
  console.error(`bench:resilience: ${message}; ${USAGE}`);
  process.exit(2);
}

interface Ctx {
  readonly name: ScenarioName;
  readonly app: LocalApp;
  readonly sim: WeChatSimulator;
  readonly merchant: WechatPayTestMerchant;
  readonly client: FanoutClient;
  log(line: string): void;
}

/** A fresh stack for one scenario, stopped afterwards whatever happens. */
async function withStack<T>(name: ScenarioName, run: (ctx: Ctx) => Promise<T>): Promise<T> {
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  log("starting a fresh local stack");
  // Hermetic, as the tests: no settings from the caller's environment, production defaults.
  const app = await startLocalApp({ settings: {}, concurrency: { sender: SENDERS } });
  try {
    const { simulator: sim, merchant } = app;
    if (!sim || !merchant) throw new Error("needs the built-in simulator and the demo merchant");
    return await run({
      name,
      app,
      sim,
      merchant,
      client: new FanoutClient(app.baseUrl, app.adminToken),
      log,
    });
  } finally {
    await app.stop();
  }
}

/** Registers `count` subscribers with Fanout and as following users of the simulated account. */
async function seed(ctx: Ctx, prefix: string, count: number): Promise<string[]> {
  const started = Date.now();
  const openids = Array.from(
    { length: count },
    (_, i) => `o${prefix}${String(i).padStart(27 - prefix.length, "0")}`,
  );
  ctx.sim.addUsers(openids);
  await ctx.client.importSubscribers(
    openids.map((openid) => ({ openid })),
    { parallel: 2 },
  );
  ctx.log(`seeded ${count.toLocaleString()} subscribers in ${seconds(Date.now() - started)} s`);
  return openids;
}

interface KillLog {
  /** Kills that hit at least one busy sender container. */
  kills: number;
  containers: number;
  /** Seconds after the notify. */
  atSeconds: number[];
}

interface BroadcastRun {
  readonly outTradeNo: string;
  readonly broadcastId: string;
  /** The last status polled: the final one when `done`. */
  readonly status: PostStatus | undefined;
  readonly done: boolean;
  readonly error?: string;
  /** Notify → pending 0 (or → giving up). */
  readonly elapsedSeconds: number;
  /** The simulator's ledger row where this broadcast's deliveries start. */
  readonly ledgerFrom: number;
  readonly kills: KillLog;
  readonly senderCrashes: number;
}

/**
 * Registers a post, pays it with a signed notify and waits until nothing is pending, killing busy
 * sender containers `kills` times meanwhile (spread out, once sending has started).
 */
async function broadcast(
  ctx: Ctx,
  outTradeNo: string,
  opts: { timeoutMs: number; kills?: number },
): Promise<BroadcastRun> {
  const { app, client, merchant, sim } = ctx;
  // Warm containers, as in a deployment that is already busy (see bench/scenario.ts).
  await app.stack.runner.prewarm("sender", SENDERS);
  await app.stack.runner.prewarm("fanout", queues.fanout.consumer.maximumConcurrency);
  const amount = 990;
  await client.registerPost({ outTradeNo, amount, content: "供应：二手叉车一台，3 吨，价格面议" });
  const notify = signNotify(merchant, buildTransaction(merchant, { outTradeNo, amountTotal: amount }));
  const crashesBefore = app.stack.runner.stats().functions.sender?.crashes ?? 0;
  const ledgerFrom = sim.stats().delivered;
  const started = performance.now();
  const answer = await client.notify(notify);
  if (answer.status !== 204) throw new Error(`notify refused: HTTP ${answer.status} ${answer.body}`);

  let finished = false;
  const killing = killSenders(ctx, opts.kills ?? 0, ledgerFrom, started, () => finished);
  let status: PostStatus | undefined;
  let error: string | undefined;
  let lastLog = started;
  try {
    status = await client.waitForBroadcast(outTradeNo, {
      timeoutMs: opts.timeoutMs,
      intervalMs: 250,
      onProgress: (s) => {
        status = s;
        if (performance.now() - lastLog < 30_000) return;
        lastLog = performance.now();
        ctx.log(
          `${seconds(lastLog - started)} s: ${s.status}, sent ${s.sent} failed ${s.failed} pending ${s.pending}`,
        );
      },
    });
  } catch (e) {
    const waited = seconds(performance.now() - started);
    error = `not done after ${waited} s (${e instanceof Error ? e.message.slice(0, 60) : String(e)}…)`;
  } finally {
    finished = true;
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const kills = await killing;
  ctx.log(
    `${outTradeNo}: ${status?.status ?? "?"} after ${elapsedSeconds.toFixed(1)} s` +
      (opts.kills ? `, ${kills.kills} kills (${kills.containers} containers)` : ""),
  );
  return {
    outTradeNo,
    broadcastId: postBroadcastId(outTradeNo),
    status,
    done: status?.status === "done" && error === undefined,
    ...(error === undefined ? {} : { error }),
    elapsedSeconds: round(elapsedSeconds, 1),
    ledgerFrom,
    kills,
    senderCrashes: (app.stack.runner.stats().functions.sender?.crashes ?? 0) - crashesBefore,
  };
}

async function killSenders(
  ctx: Ctx,
  target: number,
  ledgerFrom: number,
  started: number,
  stop: () => boolean,
): Promise<KillLog> {
  const log: KillLog = { kills: 0, containers: 0, atSeconds: [] };
  if (target === 0) return log;
  while (!stop() && ctx.sim.stats().delivered - ledgerFrom < KILL_AFTER_DELIVERED) await sleep(20);
  let nextAt = 0;
  while (!stop() && log.kills < target) {
    const killed = performance.now() >= nextAt ? ctx.app.stack.runner.killBusy("sender") : 0;
    if (killed === 0) {
      await sleep(50);
      continue;
    }
    const at = round((performance.now() - started) / 1000, 1);
    log.kills += 1;
    log.containers += killed;
    log.atSeconds.push(at);
    ctx.log(`kill ${log.kills}/${target} at ${at} s: ${killed} sender container(s)`);
    nextAt = performance.now() + KILL_INTERVAL_MS;
  }
  return log;
}

/** Messages per openid in the simulator's ledger from row `from` on, and by channel. */
function ledgerCounts(sim: WeChatSimulator, from: number) {
  const perOpenid = new Map<string, number>();
  const byChannel: Record<string, number> = {};
  const customTo = new Set<string>();
  const firstAt = new Map<string, number>();
  /** Seconds from a recipient's first delivery to each later one. */
  const repeatGaps: number[] = [];
  for (const d of sim.deliveries(from)) {
    perOpenid.set(d.openid, (perOpenid.get(d.openid) ?? 0) + 1);
    byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
    if (d.channel === "custom") customTo.add(d.openid);
    const first = firstAt.get(d.openid);
    if (first === undefined) firstAt.set(d.openid, d.at);
    else repeatGaps.push((d.at - first) / 1000);
  }
  return { perOpenid, byChannel, customTo, repeatGaps };
}

/** Exactly-once according to the simulator's ledger: nobody twice, nobody missing. */
function exactlyOnce(
  audience: readonly string[],
  ledger: { perOpenid: ReadonlyMap<string, number>; repeatGaps: readonly number[] },
) {
  const { perOpenid, repeatGaps } = ledger;
  let once = 0;
  let missing = 0;
  let duplicated = 0;
  let extraMessages = 0;
  for (const openid of audience) {
    const n = perOpenid.get(openid) ?? 0;
    if (n === 0) missing += 1;
    else if (n === 1) once += 1;
    else {
      duplicated += 1;
      extraMessages += n - 1;
    }
  }
  const members = new Set(audience);
  const outsiders = [...perOpenid.keys()].filter((openid) => !members.has(openid)).length;
  return {
    ok: missing === 0 && duplicated === 0 && outsiders === 0,
    recipients: audience.length,
    once,
    missing,
    duplicated,
    extraMessages,
    outsiders,
    /** Time between a recipient's first message and a repeat: WeChat de-duplicates within 10 min only. */
    repeatGapSeconds: repeatGaps.length
      ? { min: round(Math.min(...repeatGaps), 1), max: round(Math.max(...repeatGaps), 1) }
      : null,
  };
}

function statusTotals(s: PostStatus | undefined) {
  if (!s) return null;
  return {
    status: s.status,
    total: s.total,
    sent: s.sent,
    failed: s.failed,
    skipped: s.skipped,
    pending: s.pending,
    byChannel: s.byChannel,
    byErrcode: s.byErrcode,
  };
}

/** What the simulator counted between two snapshots. */
function simDelta(before: SimStats, after: SimStats) {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, n]) => [k, n - (b[k] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
  return {
    calls: diff(after.calls, before.calls),
    errcodes: diff(after.errcodes, before.errcodes),
    tokenFetches: diff(after.tokenFetches, before.tokenFetches),
    delivered: after.delivered - before.delivered,
    duplicatesSuppressed: after.duplicatesSuppressed - before.duplicatesSuppressed,
    faultsInjected: diff(after.faultsInjected, before.faultsInjected),
  };
}

interface RecordView {
  readonly outcome: string;
  readonly channel: string | undefined;
  readonly errcode: number | undefined;
  /** WeChat calls made by the invocation that settled the recipient. */
  readonly attempts: number;
}

/** A paid post's delivery records, read from DynamoDB Local (grouped items, one-letter names). */
async function deliveryRecords(app: LocalApp, broadcastId: string): Promise<Map<string, RecordView>> {
  const env = app.stack.awsEnv;
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: env.AWS_REGION,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
      },
    }),
  );
  const records = new Map<string, RecordView>();
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await db.send(
        new QueryCommand({
          TableName: env[tableEnvName("deliveries")] ?? tables.deliveries.name,
          KeyConditionExpression: "broadcastId = :b",
          ExpressionAttributeValues: { ":b": broadcastId },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        const entries = Array.isArray(item.entries) ? (item.entries as Record<string, unknown>[]) : null;
        if (entries) {
          for (const e of entries)
            records.set(String(e.o), {
              outcome: String(e.s),
              channel: e.c === undefined ? undefined : String(e.c),
              errcode: typeof e.e === "number" ? e.e : undefined,
              attempts: Number(e.n ?? 0),
            });
        } else {
          records.set(String(item.openid), {
            outcome: String(item.outcome),
            channel: item.channel === undefined ? undefined : String(item.channel),
            errcode: typeof item.errcode === "number" ? item.errcode : undefined,
            attempts: Number(item.attempts ?? 0),
          });
        }
      }
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    db.destroy();
  }
  return records;
}

/** Messages in the send queue's dead-letter queue: a chunk there never completes its broadcast. */
async function sendDeadLetters(app: LocalApp): Promise<number | null> {
  const env = app.stack.awsEnv;
  const url = env[queueUrlEnvName("send", true)];
  if (!url) return null;
  const sqs = new SQSClient({
    endpoint: env.AWS_ENDPOINT_URL_SQS,
    region: env.AWS_REGION,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
    },
  });
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  } catch {
    return null;
  } finally {
    sqs.destroy();
  }
}

// --- the scenarios ---------------------------------------------------------------------------------

async function revocation(ctx: Ctx) {
  const audience = await seed(ctx, "Revoke", 3_000);
  ctx.sim.setFaults({ latencyMs: LATENCY_MS, revokeTokenAtSend: 500 });
  const before = ctx.sim.stats();
  const run = await broadcast(ctx, `REVOKE${Date.now()}`, { timeoutMs: 15 * MINUTE });
  const delta = simDelta(before, ctx.sim.stats());
  const ledger = ledgerCounts(ctx.sim, run.ledgerFrom);
  const wasted = Object.fromEntries(TOKEN_ERRCODES.map((code) => [code, delta.errcodes[code] ?? 0]));
  return {
    subscribers: audience.length,
    latencyMs: LATENCY_MS,
    revokeTokenAtSend: 500,
    revoked: delta.faultsInjected.revoked ?? 0,
    done: run.done,
    ...(run.error ? { error: run.error } : {}),
    elapsedSeconds: run.elapsedSeconds,
    wastedCalls: Object.values(wasted).reduce((n, v) => n + v, 0),
    wastedByErrcode: wasted,
    tokenFetches: {
      stable: delta.tokenFetches.stable ?? 0,
      stableForced: delta.tokenFetches.stableForced ?? 0,
      classic: delta.tokenFetches.classic ?? 0,
    },
    sendCalls: (delta.calls.template_send ?? 0) + (delta.calls.custom_send ?? 0),
    duplicatesSuppressed: delta.duplicatesSuppressed,
    broadcast: statusTotals(run.status),
    exactlyOnce: exactlyOnce(audience, ledger),
  };
}

async function crash(ctx: Ctx) {
  const audience = await seed(ctx, "Crash", 20_000);
  ctx.sim.setFaults({ latencyMs: LATENCY_MS });
  const baseline = await broadcast(ctx, `CRASHBASE${Date.now()}`, { timeoutMs: 15 * MINUTE });
  const baselineLedger = ledgerCounts(ctx.sim, baseline.ledgerFrom);
  const before = ctx.sim.stats();
  const killed = await broadcast(ctx, `CRASHKILL${Date.now()}`, { timeoutMs: 20 * MINUTE, kills: 8 });
  const delta = simDelta(before, ctx.sim.stats());
  const ledger = ledgerCounts(ctx.sim, killed.ledgerFrom);
  return {
    subscribers: audience.length,
    latencyMs: LATENCY_MS,
    baseline: {
      done: baseline.done,
      ...(baseline.error ? { error: baseline.error } : {}),
      elapsedSeconds: baseline.elapsedSeconds,
      broadcast: statusTotals(baseline.status),
      exactlyOnce: exactlyOnce(audience, baselineLedger),
    },
    withKills: {
      done: killed.done,
      ...(killed.error ? { error: killed.error } : {}),
      elapsedSeconds: killed.elapsedSeconds,
      killsTarget: 8,
      kills: killed.kills.kills,
      containersKilled: killed.kills.containers,
      killAtSeconds: killed.kills.atSeconds,
      senderCrashes: killed.senderCrashes,
      duplicatesSuppressed: delta.duplicatesSuppressed,
      sendDeadLetters: await sendDeadLetters(ctx.app),
      broadcast: statusTotals(killed.status),
      exactlyOnce: exactlyOnce(audience, ledger),
    },
    slowdown: round(killed.elapsedSeconds / Math.max(baseline.elapsedSeconds, 0.001), 1),
  };
}

async function windows(ctx: Ctx) {
  const audience = await seed(ctx, "Window", 12_000);
  const windowed = audience.filter((_, i) => i % 4 === 0);
  // The users write to the account; WeChat pushes their texts to Fanout's callback, which records
  // their windows (as demo.ts does). No delivery reports: they would only add load.
  ctx.sim.setCallback({
    url: `${ctx.app.baseUrl}/wechat/callback`,
    token: ctx.app.env.WECHAT_CALLBACK_TOKEN ?? "",
    appId: ctx.app.env.WECHAT_APP_ID ?? "",
    reports: false,
  });
  const started = Date.now();
  let pushFailures = 0;
  for (let i = 0; i < windowed.length; i += 20) {
    const answers = await Promise.all(
      windowed.slice(i, i + 20).map((openid) => ctx.sim.userSends(openid, "请问还有货吗？")),
    );
    pushFailures += answers.filter((a) => a.status < 200 || a.status >= 300).length;
  }
  ctx.log(
    `${windowed.length.toLocaleString()} users wrote to the account in ${seconds(Date.now() - started)} s` +
      ` (${pushFailures} pushes not answered 2xx)`,
  );
  ctx.sim.setFaults({ latencyMs: LATENCY_MS });
  const before = ctx.sim.stats();
  const run = await broadcast(ctx, `WINDOW${Date.now()}`, { timeoutMs: 20 * MINUTE, kills: 6 });
  const delta = simDelta(before, ctx.sim.stats());
  const ledger = ledgerCounts(ctx.sim, run.ledgerFrom);
  const records = await deliveryRecords(ctx.app, run.broadcastId);

  const unknown = (r: RecordView | undefined) => String(r?.errcode) === UNKNOWN_ERRCODE;
  const noMessage = windowed.filter((openid) => (ledger.perOpenid.get(openid) ?? 0) === 0);
  const noMessageRecords = noMessage.map((openid) => records.get(openid));
  const customCalls = delta.calls.custom_send ?? 0;
  const customDelivered = ledger.byChannel.custom ?? 0;
  return {
    subscribers: audience.length,
    windowed: windowed.length,
    windowPushFailures: pushFailures,
    latencyMs: LATENCY_MS,
    done: run.done,
    ...(run.error ? { error: run.error } : {}),
    elapsedSeconds: run.elapsedSeconds,
    killsTarget: 6,
    kills: run.kills.kills,
    containersKilled: run.kills.containers,
    killAtSeconds: run.kills.atSeconds,
    broadcast: statusTotals(run.status),
    statusUnknownErrcode: run.status?.byErrcode[UNKNOWN_ERRCODE] ?? 0,
    windowedUsers: {
      gotCustom: windowed.filter((openid) => ledger.customTo.has(openid)).length,
      gotTemplateOnly: windowed.filter(
        (openid) => (ledger.perOpenid.get(openid) ?? 0) > 0 && !ledger.customTo.has(openid),
      ).length,
      noMessage: noMessage.length,
      recordedUnknown: windowed.filter((openid) => unknown(records.get(openid))).length,
      recordedUnknownButDelivered: windowed.filter(
        (openid) => unknown(records.get(openid)) && (ledger.perOpenid.get(openid) ?? 0) > 0,
      ).length,
      duplicated: windowed.filter((openid) => (ledger.perOpenid.get(openid) ?? 0) > 1).length,
    },
    noMessageUsers: {
      count: noMessage.length,
      recordedUnknown: noMessageRecords.filter(unknown).length,
      /** Recorded with 0 WeChat calls by the invocation that settled them (the in-doubt path). */
      recordedWithZeroAttempts: noMessageRecords.filter((r) => r !== undefined && r.attempts === 0).length,
      recordedSent: noMessageRecords.filter((r) => r?.outcome === "sent").length,
      noRecord: noMessageRecords.filter((r) => r === undefined).length,
      simulatorPerUserCalls:
        "not available: the simulator counts calls per API (stats().calls), not per openid; its ledger has deliveries only",
      /**
       * Every windowed user's window was open with 5 messages left, so every custom_send call that the
       * simulator processed delivered: calls minus deliveries are the calls that delivered nothing.
       */
      customSendCalls: customCalls,
      customDelivered,
      customCallsThatDeliveredNothing: customCalls - customDelivered,
    },
    simulator: {
      calls: delta.calls,
      errcodes: delta.errcodes,
      duplicatesSuppressed: delta.duplicatesSuppressed,
    },
    exactlyOnce: exactlyOnce(audience, ledger),
  };
}

// --- output ----------------------------------------------------------------------------------------

type Once = ReturnType<typeof exactlyOnce>;
type Totals = ReturnType<typeof statusTotals>;

function onceLine(o: Once): string {
  return (
    `exactly once (ledger): ${o.ok ? "yes" : "NO"}: ${o.once.toLocaleString()}/${o.recipients.toLocaleString()} once, ` +
    `${o.missing} missing, ${o.duplicated} twice or more (${o.extraMessages} extra messages)` +
    (o.outsiders ? `, ${o.outsiders} outside the audience` : "") +
    (o.repeatGapSeconds
      ? `; repeats ${o.repeatGapSeconds.min}–${o.repeatGapSeconds.max} s after the first`
      : "")
  );
}

function totalsLine(t: Totals): string {
  if (!t) return "broadcast status: none read";
  const counts = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, n]) => `${k}: ${n.toLocaleString()}`)
      .join(", ");
  return (
    `status ${t.status}: sent ${t.sent.toLocaleString()} (${counts(t.byChannel)}), failed ${t.failed.toLocaleString()}` +
    `${Object.keys(t.byErrcode).length ? ` (${counts(t.byErrcode)})` : ""}, skipped ${t.skipped}, pending ${t.pending}`
  );
}

const notComplete = (error: string | undefined) => (error ? [`  NOT COMPLETE: ${error}`] : []);

function revocationLines(r: Awaited<ReturnType<typeof revocation>>): string[] {
  return [
    `revocation: ${r.subscribers.toLocaleString()} subscribers, ${r.latencyMs} ms, token revoked at send ${r.revokeTokenAtSend}`,
    ...notComplete(r.error),
    `  elapsed notify → pending 0: ${r.elapsedSeconds} s`,
    `  wasted calls (40001/42001/40014): ${r.wastedCalls} (${TOKEN_ERRCODES.map((c) => `${c}: ${r.wastedByErrcode[c]}`).join(", ")})`,
    `  stable_token fetches: ${r.tokenFetches.stable} (+ ${r.tokenFetches.stableForced} forced, ${r.tokenFetches.classic} classic)`,
    `  send calls: ${r.sendCalls.toLocaleString()}, duplicates suppressed by WeChat: ${r.duplicatesSuppressed}`,
    `  ${totalsLine(r.broadcast)}`,
    `  ${onceLine(r.exactlyOnce)}`,
  ];
}

function crashLines(r: Awaited<ReturnType<typeof crash>>): string[] {
  const k = r.withKills;
  return [
    `crash: ${r.subscribers.toLocaleString()} subscribers, ${r.latencyMs} ms`,
    `  baseline (no kills): ${r.baseline.elapsedSeconds} s`,
    ...notComplete(r.baseline.error),
    `    ${totalsLine(r.baseline.broadcast)}`,
    `    ${onceLine(r.baseline.exactlyOnce)}`,
    `  with kills: ${k.elapsedSeconds} s (${r.slowdown}× the baseline)`,
    ...notComplete(k.error),
    `    kills: ${k.kills}/${k.killsTarget}, ${k.containersKilled} containers, at ${k.killAtSeconds.join(", ")} s`,
    `    sender crashes: ${k.senderCrashes}, duplicates suppressed by WeChat: ${k.duplicatesSuppressed}, send DLQ: ${k.sendDeadLetters ?? "?"}`,
    `    ${totalsLine(k.broadcast)}`,
    `    ${onceLine(k.exactlyOnce)}`,
  ];
}

function windowsLines(r: Awaited<ReturnType<typeof windows>>): string[] {
  const w = r.windowedUsers;
  const n = r.noMessageUsers;
  return [
    `windows: ${r.subscribers.toLocaleString()} subscribers, ${r.windowed.toLocaleString()} with an open window, ${r.latencyMs} ms`,
    ...notComplete(r.error),
    `  elapsed notify → pending 0: ${r.elapsedSeconds} s; kills: ${r.kills}/${r.killsTarget}, ${r.containersKilled} containers, at ${r.killAtSeconds.join(", ")} s`,
    `  ${totalsLine(r.broadcast)}`,
    `  windowed users: ${w.gotCustom} got the customer-service message, ${w.gotTemplateOnly} the template only, ${w.noMessage} NO MESSAGE, ${w.duplicated} twice or more`,
    `  recorded -2 "delivery unknown": ${w.recordedUnknown} windowed users (${w.recordedUnknownButDelivered} of them did get it); status byErrcode["-2"]: ${r.statusUnknownErrcode}`,
    `  of the ${n.count} with no message: ${n.recordedUnknown} recorded -2, ${n.recordedWithZeroAttempts} recorded with 0 WeChat calls, ${n.recordedSent} recorded sent, ${n.noRecord} without a record`,
    `  send calls for them: per openid ${n.simulatorPerUserCalls}`,
    `    custom_send calls ${n.customSendCalls}, custom deliveries ${n.customDelivered}: ${n.customCallsThatDeliveredNothing} custom calls delivered nothing`,
    `  ${onceLine(r.exactlyOnce)}`,
  ];
}

interface Outcome {
  readonly result: object;
  readonly lines: string[];
  readonly complete: boolean;
}

async function runScenario(name: ScenarioName): Promise<Outcome> {
  try {
    switch (name) {
      case "revocation": {
        const r = await withStack(name, revocation);
        return { result: r, lines: revocationLines(r), complete: r.done };
      }
      case "crash": {
        const r = await withStack(name, crash);
        return { result: r, lines: crashLines(r), complete: r.baseline.done && r.withKills.done };
      }
      case "windows": {
        const r = await withStack(name, windows);
        return { result: r, lines: windowsLines(r), complete: r.done };
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      result: { crashed: message },
      lines: [`${name}: could not complete: ${message}`],
      complete: false,
    };
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<number> {
  const { only, json } = flags();
  const results: Record<string, object> = {};
  let incomplete = 0;
  for (const name of only) {
    const load1Before = round(loadavg()[0] ?? 0, 2);
    const started = Date.now();
    const outcome = await runScenario(name);
    if (!outcome.complete) incomplete += 1;
    const wallSeconds = round((Date.now() - started) / 1000, 1);
    const load = { before: load1Before, after: round(loadavg()[0] ?? 0, 2) };
    results[name] = { ...outcome.result, wallSeconds, loadAverage1m: load };
    if (!json)
      console.log(
        [
          ...outcome.lines,
          `  wall ${wallSeconds} s; 1-min load average ${load.before} → ${load.after}`,
          "",
        ].join("\n"),
      );
  }
  const settings = {
    cores: cpus().length,
    senders: SENDERS,
    senderTimeoutSeconds: functions.sender.timeoutSeconds,
    sendQueueVisibilitySeconds: queues.send.visibilityTimeoutSeconds,
    sendQueueMaxReceiveCount: queues.send.maxReceiveCount,
    fanoutVisibilitySeconds: queues.fanout.visibilityTimeoutSeconds,
    killIntervalMs: KILL_INTERVAL_MS,
  };
  if (json) console.log(JSON.stringify({ settings, scenarios: results }));
  else
    console.log(
      `settings: ${settings.cores} cores, ${SENDERS} senders, sender timeout ${settings.senderTimeoutSeconds} s, ` +
        `send-queue visibility ${settings.sendQueueVisibilitySeconds} s (maxReceiveCount ${settings.sendQueueMaxReceiveCount}), ` +
        `kills at least ${KILL_INTERVAL_MS / 1000} s apart`,
    );
  return incomplete === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:resilience: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
