/**
 * The local stack's demo routes (`/__demo/`), which only the local stack serves (`npm run dev`, the
 * tests), and only with its generated demo WeChat Pay merchant: no deployment has them. The console
 * asks `GET /__demo/` to know whether to offer 「模拟支付」; anything but this answer means no. Without
 * zod, unlike api.ts, so that the console's bundle can check the answer without carrying zod.
 */

export const DEMO_PREFIX = "/__demo/";

/** `GET /__demo/`: the demo merchant is in use, and where to pay a post with it. */
export interface DemoToolsAnswer {
  readonly demoMerchant: true;
  readonly mchId: string;
  /** `POST /__demo/pay/{outTradeNo}`: answers what `/wechatpay/notify` answered to the signed notify. */
  readonly pay: string;
}

export function isDemoToolsAnswer(value: unknown): value is DemoToolsAnswer {
  const v = value as Partial<DemoToolsAnswer> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.demoMerchant === true &&
    typeof v.mchId === "string" &&
    typeof v.pay === "string"
  );
}

/** The path that pays a registered post with the demo merchant. */
export function demoPayPath(outTradeNo: string): string {
  return `${DEMO_PREFIX}pay/${encodeURIComponent(outTradeNo)}`;
}
