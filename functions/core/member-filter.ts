/**
 * A Bloom filter of a chunk's openids, stored on the chunk's claim item when the chunk settles (in
 * that same write, no write of its own), so a subscriber lookup reads only the chunks that may hold
 * the user instead of every grouped record of a paid post. 1,024 bits and 7 hashes for a chunk of
 * 100: about 0.7 % of the chunks a user is not in are read anyway; one the user is in never is missed.
 */
import { createHash } from "node:crypto";

const BITS = 1024;
const HASHES = 7;
/** The stored filter's size. */
export const MEMBER_FILTER_BYTES = BITS / 8;

/** The bit positions of one openid: double hashing over two 32-bit halves of its SHA-256. */
function positions(openid: string): number[] {
  const digest = createHash("sha256").update(openid).digest();
  const a = digest.readUInt32BE(0);
  // Odd, so successive positions never repeat a cycle shorter than BITS.
  const b = (digest.readUInt32BE(4) | 1) >>> 0;
  return Array.from({ length: HASHES }, (_, i) => (a + i * b) % BITS);
}

/** The filter of `openids`: BITS / 8 bytes. */
export function memberFilter(openids: Iterable<string>): Uint8Array {
  const bits = new Uint8Array(MEMBER_FILTER_BYTES);
  for (const openid of openids)
    for (const p of positions(openid)) bits[p >> 3] = (bits[p >> 3] ?? 0) | (1 << (p & 7));
  return bits;
}

/** False only when `openid` was certainly not among the filter's openids. */
export function mayContain(filter: Uint8Array, openid: string): boolean {
  if (filter.length !== MEMBER_FILTER_BYTES) return true;
  return positions(openid).every((p) => ((filter[p >> 3] ?? 0) & (1 << (p & 7))) !== 0);
}
