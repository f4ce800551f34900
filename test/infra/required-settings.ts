/** The settings a deploy cannot go without, each well-formed: the base the settings tests vary. */
export const requiredSettings = {
  WECHAT_APP_ID: "wx0123456789abcdef",
  WECHAT_TEMPLATE_ID: "TEMPLATE",
  WECHATPAY_MCH_ID: "1900000001",
  WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0114232134912410000000000000TEST",
  ALARM_EMAIL: "ops@example.com",
};
