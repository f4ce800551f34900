/** One paid post through the whole stack, with what each of an audience got from it. */
import { expect } from "vitest";
import { gained, type TestApp } from "./harness.ts";

/**
 * Pays for post `outTradeNo`, waits until it settles and returns its status with, per openid of
 * `audience`, the messages it got (`got`) and the send calls WeChat saw for it (`called`).
 */
export async function paidPost(t: TestApp, audience: readonly string[], outTradeNo: string) {
  const before = t.received();
  const calls = new Map(audience.map((id) => [id, t.sim.sendCallsTo(id)]));
  expect((await t.client.notify(await t.postAndNotify(outTradeNo))).status).toBe(204);
  const status = await t.client.waitForBroadcast(outTradeNo);
  const after = t.received();
  return {
    status,
    got: (id: string) => gained(before, after, id),
    called: (id: string) => t.sim.sendCallsTo(id) - (calls.get(id) ?? 0),
  };
}
