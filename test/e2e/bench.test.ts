import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_IN_FLIGHT } from "../../functions/config.ts";
import { runAudience } from "../../infra/local/bench/scenario.ts";

describe("npm run bench: one small scenario", () => {
  it("measures a broadcast end to end with figures that agree with each other and with the emulators", async () => {
    const [r] = await runAudience({ audience: 300, latenciesMs: [20], senders: 2 });
    if (!r) throw new Error("no result");
    expect(r.recipients).toBe(300);
    expect(r.delivered + r.failed).toBe(300);
    // Both figures are rounded (whole recipients a second, milliseconds), so they agree to within 1%.
    expect(Math.abs(r.recipientsPerSecond * r.elapsedSeconds - 300)).toBeLessThan(3);
    // 2 senders × their calls in flight / 20 ms.
    expect(r.idealRecipientsPerSecond).toBe((2 * DEFAULT_MAX_IN_FLIGHT * 1000) / 20);
    expect(r.tokenFetches).toBe(1);
    // Every template message's delivery report was pushed, kept and tallied.
    expect(r.deliveryReports.confirmed + r.deliveryReports.rejected).toBe(r.delivered);
    expect(r.reportPushes).toEqual({ pushed: r.delivered, failed: 0 });
    // What the functions and Lambda's pollers counted is what DynamoDB Local and the SQS emulator saw.
    expect(r.countMismatches).toEqual({});
    expect(r.countsAgree).toBe(true);
    // One report kept per template message, and one item per flush of 25 records: a PutItem each.
    expect(r.awsRequestsPer1k["DynamoDB.PutItem"]).toBeGreaterThanOrEqual(
      ((r.delivered + 12) * 1000) / 300 - 1,
    );
    // A write unit per report; the records, grouped, cost a small part of one.
    expect(r.dynamoWriteUnitsPerRecipient).toBeGreaterThanOrEqual(1);
    expect(r.dynamoWriteUnitsPerRecipient).toBeLessThan(1.5);
    expect(r.notifyP99Ms).toBeGreaterThanOrEqual(r.notifyP50Ms);
    expect(r.peakRssMb.sender).toBeGreaterThan(0);
    expect(r.costPerMillionUsd).toBeCloseTo(
      r.cost.lines.reduce((sum, l) => sum + l.usdPerMillion, 0),
      2,
    );
    expect(r.cpuSeconds["DynamoDB Local"]).toBeGreaterThan(0);
  });
});
