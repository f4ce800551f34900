import { describe, expect, it } from "vitest";
import { classifyErrcode } from "../../functions/core/errcodes.ts";
import { broadcastProgress } from "../../functions/core/model.ts";
import { newBroadcast } from "./fakes.ts";

describe("classifyErrcode", () => {
  it.each([
    [0, "ok"],
    [40001, "token"],
    [42001, "token"],
    [40014, "token"],
    [45015, "window"],
    [45047, "window"],
    [-1, "transient"],
    [45011, "transient"],
    [45009, "quota"],
    [43004, "permanent"],
    [40003, "permanent"],
    [47003, "permanent"],
    [43101, "permanent"],
    [40037, "permanent"],
  ])("classifies %i as %s", (errcode, expected) => {
    expect(classifyErrcode(errcode)).toBe(expected);
  });
});

describe("broadcastProgress", () => {
  it("is fanning out until the audience is fully read, then sending, paused or done", () => {
    expect(broadcastProgress(newBroadcast("b", { total: 5 })).status).toBe("fanning_out");
    const sending = newBroadcast("b", { fanoutDone: true, total: 5, sent: 2, failed: 1 });
    expect(broadcastProgress(sending)).toMatchObject({ status: "sending", pending: 2 });
    expect(broadcastProgress({ ...sending, paused: true }).status).toBe("paused");
    expect(broadcastProgress({ ...sending, sent: 3, skipped: 1 })).toMatchObject({
      status: "done",
      pending: 0,
    });
  });
});
