/**
 * One broadcast's figures, from the snapshots the scenario took before it, when it was done and after
 * its delivery reports: throughput, the notify's answer times, AWS requests on both sides of the
 * emulators' proxies, CPU by process and the cost model's estimate.
 */
import { availableParallelism } from "node:os";
import { functions as definedFunctions } from "../../../common/definitions.ts";
import { RECORD_RETENTION_SECONDS } from "../../../functions/adapters/dynamodb/delivery-store.ts";
import type { PostView } from "../../../functions/contracts/api.ts";
import type { RunnerStats } from "../lambda-runner.ts";
import type { SimStats } from "../wechat-sim/simulator.ts";
import { type CostEstimate, estimateCost, type FunctionUsage } from "./cost-model.ts";
import {
  addCounts,
  type Counts,
  diff,
  mapValues,
  mismatches,
  percentile,
  round,
  sumValues,
} from "./figures.ts";

/** The functions a broadcast costs: the admin API's seeding and the benchmark's polling are not. */
const PIPELINE = ["notify", "fanout", "sender", "callback"] as const;
type PipelineFunction = (typeof PIPELINE)[number];
/** An HTTPS request to WeChat: request line, headers and a template message body, roughly. */
const EGRESS_BYTES_PER_CALL = 1024;
/** WeChat's answer: status line, headers and `{"errcode":0,"errmsg":"ok","msgid":…}`, roughly. */
const INGRESS_BYTES_PER_CALL = 300;
const RECORD_DAYS = RECORD_RETENTION_SECONDS / 86_400;

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
  readonly awsRequestsPer1k: Counts;
  /** The same requests as DynamoDB Local and the SQS emulator received them (proxies in front). */
  readonly emulatorRequestsPer1k: Counts;
  readonly countsAgree: boolean;
  /** Operations the two sides counted differently: `[functions and pollers, emulators]`. */
  readonly countMismatches: Record<string, [number, number]>;
  readonly dynamoWriteUnitsPerRecipient: number;
  readonly dynamoReadUnitsPerRecipient: number;
  readonly logBytesPerRecipient: number;
  readonly deliveryReports: { readonly confirmed: number; readonly rejected: number };
  /** The simulator's pushes of those reports to the callback: answered 2xx, and not. */
  readonly reportPushes: { readonly pushed: number; readonly failed: number };
  /** CPU seconds during the broadcast by process, and the share of the machine's cores they used. */
  readonly cpuSeconds: Counts;
  readonly cpuBusyShare: number;
  readonly bottleneck: string;
  /** What each pipeline function did for this broadcast and its reports (the cost model's input). */
  readonly functions: Record<string, { invocations: number; billedMs: number; logBytes: number }>;
  /** Seconds from releasing WeChat's delivery reports until the tally had counted them all. */
  readonly reportSeconds: number;
  readonly cost: CostEstimate;
  readonly costPerMillionUsd: number;
  /** Suppression's writes (the callback's UpdateItem per `failed:user block` report) per recipient. */
  readonly suppressionWritesPerRecipient: number;
}

/** What the stack had counted at one moment. */
export interface Snapshot {
  readonly runner: RunnerStats;
  readonly emulator: Counts;
  readonly sqsUnits: Counts;
  readonly sim: SimStats;
  readonly cpu: Counts;
}

export interface BroadcastMeasurements {
  readonly audience: number;
  readonly latencyMs: number;
  readonly senders: number;
  readonly maxInFlight: number;
  /** The post when nothing was pending, and once its delivery reports were counted. */
  readonly final: PostView;
  readonly reported: PostView;
  readonly elapsedSeconds: number;
  readonly reportSeconds: number;
  readonly reportPushes: { pushed: number; failed: number };
  readonly notifyMs: readonly number[];
  readonly before: Snapshot;
  readonly broadcastDone: Snapshot;
  readonly after: Snapshot;
  readonly storedBytesPerRecipient: number;
}

/** What one pipeline function did between two snapshots. */
interface FunctionDelta {
  readonly invocations: number;
  readonly billedMs: number;
  readonly logBytes: number;
  readonly dynamoReadUnits: number;
  readonly dynamoWriteUnits: number;
}

type PipelineUsage = Readonly<Record<PipelineFunction, FunctionDelta>>;

export function summarize(m: BroadcastMeasurements): ScenarioResult {
  const recipients = m.final.total;
  const per1k = (n: number) => round((n * 1000) / recipients, 2);
  const perRecipient = (n: number) => round(n / recipients, 3);
  const pipeline = pipelineUsage(m.before.runner, m.after.runner);
  const requests = requestsOf(m.before, m.after, pipeline);
  const cost = costOf(m, pipeline, requests.sqsBilledRequests);
  return {
    ...throughput(m),
    ...notifyTimes(m.notifyMs),
    peakRssMb: {
      fanout: Math.round((m.after.runner.functions.fanout?.peakRssBytes ?? 0) / 2 ** 20),
      sender: Math.round((m.after.runner.functions.sender?.peakRssBytes ?? 0) / 2 ** 20),
    },
    tokenFetches: tokenFetches(m.after.sim) - tokenFetches(m.before.sim),
    awsRequestsPer1k: mapValues(requests.pipelineAws, per1k),
    emulatorRequestsPer1k: mapValues(requests.emulatorSide, per1k),
    countsAgree: Object.keys(requests.countMismatches).length === 0,
    countMismatches: requests.countMismatches,
    dynamoWriteUnitsPerRecipient: perRecipient(sumPipeline(pipeline, (f) => f.dynamoWriteUnits)),
    dynamoReadUnitsPerRecipient: perRecipient(sumPipeline(pipeline, (f) => f.dynamoReadUnits)),
    logBytesPerRecipient: round(sumPipeline(pipeline, (f) => f.logBytes) / recipients, 2),
    deliveryReports: { confirmed: m.reported.confirmed, rejected: m.reported.rejected },
    reportPushes: m.reportPushes,
    ...cpuUse(m.before.cpu, m.broadcastDone.cpu, m.elapsedSeconds),
    functions: Object.fromEntries(
      PIPELINE.map((name) => {
        const { invocations, billedMs, logBytes } = pipeline[name];
        return [name, { invocations, billedMs, logBytes }];
      }),
    ),
    reportSeconds: round(m.reportSeconds, 1),
    cost,
    costPerMillionUsd: round(cost.totalUsdPerMillion, 3),
    suppressionWritesPerRecipient: suppressionWrites(m, recipients),
  };
}

/** The callback's UpdateItem requests: on a delivery report only a `failed:user block` one's suppression. */
function suppressionWrites(m: BroadcastMeasurements, recipients: number): number {
  const updates = (s: Snapshot) => s.runner.awsRequestsByFunction.callback?.["DynamoDB.UpdateItem"] ?? 0;
  return round((updates(m.after) - updates(m.before)) / recipients, 4);
}

/** Recipients per second against the bound the senders' in-flight limit sets at this latency. */
function throughput(m: BroadcastMeasurements) {
  const recipients = m.final.total;
  const ideal = m.latencyMs > 0 ? Math.round((m.senders * m.maxInFlight * 1000) / m.latencyMs) : null;
  const rps = Math.round(recipients / m.elapsedSeconds);
  return {
    audience: m.audience,
    latencyMs: m.latencyMs,
    recipients,
    delivered: m.final.sent,
    failed: m.final.failed,
    elapsedSeconds: round(m.elapsedSeconds, 3),
    recipientsPerSecond: rps,
    idealRecipientsPerSecond: ideal,
    shareOfIdeal: ideal ? round(rps / ideal, 3) : null,
    senders: m.senders,
    maxInFlightPerSender: m.maxInFlight,
  };
}

/** The first notify's answer time and the percentiles over all of them. */
function notifyTimes(notifyMs: readonly number[]) {
  const sorted = [...notifyMs].sort((a, b) => a - b);
  return {
    notifyFirstMs: round(notifyMs[0] ?? 0, 1),
    notifyP50Ms: round(percentile(sorted, 0.5), 1),
    notifyP99Ms: round(percentile(sorted, 0.99), 1),
  };
}

function pipelineUsage(before: RunnerStats, after: RunnerStats): PipelineUsage {
  const delta = (name: PipelineFunction): FunctionDelta => {
    const a = after.functions[name];
    const b = before.functions[name];
    if (!a || !b) throw new Error(`no stats for ${name}`);
    return {
      invocations: a.invocations - b.invocations,
      billedMs: a.billedMs - b.billedMs,
      logBytes: a.logBytes - b.logBytes,
      dynamoReadUnits: a.dynamoReadUnits - b.dynamoReadUnits,
      dynamoWriteUnits: a.dynamoWriteUnits - b.dynamoWriteUnits,
    };
  };
  return Object.fromEntries(PIPELINE.map((name) => [name, delta(name)])) as Record<
    PipelineFunction,
    FunctionDelta
  >;
}

function sumPipeline(pipeline: PipelineUsage, pick: (f: FunctionDelta) => number): number {
  return Object.values(pipeline).reduce((n, f) => n + pick(f), 0);
}

/**
 * The broadcast's AWS requests as the functions and Lambda's pollers made them and as the emulators
 * received them, and the SQS requests AWS would bill.
 */
function requestsOf(before: Snapshot, after: Snapshot, pipeline: PipelineUsage) {
  const requests = diff(sumRequests(after.runner), sumRequests(before.runner));
  const eventSource = diff(after.runner.eventSourceRequests, before.runner.eventSourceRequests);
  const sdkSide = addCounts(diff(after.runner.awsRequests, before.runner.awsRequests), eventSource);
  const emulatorSide = diff(after.emulator, before.emulator);
  // Lambda's pollers long-poll 20 s in AWS, the local runner 1 s: only receives that returned a
  // batch (one per queue-consumer invocation) are a cost of the broadcast.
  const receivesWithMessages = pipeline.fanout.invocations + pipeline.sender.invocations;
  const pollerDeletes = eventSource["SQS.DeleteMessageBatch"] ?? 0;
  const pipelineAws = addCounts(requests, {
    "SQS.ReceiveMessage (Lambda poller, non-empty)": receivesWithMessages,
    "SQS.DeleteMessageBatch (Lambda poller)": pollerDeletes,
  });
  const functionUnits = Object.entries(diff(after.sqsUnits, before.sqsUnits))
    .filter(
      ([op]) =>
        op !== "SQS.ReceiveMessage" && op !== "SQS.DeleteMessageBatch" && op !== "SQS.GetQueueAttributes",
    )
    .reduce((n, [, u]) => n + u, 0);
  return {
    pipelineAws,
    emulatorSide,
    countMismatches: mismatches(sdkSide, emulatorSide),
    sqsBilledRequests: functionUnits + receivesWithMessages + pollerDeletes,
  };
}

function sumRequests(stats: RunnerStats): Counts {
  return PIPELINE.reduce((total, name) => addCounts(total, stats.awsRequestsByFunction[name] ?? {}), {});
}

function costOf(m: BroadcastMeasurements, pipeline: PipelineUsage, sqsBilledRequests: number): CostEstimate {
  const simCalls = sumValues(m.after.sim.calls) - sumValues(m.before.sim.calls);
  return estimateCost({
    recipients: m.final.total,
    functions: Object.fromEntries(
      PIPELINE.map((name): [string, FunctionUsage] => [
        name,
        { ...pipeline[name], memoryMb: definedFunctions[name].memoryMb },
      ]),
    ),
    sqsBilledRequests,
    dynamoWriteUnits: sumPipeline(pipeline, (f) => f.dynamoWriteUnits),
    dynamoReadUnits: sumPipeline(pipeline, (f) => f.dynamoReadUnits),
    storedBytesPerRecipient: m.storedBytesPerRecipient,
    storedDays: RECORD_DAYS,
    egressBytes: simCalls * EGRESS_BYTES_PER_CALL,
    ingressBytes: simCalls * INGRESS_BYTES_PER_CALL,
    // The default deploy: fck-nat, no per-GB charge beyond egress (the README prices managed NAT).
    nat: "ec2",
    platformLogBytesPerInvocation: 0,
  });
}

/** CPU seconds by process while the broadcast ran, and how busy they kept the machine's cores. */
function cpuUse(before: Counts, done: Counts, elapsedSeconds: number) {
  const cpuSeconds = Object.fromEntries(
    Object.entries(done).map(([k, v]) => [k, round(v - (before[k] ?? 0), 1)]),
  );
  const [bottleneck = "?"] = Object.entries(cpuSeconds).sort(([, a], [, b]) => b - a)[0] ?? [];
  return {
    cpuSeconds,
    cpuBusyShare: round(sumValues(cpuSeconds) / (elapsedSeconds * availableParallelism()), 2),
    bottleneck,
  };
}

function tokenFetches(s: SimStats): number {
  return s.tokenFetches.stable + s.tokenFetches.stableForced + s.tokenFetches.classic;
}
