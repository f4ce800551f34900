/**
 * bench:resilience's three scenarios (resilience.ts runs them and prints what they return), each on a
 * fresh stack: the token revoked mid-run, sender containers killed, and users with an open window.
 */
import { round, seconds } from "./figures.ts";
import {
  deliveryRecords,
  exactlyOnce,
  ledgerCounts,
  type RecordView,
  sendDeadLetters,
  simDelta,
  statusTotals,
} from "./resilience-readings.ts";
import { broadcast, type Ctx, killFigures, outcome, seed } from "./resilience-stack.ts";

export const SCENARIOS = ["revocation", "crash", "windows"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const LATENCY_MS = 50;
const CRASH_KILLS = 8;
const WINDOWS_KILLS = 6;
export const TOKEN_ERRCODES = ["40001", "42001", "40014"] as const;
/** The errcode Fanout records for a call whose outcome it does not know (functions/core/errcodes.ts). */
const UNKNOWN_ERRCODE = "-2";
const MINUTE = 60_000;

// --- the scenarios ---------------------------------------------------------------------------------

export async function revocation(ctx: Ctx) {
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
    ...outcome(run),
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

export async function crash(ctx: Ctx) {
  const audience = await seed(ctx, "Crash", 20_000);
  ctx.sim.setFaults({ latencyMs: LATENCY_MS });
  const baseline = await broadcast(ctx, `CRASHBASE${Date.now()}`, { timeoutMs: 15 * MINUTE });
  const baselineLedger = ledgerCounts(ctx.sim, baseline.ledgerFrom);
  const before = ctx.sim.stats();
  const killed = await broadcast(ctx, `CRASHKILL${Date.now()}`, {
    timeoutMs: 20 * MINUTE,
    kills: CRASH_KILLS,
  });
  const delta = simDelta(before, ctx.sim.stats());
  const ledger = ledgerCounts(ctx.sim, killed.ledgerFrom);
  return {
    subscribers: audience.length,
    latencyMs: LATENCY_MS,
    baseline: {
      ...outcome(baseline),
      broadcast: statusTotals(baseline.status),
      exactlyOnce: exactlyOnce(audience, baselineLedger),
    },
    withKills: {
      ...outcome(killed),
      ...killFigures(killed, CRASH_KILLS),
      senderCrashes: killed.senderCrashes,
      duplicatesSuppressed: delta.duplicatesSuppressed,
      sendDeadLetters: await sendDeadLetters(ctx.app),
      broadcast: statusTotals(killed.status),
      exactlyOnce: exactlyOnce(audience, ledger),
    },
    slowdown: round(killed.elapsedSeconds / Math.max(baseline.elapsedSeconds, 0.001), 1),
  };
}

export async function windows(ctx: Ctx) {
  const audience = await seed(ctx, "Window", 12_000);
  const windowed = audience.filter((_, i) => i % 4 === 0);
  const pushFailures = await writeToAccount(ctx, windowed);
  ctx.sim.setFaults({ latencyMs: LATENCY_MS });
  const before = ctx.sim.stats();
  const run = await broadcast(ctx, `WINDOW${Date.now()}`, { timeoutMs: 20 * MINUTE, kills: WINDOWS_KILLS });
  const delta = simDelta(before, ctx.sim.stats());
  const ledger = ledgerCounts(ctx.sim, run.ledgerFrom);
  const records = await deliveryRecords(ctx.app, run.broadcastId);
  return {
    subscribers: audience.length,
    windowed: windowed.length,
    windowPushFailures: pushFailures,
    latencyMs: LATENCY_MS,
    ...outcome(run),
    ...killFigures(run, WINDOWS_KILLS),
    broadcast: statusTotals(run.status),
    statusUnknownErrcode: run.status?.byErrcode[UNKNOWN_ERRCODE] ?? 0,
    windowedUsers: windowedUsers(windowed, ledger, records),
    noMessageUsers: noMessageUsers(windowed, ledger, records, delta.calls),
    simulator: {
      calls: delta.calls,
      errcodes: delta.errcodes,
      duplicatesSuppressed: delta.duplicatesSuppressed,
    },
    exactlyOnce: exactlyOnce(audience, ledger),
  };
}

/**
 * The users write to the account; WeChat pushes their texts to Fanout's callback, which records
 * their windows (as demo.ts does). No delivery reports: they would only add load. Returns how many
 * pushes were not answered 2xx.
 */
async function writeToAccount(ctx: Ctx, users: readonly string[]): Promise<number> {
  ctx.sim.setCallback({
    url: `${ctx.app.baseUrl}/wechat/callback`,
    token: ctx.app.env.WECHAT_CALLBACK_TOKEN ?? "",
    appId: ctx.app.env.WECHAT_APP_ID ?? "",
    reports: false,
  });
  const started = Date.now();
  let pushFailures = 0;
  for (let i = 0; i < users.length; i += 20) {
    const answers = await Promise.all(
      users.slice(i, i + 20).map((openid) => ctx.sim.userSends(openid, "请问还有货吗？")),
    );
    pushFailures += answers.filter((a) => a.status < 200 || a.status >= 300).length;
  }
  ctx.log(
    `${users.length.toLocaleString()} users wrote to the account in ${seconds(Date.now() - started)} s` +
      ` (${pushFailures} pushes not answered 2xx)`,
  );
  return pushFailures;
}

type Ledger = ReturnType<typeof ledgerCounts>;

const recordedUnknown = (r: RecordView | undefined) => String(r?.errcode) === UNKNOWN_ERRCODE;

/** What the users with an open window received, and what Fanout recorded for them. */
function windowedUsers(
  windowed: readonly string[],
  ledger: Ledger,
  records: ReadonlyMap<string, RecordView>,
) {
  const received = (openid: string) => ledger.perOpenid.get(openid) ?? 0;
  return {
    gotCustom: windowed.filter((openid) => ledger.customTo.has(openid)).length,
    gotTemplateOnly: windowed.filter((openid) => received(openid) > 0 && !ledger.customTo.has(openid)).length,
    noMessage: windowed.filter((openid) => received(openid) === 0).length,
    recordedUnknown: windowed.filter((openid) => recordedUnknown(records.get(openid))).length,
    recordedUnknownButDelivered: windowed.filter(
      (openid) => recordedUnknown(records.get(openid)) && received(openid) > 0,
    ).length,
    duplicated: windowed.filter((openid) => received(openid) > 1).length,
  };
}

/** The windowed users who received nothing: what Fanout recorded for them and what the calls did. */
function noMessageUsers(
  windowed: readonly string[],
  ledger: Ledger,
  records: ReadonlyMap<string, RecordView>,
  calls: Record<string, number>,
) {
  const noMessageRecords = windowed
    .filter((openid) => (ledger.perOpenid.get(openid) ?? 0) === 0)
    .map((openid) => records.get(openid));
  const customCalls = calls.custom_send ?? 0;
  const customDelivered = ledger.byChannel.custom ?? 0;
  return {
    count: noMessageRecords.length,
    recordedUnknown: noMessageRecords.filter(recordedUnknown).length,
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
  };
}
