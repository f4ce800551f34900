/**
 * The console: its state (what the API last said), the views built from it in one language, and
 * live progress. Switching the language rebuilds the views from the same state. It is long (over
 * 300 lines) because it is the one place where that state, the views and the polling meet.
 */
import type { PostView, TaskView } from "../../contracts/api.ts";
import { ApiError, api, token, whenUnauthorized } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { demoMerchantInUse, payWithDemoMerchant } from "./demo-pay.ts";
import { displayZone, formatTime } from "./format.ts";
import { catalogs, DEFAULT_LANG, isLang, type Lang } from "./i18n.ts";
import { createPostDetail, type PostDetailView } from "./post-detail.ts";
import { createPostList, type PostListView } from "./posts-view.ts";
import { createReviewQueue, type ReviewQueueView } from "./review-view.ts";
import { createShell, type Shell } from "./shell.ts";
import { createSubscriberLookup } from "./subscriber-view.ts";
import { createSyncPanel, type SyncPanel } from "./sync-view.ts";
import { createTaskDetail, type TaskDetailView } from "./task-detail.ts";
import { createTaskForm } from "./task-form.ts";
import { isRunning, isRunningPost, nextPollIn } from "./task-logic.ts";
import { createTaskList, type TaskListView } from "./tasks-view.ts";
import { createTokenView, type TokenView } from "./token-view.ts";

/** The chosen language, kept across sessions (the token is not: sessionStorage only). */
const LANG_KEY = "fanout.lang";
const POLL_MS = 1000;
/** Requests per poll round: the console must never become the admin API's heaviest caller. */
const POLL_BATCH = 10;

const state = {
  tasks: [] as TaskView[],
  tasksNext: null as string | null,
  posts: [] as PostView[],
  postsNext: null as string | null,
  openId: null as string | null,
  /** The post whose broadcast detail is open. */
  openPost: null as string | null,
  /** Tasks whose Send was pressed and not refused: never offered twice, even before the answer. */
  pressed: new Set<string>(),
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  polling: false,
  /** The local stack pays with its demo merchant: unpaid posts offer 「模拟支付」 (demo-pay.ts). */
  demoPay: false,
};

interface Views {
  readonly ctx: Ctx;
  readonly shell: Shell;
  readonly login: TokenView;
  readonly list: TaskListView;
  readonly detail: TaskDetailView;
  readonly posts: PostListView;
  readonly postDetail: PostDetailView;
  readonly sync: SyncPanel;
  readonly review: ReviewQueueView;
}
let views: Views;
const t = () => views.ctx.t;
const notice = (text: string, isError = false) => views.ctx.notice(text, isError);

function storedLang(): Lang {
  try {
    const lang = localStorage.getItem(LANG_KEY);
    return isLang(lang) ? lang : DEFAULT_LANG;
  } catch {
    return DEFAULT_LANG;
  }
}

function mount(lang: Lang): Views {
  const other: Lang = lang === "zh-CN" ? "en" : "zh-CN";
  const catalog = catalogs[lang];
  const zone = displayZone(Intl.DateTimeFormat().resolvedOptions().timeZone);
  document.documentElement.lang = lang;
  document.title = catalog.appTitle;
  const shell = createShell(
    { t: catalog, zone },
    { other, switchLang: () => switchLang(other), forget: () => signOut() },
  );
  const ctx: Ctx = { t: catalog, zone, notice: shell.notice };
  const login = createTokenView(ctx, (value) => {
    token.set(value);
    void signIn();
  });
  const list = createTaskList(ctx, {
    open: (id) => void openTask(id),
    send: (id, button) => void sendTask(id, button),
    retry: (id, button) => void retryTask(id, button),
    refresh: () => void loadTasks(true),
    more: () => void loadTasks(false),
  });
  const detail = createTaskDetail(ctx, {
    send: (id, button) => void sendTask(id, button),
    sendPressed: (id) => state.pressed.has(id),
    retry: (id, button) => void retryTask(id, button),
    close: closeTask,
    uploaded: async (id) => void (await refreshTask(id)),
    preview: (id, openids) => api.previewTask(id, openids),
    schedule: (id, at, button) => void scheduleTask(id, at, button),
    cancel: (id, button) => void cancelSchedule(id, button),
  });
  const form = createTaskForm(ctx, async (id) => {
    await loadTasks(true);
    await openTask(id);
  });
  const posts = createPostList(ctx, {
    refresh: () => void loadPosts(true),
    more: () => void loadPosts(false),
    preview: (outTradeNo, openids) => api.previewPost(outTradeNo, openids),
    pay: (outTradeNo, button) => void payPost(outTradeNo, button),
    open: (outTradeNo) => void openPost(outTradeNo),
  });
  const postDetail = createPostDetail(ctx, { close: closePost });
  const sync = createSyncPanel(ctx);
  const review = createReviewQueue(ctx, { decided: () => void loadPosts(true) });
  // The post detail joins the page only while open: its records filter has the task detail's label.
  shell.app.append(createSubscriberLookup(ctx), list.root, detail.root, form, posts.root, sync.root);
  posts.root.before(review.root);
  document.getElementById("root")?.replaceChildren(shell.header, login.root, shell.app);
  return { ctx, shell, login, list, detail, posts, postDetail, sync, review };
}

function start(lang: Lang): void {
  stopPolling();
  views?.sync.stop();
  views = mount(lang);
  if (token.get()) void signIn();
  else signOut();
}

function switchLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // Storage refused (a private window's quota): the switch still holds for this page.
  }
  start(lang);
}

async function signIn(): Promise<void> {
  views.login.hide();
  views.shell.app.hidden = false;
  views.shell.forget.hidden = false;
  await Promise.all([
    loadTasks(true),
    loadPosts(true),
    detectDemoPay(),
    views.sync.restore(),
    views.review.load(),
  ]);
  if (state.openId) await openTask(state.openId);
  if (state.openPost) await openPost(state.openPost);
}

function signOut(reason?: string): void {
  token.clear();
  stopPolling();
  views.sync.stop();
  views.shell.app.hidden = true;
  views.shell.forget.hidden = true;
  views.login.show(reason);
}

whenUnauthorized(() => signOut(t().tokenRefused));

// ——— Tasks

function mergeTask(task: TaskView): void {
  const index = state.tasks.findIndex((known) => known.taskId === task.taskId);
  if (index >= 0) state.tasks[index] = task;
  else state.tasks.unshift(task);
}

const renderTasks = () => views.list.render(state.tasks, state.tasksNext !== null, state.openId);

async function loadTasks(reset: boolean): Promise<void> {
  try {
    const page = await api.listTasks(reset ? null : state.tasksNext);
    state.tasks = reset ? page.items : [...state.tasks, ...page.items];
    state.tasksNext = page.next;
    renderTasks();
    schedulePoll();
  } catch (error) {
    if (!isSignedOut(error)) notice(t().loadTasksFailed + errorText(error, t()), true);
  }
}

async function refreshTask(id: string): Promise<TaskView> {
  const task = await api.getTask(id);
  mergeTask(task);
  views.list.updateRow(task, state.openId);
  views.detail.show(task);
  return task;
}

async function openTask(id: string): Promise<void> {
  state.openId = id;
  renderTasks();
  views.detail.open(id);
  try {
    await refreshTask(id);
    await views.detail.records.start(id);
    views.detail.focus();
    schedulePoll();
  } catch (error) {
    if (!isSignedOut(error)) views.detail.say(t().loadTaskFailed + errorText(error, t()), true);
  }
}

function closeTask(): void {
  state.openId = null;
  views.detail.hide();
  renderTasks();
}

async function sendTask(id: string, button: HTMLButtonElement): Promise<void> {
  // Disabled before the request, so a double click cannot send twice.
  button.disabled = true;
  state.pressed.add(id);
  if (state.openId === id) views.detail.sendButton.disabled = true;
  try {
    await api.sendTask(id);
    if (state.openId === id) views.detail.say(t().sendStarted);
    notice(t().taskNotice(id, t().sendStarted));
  } catch (error) {
    if (isSignedOut(error)) return;
    const conflict = error instanceof ApiError && error.status === 409;
    const text = (conflict ? t().alreadySent : t().notSent) + errorText(error, t());
    if (state.openId === id) views.detail.say(text, true);
    notice(t().taskNotice(id, text), true);
    // Refused for a reason the operator can fix (no recipients, goods off shelf): still a draft.
    if (!conflict) state.pressed.delete(id);
  }
  await refreshQuietly(id);
  schedulePoll();
}

/** Schedules a draft's send; the scheduler starts it at that time, within a minute. */
async function scheduleTask(id: string, at: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const answer = await api.sendTask(id, { at });
    const sendAt = answer.status === "scheduled" ? answer.sendAt : at;
    const text = t().scheduledAt(formatTime(sendAt, views.ctx.zone));
    if (state.openId === id) views.detail.say(text);
    notice(t().taskNotice(id, text));
  } catch (error) {
    if (isSignedOut(error)) return;
    if (state.openId === id) views.detail.say(t().scheduleRefused + errorText(error, t()), true);
  } finally {
    button.disabled = false;
  }
  await refreshQuietly(id);
  schedulePoll();
}

async function cancelSchedule(id: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    await api.cancelSchedule(id);
    if (state.openId === id) views.detail.say(t().scheduleCancelled);
  } catch (error) {
    if (isSignedOut(error)) return;
    if (state.openId === id) views.detail.say(t().cancelRefused + errorText(error, t()), true);
  }
  await refreshQuietly(id);
}

async function retryTask(id: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const answer = await api.retryTask(id);
    notice(
      t().taskNotice(id, answer.requeued === 0 ? t().nothingToRetry : t().retryStarted(answer.requeued)),
    );
    await refreshTask(id);
    if (state.openId === id) await views.detail.records.reload();
  } catch (error) {
    if (isSignedOut(error)) return;
    notice(t().taskNotice(id, t().retryRefused + errorText(error, t())), true);
    button.disabled = false;
  }
  schedulePoll();
}

async function refreshQuietly(id: string): Promise<void> {
  try {
    await refreshTask(id);
  } catch (error) {
    if (!isSignedOut(error)) notice(t().taskNotice(id, t().refreshFailed + errorText(error, t())), true);
  }
}

// ——— Paid-post broadcasts

const renderPosts = () => views.posts.render(state.posts, state.postsNext !== null, state.demoPay);

async function detectDemoPay(): Promise<void> {
  state.demoPay = await demoMerchantInUse();
  if (state.demoPay) renderPosts();
}

async function payPost(outTradeNo: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    await payWithDemoMerchant(outTradeNo);
    notice(t().demoPaid(outTradeNo));
    await loadPosts(true);
  } catch (error) {
    notice(t().demoPayFailed(outTradeNo) + errorText(error, t()), true);
    button.disabled = false;
  }
}

async function loadPosts(reset: boolean): Promise<void> {
  try {
    const page = await api.listPosts(reset ? null : state.postsNext);
    state.posts = reset ? page.items : [...state.posts, ...page.items];
    state.postsNext = page.next;
    renderPosts();
    schedulePoll();
  } catch (error) {
    if (!isSignedOut(error)) notice(t().loadPostsFailed + errorText(error, t()), true);
  }
}

function mergePost(post: PostView): void {
  const index = state.posts.findIndex((known) => known.outTradeNo === post.outTradeNo);
  if (index >= 0) state.posts[index] = post;
}

async function openPost(outTradeNo: string): Promise<void> {
  state.openPost = outTradeNo;
  const detail = views.postDetail;
  if (!detail.root.isConnected) views.posts.root.after(detail.root);
  detail.open(outTradeNo);
  try {
    const post = await api.getPost(outTradeNo);
    mergePost(post);
    detail.show(post);
    await detail.records.start(outTradeNo);
    detail.focus();
    schedulePoll();
  } catch (error) {
    if (!isSignedOut(error)) detail.say(t().loadPostFailed + errorText(error, t()), true);
  }
}

function closePost(): void {
  state.openPost = null;
  views.postDetail.hide();
  views.postDetail.root.remove();
}

// ——— Live progress: only what is still moving, one round at a time, stopping when nothing is

function schedulePoll(): void {
  if (state.timer !== undefined || state.polling || !token.get()) return;
  const delay = nextPollIn(state.tasks, state.posts, Date.now(), POLL_MS);
  if (delay !== null) state.timer = setTimeout(() => void poll(), delay);
}

function stopPolling(): void {
  clearTimeout(state.timer);
  state.timer = undefined;
}

async function poll(): Promise<void> {
  state.timer = undefined;
  // A hidden tab asks nothing; showing it again resumes (visibilitychange below).
  if (document.hidden) return;
  state.polling = true;
  try {
    const tasks = state.tasks.filter((task) => isRunning(task)).slice(0, POLL_BATCH);
    await Promise.all(
      tasks.map(async ({ taskId }) => {
        const task = await refreshTask(taskId);
        // The run just ended: the records the operator is looking at have changed.
        if (task.status === "done" && state.openId === taskId) {
          views.detail.say(t().finished(task));
          await views.detail.records.reload();
        }
      }),
    );
    const posts = state.posts.filter(isRunningPost).slice(0, POLL_BATCH);
    for (const post of await Promise.all(posts.map((p) => api.getPost(p.outTradeNo)))) {
      mergePost(post);
      if (post.outTradeNo === state.openPost) {
        views.postDetail.show(post);
        if (!isRunningPost(post)) await views.postDetail.records.reload();
      }
    }
    if (posts.length > 0) renderPosts();
  } catch (error) {
    if (!isSignedOut(error)) notice(t().pollFailed + errorText(error, t()), true);
  } finally {
    state.polling = false;
  }
  schedulePoll();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) schedulePoll();
});

start(storedLang());
