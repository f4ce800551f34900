import { describe, expect, it } from "vitest";
import { estimateCost, type MeasuredUsage, natStandingCost } from "../../infra/local/bench/cost-model.ts";
import { PRICES } from "../../infra/local/bench/prices.ts";

const usage: MeasuredUsage = {
  recipients: 2_000,
  functions: {
    sender: { invocations: 4, billedMs: 8_000, memoryMb: 512, logBytes: 3_000 },
    callback: { invocations: 1_900, billedMs: 19_000, memoryMb: 256, logBytes: 0 },
  },
  sqsBilledRequests: 50,
  dynamoWriteUnits: 4_000,
  dynamoReadUnits: 1_000,
  storedBytesPerRecipient: 400,
  storedDays: 30.4,
  egressBytes: 2_000 * 1024,
  ingressBytes: 2_000 * 300,
  nat: "ec2",
  platformLogBytesPerInvocation: 0,
};

const line = (estimate: ReturnType<typeof estimateCost>, prefix: string) => {
  const found = estimate.lines.find((l) => l.item.startsWith(prefix));
  if (!found) throw new Error(`no line ${prefix}`);
  return found;
};

describe("estimateCost", () => {
  it("scales each measured quantity to a million recipients and prices it", () => {
    const estimate = estimateCost(usage);
    expect(line(estimate, "Lambda requests").quantityPerMillion).toBe(1_904 * 500);
    expect(line(estimate, "Lambda requests").usdPerMillion).toBeCloseTo(1_904 * 500 * 0.2e-6, 10);
    // 8 s at 0.5 GB + 19 s at 0.25 GB = 8.75 GB-s per 2,000 recipients.
    expect(line(estimate, "Lambda compute").quantityPerMillion).toBeCloseTo(8.75 * 500, 6);
    expect(line(estimate, "DynamoDB writes").usdPerMillion).toBeCloseTo(
      2e6 * PRICES.dynamodb.writeRequestUnitUsd,
      10,
    );
    expect(line(estimate, "DynamoDB reads").quantityPerMillion).toBe(500_000);
    expect(line(estimate, "SQS").quantityPerMillion).toBe(25_000);
    // 400 B × 1M for one month.
    expect(line(estimate, "DynamoDB storage").quantityPerMillion).toBeCloseTo(4e8 / 1024 ** 3, 6);
    expect(line(estimate, "Internet egress").quantityPerMillion).toBeCloseTo((1e6 * 1024) / 1024 ** 3, 6);
    expect(estimate.totalUsdPerMillion).toBeCloseTo(
      estimate.lines.reduce((sum, l) => sum + l.usdPerMillion, 0),
      12,
    );
    expect(estimate.pricesChecked).toBe(PRICES.checked);
  });

  it("counts Lambda's platform log lines per invocation when they are not switched off", () => {
    const quiet = line(estimateCost(usage), "CloudWatch Logs").quantityPerMillion;
    const noisy = line(estimateCost({ ...usage, platformLogBytesPerInvocation: 300 }), "CloudWatch Logs");
    expect(noisy.quantityPerMillion - quiet).toBeCloseTo((1_904 * 300 * 500) / 1024 ** 3, 9);
  });

  it("refuses a run without recipients", () => {
    expect(() => estimateCost({ ...usage, recipients: 0 })).toThrow(RangeError);
  });
});

describe("the egress NAT", () => {
  it("adds per-GB processing, both directions, only for a managed NAT gateway", () => {
    expect(estimateCost(usage).lines.map((l) => l.item)).not.toContain("NAT gateway processing");
    const managed = line(estimateCost({ ...usage, nat: "managed" }), "NAT gateway processing");
    expect(managed.quantityPerMillion).toBeCloseTo((500 * (2_000 * 1024 + 2_000 * 300)) / 1024 ** 3, 9);
    expect(managed.usdPerMillion).toBeCloseTo(
      managed.quantityPerMillion * PRICES.nat.gatewayProcessedGbUsd,
      12,
    );
  });

  it("prices a month of standing egress per zone: instance or gateway, Elastic IP, the VPC's hosted zone", () => {
    const ec2 = natStandingCost("ec2", 2);
    expect(ec2.totalUsd).toBeCloseTo(
      2 * 730 * (PRICES.nat.t4gNanoHourUsd + PRICES.nat.publicIpv4HourUsd) +
        2 * PRICES.nat.rootVolumeGb * PRICES.nat.gp3GbMonthUsd +
        PRICES.nat.hostedZoneMonthUsd,
      9,
    );
    expect(natStandingCost("managed", 2).totalUsd).toBeCloseTo(
      2 * 730 * (PRICES.nat.gatewayHourUsd + PRICES.nat.publicIpv4HourUsd) + PRICES.nat.hostedZoneMonthUsd,
      9,
    );
    expect(natStandingCost("ec2", 1).totalUsd).toBeLessThan(ec2.totalUsd);
    expect(natStandingCost("proxy", 2)).toEqual({ lines: [], totalUsd: 0 });
  });
});
