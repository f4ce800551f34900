import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { CapClaim, CapSlot, CapState, DailyCapStore } from "../../core/ports.ts";
import { ignoreConditionFailure, isConditionFailure } from "./transactions.ts";
import { batchGetByOpenid } from "./unprocessed.ts";

/** Slot `i` is the subscriber's attribute `capSlot<i>`: `{broadcastId, at}`. */
const slotAttribute = (index: number) => `capSlot${index}`;

function slotOf(value: unknown): CapSlot | undefined {
  const slot = value as { broadcastId?: unknown; at?: unknown } | undefined;
  return typeof slot?.broadcastId === "string" && typeof slot.at === "number"
    ? { broadcastId: slot.broadcastId, at: slot.at }
    : undefined;
}

/** The cap's view of a subscriber's item. */
function capStateOf(item: Record<string, unknown>, slots: number): CapState {
  const calls = item.windowCalls;
  return {
    slots: Array.from({ length: slots }, (_, i) => slotOf(item[slotAttribute(i)])),
    ...(typeof item.windowUntil === "number" ? { windowUntil: item.windowUntil } : {}),
    ...(typeof item.windowRemaining === "number" ? { windowRemaining: item.windowRemaining } : {}),
    windowCalls: calls instanceof Set ? [...(calls as Set<string>)] : [],
  };
}

/** The slot attributes' names as `#s<i>`, for expressions over the first `slots`. */
function slotNames(slots: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: slots }, (_, i) => [`#s${i}`, slotAttribute(i)]));
}

/**
 * The daily cap's slots on the subscribers' items (core/daily-cap.ts). A refused take hands back the
 * stored item with the refusal itself (ReturnValuesOnConditionCheckFailure), so the next try needs no
 * read of its own.
 */
export class DynamoDailyCapStore implements DailyCapStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Strongly consistent, so a slot given back a moment ago is seen free: one read unit per
   * subscriber (their items are far below 4 KB), 100 to a request.
   */
  async read(openids: readonly string[], slots: number): Promise<ReadonlyMap<string, CapState>> {
    const names = { ...slotNames(slots), "#o": "openid" };
    const projection = [
      "#o",
      ...Object.keys(slotNames(slots)),
      "windowUntil",
      "windowRemaining",
      "windowCalls",
    ].join(", ");
    const items = await batchGetByOpenid(this.db, this.table, openids, {
      ConsistentRead: true,
      ProjectionExpression: projection,
      ExpressionAttributeNames: names,
    });
    const states = new Map<string, CapState>();
    for (const item of items) states.set(String(item.openid), capStateOf(item, slots));
    return states;
  }

  async take(openid: string, broadcastId: string, claim: CapClaim): Promise<"taken" | "missing" | CapState> {
    const names = slotNames(claim.slots);
    const slot = `#s${claim.index}`;
    const conditions = [
      "attribute_exists(openid)",
      `(attribute_not_exists(${slot}) OR ${slot}.#at <= :freeBefore)`,
      ...Object.keys(names).map((s) => `(attribute_not_exists(${s}) OR ${s}.#b <> :b)`),
      ...(claim.window
        ? ["windowRemaining > :zero AND windowUntil > :now AND NOT contains(windowCalls, :b)"]
        : []),
    ];
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: conditions.join(" AND "),
          UpdateExpression: claim.window
            ? `SET ${slot} = :slot, windowRemaining = windowRemaining - :one ADD windowCalls :calls`
            : `SET ${slot} = :slot`,
          ExpressionAttributeNames: { ...names, "#at": "at", "#b": "broadcastId" },
          ExpressionAttributeValues: {
            ":slot": { broadcastId, at: claim.now },
            ":freeBefore": claim.freeBefore,
            ":b": broadcastId,
            ...(claim.window
              ? { ":zero": 0, ":one": 1, ":now": claim.now, ":calls": new Set([broadcastId]) }
              : {}),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return "taken";
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The document client does not unmarshall items carried by exceptions.
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      return item ? capStateOf(unmarshall(item), claim.slots) : "missing";
    }
  }

  async giveBack(openid: string, broadcastId: string, index: number): Promise<void> {
    await ignoreConditionFailure(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { openid },
          ConditionExpression: "#s.#b = :b",
          UpdateExpression: "REMOVE #s",
          ExpressionAttributeNames: { "#s": slotAttribute(index), "#b": "broadcastId" },
          ExpressionAttributeValues: { ":b": broadcastId },
        }),
      ),
    );
  }
}
