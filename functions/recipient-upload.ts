import { ValidationError } from "./core/errors.ts";
import { csvRows, jsonRows, type RecipientRow } from "./core/recipient-list.ts";
import { type HttpEvent, rawBody } from "./http.ts";

/**
 * Rows one upload request may carry; larger lists go in several requests (README). Each batch of 99
 * is one transaction on the task's count, so a request's batches run one after another: 20,000 rows
 * take ~15 s against DynamoDB Local on a small machine, inside the admin function's timeout.
 */
export const MAX_UPLOAD_ROWS = 20_000;

/**
 * The rows of an upload: JSON `{"openids":[…]}`, or a CSV (`text/csv`, `text/plain`) whose first
 * column is the openid. The request body is already in memory (Lambda hands it over whole, at most
 * 6 MB); the rows are read from it lazily, never copied into a second list.
 */
export function uploadRows(event: HttpEvent): Iterable<RecipientRow> {
  const contentType = (event.headers["content-type"] ?? "").toLowerCase();
  const body = rawBody(event).toString("utf8");
  if (contentType.includes("json") || (contentType === "" && body.trimStart().startsWith("{"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ValidationError('request body must be JSON {"openids":[…]} or a CSV (text/csv)');
    }
    const openids = (parsed as { openids?: unknown } | null)?.openids;
    if (!Array.isArray(openids)) throw new ValidationError("openids: must be an array of openids");
    if (openids.length === 0) throw new ValidationError("openids: must list at least one openid");
    if (openids.length > MAX_UPLOAD_ROWS)
      throw new ValidationError(
        `openids: at most ${MAX_UPLOAD_ROWS} per request; upload in several requests`,
      );
    return jsonRows(openids);
  }
  if (contentType === "" || contentType.startsWith("text/csv") || contentType.startsWith("text/plain")) {
    let lines = 1;
    for (let i = body.indexOf("\n"); i >= 0; i = body.indexOf("\n", i + 1)) lines += 1;
    if (lines > MAX_UPLOAD_ROWS + 1)
      throw new ValidationError(
        `CSV: at most ${MAX_UPLOAD_ROWS} rows per request; upload in several requests`,
      );
    if (body.trim() === "") throw new ValidationError("CSV: the upload is empty");
    return csvRows(body);
  }
  throw new ValidationError(`content-type ${contentType}: send application/json or text/csv`);
}
