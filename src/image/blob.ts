/** Reading the core's blobs (images, dumpfiles) out in chunks. */
import type { Blob } from '../core/index.js';

const CHUNK = 1 << 20;

/** The whole blob as one buffer; the blob is disposed. */
export function takeBlob(blob: Blob): Buffer {
  try {
    const size = Number(blob.size());
    const out = Buffer.allocUnsafe(size);
    let pos = 0;
    for (;;) {
      const chunk = blob.read(CHUNK);
      if (chunk.length === 0) break;
      out.set(chunk, pos);
      pos += chunk.length;
    }
    return out.subarray(0, pos);
  } finally {
    blob[Symbol.dispose]();
  }
}

/** Writes the blob to `write` chunk by chunk (for stdout); disposes it. */
export async function pipeBlob(blob: Blob, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  try {
    for (;;) {
      const chunk = blob.read(CHUNK);
      if (chunk.length === 0) break;
      await write(chunk);
    }
  } finally {
    blob[Symbol.dispose]();
  }
}
