import { beforeEach, describe, expect, it } from "vitest";
import { acceptPayment } from "../../functions/core/accept-payment.ts";
import { NotFoundError, PaymentMismatchError } from "../../functions/core/errors.ts";
import type { PaymentNotice } from "../../functions/core/payment.ts";
import { FakeClock, MemoryBroadcastStore, MemoryPostStore, message, RecordingQueues } from "./fakes.ts";

const merchant = { appId: "wxAPP", mchId: "1900000001" };
const notice: PaymentNotice = {
  appId: "wxAPP",
  mchId: "1900000001",
  outTradeNo: "T100000",
  transactionId: "4200000001",
  tradeState: "SUCCESS",
  amountTotal: 500,
  currency: "CNY",
};

let broadcasts: MemoryBroadcastStore;
let posts: MemoryPostStore;
let queues: RecordingQueues;
const deps = () => ({
  posts,
  broadcasts,
  fanoutQueue: queues,
  clock: new FakeClock(),
  composeMessage: () => message,
});

beforeEach(async () => {
  broadcasts = new MemoryBroadcastStore();
  posts = new MemoryPostStore(broadcasts);
  queues = new RecordingQueues();
  await posts.create({
    postId: "p1",
    outTradeNo: "T100000",
    amount: 500,
    content: "出售二手叉车",
    status: "PENDING",
    createdAt: 0,
  });
});

describe("acceptPayment", () => {
  it("marks the post paid and starts one broadcast at page 0", async () => {
    const result = await acceptPayment(notice, merchant, deps());
    expect(result).toEqual({ kind: "started", broadcastId: "post-T100000" });
    expect((await posts.get("T100000"))?.status).toBe("PAID");
    expect(queues.pages).toEqual([{ broadcastId: "post-T100000", page: 0, cursor: null }]);
  });

  it("treats a repeated notify as a duplicate and re-sends page 0 only while the fan-out has not begun", async () => {
    await acceptPayment(notice, merchant, deps());
    expect(await acceptPayment(notice, merchant, deps())).toMatchObject({ kind: "duplicate" });
    expect(queues.pages).toHaveLength(2);

    await broadcasts.recordPage("post-T100000", 0, 10, false);
    await acceptPayment(notice, merchant, deps());
    expect(queues.pages).toHaveLength(2);
    expect(broadcasts.items.size).toBe(1);
  });

  it.each([
    ["appid", { appId: "wxOTHER" }, /appid/],
    ["mchid", { mchId: "1900000002" }, /mchid/],
    ["trade_state", { tradeState: "NOTPAY" }, /NOTPAY/],
    ["amount", { amountTotal: 499 }, /amount/],
    ["currency", { currency: "USD" }, /currency is not CNY/],
  ])("refuses a notify whose %s does not match, changing nothing", async (_name, change, message) => {
    await expect(acceptPayment({ ...notice, ...change }, merchant, deps())).rejects.toThrow(message);
    await expect(acceptPayment({ ...notice, ...change }, merchant, deps())).rejects.toBeInstanceOf(
      PaymentMismatchError,
    );
    expect((await posts.get("T100000"))?.status).toBe("PENDING");
    expect(queues.pages).toHaveLength(0);
  });

  it("refuses an unknown out_trade_no", async () => {
    await expect(
      acceptPayment({ ...notice, outTradeNo: "T999999" }, merchant, deps()),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(queues.pages).toHaveLength(0);
  });
});
