import { describe, expect, it } from "vitest";
import {
  DEMO_SUBSCRIBE_TEMPLATE_ID,
  LocalSettingError,
  templateIdList,
} from "../../infra/local/local-app.ts";
import { handleControl } from "../../infra/local/wechat-sim/control-api.ts";
import { WeChatSimulator } from "../../infra/local/wechat-sim/simulator.ts";

const control = (sim: WeChatSimulator, method: string, body = "") =>
  handleControl(sim, method, new URL("http://127.0.0.1/__sim/templates"), body);

describe("the simulator's template ids", () => {
  it("are listed by GET /__sim/templates, and POST adds to them and answers the new list", () => {
    const sim = new WeChatSimulator({
      appId: "wx1",
      appSecret: "s",
      templateIds: ["TPL_A"],
      subscribeTemplateIds: [DEMO_SUBSCRIBE_TEMPLATE_ID],
    });
    expect(control(sim, "GET")).toEqual({
      status: 200,
      body: { templateIds: ["TPL_A"], subscribeTemplateIds: ["TPL_SUBSCRIBE_DEMO"] },
    });
    const added = control(sim, "POST", JSON.stringify({ templateIds: ["TPL_B", "TPL_A"] }));
    expect(added).toEqual({
      status: 200,
      body: { ok: true, templateIds: ["TPL_A", "TPL_B"], subscribeTemplateIds: ["TPL_SUBSCRIBE_DEMO"] },
    });
    expect(control(sim, "POST", JSON.stringify({ templateIds: "TPL_C" })).status).toBe(400);
    expect(sim.templateIds().official).toEqual(["TPL_A", "TPL_B"]);
  });

  it("take SIM_TEMPLATE_IDS separated by commas or spaces, and refuse one WeChat would not accept", () => {
    expect(templateIdList("SIM_TEMPLATE_IDS", undefined)).toEqual([]);
    expect(templateIdList("SIM_TEMPLATE_IDS", " TPL_A, TPL-b  x9 ,")).toEqual(["TPL_A", "TPL-b", "x9"]);
    expect(() => templateIdList("SIM_TEMPLATE_IDS", "TPL_A,b@d")).toThrow(LocalSettingError);
    expect(() => templateIdList("SIM_SUBSCRIBE_TEMPLATE_IDS", "b@d")).toThrow(
      'SIM_SUBSCRIBE_TEMPLATE_IDS: "b@d" is not a template id',
    );
  });
});
