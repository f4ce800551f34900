/** Errcodes the simulator answers with, and their errmsg texts as WeChat words them (WECHAT_FACTS §1–§4). */
export const ERRMSG = {
  [-1]: "system error",
  40001: "invalid credential, access_token is invalid or not latest",
  40002: "invalid grant_type",
  40003: "invalid openid",
  40008: "invalid message type",
  40013: "invalid appid",
  40037: "invalid template_id",
  40125: "invalid appsecret",
  40164: "invalid ip",
  41001: "access_token missing",
  41002: "appid missing",
  41004: "appsecret missing",
  42001: "access_token expired",
  43004: "require subscribe",
  43101: "user refuse to accept the msg",
  44002: "empty post data",
  45009: "reach max api daily quota limit",
  45011: "api minute-quota reach limit  mustslower  retry next minute",
  45015: "response out of time limit or subscription is canceled",
  45047: "out of response count limit",
  47001: "data format error",
  47003: "argument invalid!",
  48001: "api unauthorized",
  76021: "cgi_path not found, please check",
  89503: "此次调用需要管理员确认，请耐心等候",
} as const;

export type Errcode = keyof typeof ERRMSG;

/** A WeChat JSON answer: errors and successes share the `errcode`/`errmsg` envelope. */
export type WxBody = Record<string, unknown> & { errcode?: number };

/**
 * WeChat appends a request id to every error message; clients that compare errmsg verbatim break
 * against the real API, so the simulator does the same to catch them.
 */
function rid(): string {
  const seconds = Math.floor(Date.now() / 1000).toString(16);
  const part = () =>
    Math.floor(Math.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0");
  return `${seconds}-${part()}-${part()}`;
}

/** Builds `{"errcode","errmsg"}`; `detail` extends the message the way 47003 names the bad key. */
export function wxError(errcode: Errcode, detail?: string): WxBody {
  const text = detail === undefined ? ERRMSG[errcode] : `${ERRMSG[errcode]} ${detail}`;
  return { errcode, errmsg: `${text} rid: ${rid()}` };
}

export const OK: Readonly<WxBody> = Object.freeze({ errcode: 0, errmsg: "ok" });
