// Bucket arithmetic, used only to aim requests at distribution boundaries (where 32-bit and
// 64-bit float arithmetic part ways), never to judge an answer: Flipt does that.

import { crc32 } from 'node:zlib';

const f32 = Math.fround;

/** The variant bucket of DESIGN.md §3: crc32(flagKey ++ entityId) % 1000. */
export const variantBucket = (flagKey, entityId) => (crc32(Buffer.from(flagKey + entityId, 'utf8')) >>> 0) % 1000;

/** Upper bucket boundaries of the usable shares (all but the last, which is 1000), in f32 or f64. */
export function boundaries(shares, single) {
  const usable = shares.filter((s) => s > 0);
  const cast = single ? f32 : (x) => x;
  let total = cast(0);
  for (const s of usable) total = cast(total + cast(s));
  let cumulative = cast(0);
  return usable.slice(0, -1).map((s) => {
    cumulative = cast(cumulative + cast(cast(cast(s) / total) * 100));
    return Math.round(cast(cumulative * 10));
  });
}

/** Whether f32 and f64 arithmetic put some boundary of these shares in different places. */
export function roundingSensitive(shares) {
  return boundaries(shares, true).join() !== boundaries(shares, false).join();
}

/** An entity id whose variant bucket for `flagKey` is `bucket` (found by search; ~1000 tries). */
export function entityIdInBucket(rng, flagKey, bucket) {
  const prefix = rng.pick(['edge', 'b', 'user-', 'ü']);
  for (let n = 0; n < 50000; n++) {
    const id = `${prefix}${n}`;
    if (variantBucket(flagKey, id) === bucket) return id;
  }
  return `${prefix}none`;
}
