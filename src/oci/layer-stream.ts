/**
 * Writing a layer splitstream in tar order while the objects it references
 * are stored concurrently: file contents over 64 bytes become objects
 * (stored by whoever calls `external`, possibly still in flight), the rest
 * is inline. Up to WINDOW objects are in flight; the stream itself only
 * ever sees them in order.
 */
import { type Repository, objectIdBytes, type ObjectId, type StoredObject } from '../repository/index.js';
import { CONTENT_TYPES, type SplitstreamWriter } from '../splitstream/index.js';
import type { ImportStats } from './stats.js';

const WINDOW = 64;

type Pending = { readonly inline: Uint8Array } | { readonly size: number; readonly stored: Promise<StoredObject> };

export class LayerStreamBuilder {
  private readonly writer: SplitstreamWriter;
  private readonly queue: Pending[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly stats: ImportStats,
  ) {
    this.writer = repo.streams.writer(CONTENT_TYPES.ociLayer);
  }

  /** Bytes kept in the stream itself (headers, padding, small contents). */
  async inline(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    this.stats.bytesInlined += bytes.length;
    if (this.queue.length === 0) return this.writer.writeInline(bytes);
    // Behind pending objects: keep a copy, the caller's buffer may be reused.
    this.queue.push({ inline: Buffer.from(bytes) });
  }

  /** A content stored as an object; `stored` may still be running. */
  async external(size: number, stored: Promise<StoredObject>): Promise<void> {
    // Seen later in order; failures are taken from there, not as unhandled.
    stored.catch(() => undefined);
    this.queue.push({ size, stored });
    while (this.queue.length > WINDOW) await this.writeHead();
  }

  private async writeHead(): Promise<void> {
    const head = this.queue.shift();
    if (!head) return;
    if ('inline' in head) return this.writer.writeInline(head.inline);
    const object = await head.stored;
    this.stats.object(object.method, head.size);
    await this.writer.writeExternal(objectIdBytes(object.id), head.size);
  }

  /** Writes what is pending and commits the stream as `contentId`. */
  async commit(contentId: string): Promise<ObjectId> {
    try {
      while (this.queue.length > 0) await this.writeHead();
      return await this.repo.streams.commit(await this.writer.finish(), contentId);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops the stream; waits for objects in flight so nothing runs on after. */
  async abort(): Promise<void> {
    const pending = this.queue.splice(0);
    await Promise.allSettled(pending.map((p) => ('stored' in p ? p.stored : Promise.resolve())));
    await this.writer.abort();
  }
}
