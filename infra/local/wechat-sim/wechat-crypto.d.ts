/** Types for `wechat-crypto@0.0.2` (plain CommonJS, no types of its own): WeChat's reference envelope. */
declare module "wechat-crypto" {
  class WXBizMsgCrypt {
    constructor(token: string, encodingAESKey: string, appIdOrCorpId: string);
    getSignature(timestamp: string, nonce: string, encrypt: string): string;
    encrypt(text: string): string;
    decrypt(text: string): { message: string; id: string };
  }
  export = WXBizMsgCrypt;
}
