/**
 * The benchmark's chart as a standalone SVG (any browser opens it; GitHub renders it in the README):
 * recipients per second against audience size, one line per simulated WeChat latency, with each
 * latency's ideal bound dashed.
 */

export interface ChartPoint {
  readonly audience: number;
  readonly latencyMs: number;
  readonly recipientsPerSecond: number;
  readonly idealRecipientsPerSecond: number | null;
}

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { top: 48, right: 200, bottom: 56, left: 72 };
const COLORS = ["#1b7f3b", "#1f5fbf", "#b3541e", "#7a3fb0", "#8a8a00"];

/** An SVG line chart of throughput by audience (log scale) and latency. */
export function throughputChart(points: readonly ChartPoint[], subtitle: string): string {
  const audiences = [...new Set(points.map((p) => p.audience))].sort((a, b) => a - b);
  const latencies = [...new Set(points.map((p) => p.latencyMs))].sort((a, b) => a - b);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxY = niceCeiling(
    Math.max(1, ...points.map((p) => Math.max(p.recipientsPerSecond, p.idealRecipientsPerSecond ?? 0))),
  );
  const x = (audience: number) =>
    MARGIN.left +
    (audiences.length === 1 ? plotW / 2 : (audiences.indexOf(audience) / (audiences.length - 1)) * plotW);
  const y = (value: number) => MARGIN.top + plotH - (value / maxY) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>Recipients per second by audience and simulated WeChat latency</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="600">Recipients per second, notify → pending 0</text>`,
    `<text x="${MARGIN.left}" y="38" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (let i = 0; i <= 5; i += 1) {
    const value = (maxY / 5) * i;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(value) + 4}" text-anchor="end" fill="#555">${Math.round(value).toLocaleString("en-US")}</text>`,
    );
  }
  for (const audience of audiences) {
    parts.push(
      `<text x="${x(audience)}" y="${MARGIN.top + plotH + 20}" text-anchor="middle" fill="#555">${audience.toLocaleString("en-US")}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">audience (recipients)</text>`,
  );
  latencies.forEach((latency, i) => {
    const color = COLORS[i % COLORS.length];
    const series = audiences
      .map((a) => points.find((p) => p.audience === a && p.latencyMs === latency))
      .filter((p): p is ChartPoint => p !== undefined);
    const path = series.map((p) => `${x(p.audience)},${y(p.recipientsPerSecond)}`).join(" ");
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const p of series) {
      parts.push(
        `<circle cx="${x(p.audience)}" cy="${y(p.recipientsPerSecond)}" r="4" fill="${color}"><title>${p.recipientsPerSecond} recipients/s</title></circle>`,
      );
    }
    const ideal = series.find((p) => p.idealRecipientsPerSecond !== null)?.idealRecipientsPerSecond;
    if (ideal && ideal <= maxY) {
      parts.push(
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(ideal)}" y2="${y(ideal)}" stroke="${color}" stroke-dasharray="5 4" opacity="0.7"/>`,
      );
    }
    const legendY = MARGIN.top + 10 + i * 36;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 16}" x2="${WIDTH - MARGIN.right + 40}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 4}">${latency} ms latency</text>`,
    );
    if (ideal) {
      parts.push(
        `<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 18}" fill="#555">ideal ${ideal.toLocaleString("en-US")}/s (dashed)</text>`,
      );
    }
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
  return (steps.find((s) => s * magnitude >= value) ?? 10) * magnitude;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] ?? c);
}
