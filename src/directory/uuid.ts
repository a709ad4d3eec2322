import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** The shape of every id carebridge issues; a path or reference id of any other shape names nothing. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// uuid's own v7 asks WebCrypto for 16 bytes per id, which cost 9 µs of each account a
// batch creates (a CPU profile of POST /Users); the bytes come from a pool filled 256 ids
// at a time instead, from the same CSPRNG.
const pool = new Uint8Array(16 * 256);
let taken = pool.length;

function random16(): Uint8Array {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const bytes = pool.subarray(taken, taken + 16);
  taken += 16;
  return bytes;
}

// What uuid's v7 keeps between calls when given no options: ids of one millisecond
// count up from a random start, so the ids of one process sort in the order made.
const clock = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

/** A new time-ordered id (UUIDv7, RFC 9562 §5.7). */
export function newId(): string {
  const random = random16();
  const now = Date.now();
  if (now > clock.msecs) {
    clock.msecs = now;
    clock.seq =
      (((random[6] as number) & 0x7f) << 24) |
      ((random[7] as number) << 16) |
      ((random[8] as number) << 8) |
      (random[9] as number);
  } else {
    clock.seq = (clock.seq + 1) | 0;
    if (clock.seq === 0) clock.msecs++;
  }
  return v7({ random, msecs: clock.msecs, seq: clock.seq });
}
