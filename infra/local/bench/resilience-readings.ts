/**
 * What bench:resilience reads after a run: the simulator's ledger and counters (what WeChat
 * delivered), and what Fanout recorded in DynamoDB Local and left in the send queue's dead letters.
 */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { QueryCommand, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { tables } from "../../../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../../../common/env-names.ts";
import type { PostView } from "../../../functions/contracts/api.ts";
import { localDocumentClient, localSqsClient } from "../aws-clients.ts";
import type { LocalApp } from "../local-app.ts";
import type { SimStats, WeChatSimulator } from "../wechat-sim/simulator.ts";
import { diff, round } from "./figures.ts";

/** Messages per openid in the simulator's ledger from row `from` on, and by channel. */
export function ledgerCounts(sim: WeChatSimulator, from: number) {
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
export function exactlyOnce(
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

export function statusTotals(s: PostView | undefined) {
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
export function simDelta(before: SimStats, after: SimStats) {
  return {
    calls: diff(after.calls, before.calls),
    errcodes: diff(after.errcodes, before.errcodes),
    tokenFetches: diff(after.tokenFetches, before.tokenFetches),
    delivered: after.delivered - before.delivered,
    duplicatesSuppressed: after.duplicatesSuppressed - before.duplicatesSuppressed,
    faultsInjected: diff(after.faultsInjected, before.faultsInjected),
  };
}

export interface RecordView {
  readonly outcome: string;
  readonly channel: string | undefined;
  readonly errcode: number | undefined;
  /** WeChat calls made by the invocation that settled the recipient. */
  readonly attempts: number;
}

/** A paid post's delivery records, read from DynamoDB Local (grouped items, one-letter names). */
export async function deliveryRecords(app: LocalApp, broadcastId: string): Promise<Map<string, RecordView>> {
  const env = app.stack.awsEnv;
  const db = localDocumentClient(env);
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
        for (const [openid, view] of recordViews(item)) records.set(openid, view);
      }
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    db.destroy();
  }
  return records;
}

/** The records one item holds: a group's entries, or the item itself. */
function recordViews(item: Record<string, unknown>): [string, RecordView][] {
  if (!Array.isArray(item.entries)) {
    return [
      [
        String(item.openid),
        {
          outcome: String(item.outcome),
          channel: item.channel === undefined ? undefined : String(item.channel),
          errcode: typeof item.errcode === "number" ? item.errcode : undefined,
          attempts: Number(item.attempts ?? 0),
        },
      ],
    ];
  }
  return (item.entries as Record<string, unknown>[]).map((e) => [
    String(e.o),
    {
      outcome: String(e.s),
      channel: e.c === undefined ? undefined : String(e.c),
      errcode: typeof e.e === "number" ? e.e : undefined,
      attempts: Number(e.n ?? 0),
    },
  ]);
}

/** Messages in the send queue's dead-letter queue: a chunk there never completes its broadcast. */
export async function sendDeadLetters(app: LocalApp): Promise<number | null> {
  const env = app.stack.awsEnv;
  const url = env[queueUrlEnvName("send", true)];
  if (!url) return null;
  const sqs = localSqsClient(env);
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
