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
} as const;
