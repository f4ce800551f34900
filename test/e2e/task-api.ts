/**
 * A small client of the push-task routes for the end-to-end tests: every answer, status included,
 * read through the schemas of functions/contracts/api.ts, so an answer that drifted from them fails.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import {
  type CancelTaskAnswer,
  cancelTaskAnswer,
  createTaskAnswer,
  type DeliveryItem,
  deliveriesPage,
  type ErrorAnswer,
  errorAnswer,
  type PreviewAnswer,
  previewAnswer,
  type SendTaskAnswer,
  sendTaskAnswer,
  type TaskView,
  taskView,
  type UploadAnswer,
  uploadAnswer,
} from "../../functions/contracts/api.ts";
import { sampleTaskDraft } from "../fixtures/task-draft.ts";

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

/** A route's answer or its refusal, either readable without first telling which it is. */
export type Refusable<T> =
  | (T & { readonly error?: undefined })
  | (ErrorAnswer & { readonly [K in keyof T]?: undefined });

/** The sample task as a create body, with `overrides` (valid or not). */
export const taskBody = (overrides: Record<string, unknown> = {}) => ({ ...sampleTaskDraft, ...overrides });

export class TaskApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Any route, its answer as it came. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": contentType, ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  async create(overrides: Record<string, unknown> = {}): Promise<string> {
    const answer = await this.call("POST", "/api/tasks", taskBody(overrides));
    if (answer.status !== 201) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
    return createTaskAnswer.parse(answer.body).taskId;
  }

  upload(taskId: string, openids: readonly string[]): Promise<Answer<Refusable<UploadAnswer>>> {
    return this.refusable(uploadAnswer, "POST", `/api/tasks/${taskId}/recipients`, { openids });
  }

  send(taskId: string): Promise<Answer<Refusable<SendTaskAnswer>>> {
    return this.refusable(sendTaskAnswer, "POST", `/api/tasks/${taskId}/send`);
  }

  /** Schedules the send for `at` (ISO 8601 with an offset). */
  schedule(taskId: string, at: string): Promise<Answer<Refusable<SendTaskAnswer>>> {
    return this.refusable(sendTaskAnswer, "POST", `/api/tasks/${taskId}/send`, { at });
  }

  cancel(taskId: string): Promise<Answer<Refusable<CancelTaskAnswer>>> {
    return this.refusable(cancelTaskAnswer, "POST", `/api/tasks/${taskId}/cancel`);
  }

  /** Sends the task's or the post's message to test openids (`kind` "posts": `id` is the outTradeNo). */
  preview(id: string, openids: readonly string[], kind: "tasks" | "posts" = "tasks") {
    return this.refusable<PreviewAnswer>(previewAnswer, "POST", `/api/${kind}/${id}/preview`, { openids });
  }

  async get(taskId: string): Promise<TaskView> {
    const answer = await this.call("GET", `/api/tasks/${taskId}`);
    if (answer.status !== 200) throw new Error(`get: ${answer.status} ${JSON.stringify(answer.body)}`);
    return taskView.parse(answer.body);
  }

  /** Polls until the task has nothing pending (`done`). */
  async waitDone(taskId: string, timeoutMs = 90_000): Promise<TaskView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.get(taskId);
      if (status.status === "done") return status;
      if (Date.now() > deadline) throw new Error(`task not done in time: ${JSON.stringify(status)}`);
      await sleep(200);
    }
  }

  /** Every delivery record of the task (optionally of one status), following the cursor. */
  async deliveries(taskId: string, status?: string, limit = 100): Promise<DeliveryItem[]> {
    const items: DeliveryItem[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: String(limit) });
      if (status) query.set("status", status);
      if (cursor) query.set("cursor", cursor);
      const answer = await this.call("GET", `/api/tasks/${taskId}/deliveries?${query}`);
      if (answer.status !== 200)
        throw new Error(`deliveries: ${answer.status} ${JSON.stringify(answer.body)}`);
      const page = deliveriesPage.parse(answer.body);
      items.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return items;
  }

  /** A call whose 2xx answer `schema` reads and whose refusal `errorAnswer` does. */
  private async refusable<T>(
    schema: z.ZodType<T>,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<Refusable<T>>> {
    const answer = await this.call(method, path, body);
    const ok = answer.status >= 200 && answer.status < 300;
    return {
      status: answer.status,
      body: (ok ? schema.parse(answer.body) : errorAnswer.parse(answer.body)) as Refusable<T>,
    };
  }
}
