/**
 * The WeChat simulator: its in-process controls and its HTTP front. Longer than this directory's
 * other modules because the HTTP handler, the fault sequence and the counters it answers with share
 * per-request state; WeChat's rules are in wechat-api.ts, the delivery reports in
 * delivery-reports.ts and the `/__sim/` routes in control-api.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLargeError, closeServer, listen, readText, sendJson, sendText } from "../http-io.ts";
import { handleControl, type SimulatorControls } from "./control-api.ts";
import { type CallbackOptions, DeliveryReports, type ReportStats } from "./delivery-reports.ts";
import { type WxBody, wxError } from "./errors.ts";
import { DEFAULT_FAULTS, drawFault, type Faults, Prng } from "./faults.ts";
import { FollowerList } from "./follower-list.ts";
import type { Delivered } from "./ledger.ts";
import { eventXml, type PushResult, pushToCallback, textMessageXml } from "./push.ts";
import type { DailyQuota } from "./template-quota.ts";
import type { WindowKind } from "./user-store.ts";
import { type ApiName, type SendApi, WeChatApi } from "./wechat-api.ts";

export type { CallbackOptions, ReportStats } from "./delivery-reports.ts";
export type { Faults } from "./faults.ts";
export type { Channel, Delivered } from "./ledger.ts";
export type { CallbackTarget, PushResult } from "./push.ts";
export type { WindowKind } from "./user-store.ts";
export type { ApiName, SendApi } from "./wechat-api.ts";

export interface SimulatorOptions {
  appId: string;
  appSecret: string;
  /** OA template ids accepted by `message/template/send`. */
  templateIds: string[];
  /** Mini-program template ids accepted by `message/subscribe/send`. */
  subscribeTemplateIds?: string[];
  /** Default 7200. */
  tokenTtlSeconds?: number;
  /** Template sends per day (Beijing days by the injected clock); default 100,000. */
  templateDailyQuota?: number;
  /** Custom (customer-service) sends per day; default 500,000. */
  customDailyQuota?: number;
  /** false (default): unknown openids are followers with no window; true: unknown → 40003. */
  strictUsers?: boolean;
  /** Epoch-ms clock for every WeChat rule (tokens, windows, quotas, de-dup); default Date.now. */
  now?: () => number;
  /** Deliveries whose body the ledger keeps; later ones keep metadata only. Default 1,000. */
  ledgerBodyLimit?: number;
}

export interface SimStats {
  /** Successful grants: normal-mode stable, force-refresh stable, classic `/cgi-bin/token`. */
  tokenFetches: { stable: number; stableForced: number; classic: number };
  /** Requests per WeChat endpoint, faulted ones included. */
  calls: Record<ApiName, number>;
  /** Answers by errcode ("0" for successes, token grants included); timeouts and 5xx have none. */
  errcodes: Record<string, number>;
  delivered: number;
  duplicatesSuppressed: number;
  /**
   * Most WeChat requests open at once. A send is answered synchronously once its body is in, so
   * without `latencyMs` this stays near 1 whatever the client's concurrency.
   */
  inFlightPeak: number;
  inFlight: number;
  faultsInjected: { busy: number; http5xx: number; timeout: number; revoked: number };
  users: number;
}

interface Route {
  readonly method: "GET" | "POST";
  readonly api: ApiName;
}

const ROUTES: Readonly<Record<string, Route>> = {
  "/cgi-bin/stable_token": { method: "POST", api: "stable_token" },
  "/cgi-bin/token": { method: "GET", api: "token" },
  "/cgi-bin/message/custom/send": { method: "POST", api: "custom_send" },
  "/cgi-bin/message/template/send": { method: "POST", api: "template_send" },
  "/cgi-bin/message/subscribe/send": { method: "POST", api: "subscribe_send" },
  "/cgi-bin/template/get_all_private_template": { method: "GET", api: "template_list" },
  "/cgi-bin/user/get": { method: "GET", api: "user_get" },
  "/cgi-bin/openapi/quota/get": { method: "POST", api: "quota_get" },
};

const API_BODY_LIMIT = 1024 * 1024;
/** Large enough for a million openids in one `/__sim/users` call. */
const CONTROL_BODY_LIMIT = 256 * 1024 * 1024;
/** Longer than undici's default so benchmark clients reuse sockets instead of racing the close. */
const KEEP_ALIVE_MS = 65_000;

function zeroCalls(): Record<ApiName, number> {
  return {
    stable_token: 0,
    token: 0,
    template_list: 0,
    custom_send: 0,
    template_send: 0,
    subscribe_send: 0,
    user_get: 0,
    quota_get: 0,
  };
}

function zeroInjected(): SimStats["faultsInjected"] {
  return { busy: 0, http5xx: 0, timeout: 0, revoked: 0 };
}

/**
 * An in-process HTTP stand-in for the WeChat Official Account API (token, custom, template and
 * mini-program subscribe sends) with scriptable users, windows, credits and faults.
 */
export class WeChatSimulator implements SimulatorControls {
  private readonly api: WeChatApi;
  /** `GET /cgi-bin/user/get` over the users that follow: page size, quota, held and failed calls. */
  readonly followers: FollowerList;
  private readonly now: () => number;
  private faults: Faults = { ...DEFAULT_FAULTS };
  private faultRng = new Prng(DEFAULT_FAULTS.seed);
  /** Separate stream so changing latency settings never shifts which sends fault. */
  private jitterRng = new Prng(DEFAULT_FAULTS.seed ^ 0x9e3779b9);
  private sendsSinceRevokeArmed = 0;
  private revokeFired = false;
  private server: Server | null = null;
  private baseUrl: string | null = null;
  private lifetime = new AbortController();
  private inFlight = 0;
  private inFlightPeak = 0;
  private calls = zeroCalls();
  private errcodes: Record<string, number> = {};
  private injected = zeroInjected();
  private callback: CallbackOptions | null = null;
  private readonly reports = new DeliveryReports();
  /** Users who refuse the account's messages: OA sends to them answer 43101 (WECHAT_FACTS §10.6). */
  private readonly refusing = new Set<string>();
  /** Send requests per `touser`, faulted and refused ones included: the call log a test checks. */
  private sendCalls = new Map<string, number>();

  /** Template ids the send APIs accept; `addTemplates` extends them while running. */
  private readonly officialTemplates: Set<string>;
  private readonly subscribeTemplates: Set<string>;

  constructor(opts: SimulatorOptions) {
    this.now = opts.now ?? Date.now;
    this.officialTemplates = new Set(opts.templateIds);
    this.subscribeTemplates = new Set(opts.subscribeTemplateIds ?? []);
    this.api = new WeChatApi({
      appId: opts.appId,
      appSecret: opts.appSecret,
      templateIds: this.officialTemplates,
      subscribeTemplateIds: this.subscribeTemplates,
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 7200,
      templateDailyQuota: opts.templateDailyQuota ?? 100_000,
      customDailyQuota: opts.customDailyQuota ?? 500_000,
      strictUsers: opts.strictUsers ?? false,
      ledgerBodyLimit: opts.ledgerBodyLimit ?? 1000,
      now: this.now,
    });
    this.followers = new FollowerList(this.api.users, this.api.tokens, this.now);
  }

  /** The template message's daily quota: `setRemain(0)` runs it out, `setRemain(n)` gives n back. */
  get templateQuota(): DailyQuota {
    return this.api.templateQuota;
  }

  /** Base URL once started, e.g. `http://127.0.0.1:43211`. */
  get url(): string {
    if (this.baseUrl === null) throw new Error("wechat-sim is not started");
    return this.baseUrl;
  }

  /** Listens on 127.0.0.1; port 0 (default) picks a free port. Resolves to the base URL. */
  async start(port = 0): Promise<string> {
    if (this.server !== null) throw new Error("wechat-sim is already started");
    this.lifetime = new AbortController();
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    const bound = await listen(server, port);
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${bound}`;
    return this.baseUrl;
  }

  /** Closes the server and every socket, including keep-alive ones and requests held by timeouts. */
  async stop(): Promise<void> {
    this.reports.cancel();
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.baseUrl = null;
    this.lifetime.abort();
    await closeServer(server);
  }

  /** Registers users (default: following, no window); ~50 bytes per user besides the openid string. */
  addUsers(openids: Iterable<string>, opts?: { followed?: boolean }): void {
    const followed = opts?.followed ?? true;
    const users = this.api.users;
    for (const openid of openids) users.setFollowed(users.ensure(openid), followed);
  }

  /** Unfollowing also closes the user's service window; re-following does not reopen it. */
  setFollowed(openid: string, followed: boolean): void {
    const users = this.api.users;
    users.setFollowed(users.ensure(openid), followed);
  }

  /** The user messaged the OA (`message`: 5 sends/48 h) or triggered an event (`event`: 3 sends/1 min). */
  openWindow(openid: string, kind: WindowKind): void {
    const users = this.api.users;
    users.openWindow(users.ensure(openid), kind, this.now());
  }

  /**
   * The stable token as the account's central token server (中控服务器) gets it from its own
   * whitelisted address: a normal-mode grant that no HTTP call of the system under test made.
   */
  centralServerToken(): { accessToken: string; expiresIn: number } {
    const grant = this.api.centralServerToken();
    return { accessToken: grant.access_token, expiresIn: grant.expires_in };
  }

  /** Accepts more template ids: OA templates (`template/send`) and mini-program ones (`subscribe/send`). */
  addTemplates(ids: { official?: Iterable<string>; subscribe?: Iterable<string> }): void {
    for (const id of ids.official ?? []) this.officialTemplates.add(id);
    for (const id of ids.subscribe ?? []) this.subscribeTemplates.add(id);
  }

  /** The template ids the send APIs accept now: the configured ones and any added since. */
  templateIds(): { official: string[]; subscribe: string[] } {
    return { official: [...this.officialTemplates], subscribe: [...this.subscribeTemplates] };
  }

  /** Subscribe credits the user has left for the template (WeChat's side of the count). */
  subscriptionCredits(openid: string, templateId: string): number {
    const idx = this.api.users.find(openid);
    return idx === undefined ? 0 : this.api.users.creditsOf(idx, templateId);
  }

  /** The user accepted a one-time subscription `count` times; each credit allows one send. */
  grantSubscription(openid: string, templateId: string, count = 1): void {
    const users = this.api.users;
    users.addCredits(users.ensure(openid), templateId, count);
  }

  /**
   * Acts as WeChat towards an OA callback server: after each delivered template message a
   * TEMPLATESENDJOBFINISH report is pushed there (asynchronously, never slowing the send), and
   * `userSends` / `follow` / `unfollow` push the user's message or event. `null` stops it.
   */
  setCallback(opts: CallbackOptions | null): void {
    this.callback = opts;
    this.reports.restartDraws();
  }

  /** Waits until every scheduled delivery report has been pushed (or failed). */
  flushReports(): Promise<ReportStats> {
    return this.reports.flush();
  }

  reportStats(): ReportStats {
    return this.reports.stats();
  }

  /** Pushes the held delivery reports (`holdReports`), `concurrency` at a time, as WeChat would. */
  releaseReports(concurrency = 16): Promise<ReportStats> {
    return this.reports.release(this.requireCallback(), concurrency);
  }

  /** The user messages the OA: opens their 5-message/48-h window here and pushes the text to the callback. */
  async userSends(openid: string, text: string): Promise<PushResult> {
    const target = this.requireCallback();
    this.openWindow(openid, "message");
    return pushToCallback(target, textMessageXml({ from: openid, to: this.originalId(), content: text }));
  }

  /** The user follows the OA: following here (3-message/1-min window) and a `subscribe` push. */
  async follow(openid: string): Promise<PushResult> {
    const target = this.requireCallback();
    this.setFollowed(openid, true);
    this.openWindow(openid, "event");
    return pushToCallback(target, eventXml({ from: openid, to: this.originalId(), event: "subscribe" }));
  }

  /** The user unfollows the OA: not following here (window closed) and an `unsubscribe` push. */
  async unfollow(openid: string): Promise<PushResult> {
    const target = this.requireCallback();
    this.setFollowed(openid, false);
    return pushToCallback(target, eventXml({ from: openid, to: this.originalId(), event: "unsubscribe" }));
  }

  /**
   * The user refused the account's messages after WeChat accepted a send: their template deliveries
   * from now on are reported `failed:user block`, the sends still answered ok.
   */
  reportUserBlock(openid: string): void {
    this.reports.userBlocks.add(openid);
  }

  /** The user set "refuse messages from this account": template and customer-service sends answer 43101. */
  refuseMessages(openid: string): void {
    this.refusing.add(openid);
  }

  /** Send requests (custom, template, subscribe) that named `openid`, whatever they were answered. */
  sendCallsTo(openid: string): number {
    return this.sendCalls.get(openid) ?? 0;
  }

  private requireCallback(): CallbackOptions {
    if (!this.callback)
      throw new Error("wechat-sim has no callback: call setCallback({ url, token, appId }) first");
    return this.callback;
  }

  private originalId(): string | undefined {
    return this.callback?.originalId;
  }

  /** Delivery reports for the template rows the ledger gained since `from`. */
  private reportSince(from: number): void {
    const target = this.callback;
    if (!target || target.reports === false || this.api.ledger.size <= from) return;
    this.reports.report(target, this.api.ledger.iterate(from));
  }

  /** Merges `patch` into the faults. A `seed` restarts the fault sequence; `revokeTokenAtSend` re-arms. */
  setFaults(patch: Partial<Faults>): void {
    this.faults = { ...this.faults, ...patch };
    if (patch.seed !== undefined) this.reseed(patch.seed);
    if ("revokeTokenAtSend" in patch) {
      this.sendsSinceRevokeArmed = 0;
      this.revokeFired = false;
    }
  }

  clearFaults(): void {
    this.faults = { ...DEFAULT_FAULTS };
    this.reseed(DEFAULT_FAULTS.seed);
    this.sendsSinceRevokeArmed = 0;
    this.revokeFired = false;
  }

  faultSettings(): Readonly<Faults> {
    return { ...this.faults };
  }

  private reseed(seed: number): void {
    this.faultRng = new Prng(seed);
    this.jitterRng = new Prng(seed ^ 0x9e3779b9);
  }

  /** What this user actually received, oldest first. */
  ledger(openid: string): readonly Delivered[] {
    const idx = this.api.users.find(openid);
    return idx === undefined ? [] : this.api.ledger.forUser(idx);
  }

  /** Every delivery, oldest first; materialises one small object per row (~0.1 s per million). */
  allDelivered(): readonly Delivered[] {
    return Array.from(this.api.ledger.iterate());
  }

  /** Streams deliveries in `[from, to)` without building an array. */
  deliveries(from = 0, to = Number.POSITIVE_INFINITY): Generator<Delivered> {
    return this.api.ledger.iterate(from, to);
  }

  stats(): SimStats {
    return {
      tokenFetches: this.api.tokens.fetchCounts,
      calls: { ...this.calls },
      errcodes: { ...this.errcodes },
      delivered: this.api.ledger.size,
      duplicatesSuppressed: this.api.duplicatesSuppressed,
      inFlightPeak: this.inFlightPeak,
      inFlight: this.inFlight,
      faultsInjected: { ...this.injected },
      users: this.api.users.size,
    };
  }

  /**
   * Back to a fresh state: users, windows, credits, ledger, quotas, faults and stats. Issued tokens
   * are forgotten too (they answer 40001) unless `keepTokens`, which keeps them valid.
   */
  reset(opts?: { keepTokens?: boolean }): void {
    this.api.reset(opts?.keepTokens ?? false);
    this.followers.reset();
    this.clearFaults();
    this.calls = zeroCalls();
    this.sendCalls = new Map();
    this.refusing.clear();
    this.reports.userBlocks.clear();
    this.errcodes = {};
    this.injected = zeroInjected();
    this.inFlightPeak = this.inFlight;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) {
        sendText(res, 413, "Payload Too Large", { connection: "close" });
      } else if (!this.lifetime.signal.aborted && !res.headersSent && !res.destroyed) {
        sendText(res, 500, err instanceof Error ? err.message : String(err));
      }
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    if (url.pathname.startsWith("/__sim/")) {
      const raw = await readText(req, CONTROL_BODY_LIMIT);
      const answer = handleControl(this, method, url, raw);
      sendJson(res, answer.status, answer.body);
      return;
    }
    const route = ROUTES[url.pathname];
    if (route === undefined) {
      sendText(res, 404, "Not Found");
      return;
    }
    if (method !== route.method) {
      sendText(res, 405, "Method Not Allowed", { allow: route.method });
      return;
    }
    this.trackInFlight(res);
    this.calls[route.api] += 1;
    const raw = await readText(req, API_BODY_LIMIT);
    // Processed even if the client has given up meanwhile: WeChat cannot tell, so neither do we.
    await this.delay();
    const refusal = this.faults.refuseTokenCalls;
    if (refusal !== null && (route.api === "stable_token" || route.api === "token")) {
      // WeChat names the caller's address, as seen from its side, in a whitelist refusal.
      const ip = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
      this.reply(
        res,
        wxError(refusal, refusal === 40164 ? `${ip} ipv6 ::ffff:${ip}, not in whitelist` : undefined),
      );
      return;
    }
    switch (route.api) {
      case "stable_token":
        this.reply(res, this.api.stableToken(raw));
        return;
      case "token":
        this.reply(res, this.api.classicToken(url.searchParams));
        return;
      case "template_list":
        this.reply(res, this.api.templateList(url.searchParams.get("access_token")));
        return;
      case "user_get":
        this.reply(res, await this.followers.answer(url.searchParams));
        return;
      case "quota_get":
        this.reply(res, this.api.quotaGet(url.searchParams.get("access_token"), raw));
        return;
      default:
        this.send(route.api, url.searchParams.get("access_token"), raw, res);
    }
  }

  /** Fault order per the contract: latency (already waited), then the seeded rate faults, then revoke-at-k. */
  private send(api: SendApi, token: string | null, raw: string, res: ServerResponse): void {
    this.sendsSinceRevokeArmed += 1;
    const touser = touserOf(raw);
    if (touser !== null) this.sendCalls.set(touser, (this.sendCalls.get(touser) ?? 0) + 1);
    const { faultApis } = this.faults;
    const fault =
      faultApis.length === 0 || faultApis.includes(api)
        ? drawFault(this.faults, this.faultRng.next())
        : "none";
    switch (fault) {
      case "timeout":
        this.injected.timeout += 1;
        // The request stays open until the client aborts; stop() destroys what is left.
        if (this.faults.timeoutDelivers) {
          const before = this.api.ledger.size;
          this.api.send(api, token, raw);
          this.reportSince(before);
        }
        return;
      case "http5xx":
        this.injected.http5xx += 1;
        sendText(res, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
        return;
      case "busy":
        this.injected.busy += 1;
        this.reply(res, wxError(-1));
        return;
      case "none":
        break;
    }
    const k = this.faults.revokeTokenAtSend;
    if (k !== null && !this.revokeFired && this.sendsSinceRevokeArmed >= k) {
      this.revokeFired = true;
      this.injected.revoked += 1;
      this.api.tokens.revokeAsElsewhere(token);
    }
    if (touser !== null && api !== "subscribe_send" && this.refusing.has(touser)) {
      this.reply(res, wxError(43101));
      return;
    }
    const before = this.api.ledger.size;
    const answer = this.api.send(api, token, raw);
    this.reply(res, answer);
    this.reportSince(before);
  }

  private reply(res: ServerResponse, body: WxBody): void {
    const key = String(body.errcode ?? 0);
    this.errcodes[key] = (this.errcodes[key] ?? 0) + 1;
    sendJson(res, 200, body);
  }

  private trackInFlight(res: ServerResponse): void {
    this.inFlight += 1;
    if (this.inFlight > this.inFlightPeak) this.inFlightPeak = this.inFlight;
    res.once("close", () => {
      this.inFlight -= 1;
    });
  }

  private async delay(): Promise<void> {
    const { latencyMs, latencyJitterMs } = this.faults;
    const ms = latencyMs + (latencyJitterMs > 0 ? this.jitterRng.next() * latencyJitterMs : 0);
    if (ms <= 0) return;
    await sleep(ms, undefined, { signal: this.lifetime.signal });
  }
}

/** The `touser` of a send body, or null when it has none (the API answers that itself). */
function touserOf(raw: string): string | null {
  try {
    const body: unknown = JSON.parse(raw);
    const touser = (body as { touser?: unknown } | null)?.touser;
    return typeof touser === "string" ? touser : null;
  } catch {
    return null;
  }
}
