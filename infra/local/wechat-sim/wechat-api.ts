import { chinaDay } from "./clock.ts";
import { OK, type WxBody, wxError } from "./errors.ts";
import { Ledger } from "./ledger.ts";
import { DailyQuota, quotaAnswer } from "./template-quota.ts";
import { type TokenGrant, TokenService } from "./token-service.ts";
import { UserStore } from "./user-store.ts";
import { checkTemplateData, type TemplateFlavour } from "./value-rules.ts";

export const SEND_APIS = ["custom_send", "template_send", "subscribe_send"] as const;
export type SendApi = (typeof SEND_APIS)[number];
export type ApiName = "stable_token" | "token" | "template_list" | SendApi | "user_get" | "quota_get";

export interface ApiConfig {
  readonly appId: string;
  readonly appSecret: string;
  readonly templateIds: ReadonlySet<string>;
  readonly subscribeTemplateIds: ReadonlySet<string>;
  readonly tokenTtlSeconds: number;
  readonly templateDailyQuota: number;
  readonly customDailyQuota: number;
  readonly strictUsers: boolean;
  readonly ledgerBodyLimit: number;
  readonly now: () => number;
}

/** §3: one `openid + client_msg_id` is sent once within this span; after it, no promise. */
const CLIENT_MSG_ID_MS = 10 * 60_000;
/** Above 2^31 like real template msgids, so a client storing them as int32 breaks here first. */
const FIRST_MSGID = 3_000_000_001;

/** Every message type `/cgi-bin/message/custom/send` accepts; each carries an object under its own name. */
const CUSTOM_MSGTYPES = new Set([
  "text",
  "image",
  "voice",
  "video",
  "music",
  "news",
  "mpnews",
  "mpnewsarticle",
  "msgmenu",
  "wxcard",
  "miniprogrampage",
]);

type Json = Record<string, unknown>;
type Parsed = { ok: true; body: Json } | { ok: false; error: WxBody };

function asRecord(x: unknown): Json | null {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Json) : null;
}

function nonEmptyString(x: unknown): string | null {
  return typeof x === "string" && x !== "" ? x : null;
}

function parseJsonBody(raw: string): Parsed {
  if (raw.trim() === "") return { ok: false, error: wxError(44002) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, error: wxError(47001) };
  }
  const body = asRecord(parsed);
  return body === null ? { ok: false, error: wxError(47001) } : { ok: true, body };
}

/**
 * WeChat's business rules behind the HTTP surface: tokens, follow state, service windows,
 * subscription credits, template validation, client_msg_id de-duplication and daily quotas.
 * Synchronous and transport-free; faults and HTTP live in the simulator.
 */
export class WeChatApi {
  readonly tokens: TokenService;
  readonly users = new UserStore();
  readonly ledger: Ledger;
  /** `userIdx\nclient_msg_id` → ledger row of the first send, oldest first so pruning stops early. */
  private readonly recentClientMsgIds = new Map<string, number>();
  private nextMsgid = FIRST_MSGID;
  private quotaDay = -1;
  /** The template message's daily quota: quota/get reports it, `/__sim/quota` moves it. */
  readonly templateQuota: DailyQuota;
  private customToday = 0;
  private suppressed = 0;

  constructor(private readonly cfg: ApiConfig) {
    this.tokens = new TokenService({
      appId: cfg.appId,
      appSecret: cfg.appSecret,
      ttlSeconds: cfg.tokenTtlSeconds,
      now: cfg.now,
    });
    this.ledger = new Ledger(this.users, cfg.ledgerBodyLimit);
    this.templateQuota = new DailyQuota(cfg.templateDailyQuota, cfg.now);
  }

  /** `POST /cgi-bin/openapi/quota/get` `{"cgi_path"}`: an API's daily limit, used and remaining calls. */
  quotaGet(accessToken: string | null, raw: string): WxBody {
    const tokenError = this.tokens.check(accessToken);
    if (tokenError !== 0) return wxError(tokenError);
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return parsed.error;
    return quotaAnswer({ "/cgi-bin/message/template/send": this.templateQuota }, parsed.body);
  }

  get duplicatesSuppressed(): number {
    return this.suppressed;
  }

  stableToken(raw: string): WxBody {
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return parsed.error;
    const { grant_type, appid, secret, force_refresh } = parsed.body;
    const result = this.tokens.fetchStable(grant_type, appid, secret, force_refresh === true);
    return result.ok ? { ...result.grant } : wxError(result.errcode);
  }

  /** A normal-mode stable grant with the account's own credentials (see WeChatSimulator.centralServerToken). */
  centralServerToken(): TokenGrant {
    const result = this.tokens.fetchStable("client_credential", this.cfg.appId, this.cfg.appSecret, false);
    if (!result.ok) throw new Error(`the simulator refused its own credentials: ${result.errcode}`);
    return result.grant;
  }

  classicToken(query: URLSearchParams): WxBody {
    const result = this.tokens.fetchClassic(query.get("grant_type"), query.get("appid"), query.get("secret"));
    return result.ok ? { ...result.grant } : wxError(result.errcode);
  }

  /**
   * `template/get_all_private_template`: the accepted OA template ids, each with a content that
   * names the keys a 供需信息 template fills (the simulator accepts any keys when sending).
   */
  templateList(accessToken: string | null): WxBody {
    const tokenError = this.tokens.check(accessToken);
    if (tokenError !== 0) return wxError(tokenError);
    return {
      template_list: [...this.cfg.templateIds].map((id) => ({
        template_id: id,
        title: `模板 ${id}`,
        primary_industry: "IT科技",
        deputy_industry: "互联网|电子商务",
        content: "{{thing1.DATA}}\n时间：{{time2.DATA}}",
        example: "供需信息\n时间：2026年12月1日 09:00",
      })),
    };
  }

  /** Runs one send call: token check first, as WeChat rejects a bad credential before reading the body. */
  send(api: SendApi, accessToken: string | null, raw: string): WxBody {
    const tokenError = this.tokens.check(accessToken);
    if (tokenError !== 0) return wxError(tokenError);
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return parsed.error;
    this.rollQuotaDay();
    switch (api) {
      case "custom_send":
        return this.customSend(parsed.body);
      case "template_send":
        return this.templateSend(parsed.body);
      case "subscribe_send":
        return this.subscribeSend(parsed.body);
    }
  }

  private rollQuotaDay(): void {
    const day = chinaDay(this.cfg.now());
    if (day !== this.quotaDay) {
      this.quotaDay = day;
      this.customToday = 0;
    }
  }

  /** Unknown openids are followers without a window unless the simulator is strict. */
  private lookup(openid: string): { idx: number | undefined; followed: boolean } | null {
    const idx = this.users.find(openid);
    if (idx === undefined) return this.cfg.strictUsers ? null : { idx, followed: true };
    return { idx, followed: this.users.isFollowed(idx) };
  }

  private customSend(body: Json): WxBody {
    const touser = nonEmptyString(body.touser);
    const msgtype = nonEmptyString(body.msgtype);
    if (touser === null || msgtype === null) return wxError(44002);
    if (!CUSTOM_MSGTYPES.has(msgtype) || asRecord(body[msgtype]) === null) return wxError(40008);
    const user = this.lookup(touser);
    if (user === null) return wxError(40003);
    if (!user.followed) return wxError(45015);
    if (this.customToday >= this.cfg.customDailyQuota) return wxError(45009);
    const now = this.cfg.now();
    const use = user.idx === undefined ? "closed" : this.users.useWindow(user.idx, now);
    if (use === "closed") return wxError(45015);
    if (use === "used-up") return wxError(45047);
    this.customToday += 1;
    this.ledger.append({ userIdx: this.users.ensure(touser), channel: "custom", msgid: null, body, at: now });
    return { ...OK };
  }

  /** The recipient and template of a template or subscribe send, or the errcode WeChat answers first. */
  private addressee(body: Json, accepted: ReadonlySet<string>) {
    const touser = nonEmptyString(body.touser);
    if (touser === null) return 40003;
    const templateId = nonEmptyString(body.template_id);
    if (templateId === null || !accepted.has(templateId)) return 40037;
    const user = this.lookup(touser);
    if (user === null) return 40003;
    return { touser, templateId, user };
  }

  private templateSend(body: Json): WxBody {
    const to = this.addressee(body, this.cfg.templateIds);
    if (typeof to === "number") return wxError(to);
    const { touser, templateId, user } = to;
    if (!user.followed) return wxError(43004);
    const data = this.checkData(body.data, "official-account");
    if ("errcode" in data) return data;

    const now = this.cfg.now();
    const clientMsgId = nonEmptyString(body.client_msg_id) ?? undefined;
    if (clientMsgId !== undefined && user.idx !== undefined) {
      this.pruneClientMsgIds(now);
      const firstRow = this.recentClientMsgIds.get(`${user.idx}\n${clientMsgId}`);
      if (firstRow !== undefined) {
        this.suppressed += 1;
        return { ...OK, msgid: this.ledger.msgidAt(firstRow) };
      }
    }
    if (!this.templateQuota.take()) return wxError(45009);
    const msgid = this.takeMsgid();
    const userIdx = this.users.ensure(touser);
    const row = this.ledger.append({
      userIdx,
      channel: "template",
      msgid,
      templateId,
      ...(clientMsgId === undefined ? {} : { clientMsgId }),
      body: { ...body, data: data.data },
      at: now,
    });
    if (clientMsgId !== undefined) this.recentClientMsgIds.set(`${userIdx}\n${clientMsgId}`, row);
    return { ...OK, msgid };
  }

  private subscribeSend(body: Json): WxBody {
    const to = this.addressee(body, this.cfg.subscribeTemplateIds);
    if (typeof to === "number") return wxError(to);
    // Following the OA is irrelevant to mini-program subscribe messages; only the credit counts.
    const { templateId, user } = to;
    if (user.idx === undefined || !this.users.hasCredit(user.idx, templateId)) return wxError(43101);
    const data = this.checkData(body.data, "mini-program");
    if ("errcode" in data) return data;
    this.users.useCredit(user.idx, templateId);
    const msgid = this.takeMsgid();
    this.ledger.append({
      userIdx: user.idx,
      channel: "subscribe",
      msgid,
      templateId,
      body: { ...body, data: data.data },
      at: this.cfg.now(),
    });
    return { ...OK, msgid };
  }

  private checkData(data: unknown, flavour: TemplateFlavour): WxBody | { data: Json } {
    const check = checkTemplateData(data, flavour);
    if (check.ok) return { data: check.data };
    return check.key === null ? wxError(47001) : wxError(47003, `data.${check.key}.value invalid`);
  }

  private takeMsgid(): number {
    const msgid = this.nextMsgid;
    this.nextMsgid += 1;
    return msgid;
  }

  /** Entries are in send order and the clock only moves forward, so expired ones are all at the front. */
  private pruneClientMsgIds(now: number): void {
    for (const [key, row] of this.recentClientMsgIds) {
      if (now - this.ledger.timeAt(row) < CLIENT_MSG_ID_MS) break;
      this.recentClientMsgIds.delete(key);
    }
  }

  reset(keepTokens: boolean): void {
    if (keepTokens) this.tokens.resetCounts();
    else this.tokens.reset();
    this.users.clear();
    this.ledger.clear();
    this.recentClientMsgIds.clear();
    this.quotaDay = -1;
    this.templateQuota.reset(this.cfg.templateDailyQuota);
    this.customToday = 0;
    this.suppressed = 0;
  }
}
