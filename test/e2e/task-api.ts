/** A small client of the push-task routes for the end-to-end tests: every answer, status included. */

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export interface TaskStatus {
  readonly status: string;
  readonly total: number;
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
  readonly pending: number;
  readonly recipients: number;
  readonly byErrcode: Record<string, number>;
  readonly [key: string]: unknown;
}

export interface DeliveryItem {
  readonly openid: string;
  readonly status: string;
  readonly errcode: number | null;
  readonly errmsg: string | null;
  readonly at: string;
  readonly retryable: boolean;
}

export const taskBody = (overrides: Record<string, unknown> = {}) => ({
  name: "秋季上新",
  channel: "template",
  templateId: "TPL_TASK",
  templateName: "活动加入成功提醒",
  topic: "秋季上新",
  caption: "全场新品八折起",
  tips: "数量有限先到先得",
  data: {
    thing1: "{{topic}}",
    thing2: "{{caption}}",
    thing3: "{{goods.title}}",
    amount4: "¥{{goods.price}}",
    thing5: "{{tips}}",
  },
  page: "pages/goods/detail?id={{goods.id}}",
  goods: { id: "1989", title: "健康助利测试商品1", price: 250, onShelf: true },
  audience: "uploaded",
  ...overrides,
});

export class TaskApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

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
    const answer = await this.call<{ taskId: string }>("POST", "/api/tasks", taskBody(overrides));
    if (answer.status !== 201) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.taskId;
  }

  upload(taskId: string, openids: readonly string[]) {
    return this.call<{ added: number; duplicates: number; invalid: { line: number; reason: string }[] }>(
      "POST",
      `/api/tasks/${taskId}/recipients`,
      { openids },
    );
  }

  send(taskId: string) {
    return this.call("POST", `/api/tasks/${taskId}/send`);
  }

  async get(taskId: string): Promise<TaskStatus> {
    const answer = await this.call<TaskStatus>("GET", `/api/tasks/${taskId}`);
    if (answer.status !== 200) throw new Error(`get: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /** Polls until the task has nothing pending (`done`). */
  async waitDone(taskId: string, timeoutMs = 90_000): Promise<TaskStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.get(taskId);
      if (status.status === "done") return status;
      if (Date.now() > deadline) throw new Error(`task not done in time: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
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
      const answer: Answer<{ items: DeliveryItem[]; next: string | null }> = await this.call(
        "GET",
        `/api/tasks/${taskId}/deliveries?${query}`,
      );
      if (answer.status !== 200)
        throw new Error(`deliveries: ${answer.status} ${JSON.stringify(answer.body)}`);
      items.push(...answer.body.items);
      cursor = answer.body.next;
    } while (cursor);
    return items;
  }
}
