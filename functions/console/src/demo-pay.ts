import { DEMO_PREFIX, demoPayPath, isDemoToolsAnswer } from "../../contracts/demo.ts";
import { ApiError, token } from "./api.ts";

/**
 * 「模拟支付」: the local stack's demo WeChat Pay merchant (contracts/demo.ts). Offered only when
 * `GET /__demo/` says the demo merchant is in use; in AWS the admin function answers that path with a
 * 404, and a stack given a real merchant has no such route, so the console there shows no button and
 * nothing here is called again. Not the API client's `call`: a refusal here must not sign anyone out.
 */

const authorization = () => ({ authorization: `Bearer ${token.get() ?? ""}` });

/** Whether the stack behind this page pays with its own demo merchant. */
export async function demoMerchantInUse(): Promise<boolean> {
  try {
    const res = await fetch(DEMO_PREFIX, { headers: authorization() });
    return res.ok && isDemoToolsAnswer(await res.json());
  } catch {
    return false;
  }
}

/** Pays the post by a signed notify; throws ApiError with what the stack or the notify route refused. */
export async function payWithDemoMerchant(outTradeNo: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(demoPayPath(outTradeNo), { method: "POST", headers: authorization() });
  } catch {
    throw new ApiError(0, "");
  }
  if (res.ok) return;
  throw new ApiError(res.status, refusalOf(await res.text()));
}

/** The stack's `{"error"}` or the notify route's WeChat Pay-style `{"code","message"}`. */
function refusalOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const said = body.error ?? body.message;
    return typeof said === "string" ? said : text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
