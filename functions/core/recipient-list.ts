/**
 * A push task's uploaded recipient list, read row by row and written in fixed-size batches as it is
 * parsed, so an upload never needs a second copy of the whole list in memory.
 */

export const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;
export const INVALID_OPENID = "not a WeChat openid (6–64 letters, digits, _ or -)";

export type RecipientRow =
  | { readonly line: number; readonly openid: string }
  | { readonly line: number; readonly reason: string };

export interface InvalidRow {
  readonly line: number;
  readonly reason: string;
}

export interface UploadReport {
  readonly added: number;
  readonly duplicates: number;
  /** The first `maxInvalidReported` invalid rows; `invalidCount` counts them all. */
  readonly invalid: readonly InvalidRow[];
  readonly invalidCount: number;
}

/** The outcome of writing one batch of distinct openids. */
export interface BatchResult {
  readonly added: number;
  /** Already stored (an earlier batch, upload or a concurrent one). */
  readonly duplicates: number;
}

function rowOf(line: number, cell: string): RecipientRow {
  if (cell === "") return { line, reason: "empty openid" };
  return OPENID_PATTERN.test(cell) ? { line, openid: cell } : { line, reason: INVALID_OPENID };
}

/** The first CSV cell of a line: quoted (`"o…"`, `""` an escaped quote) or up to a comma/tab/semicolon. */
function firstCell(text: string): string {
  if (text.startsWith('"')) {
    let cell = "";
    for (let i = 1; i < text.length; i += 1) {
      const c = text[i];
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else break;
      } else cell += c;
    }
    return cell.trim();
  }
  const end = text.search(/[,;\t]/);
  return (end < 0 ? text : text.slice(0, end)).trim();
}

/** A header cell names the column: `openid`, `open_id`, `用户openid`… (real openids carry digits). */
const HEADER = /^[^\d]*(open.?id|用户|user)[^\d]*$/i;

/**
 * Rows of a CSV list, lazily: first column the openid, an optional header row (a first line naming
 * the column rather than holding an openid), blank lines ignored. Lines are numbered from 1 as an
 * editor shows them. Walks the text with indexOf, so no array of lines is ever built.
 */
export function* csvRows(text: string): Generator<RecipientRow> {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let line = 1; start <= text.length; line += 1) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl;
    const raw = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    if (raw.trim() !== "") {
      const cell = firstCell(raw.replace(/^ +/, ""));
      const isHeader = line === 1 && HEADER.test(cell);
      if (!isHeader) yield rowOf(line, cell);
    }
    if (nl < 0) break;
  }
}

/** Rows of a JSON list; `line` is the 1-based position in the array. */
export function* jsonRows(openids: readonly unknown[]): Generator<RecipientRow> {
  for (let i = 0; i < openids.length; i += 1) {
    const value = openids[i];
    if (typeof value !== "string") yield { line: i + 1, reason: "not a string" };
    else yield rowOf(i + 1, value.trim());
  }
}

export interface ImportOptions {
  /** Distinct openids per write. */
  readonly batchSize: number;
  readonly maxInvalidReported?: number;
}

/**
 * Reads `rows` and writes their openids in batches of `batchSize`, one write in flight while the
 * next batch is parsed. Duplicates inside a batch are dropped here; duplicates of openids already
 * stored (earlier batches included) are reported by the store, so memory stays one batch deep.
 * A failed write stops the import; batches written before it stay (a re-upload counts them as
 * duplicates).
 */
export async function importRecipients(
  rows: Iterable<RecipientRow>,
  write: (openids: readonly string[]) => Promise<BatchResult>,
  opts: ImportOptions,
): Promise<UploadReport> {
  const maxInvalid = opts.maxInvalidReported ?? 1000;
  let added = 0;
  let duplicates = 0;
  let invalidCount = 0;
  const invalid: InvalidRow[] = [];
  let batch = new Set<string>();
  let inFlight: Promise<void> = Promise.resolve();

  const flush = async () => {
    const openids = [...batch];
    batch = new Set();
    await inFlight;
    inFlight = write(openids).then((r) => {
      added += r.added;
      duplicates += r.duplicates;
    });
    // Observed by the next flush or the final await; no unhandled rejection meanwhile.
    inFlight.catch(() => {});
  };

  for (const row of rows) {
    if ("reason" in row) {
      invalidCount += 1;
      if (invalid.length < maxInvalid) invalid.push({ line: row.line, reason: row.reason });
      continue;
    }
    if (batch.has(row.openid)) {
      duplicates += 1;
      continue;
    }
    batch.add(row.openid);
    if (batch.size >= opts.batchSize) await flush();
  }
  if (batch.size > 0) await flush();
  await inFlight;
  return { added, duplicates, invalid, invalidCount };
}
