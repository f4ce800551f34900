/**
 * `npm run bench`: the whole local stack over a matrix of audiences and simulated WeChat latencies.
 * Prints a table, writes `bench-results/latest.json` and `bench-results/throughput.svg`; `--help`
 * lists the flags.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { LOCAL_SENDERS } from "../app-traffic.ts";
import { readCommandLine, wholeNumber, wholeNumbers } from "../cli.ts";
import { throughputChart } from "./chart.ts";
import { natStandingCost } from "./cost-model.ts";
import { type GuardCost, guardCost, guardTable } from "./guard-cost.ts";
import { runAudience, type ScenarioResult } from "./scenario.ts";

const { values } = readCommandLine({
  command: "npm run bench",
  summary: [
    "npm run bench: throughput and cost (性能与成本) of the whole local stack over audiences × simulated",
    "WeChat latencies. Prints a table; writes <out>/latest.json and <out>/throughput.svg.",
  ].join("\n"),
  flags: {
    quick: { type: "boolean", description: "one small scenario: 1,000 recipients at 50 ms" },
    json: { type: "boolean", description: "print only one JSON object on stdout (progress goes to stderr)" },
    million: { type: "boolean", description: "add a 1,000,000-recipient audience" },
    "no-reports": { type: "boolean", description: "leave WeChat's delivery reports (and their cost) out" },
    audiences: {
      type: "string",
      placeholder: "n,n…",
      defaultText: "1000,10000,100000; 1000 with --quick",
      description: "audience sizes, comma-separated",
      parse: wholeNumbers(1),
    },
    latencies: {
      type: "string",
      placeholder: "ms,ms…",
      defaultText: "0,50,200; 50 with --quick",
      description: "simulated WeChat latencies in ms, comma-separated",
      parse: wholeNumbers(0),
    },
    senders: {
      type: "string",
      placeholder: "n",
      defaultText: String(LOCAL_SENDERS),
      description: "sender containers",
      parse: wholeNumber(1, 100),
    },
    "daily-cap": {
      type: "string",
      placeholder: "n",
      description:
        "also broadcast each scenario with MAX_POSTS_PER_SUBSCRIBER_PER_DAY=n and report the cap's and suppression's cost",
      parse: wholeNumber(1, 10),
    },
    out: {
      type: "string",
      placeholder: "dir",
      default: "bench-results",
      description: "where results are written",
    },
  },
  examples: [
    "npm run bench -- --quick",
    "npm run bench -- --audiences 1000,10000 --latencies 0,50",
    "npm run bench -- --quick --daily-cap 3",
  ],
});

const audiences =
  values.audiences ??
  (values.quick ? [1_000] : [1_000, 10_000, 100_000, ...(values.million ? [1_000_000] : [])]);
const latencies = values.latencies ?? (values.quick ? [50] : [0, 50, 200]);
const senders = values.senders;
const progress = (line: string) => process.stderr.write(`${line}\n`);

function machine(): string {
  const [cpu] = cpus();
  return `${cpus().length} × ${cpu?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function table(results: readonly ScenarioResult[]): string {
  const header = [
    "audience",
    "latency",
    "recipients/s",
    "ideal/s",
    "share",
    "notify p50/p99 ms",
    "RSS fan-out/sender MB",
    "tokens",
    "WRU/rcpt",
    "RRU/rcpt",
    "log B/rcpt",
    "$/M",
    "busiest process (CPU s)",
  ];
  const rows = results.map((r) => [
    r.audience.toLocaleString("en-US"),
    `${r.latencyMs} ms`,
    r.recipientsPerSecond.toLocaleString("en-US"),
    r.idealRecipientsPerSecond?.toLocaleString("en-US") ?? "—",
    r.shareOfIdeal === null ? "—" : `${Math.round(r.shareOfIdeal * 100)}%`,
    `${r.notifyP50Ms} / ${r.notifyP99Ms}`,
    `${r.peakRssMb.fanout} / ${r.peakRssMb.sender}`,
    String(r.tokenFetches),
    r.dynamoWriteUnitsPerRecipient.toFixed(2),
    r.dynamoReadUnitsPerRecipient.toFixed(2),
    r.logBytesPerRecipient.toFixed(1),
    `$${r.costPerMillionUsd.toFixed(2)}`,
    `${r.bottleneck} (${r.cpuSeconds[r.bottleneck]})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}

function costTable(result: ScenarioResult): string {
  const lines = result.cost.lines.map(
    (l) =>
      `  ${l.item.padEnd(34)} ${l.quantityPerMillion.toFixed(l.quantityPerMillion < 10 ? 3 : 0).padStart(12)} ${l.unit.padEnd(9)} $${l.usdPerMillion.toFixed(4)}`,
  );
  return [
    `Cost per million recipients (${result.audience.toLocaleString("en-US")} recipients, ${result.latencyMs} ms; ${result.cost.region} list prices checked ${result.cost.pricesChecked}):`,
    ...lines,
    `  ${"total".padEnd(57)} $${result.cost.totalUsdPerMillion.toFixed(4)}`,
  ].join("\n");
}

/** The egress's fixed monthly cost for the default deploy and its alternatives (2 zones). */
function natTable(): string {
  const rows = (["ec2", "managed"] as const).flatMap((nat) =>
    [2, 1].map((zones) => {
      const cost = natStandingCost(nat, zones);
      return `  ${`${nat === "ec2" ? "fck-nat (default)" : "managed NAT gateway"}, ${zones} zone${zones > 1 ? "s" : ""}`.padEnd(34)} $${cost.totalUsd.toFixed(2)}/month  (${cost.lines.map((l) => `${l.item} $${l.usd.toFixed(2)}`).join(", ")})`;
    }),
  );
  return ["Fixed monthly cost of the whitelisted egress (WECHAT_EGRESS; none with a proxy):", ...rows].join(
    "\n",
  );
}

async function main(): Promise<void> {
  const results: ScenarioResult[] = [];
  const guard: GuardCost[] = [];
  const started = new Date();
  const dailyCap = values["daily-cap"];
  for (const audience of audiences) {
    progress(`audience ${audience.toLocaleString("en-US")}: latencies ${latencies.join(", ")} ms`);
    const scenario = {
      audience,
      latenciesMs: latencies,
      senders,
      reports: !values["no-reports"],
      log: progress,
    };
    const baseline = await runAudience(scenario);
    results.push(...baseline);
    if (dailyCap === undefined) continue;
    progress(`audience ${audience.toLocaleString("en-US")} again with a daily cap of ${dailyCap}`);
    const capped = await runAudience({ ...scenario, dailyCap });
    capped.forEach((r, i) => {
      const base = baseline[i];
      if (base) guard.push(guardCost(r, base, dailyCap));
    });
  }
  const run = {
    startedAt: started.toISOString(),
    machine: machine(),
    results,
    ...(guard.length > 0 ? { guardCost: guard } : {}),
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "latest.json"), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(
    join(values.out, "throughput.svg"),
    throughputChart(results, `${machine()}; ${started.toISOString().slice(0, 10)}`),
  );
  if (values.json) {
    console.log(JSON.stringify(results.length === 1 ? results[0] : run));
    return;
  }
  console.log(`\n${machine()}\n\n${table(results)}\n`);
  const costliest = [...results].sort((a, b) => b.audience - a.audience || a.latencyMs - b.latencyMs)[0];
  if (costliest) console.log(`${costTable(costliest)}\n`);
  console.log(`${natTable()}\n`);
  if (guard.length > 0) console.log(`${guardTable(guard)}\n`);
  for (const r of results) {
    if (!r.countsAgree)
      console.log(`warning: SDK and emulator request counts differ for ${r.audience}/${r.latencyMs} ms`);
  }
  console.log(`Written: ${join(values.out, "latest.json")}, ${join(values.out, "throughput.svg")}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
