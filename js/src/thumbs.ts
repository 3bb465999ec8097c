// Thumbnails and mask tiles for visible image cells, requested in batches and kept in an LRU.

import type { RequestClient } from "./client";
import type { MediaItem } from "./protocol";
import { THUMBNAIL_BATCH } from "./protocol";

export interface Thumb {
  bitmap: ImageBitmap;
  width: number;
  height: number;
}

export interface MaskTile {
  ids: Uint8Array | Uint16Array;
  width: number;
  height: number;
}

type Entry = Thumb | MaskTile | Error;
type Waiter = () => void;

export class ThumbStore {
  private readonly entries = new Map<string, Entry>();
  private readonly waiting = new Map<string, Waiter[]>();
  private queued = new Map<string, "image" | "mask">();
  private scheduled = false;

  constructor(
    private readonly client: RequestClient,
    readonly size: number,
    private readonly maxEntries = 600,
  ) {}

  private key(role: string, digest: string): string {
    return `${role}:${digest}`;
  }

  image(digest: string, onReady: Waiter): Thumb | Error | undefined {
    return this.lookup("image", digest, onReady) as Thumb | Error | undefined;
  }

  mask(digest: string, onReady: Waiter): MaskTile | Error | undefined {
    return this.lookup("mask", digest, onReady) as MaskTile | Error | undefined;
  }

  private lookup(role: "image" | "mask", digest: string, onReady: Waiter): Entry | undefined {
    const key = this.key(role, digest);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const list = this.waiting.get(key);
    if (list) list.push(onReady);
    else {
      this.waiting.set(key, [onReady]);
      this.queued.set(key, role);
      this.schedule();
    }
    return undefined;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.queued;
      this.queued = new Map();
      const images: string[] = [];
      const masks: string[] = [];
      for (const [key, role] of batch) (role === "image" ? images : masks).push(key.slice(role.length + 1));
      for (let i = 0; i < Math.max(images.length, masks.length); i += THUMBNAIL_BATCH) {
        void this.fetch(images.slice(i, i + 60), masks.slice(i, i + 60));
      }
    });
  }

  private async fetch(images: string[], masks: string[]): Promise<void> {
    try {
      const { msg, buffers } = await this.client.request("thumbnails", { images, masks, size: this.size });
      await Promise.all(msg.items.map((item) => this.store(item, buffers)));
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      for (const d of images) this.put(this.key("image", d), err);
      for (const d of masks) this.put(this.key("mask", d), err);
    }
  }

  private async store(item: MediaItem, buffers: DataView[]): Promise<void> {
    const key = this.key(item.role, item.digest);
    const buf = item.buffer >= 0 ? buffers[item.buffer] : undefined;
    if (!buf) {
      this.put(key, new Error(item.error || "missing"));
      return;
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (item.role === "mask") {
      const copy = bytes.slice();
      const ids = item.dtype === "uint16" ? new Uint16Array(copy.buffer) : copy;
      this.put(key, { ids, width: item.width, height: item.height });
      return;
    }
    try {
      const bitmap = await createImageBitmap(new Blob([bytes.slice()], { type: item.mime }));
      this.put(key, { bitmap, width: item.width, height: item.height });
    } catch (error) {
      this.put(key, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private put(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      const old = this.entries.get(oldest);
      if (old && "bitmap" in old) old.bitmap.close();
      this.entries.delete(oldest);
    }
    const waiters = this.waiting.get(key) ?? [];
    this.waiting.delete(key);
    for (const w of waiters) w();
  }
}
