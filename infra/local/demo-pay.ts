/**
 * Paying a registered post with the local stack's demo WeChat Pay merchant, as WeChat Pay would: the
 * transaction for the post's amount, encrypted with the APIv3 key and signed with the key only "WeChat
 * Pay" holds, sent to `/wechatpay/notify`. Two ways in: the local-only routes `GET /__demo/` and
 * `POST /__demo/pay/{outTradeNo}` (the console's 「模拟支付」) and `npm run pay` (pay.ts).
 */
import { join } from "node:path";
import { z } from "zod";
import { DEMO_PREFIX, type DemoToolsAnswer } from "../../functions/contracts/demo.ts";
import { type HttpEvent, type HttpResult, hasBearerToken, JSON_HEADERS, json } from "../../functions/http.ts";
import { type FanoutClient, HttpStatusError } from "./fanout-client.ts";
import { repoRoot } from "./lambda-runner.ts";
import type { LocalRoute } from "./runner-http.ts";
import { buildTransaction, signNotify, type WechatPayTestMerchant } from "./wechatpay-signer.ts";

export type DemoPayment =
  | { readonly kind: "notified"; readonly amount: number; readonly status: number; readonly body: string }
  | { readonly kind: "already_paid"; readonly broadcastId: string | null }
  | { readonly kind: "no_post" };

/** Pays the post with a genuinely signed notify, unless it is already paid; reports what the notify route answered. */
export async function payWithDemoMerchant(
  client: FanoutClient,
  merchant: WechatPayTestMerchant,
  outTradeNo: string,
): Promise<DemoPayment> {
  let post: Awaited<ReturnType<FanoutClient["getPost"]>>;
  try {
    post = await client.getPost(outTradeNo);
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 404) return { kind: "no_post" };
    throw error;
  }
  if (post.payment === "PAID") return { kind: "already_paid", broadcastId: post.broadcastId };
  const notify = signNotify(merchant, buildTransaction(merchant, { outTradeNo, amountTotal: post.amount }));
  const answer = await client.notify(notify);
  return { kind: "notified", amount: post.amount, ...answer };
}

/**
 * `GET /__demo/` and `POST /__demo/pay/{outTradeNo}`, for the stack's own demo merchant; both take the
 * operator's token, as the admin API does. The pay route answers with the notify route's own status
 * and body; `client` is the stack's admin API as the operator's token reaches it.
 */
export function demoRoutes(opts: {
  readonly merchant: WechatPayTestMerchant;
  readonly adminToken: string;
  readonly client: () => FanoutClient;
  readonly log: (line: string) => void;
}): LocalRoute[] {
  const refused = (event: HttpEvent): HttpResult | undefined =>
    hasBearerToken(event, opts.adminToken)
      ? undefined
      : json(401, { error: "missing or wrong bearer token (Authorization: Bearer <ADMIN_TOKEN>)" });
  const tools: DemoToolsAnswer = {
    demoMerchant: true,
    mchId: opts.merchant.mchId,
    pay: `POST ${DEMO_PREFIX}pay/{outTradeNo}`,
  };
  return [
    {
      method: "GET",
      path: DEMO_PREFIX,
      handle: async (event) => refused(event) ?? json(200, tools),
    },
    {
      method: "POST",
      path: `${DEMO_PREFIX}pay/`,
      prefix: true,
      handle: async (event) => {
        const refusal = refused(event);
        if (refusal) return refusal;
        const outTradeNo = pathParam(event.rawPath.slice(`${DEMO_PREFIX}pay/`.length));
        if (!outTradeNo)
          return json(400, { error: "give the post's outTradeNo: POST /__demo/pay/{outTradeNo}" });
        const paid = await payWithDemoMerchant(opts.client(), opts.merchant, outTradeNo);
        opts.log(`[demo] pay ${outTradeNo}: ${describePayment(paid)}`);
        switch (paid.kind) {
          case "no_post":
            return json(404, { error: `no post with outTradeNo ${outTradeNo}` });
          case "already_paid":
            return json(409, { error: `post ${outTradeNo} is already paid` });
          case "notified":
            return {
              statusCode: paid.status,
              headers: paid.body === "" ? {} : { ...JSON_HEADERS },
              body: paid.body,
            };
        }
      },
    },
  ];
}

/** One percent-decoded path segment; undefined for none, a slash or a malformed escape. */
function pathParam(raw: string): string | undefined {
  if (raw === "" || raw.includes("/")) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The outcome in words, for the stack's log and `npm run pay`. */
export function describePayment(paid: DemoPayment): string {
  switch (paid.kind) {
    case "no_post":
      return "no such post (register it first: POST /api/posts)";
    case "already_paid":
      return `already paid${paid.broadcastId ? ` (broadcast ${paid.broadcastId})` : ""}`;
    case "notified":
      return paid.status === 204
        ? `paid ¥${(paid.amount / 100).toFixed(2)}: /wechatpay/notify answered 204, broadcasting`
        : `/wechatpay/notify refused the payment: ${paid.status} ${paid.body}`;
  }
}

// ——— The file `npm run dev` leaves for `npm run pay`

/**
 * `demo-merchant.json`: the demo merchant (its keys, APIv3 key and ids) and where the stack that
 * trusts it listens, plus the operator's token when the stack generated it (a local demo value).
 */
export const demoMerchantFile = z.object({
  appId: z.string(),
  mchId: z.string(),
  apiV3Key: z.string(),
  publicKeyId: z.string(),
  privateKeyPem: z.string(),
  publicKeyPem: z.string(),
  baseUrl: z.string(),
  adminToken: z.string().optional(),
});
export type DemoMerchantFile = z.infer<typeof demoMerchantFile>;

/** Where `npm run dev` writes demo-merchant.json: FANOUT_DEV_DIR, default `.local/` in the repository (git-ignored). */
export function demoMerchantPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(env.FANOUT_DEV_DIR || join(repoRoot, ".local"), "demo-merchant.json");
}
