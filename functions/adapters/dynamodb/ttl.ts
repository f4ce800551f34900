/** The TTL attribute for an item kept `seconds` after `now` (epoch ms): DynamoDB's TTL is in epoch seconds. */
export function expiresAfter(now: number, seconds: number): number {
  return Math.floor(now / 1000) + seconds;
}
