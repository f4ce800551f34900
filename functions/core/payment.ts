/** A decrypted, schema-checked WeChat Pay v3 `transaction` resource, reduced to what Fanout uses. */
export interface PaymentNotice {
  readonly appId: string;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string;
  /** SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING or PAYERROR. */
  readonly tradeState: string;
  /** Amount paid, in fen. */
  readonly amountTotal: number;
  readonly currency: string;
  readonly successTime?: string;
  readonly payerOpenid?: string;
}
