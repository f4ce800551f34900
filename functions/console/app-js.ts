/**
 * The console's script: plain browser JavaScript, no framework and no build step (a page of tables and
 * one form does not earn one). It is kept in a string so the admin function's bundle carries it as is.
 * Every value from the API reaches the page through textContent or attributes, never as HTML; the
 * admin token lives in sessionStorage only, so it is gone when the tab closes.
 * (String.raw: backslashes stay as written; the code must not contain a backtick or a dollar-brace.)
 */
export const appJs = String.raw`"use strict";
(() => {
  const TOKEN_KEY = "fanout.adminToken";
  const POLL_MS = 1000;
  const PAGE_SIZE = 20;
  const FINISHED = new Set(["done", "completed", "finished", "failed", "cancelled", "canceled"]);
  const IDLE_POST = new Set(["done", "awaiting_payment"]);
  const $ = (id) => document.getElementById(id);

  const state = {
    tasks: [],
    tasksNext: null,
    openId: null,
    recordsNext: null,
    posts: [],
    postsNext: null,
    timer: null,
    polling: false,
  };

  // ---------------------------------------------------------------- DOM helpers

  /** Builds an element; children are nodes or strings (strings become text nodes, never HTML). */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(node, text, isError) {
    node.textContent = text || "";
    node.classList.toggle("error", Boolean(isError));
  }

  const notice = (text, isError) => say($("notice"), text, isError);

  function formatTime(value) {
    if (value === undefined || value === null || value === "") return "";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  // Post amounts are fen (WeChat Pay's unit); goods prices are yuan (the push-task API's unit).
  const formatFen = (fen) => (typeof fen === "number" ? "¥" + (fen / 100).toFixed(2) : "");
  const formatYuan = (yuan) => (typeof yuan === "number" ? "¥" + yuan.toFixed(2) : "");
  const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
  const chars = (text) => Array.from(text).length;

  /** A stacked bar (sent, failed, skipped) with its numbers, announced as one progressbar. */
  function progressBar(p) {
    const total = num(p.total);
    const sent = num(p.sent);
    const failed = num(p.failed);
    const skipped = num(p.skipped);
    const unknown = num(p.unknown);
    const settled = sent + failed + unknown + skipped;
    const pending = p.pending === undefined ? Math.max(0, total - settled) : num(p.pending);
    const doubt = unknown > 0 ? " · delivery unknown " + unknown : "";
    const label =
      "sent " + sent + " · failed " + failed + doubt + " · skipped " + skipped + " · pending " + pending + " / " + total;
    const track = h("div", { className: "track" });
    for (const [name, count] of [["sent", sent], ["failed", failed], ["skipped", skipped]]) {
      const part = h("span", { className: name });
      // CSSOM, not a style attribute: the page's CSP allows no inline styles.
      part.style.width = total > 0 ? (100 * count) / total + "%" : "0";
      track.append(part);
    }
    return h(
      "div",
      {
        className: "progress",
        role: "progressbar",
        "aria-valuemin": 0,
        "aria-valuemax": total,
        "aria-valuenow": Math.min(settled, total),
        "aria-valuetext": label,
      },
      track,
      h("span", { className: "label", text: label }),
    );
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body, contentType) {
    const headers = { authorization: "Bearer " + (sessionStorage.getItem(TOKEN_KEY) || "") };
    const init = { method, headers };
    if (body !== undefined) {
      headers["content-type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, "The server did not answer; check the connection and try again.");
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.status === 401) {
      signOut("The token was refused. Enter the admin token again.");
      throw new ApiError(401, "unauthorized");
    }
    if (!res.ok) {
      const message = (data && (data.error || data.message)) || text || "HTTP " + res.status;
      throw new ApiError(res.status, String(message));
    }
    return data;
  }

  const errorText = (error) => (error instanceof Error ? error.message : String(error));

  // ---------------------------------------------------------------- token

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    $("app").hidden = true;
    $("forget-token").hidden = true;
    $("login").hidden = false;
    say($("login-msg"), message || "", Boolean(message));
    $("token-input").value = "";
    $("token-input").focus();
  }

  async function signIn() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("forget-token").hidden = false;
    await Promise.all([loadTasks(true), loadPosts(true)]);
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) {
      say($("login-msg"), "Enter the admin token.", true);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    signIn();
  });
  $("forget-token").addEventListener("click", () => signOut(""));

  // ---------------------------------------------------------------- tasks

  const taskIdOf = (t) => t.taskId || t.id;
  const isDraft = (t) => (t.status || "draft") === "draft";
  const isRunning = (t) => !isDraft(t) && !FINISHED.has(t.status);
  // An "all subscribers" task has no list of its own: its audience is known once the fan-out counted it.
  const recipientsOf = (t) =>
    t.audience === "all" ? (isDraft(t) ? "all" : num(t.total)) : num(t.recipients !== undefined ? t.recipients : t.total);
  const channelLabel = (c) => (c === "subscribe" ? "subscribe message" : c === "template" ? "template message" : c || "");

  function mergeTask(task) {
    const id = taskIdOf(task);
    const index = state.tasks.findIndex((t) => taskIdOf(t) === id);
    if (index >= 0) state.tasks[index] = { ...state.tasks[index], ...task };
    else state.tasks.unshift(task);
    return state.tasks[index >= 0 ? index : 0];
  }

  async function loadTasks(reset) {
    try {
      const cursor = reset ? null : state.tasksNext;
      const query = "?limit=" + PAGE_SIZE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      const page = await api("GET", "/api/tasks" + query);
      const items = (page && page.items) || [];
      state.tasks = reset ? items : state.tasks.concat(items);
      state.tasksNext = (page && page.next) || null;
      renderTasks();
      schedulePoll();
    } catch (error) {
      if (error.status !== 401) notice("Could not load the tasks: " + errorText(error), true);
    }
  }

  function renderTasks() {
    const body = $("tasks").tBodies[0];
    body.replaceChildren(...state.tasks.map(taskRow));
    $("tasks-empty").hidden = state.tasks.length > 0;
    $("tasks-more").hidden = !state.tasksNext;
  }

  function taskRow(t) {
    const id = taskIdOf(t);
    const goods = t.goods || {};
    const goodsLine = [goods.id, formatYuan(goods.price), goods.onShelf === false ? "off shelf" : goods.onShelf ? "on shelf" : ""]
      .filter(Boolean)
      .join(" · ");
    return h(
      "tr",
      { "data-task-id": id, className: id === state.openId ? "selected" : "" },
      h("td", {}, h("span", { text: t.name || "" }), h("span", { className: "sub mono", text: id })),
      h("td", { text: formatTime(t.createdAt || t.created) }),
      h("td", {}, h("span", { text: t.templateName || "" }), h("span", { className: "sub mono", text: t.templateId || "" })),
      h("td", {}, h("span", { text: goods.title || "" }), h("span", { className: "sub", text: goodsLine })),
      h("td", { className: "num", text: recipientsOf(t) }),
      h("td", {}, h("span", { text: channelLabel(t.channel) }), h("span", { className: "sub", text: t.audience === "all" ? "all subscribers" : t.audience ? "uploaded list" : "" })),
      h("td", { className: "status" }, h("span", { text: t.status || "draft" }), isDraft(t) ? null : progressBar(taskCounts(t))),
      h(
        "td",
        {},
        h("button", { type: "button", text: "Open", "aria-label": "Open task " + id, onclick: () => openTask(id) }),
        h("button", { type: "button", text: "Send", "aria-label": "Send task " + id, disabled: !isDraft(t), onclick: (e) => sendTask(id, e.currentTarget) }),
        h("button", { type: "button", text: "Retry", "aria-label": "Retry failed deliveries of task " + id, disabled: !canRetry(t), onclick: (e) => retryTask(id, e.currentTarget) }),
      ),
    );
  }

  /**
   * The task's counters for its bar. An uploaded list's size is known before the fan-out has counted
   * it, so the bar starts at "pending N / N" rather than "0 / 0".
   */
  function taskCounts(t) {
    if (t.audience === "all" || num(t.total) >= num(t.recipients)) return t;
    const total = num(t.recipients);
    return { ...t, total, pending: total - num(t.sent) - num(t.failed) - num(t.skipped) };
  }

  const canRetry = (t) => FINISHED.has(t.status) && num(t.failed) > 0;

  async function refreshTask(id) {
    const task = mergeTask(await api("GET", "/api/tasks/" + encodeURIComponent(id)));
    updateTaskRow(task);
    if (state.openId === id) renderDetail(task);
    return task;
  }

  /** Replaces one row in place (polling must not rebuild the table under a keyboard user's focus). */
  function updateTaskRow(task) {
    const id = taskIdOf(task);
    const old = Array.from($("tasks").tBodies[0].rows).find((r) => r.dataset.taskId === id);
    if (!old) {
      renderTasks();
      return;
    }
    const focused = old.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    const fresh = taskRow(task);
    old.replaceWith(fresh);
    if (focused) {
      const again = Array.from(fresh.querySelectorAll("button")).find((b) => b.getAttribute("aria-label") === focused);
      if (again && !again.disabled) again.focus();
    }
  }

  async function openTask(id) {
    state.openId = id;
    renderTasks();
    state.recordsNext = null;
    $("failed-only").checked = false;
    $("upload-report").replaceChildren();
    say($("detail-msg"), "");
    $("csv-file").value = "";
    $("task-detail").hidden = false;
    try {
      await refreshTask(id);
      await loadRecords(true);
      $("detail-title").focus();
      schedulePoll();
    } catch (error) {
      if (error.status !== 401) say($("detail-msg"), "Could not load the task: " + errorText(error), true);
    }
  }

  function renderDetail(t) {
    const id = taskIdOf(t);
    $("detail-title").textContent = "Task " + (t.name ? t.name + " " : "") + "(" + id + ")";
    const goods = t.goods || {};
    const rows = [
      ["Status", t.status || "draft"],
      ["Created", formatTime(t.createdAt || t.created)],
      ["Template", [t.templateName, t.templateId].filter(Boolean).join(" · ")],
      ["Type", channelLabel(t.channel) + (t.audience ? " to " + (t.audience === "all" ? "all subscribers" : "the uploaded list") : "")],
      ["Topic", t.topic],
      ["Caption", t.caption],
      ["Tips", t.tips],
      ["Goods", [goods.id, goods.title, formatYuan(goods.price), goods.onShelf === false ? "off shelf" : "on shelf"].filter(Boolean).join(" · ")],
      ["Recipients", String(recipientsOf(t))],
    ].filter(([, value]) => value !== undefined && value !== "");
    $("detail-summary").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
    $("detail-progress").replaceChildren(isDraft(t) ? "" : progressBar(taskCounts(t)));
    // Disabled while anything but a draft: a task is sent once; the server answers 409 to a second send.
    $("send-button").disabled = !isDraft(t) || $("send-button").dataset.pressed === id;
    $("retry-button").disabled = !canRetry(t);
    $("upload-button").disabled = !isDraft(t);
    $("upload-form").hidden = t.audience === "all";
  }

  async function sendTask(id, button) {
    // Disabled at once, before the request, so a double click cannot send twice.
    for (const b of [button, state.openId === id ? $("send-button") : null]) if (b) b.disabled = true;
    if (state.openId === id) $("send-button").dataset.pressed = id;
    try {
      await api("POST", "/api/tasks/" + encodeURIComponent(id) + "/send");
      say($("detail-msg"), "Sending started.");
      notice("Task " + id + ": sending started.");
    } catch (error) {
      if (error.status === 401) return;
      const text = (error.status === 409 ? "Already sent: " : "Not sent: ") + errorText(error);
      if (state.openId === id) say($("detail-msg"), text, true);
      notice("Task " + id + ": " + text, true);
      if (error.status !== 409) {
        // Nothing was sent (no recipients, goods off shelf…): the task is still a draft and may be fixed.
        if (state.openId === id) delete $("send-button").dataset.pressed;
      }
    }
    try {
      await refreshTask(id);
    } catch (error) {
      if (error.status !== 401) notice("Could not refresh task " + id + ": " + errorText(error), true);
    }
    schedulePoll();
  }

  async function retryTask(id, button) {
    if (button) button.disabled = true;
    try {
      const result = await api("POST", "/api/tasks/" + encodeURIComponent(id) + "/retry");
      const count = result && (result.retried !== undefined ? result.retried : result.requeued);
      notice(
        count === 0
          ? "Task " + id + ": nothing to retry; its failures are permanent (unfollowed, bad openid…), not transient."
          : "Task " + id + ": retry started" + (count !== undefined ? " for " + count + " recipients." : "."),
      );
      await refreshTask(id);
      if (state.openId === id) await loadRecords(true);
    } catch (error) {
      if (error.status !== 401) notice("Task " + id + ": retry refused: " + errorText(error), true);
      if (button) button.disabled = false;
    }
    schedulePoll();
  }

  $("send-button").addEventListener("click", (e) => state.openId && sendTask(state.openId, e.currentTarget));
  $("retry-button").addEventListener("click", (e) => state.openId && retryTask(state.openId, e.currentTarget));
  $("tasks-refresh").addEventListener("click", () => loadTasks(true));
  $("tasks-more").addEventListener("click", () => loadTasks(false));
  $("detail-close").addEventListener("click", () => {
    state.openId = null;
    $("task-detail").hidden = true;
    renderTasks();
  });

  // ---------------------------------------------------------------- recipients upload

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = state.openId;
    const file = $("csv-file").files[0];
    const report = $("upload-report");
    if (!id) return;
    if (!file) {
      report.replaceChildren(h("p", { className: "msg error", text: "Choose a CSV file first." }));
      return;
    }
    $("upload-button").disabled = true;
    try {
      const result = await api("POST", "/api/tasks/" + encodeURIComponent(id) + "/recipients", await file.text(), "text/csv");
      const invalid = (result && result.invalid) || [];
      // The API reports the first invalid lines and counts them all.
      const invalidCount = result && result.invalidCount !== undefined ? num(result.invalidCount) : invalid.length;
      const shown = invalidCount > invalid.length ? " (the first " + invalid.length + " below)" : "";
      report.replaceChildren(
        h("p", { className: "msg", id: "upload-summary", text: "Added " + num(result.added) + " · duplicates " + num(result.duplicates) + " · invalid lines " + invalidCount + shown }),
        invalid.length === 0
          ? ""
          : h(
              "table",
              { className: "errors", "aria-label": "Invalid lines" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Line" }), h("th", { scope: "col", text: "Reason" }))),
              h("tbody", {}, invalid.map((i) => h("tr", {}, h("td", { className: "num", text: i.line }), h("td", { text: i.reason })))),
            ),
      );
      $("csv-file").value = "";
      await refreshTask(id);
    } catch (error) {
      if (error.status !== 401) report.replaceChildren(h("p", { className: "msg error", text: "Upload refused: " + errorText(error) }));
    } finally {
      const task = state.tasks.find((t) => taskIdOf(t) === id);
      $("upload-button").disabled = Boolean(task && !isDraft(task));
    }
  });

  // ---------------------------------------------------------------- per-user records

  async function loadRecords(reset) {
    const id = state.openId;
    if (!id) return;
    const params = new URLSearchParams({ limit: String(50) });
    if ($("failed-only").checked) params.set("status", "failed");
    if (!reset && state.recordsNext) params.set("cursor", state.recordsNext);
    try {
      const page = await api("GET", "/api/tasks/" + encodeURIComponent(id) + "/deliveries?" + params.toString());
      if (state.openId !== id) return;
      const rows = ((page && page.items) || []).map((r) =>
        h(
          "tr",
          { "data-status": r.status },
          h("td", { className: "mono", text: r.openid }),
          h("td", { text: r.status }),
          h("td", { className: "num", text: r.errcode === undefined || r.errcode === null ? "" : r.errcode }),
          h("td", { text: r.errmsg || r.reason || "" }),
          h("td", { text: formatTime(r.at) }),
        ),
      );
      const body = $("records").tBodies[0];
      if (reset) body.replaceChildren(...rows);
      else body.append(...rows);
      state.recordsNext = (page && page.next) || null;
      $("records-more").hidden = !state.recordsNext;
      $("records-empty").hidden = body.rows.length > 0;
    } catch (error) {
      if (error.status !== 401) say($("detail-msg"), "Could not load the records: " + errorText(error), true);
    }
  }

  $("failed-only").addEventListener("change", () => loadRecords(true));
  $("records-more").addEventListener("click", () => loadRecords(false));

  // ---------------------------------------------------------------- create form

  const form = $("task-form");
  const fieldOf = {
    name: "f-name",
    channel: "f-channel",
    templateId: "f-templateId",
    templateName: "f-templateName",
    topic: "f-topic",
    caption: "f-caption",
    tips: "f-tips",
    page: "f-page",
    data: "f-data",
    goods: "f-goodsId",
    "goods.id": "f-goodsId",
    "goods.title": "f-goodsTitle",
    "goods.price": "f-goodsPrice",
    "goods.onShelf": "f-goodsOnShelf",
    audience: "f-audience",
  };

  function setFieldMessage(input, message) {
    const out = $(input.id + "-msg");
    if (out) out.textContent = message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  /** Parses "key={{placeholder}}" lines into the template data object, or explains the first bad line. */
  function parseData(text) {
    const data = {};
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const match = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(line);
      if (!match) return { error: "Line " + (i + 1) + ": expected key=value, e.g. thing1={{topic}}" };
      data[match[1]] = match[2].trim();
    }
    if (Object.keys(data).length === 0) return { error: "At least one key=value line is required" };
    return { data };
  }

  /** The same limits the API enforces, checked as the operator types (characters, not bytes). */
  function checkField(input, onSubmit) {
    const value = input.value.trim();
    let message = "";
    if (input.hasAttribute("data-required") && value === "") {
      // A required field left empty is reported on leaving it or on submit, not while typing.
      message = onSubmit || input.dataset.touched ? "Required." : "";
    } else if (input.dataset.max && chars(value) > Number(input.dataset.max)) {
      message = "At most " + input.dataset.max + " characters (now " + chars(value) + ").";
    } else if (input.hasAttribute("data-price") && !/^\d{1,7}(\.\d{1,2})?$/.test(value)) {
      message = "A price in yuan with at most two decimals, e.g. 12.50.";
    } else if (input.id === "f-data") {
      message = parseData(input.value).error || "";
    }
    setFieldMessage(input, message);
    return message === "";
  }

  const checkedInputs = () => Array.from(form.querySelectorAll("input[data-required], input[data-max], textarea"));

  for (const input of checkedInputs()) {
    input.addEventListener("input", () => checkField(input, false));
    input.addEventListener("blur", () => {
      input.dataset.touched = "1";
      checkField(input, false);
    });
  }

  function showServerProblems(message) {
    // The API names the field before a colon: "topic: at most 10 characters; goods.price: …".
    const unplaced = [];
    for (const part of message.split("; ")) {
      const match = /^([A-Za-z0-9_.]+):\s*(.+)$/.exec(part);
      if (!match) {
        unplaced.push(part);
        continue;
      }
      const [, path, text] = match;
      const [head, ...rest] = path.split(".");
      // "data.thing2: …" goes under the data field and keeps its key; "goods.price" has a field of its own.
      if (fieldOf[path]) setFieldMessage($(fieldOf[path]), text);
      else if (fieldOf[head]) setFieldMessage($(fieldOf[head]), rest.join(".") + ": " + text);
      else unplaced.push(part);
    }
    return unplaced.join("; ");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const formMsg = $("form-msg");
    const bad = checkedInputs().filter((input) => !checkField(input, true));
    if (bad.length > 0) {
      say(formMsg, "Not created: fix the " + (bad.length === 1 ? "field" : bad.length + " fields") + " marked above.", true);
      bad[0].focus();
      return;
    }
    const value = (id) => $(id).value.trim();
    const page = value("f-page");
    const body = {
      name: value("f-name"),
      channel: value("f-channel"),
      templateId: value("f-templateId"),
      templateName: value("f-templateName"),
      topic: value("f-topic"),
      caption: value("f-caption"),
      tips: value("f-tips"),
      data: parseData($("f-data").value).data,
      ...(page ? { page } : {}),
      goods: {
        id: value("f-goodsId"),
        title: value("f-goodsTitle"),
        price: Number(value("f-goodsPrice")),
        onShelf: $("f-goodsOnShelf").checked,
      },
      audience: value("f-audience"),
    };
    $("create-button").disabled = true;
    try {
      const created = await api("POST", "/api/tasks", body);
      const id = created && (created.taskId || created.id);
      say(formMsg, "Task " + id + " created. Upload its recipients, then send it.");
      form.reset();
      for (const input of checkedInputs()) {
        delete input.dataset.touched;
        setFieldMessage(input, "");
      }
      await loadTasks(true);
      if (id) await openTask(id);
    } catch (error) {
      if (error.status === 401) return;
      const rest = error.status === 400 ? showServerProblems(errorText(error)) : errorText(error);
      say(formMsg, "Not created: " + (rest || "fix the fields marked above."), true);
    } finally {
      $("create-button").disabled = false;
    }
  });

  // ---------------------------------------------------------------- paid-post broadcasts

  async function loadPosts(reset) {
    try {
      const cursor = reset ? null : state.postsNext;
      const query = "?limit=" + PAGE_SIZE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      const page = await api("GET", "/api/posts" + query);
      const items = (page && page.items) || [];
      state.posts = reset ? items : state.posts.concat(items);
      state.postsNext = (page && page.next) || null;
      renderPosts();
      schedulePoll();
    } catch (error) {
      if (error.status !== 401) notice("Could not load the broadcasts: " + errorText(error), true);
    }
  }

  function renderPosts() {
    $("posts").tBodies[0].replaceChildren(
      ...state.posts.map((p) =>
        h(
          "tr",
          { "data-out-trade-no": p.outTradeNo },
          h("td", { className: "mono", text: p.outTradeNo }),
          h("td", { text: formatTime(p.createdAt) }),
          h("td", { className: "num", text: formatFen(p.amount) }),
          h("td", { title: p.content, text: p.content && chars(p.content) > 40 ? Array.from(p.content).slice(0, 40).join("") + "…" : p.content }),
          h("td", { text: p.payment }),
          h("td", { className: "status", text: p.status }),
          h("td", {}, p.payment === "PAID" ? progressBar(p) : ""),
        ),
      ),
    );
    $("posts-empty").hidden = state.posts.length > 0;
    $("posts-more").hidden = !state.postsNext;
  }

  $("posts-refresh").addEventListener("click", () => loadPosts(true));
  $("posts-more").addEventListener("click", () => loadPosts(false));

  // ---------------------------------------------------------------- live progress

  const runningTasks = () => state.tasks.filter(isRunning);
  const runningPosts = () => state.posts.filter((p) => p.payment === "PAID" && !IDLE_POST.has(p.status));

  /** Polls only what is still moving, one round at a time, and stops when nothing is. */
  function schedulePoll() {
    if (state.timer || state.polling || !sessionStorage.getItem(TOKEN_KEY)) return;
    if (runningTasks().length === 0 && runningPosts().length === 0) return;
    state.timer = setTimeout(poll, POLL_MS);
  }

  function stopPolling() {
    clearTimeout(state.timer);
    state.timer = null;
  }

  async function poll() {
    state.timer = null;
    if (document.hidden) {
      schedulePoll();
      return;
    }
    state.polling = true;
    try {
      // A handful per round: the console must never become the admin API's heaviest caller.
      await Promise.all(
        runningTasks()
          .slice(0, 10)
          .map(async (t) => {
            const id = taskIdOf(t);
            const task = await refreshTask(id);
            // The run just ended: the records the operator is looking at have changed.
            if (!isRunning(task) && state.openId === id) {
              say($("detail-msg"), "Finished: sent " + num(task.sent) + ", failed " + num(task.failed) + ", skipped " + num(task.skipped) + ".");
              await loadRecords(true);
            }
          }),
      );
      await Promise.all(
        runningPosts()
          .slice(0, 10)
          .map(async (p) => {
            const fresh = await api("GET", "/api/posts/" + encodeURIComponent(p.outTradeNo));
            Object.assign(p, fresh);
          }),
      );
      renderPosts();
    } catch (error) {
      if (error.status !== 401) notice("Progress update failed: " + errorText(error), true);
    } finally {
      state.polling = false;
    }
    schedulePoll();
  }

  document.addEventListener("visibilitychange", () => document.hidden || schedulePoll());

  // ---------------------------------------------------------------- start

  if (sessionStorage.getItem(TOKEN_KEY)) signIn();
  else signOut("");
})();
`;
