/**
 * Prices what one benchmark run measured at AWS list prices (prices.ts) and scales it to a million
 * recipients. Pure: the inputs are counts, the output is money, so it is unit-tested on its own.
 */
import { PRICES } from "./prices.ts";

export interface FunctionUsage {
  readonly invocations: number;
  /** Sum of invocation durations rounded up to the millisecond, as Lambda bills them. */
  readonly billedMs: number;
  readonly memoryMb: number;
  /** What the handler wrote to its log. */
  readonly logBytes: number;
}

export interface MeasuredUsage {
  readonly recipients: number;
  /** Per function, everything the broadcast (and its delivery reports) caused. */
  readonly functions: Readonly<Record<string, FunctionUsage>>;
  /** SQS requests in 64 KB billing units: the functions' own and Lambda's pollers' (receive, delete). */
  readonly sqsBilledRequests: number;
  readonly dynamoWriteUnits: number;
  readonly dynamoReadUnits: number;
  /** Bytes stored per recipient (delivery record and its index entry, DynamoDB's 100-byte overhead included). */
  readonly storedBytesPerRecipient: number;
  readonly storedDays: number;
  /** Bytes sent to WeChat's API over the internet (request lines, headers, bodies). */
  readonly egressBytes: number;
  /** Bytes WeChat answers with: a managed NAT gateway bills both directions. */
  readonly ingressBytes: number;
  /** How the calls leave AWS (infra/network.ts): only a managed NAT gateway bills per GB. */
  readonly nat: "ec2" | "managed" | "proxy";
  /**
   * Log bytes Lambda itself adds per invocation (START/END/REPORT lines); 0 when the functions'
   * system log level is WARN, as infra/functions.ts sets it.
   */
  readonly platformLogBytesPerInvocation: number;
}

export interface CostLine {
  readonly item: string;
  /** What was priced, per million recipients, in the line's unit. */
  readonly quantityPerMillion: number;
  readonly unit: string;
  readonly usdPerMillion: number;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly totalUsdPerMillion: number;
  readonly pricesChecked: string;
  readonly region: string;
}

const GB = 1024 ** 3;
const DAYS_PER_MONTH = 30.4;

/** Prices a run's measured usage per million recipients at the list prices of prices.ts. */
export function estimateCost(usage: MeasuredUsage): CostEstimate {
  if (usage.recipients <= 0) throw new RangeError("recipients must be positive");
  const perMillion = (n: number) => (n * 1e6) / usage.recipients;
  const fns = Object.values(usage.functions);
  const invocations = perMillion(fns.reduce((n, f) => n + f.invocations, 0));
  const gbSeconds = perMillion(fns.reduce((n, f) => n + (f.billedMs / 1000) * (f.memoryMb / 1024), 0));
  const logBytes = perMillion(
    fns.reduce((n, f) => n + f.logBytes + f.invocations * usage.platformLogBytesPerInvocation, 0),
  );
  const sqs = perMillion(usage.sqsBilledRequests);
  const wru = perMillion(usage.dynamoWriteUnits);
  const rru = perMillion(usage.dynamoReadUnits);
  const storedGbMonths = (1e6 * usage.storedBytesPerRecipient * (usage.storedDays / DAYS_PER_MONTH)) / GB;
  const egressGb = perMillion(usage.egressBytes) / GB;
  const natGb = usage.nat === "managed" ? perMillion(usage.egressBytes + usage.ingressBytes) / GB : 0;

  const lines: CostLine[] = [
    line("Lambda requests", invocations, "requests", invocations * PRICES.lambda.requestUsd),
    line("Lambda compute (arm64)", gbSeconds, "GB-s", gbSeconds * PRICES.lambda.gbSecondArm64Usd),
    line("SQS requests (64 KB units)", sqs, "requests", sqs * PRICES.sqs.requestUsd),
    line("DynamoDB writes", wru, "WRU", wru * PRICES.dynamodb.writeRequestUnitUsd),
    line("DynamoDB reads", rru, "RRU", rru * PRICES.dynamodb.readRequestUnitUsd),
    line(
      `DynamoDB storage (${usage.storedDays} days)`,
      storedGbMonths,
      "GB-month",
      storedGbMonths * PRICES.dynamodb.storageGbMonthUsd,
    ),
    line(
      "CloudWatch Logs ingestion",
      logBytes / GB,
      "GB",
      (logBytes / GB) * PRICES.cloudwatchLogs.ingestionGbUsd,
    ),
    line("Internet egress to WeChat", egressGb, "GB", egressGb * PRICES.dataTransfer.outGbUsd),
    ...(usage.nat === "managed"
      ? [line("NAT gateway processing", natGb, "GB", natGb * PRICES.nat.gatewayProcessedGbUsd)]
      : []),
  ];
  return {
    lines,
    totalUsdPerMillion: lines.reduce((sum, l) => sum + l.usdPerMillion, 0),
    pricesChecked: PRICES.checked,
    region: PRICES.region,
  };
}

function line(item: string, quantityPerMillion: number, unit: string, usdPerMillion: number): CostLine {
  return { item, quantityPerMillion, unit, usdPerMillion };
}

const HOURS_PER_MONTH = 730;

export interface MonthlyCost {
  readonly lines: readonly { readonly item: string; readonly quantity: string; readonly usd: number }[];
  readonly totalUsd: number;
}

/**
 * What the egress for the IP whitelist costs a month whatever is sent: per zone a NAT instance and
 * its root volume (`ec2`) or a NAT gateway (`managed`), each with its public IPv4 address, plus the
 * VPC's hosted zone. Nothing with `proxy` (the operator's own proxy is outside this account).
 */
export function natStandingCost(nat: MeasuredUsage["nat"], zones: number): MonthlyCost {
  const p = PRICES.nat;
  const hours = zones * HOURS_PER_MONTH;
  const perZone = `${zones} × ${HOURS_PER_MONTH} h`;
  const lines =
    nat === "proxy"
      ? []
      : [
          nat === "ec2"
            ? { item: "NAT instance (t4g.nano, fck-nat)", quantity: perZone, usd: hours * p.t4gNanoHourUsd }
            : { item: "NAT gateway", quantity: perZone, usd: hours * p.gatewayHourUsd },
          ...(nat === "ec2"
            ? [
                {
                  item: "NAT instance root volume (gp3)",
                  quantity: `${zones} × ${p.rootVolumeGb} GB`,
                  usd: zones * p.rootVolumeGb * p.gp3GbMonthUsd,
                },
              ]
            : []),
          { item: "Elastic IP (public IPv4)", quantity: perZone, usd: hours * p.publicIpv4HourUsd },
          { item: "VPC hosted zone (Cloud Map)", quantity: "1", usd: p.hostedZoneMonthUsd },
        ];
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0) };
}
