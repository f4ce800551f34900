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
 * `--only revocation|crash|windows` runs one, `--json` prints one JSON object instead of the summary
 * (`--help` lists them). Progress goes to stderr. Exits 1 when a scenario could not complete, 2 on
 * bad flags.
 */
import { availableParallelism, loadavg } from "node:os";
import { functions, queues } from "../../../common/definitions.ts";
import { LOCAL_SENDERS } from "../app-traffic.ts";
import { oneOf, readCommandLine } from "../cli.ts";
import { round } from "./figures.ts";
import type { exactlyOnce, statusTotals } from "./resilience-readings.ts";
import {
  crash,
  revocation,
  SCENARIOS,
  type ScenarioName,
  TOKEN_ERRCODES,
  windows,
} from "./resilience-scenarios.ts";
import { KILL_INTERVAL_MS, withStack } from "./resilience-stack.ts";

function flags(): { only: readonly ScenarioName[]; json: boolean } {
  const { values } = readCommandLine({
    command: "npm run bench:resilience",
    summary: [
      "npm run bench:resilience: failure scenarios (故障演练) on a fresh local stack each, at production",
      "timeouts: a token revoked mid-run, sender containers killed mid-broadcast, killed senders with",
      "customer-service windows. Progress goes to stderr; exits 1 when a scenario could not complete.",
    ].join("\n"),
    flags: {
      only: {
        type: "string",
        placeholder: SCENARIOS.join("|"),
        defaultText: "all three",
        description: "run one scenario",
        parse: oneOf(SCENARIOS),
      },
      json: { type: "boolean", description: "print one JSON object instead of the summary" },
    },
    examples: ["npm run bench:resilience -- --only revocation"],
  });
  return { only: values.only ? [values.only] : SCENARIOS, json: values.json };
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
    cores: availableParallelism(),
    senders: LOCAL_SENDERS,
    senderTimeoutSeconds: functions.sender.timeoutSeconds,
    sendQueueVisibilitySeconds: queues.send.visibilityTimeoutSeconds,
    sendQueueMaxReceiveCount: queues.send.maxReceiveCount,
    fanoutVisibilitySeconds: queues.fanout.visibilityTimeoutSeconds,
    killIntervalMs: KILL_INTERVAL_MS,
  };
  if (json) console.log(JSON.stringify({ settings, scenarios: results }));
  else
    console.log(
      `settings: ${settings.cores} cores, ${LOCAL_SENDERS} senders, sender timeout ${settings.senderTimeoutSeconds} s, ` +
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
