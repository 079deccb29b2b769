// Snapshot bytes as they may arrive: the compiled document as it is, or compressed (a seed file
// or a cached copy kept as gzip). `fetch` undoes HTTP's content encodings itself; what is still
// compressed is inflated here with the runtime's own DecompressionStream (Node 18+, browsers,
// Deno, workerd), so the wasm engine carries no decompressor.

import { VexilError } from './errors.js';

/**
 * `'gzip'` (magic `1f 8b`), `'deflate'` (a zlib header: deflate method, a window up to 32 KiB,
 * no preset dictionary, valid check bits), or null: a compiled snapshot starts with `V`, which
 * no zlib header does.
 */
export function compressionOf(bytes) {
  if (bytes.byteLength < 2) return null;
  const [first, second] = bytes;
  if (first === 0x1f && second === 0x8b) return 'gzip';
  const zlib = (first & 0x0f) === 8 && first >> 4 <= 7 && (second & 0x20) === 0 && ((first << 8) | second) % 31 === 0;
  return zlib ? 'deflate' : null;
}

/**
 * The snapshot's own bytes: as given, or inflated when gzip or zlib (a compressed seed), at
 * most `maxBytes` of them (`TOO_LARGE` past that, checked as they come).
 */
export async function uncompressed(bytes, maxBytes) {
  const format = compressionOf(bytes);
  if (format === null) return bytes;
  if (typeof DecompressionStream !== 'function') {
    throw new VexilError('BAD_SNAPSHOT', `this runtime has no DecompressionStream to inflate a ${format} snapshot: hand over its bytes uncompressed`);
  }
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new VexilError('TOO_LARGE', `the snapshot inflates to more than ${maxBytes} bytes (maxSnapshotBytes)`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof VexilError) throw error;
    throw new VexilError('BAD_SNAPSHOT', `the snapshot is not valid ${format} data (${error.message})`, { cause: error });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
