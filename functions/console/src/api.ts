import type {
  ApprovePostAnswer,
  CancelTaskAnswer,
  CreateTaskAnswer,
  CreateTaskBody,
  DeliveriesPage,
  DeliveryItem,
  ErrorAnswer,
  PostList,
  PostView,
  PreviewAnswer,
  RejectPostAnswer,
  ResumeAnswer,
  RetryAnswer,
  SendTaskAnswer,
  SendTaskBody,
  StartSyncAnswer,
  SubscriberView,
  SyncView,
  TaskList,
  TaskView,
  TemplatesAnswer,
  UnsuppressAnswer,
  UploadAnswer,
} from "../../contracts/api.ts";

/**
 * The admin API as the console calls it, answers typed by the API's own contract. The token lives in
 * sessionStorage only: gone with the tab, never in a cookie or localStorage.
 */

const TOKEN_KEY = "fanout.adminToken";
const PAGE_SIZE = 20;
const RECORDS_PAGE_SIZE = 50;

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refused call: its HTTP status (0 when the server did not answer) and the API's `error`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** What to do when the API refuses the token (a 401): the app signs out. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

async function call<T>(method: "GET" | "POST", path: string, body?: { json: unknown } | { csv: string }) {
  const headers: Record<string, string> = { authorization: `Bearer ${token.get() ?? ""}` };
  const init: RequestInit = { method, headers };
  if (body && "json" in body) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body.json);
  } else if (body) {
    headers["content-type"] = "text/csv";
    init.body = body.csv;
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "");
  }
  const text = await res.text();
  if (res.status === 401) {
    onUnauthorized();
    throw new ApiError(401, "");
  }
  if (!res.ok) throw new ApiError(res.status, errorOf(text));
  return JSON.parse(text) as T;
}

function errorOf(text: string): string {
  try {
    return (JSON.parse(text) as ErrorAnswer).error;
  } catch {
    return text.slice(0, 200);
  }
}

/**
 * A file the API answers (a CSV export), fetched with the bearer token (it is in no cookie, so a
 * plain link could not carry it), whole, with the name the API gives it.
 */
async function download(path: string): Promise<{ blob: Blob; name: string }> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${token.get() ?? ""}` } });
  } catch {
    throw new ApiError(0, "");
  }
  if (res.status === 401) {
    onUnauthorized();
    throw new ApiError(401, "");
  }
  if (!res.ok) throw new ApiError(res.status, errorOf(await res.text()));
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "export.csv";
  try {
    return { blob: await res.blob(), name };
  } catch {
    // The server cut the stream: what arrived is not the whole file.
    throw new ApiError(0, "");
  }
}

const task = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;
const post = (outTradeNo: string) => `/api/posts/${encodeURIComponent(outTradeNo)}`;
const withStatus = (path: string, status: DeliveryItem["status"] | null) =>
  status ? `${path}${path.includes("?") ? "&" : "?"}status=${status}` : path;
const paged = (path: string, cursor: string | null, limit = PAGE_SIZE) => {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return `${path}?${query}`;
};

export const api = {
  listTasks: (cursor: string | null) => call<TaskList>("GET", paged("/api/tasks", cursor)),
  getTask: (id: string) => call<TaskView>("GET", task(id)),
  createTask: (body: CreateTaskBody) => call<CreateTaskAnswer>("POST", "/api/tasks", { json: body }),
  uploadRecipients: (id: string, csv: string) =>
    call<UploadAnswer>("POST", `${task(id)}/recipients`, { csv }),
  sendTask: (id: string, body?: SendTaskBody) =>
    call<SendTaskAnswer>("POST", `${task(id)}/send`, body ? { json: body } : undefined),
  cancelSchedule: (id: string) => call<CancelTaskAnswer>("POST", `${task(id)}/cancel`),
  previewTask: (id: string, openids: string[]) =>
    call<PreviewAnswer>("POST", `${task(id)}/preview`, { json: { openids } }),
  previewPost: (outTradeNo: string, openids: string[]) =>
    call<PreviewAnswer>("POST", `${post(outTradeNo)}/preview`, { json: { openids } }),
  listTemplates: () => call<TemplatesAnswer>("GET", "/api/templates"),
  retryTask: (id: string) => call<RetryAnswer>("POST", `${task(id)}/retry`),
  listDeliveries: (id: string, status: DeliveryItem["status"] | null, cursor: string | null) => {
    const path = paged(`${task(id)}/deliveries`, cursor, RECORDS_PAGE_SIZE);
    return call<DeliveriesPage>("GET", status ? `${path}&status=${status}` : path);
  },
  listPosts: (cursor: string | null) => call<PostList>("GET", paged("/api/posts", cursor)),
  getPost: (outTradeNo: string) => call<PostView>("GET", post(outTradeNo)),
  listPostDeliveries: (outTradeNo: string, status: DeliveryItem["status"] | null, cursor: string | null) =>
    call<DeliveriesPage>(
      "GET",
      withStatus(paged(`${post(outTradeNo)}/deliveries`, cursor, RECORDS_PAGE_SIZE), status),
    ),
  getSubscriber: (openid: string) =>
    call<SubscriberView>("GET", `/api/subscribers/${encodeURIComponent(openid)}`),
  unsuppress: (openid: string) =>
    call<UnsuppressAnswer>("POST", `/api/subscribers/${encodeURIComponent(openid)}/unsuppress`),
  /** A task's (`task`) or a post's (`post`) records of one status as CSV. */
  exportDeliveries: (kind: "task" | "post", id: string, status: DeliveryItem["status"]) =>
    download(withStatus(`${kind === "task" ? task(id) : post(id)}/deliveries.csv`, status)),
  startSync: () => call<StartSyncAnswer>("POST", "/api/subscribers/sync"),
  /** Ends a post's or a task's quota pause (409 when it is not paused). */
  resumePost: (outTradeNo: string) => call<ResumeAnswer>("POST", `${post(outTradeNo)}/resume`),
  resumeTask: (id: string) => call<ResumeAnswer>("POST", `${task(id)}/resume`),
  getSync: (id: string) => call<SyncView>("GET", `/api/subscribers/sync/${encodeURIComponent(id)}`),
  /** The review queue (待审核): held posts, the longest waiting first. */
  listReview: (cursor: string | null) => call<PostList>("GET", paged("/api/review", cursor)),
  approvePost: (outTradeNo: string) => call<ApprovePostAnswer>("POST", `${post(outTradeNo)}/approve`),
  rejectPost: (outTradeNo: string, reason: string) =>
    call<RejectPostAnswer>("POST", `${post(outTradeNo)}/reject`, { json: { reason } }),
};
