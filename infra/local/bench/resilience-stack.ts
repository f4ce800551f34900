/**
 * How bench:resilience drives a fresh local stack: seeds an audience, broadcasts a paid post and kills
 * busy sender containers while it runs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { PostView } from "../../../functions/contracts/api.ts";
import { postBroadcastId } from "../../../functions/core/model.ts";
import { LOCAL_SENDERS, prewarmPipeline, registerPaidPost, seedAudience } from "../app-traffic.ts";
import { FanoutClient } from "../fanout-client.ts";
import { type LocalApp, startLocalApp } from "../local-app.ts";
import type { WeChatSimulator } from "../wechat-sim/simulator.ts";
import { signNotify, type WechatPayTestMerchant } from "../wechatpay-signer.ts";
import { round, seconds } from "./figures.ts";

/** Kills are spread out: at least this long after the previous one that hit a container. */
export const KILL_INTERVAL_MS = 2_500;

export interface Ctx {
  readonly app: LocalApp;
  readonly sim: WeChatSimulator;
  readonly merchant: WechatPayTestMerchant;
  readonly client: FanoutClient;
  log(line: string): void;
}

/** A fresh stack for one scenario, stopped afterwards whatever happens. */
export async function withStack<T>(name: string, run: (ctx: Ctx) => Promise<T>): Promise<T> {
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  log("starting a fresh local stack");
  // Hermetic, as the tests: no settings from the caller's environment, production defaults.
  const app = await startLocalApp({ settings: {}, concurrency: { sender: LOCAL_SENDERS } });
  try {
    const { simulator: sim, merchant } = app;
    if (!sim || !merchant) throw new Error("needs the built-in simulator and the demo merchant");
    return await run({
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
export function seed(ctx: Ctx, prefix: string, count: number): Promise<string[]> {
  return seedAudience(ctx.sim, ctx.client, { prefix, count }, ctx.log);
}

export interface KillLog {
  /** Kills that hit at least one busy sender container. */
  kills: number;
  containers: number;
  /** Seconds after the notify. */
  atSeconds: number[];
}

export interface BroadcastRun {
  readonly outTradeNo: string;
  readonly broadcastId: string;
  /** The last status polled: the final one when `done`. */
  readonly status: PostView | undefined;
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
export async function broadcast(
  ctx: Ctx,
  outTradeNo: string,
  opts: { timeoutMs: number; kills?: number },
): Promise<BroadcastRun> {
  const { app, client, merchant, sim } = ctx;
  await prewarmPipeline(app.stack.runner, LOCAL_SENDERS);
  const post = { outTradeNo, amount: 990, content: "供应：二手叉车一台，3 吨，价格面议" };
  const notify = signNotify(merchant, await registerPaidPost(client, merchant, post));
  const crashesBefore = app.stack.runner.stats().functions.sender?.crashes ?? 0;
  const ledgerFrom = sim.stats().delivered;
  const started = performance.now();
  const answer = await client.notify(notify);
  if (answer.status !== 204) throw new Error(`notify refused: HTTP ${answer.status} ${answer.body}`);

  let finished = false;
  const killing = killSenders(ctx, opts.kills ?? 0, ledgerFrom, started, () => finished);
  const { status, error } = await waitLogged(ctx, outTradeNo, started, opts.timeoutMs).finally(() => {
    finished = true;
  });
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

/**
 * Waits for the broadcast, logging its progress every 30 s; on giving up, says why instead of
 * throwing. The status is the last one polled either way.
 */
async function waitLogged(
  ctx: Ctx,
  outTradeNo: string,
  started: number,
  timeoutMs: number,
): Promise<{ status: PostView | undefined; error?: string }> {
  let status: PostView | undefined;
  let lastLog = started;
  try {
    status = await ctx.client.waitForBroadcast(outTradeNo, {
      timeoutMs,
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
    return { status };
  } catch (e) {
    const waited = seconds(performance.now() - started);
    return {
      status,
      error: `not done after ${waited} s (${e instanceof Error ? e.message.slice(0, 60) : String(e)}…)`,
    };
  }
}

/** A run's outcome as every scenario reports it. */
export function outcome(run: BroadcastRun) {
  return { done: run.done, ...(run.error ? { error: run.error } : {}), elapsedSeconds: run.elapsedSeconds };
}

export function killFigures(run: BroadcastRun, target: number) {
  return {
    killsTarget: target,
    kills: run.kills.kills,
    containersKilled: run.kills.containers,
    killAtSeconds: run.kills.atSeconds,
  };
}

/** Sending has started once the simulator delivered this many messages of the broadcast. */
const KILL_AFTER_DELIVERED = 100;

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
