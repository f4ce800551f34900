/**
 * AWS list prices the cost model uses: us-east-1, on-demand, no free tier, as published on AWS's
 * pricing pages for each service. Change them here only; every figure the benchmark prints follows.
 */
export const PRICES = {
  /** When these were last checked against the pricing pages. */
  checked: "2026-11-23",
  region: "us-east-1",
  lambda: {
    /** Per request, any architecture. */
    requestUsd: 0.2 / 1e6,
    /** Per GB-second on arm64 (Graviton), first pricing tier. */
    gbSecondArm64Usd: 0.0000133334,
  },
  sqs: {
    /** Standard queue, per request; each 64 KB of a request's payload is billed as one request. */
    requestUsd: 0.4 / 1e6,
    billingChunkBytes: 64 * 1024,
  },
  dynamodb: {
    /** On-demand, standard table class (prices since November 2024). */
    writeRequestUnitUsd: 0.625 / 1e6,
    readRequestUnitUsd: 0.125 / 1e6,
    storageGbMonthUsd: 0.25,
  },
  cloudwatchLogs: {
    /** Standard log class ingestion; Lambda's own platform lines count as well. */
    ingestionGbUsd: 0.5,
  },
  dataTransfer: {
    /** Internet egress (WeChat's API is on the internet), first 10 TB/month tier. */
    outGbUsd: 0.09,
  },
  /** The egress VPC's NAT (infra/network.ts): one per availability zone. */
  nat: {
    /** `ec2`: fck-nat on an on-demand t4g.nano (Linux, arm64). */
    t4gNanoHourUsd: 0.0042,
    /** Its root volume: gp3 per GB-month, at the 8 GB an AMI usually asks for (check the AMI's). */
    gp3GbMonthUsd: 0.08,
    rootVolumeGb: 8,
    /** `managed`: a NAT gateway's hour, and each GB it processes (both directions). */
    gatewayHourUsd: 0.045,
    gatewayProcessedGbUsd: 0.045,
    /** Every public IPv4 address, an Elastic IP included, since February 2024. */
    publicIpv4HourUsd: 0.005,
    /** The Route 53 private hosted zone of the VPC's Cloud Map namespace (SST creates one). */
    hostedZoneMonthUsd: 0.5,
  },
} as const;
