import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { reportKey } from "../../core/callback.ts";
import type { ReportReader } from "../../core/ports.ts";
import { groupsOf } from "../groups.ts";
import { pause } from "./unprocessed.ts";

/** Delivery reports as the callback keeps them: inbox items `report#<msgid>` with WeChat's status. */
export class DynamoReportStore implements ReportReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly inboxTable: string,
  ) {}

  async statuses(msgids: readonly number[]): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    const byKey = new Map(msgids.map((msgid) => [reportKey(msgid), msgid]));
    for (const group of groupsOf([...byKey.keys()], 100)) {
      let keys: Record<string, unknown>[] | undefined = group.map((eventKey) => ({ eventKey }));
      for (let round = 0; keys && keys.length > 0; round += 1) {
        // Eventually consistent: half the price, and a report a second late is counted by the next pass.
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.inboxTable]: { Keys: keys, ProjectionExpression: "eventKey, report" } },
          }),
        );
        for (const item of out.Responses?.[this.inboxTable] ?? []) {
          const msgid = byKey.get(item.eventKey as string);
          if (msgid !== undefined && typeof item.report === "string") found.set(msgid, item.report);
        }
        keys = out.UnprocessedKeys?.[this.inboxTable]?.Keys;
        if (keys?.length) await pause(round);
      }
    }
    return found;
  }
}
