// Audio cells: the clip's bytes are pulled with a `blob` request and played from an object URL.
//
// The kernel serves only files that the table's audio cells name. Fetched clips are kept as
// Blobs in a small LRU (bounded in bytes), so scrolling back does not refetch them; each cell
// makes its own object URL and revokes it when the row is recycled (`releaseAudio`).

import type { RequestClient } from "./client";
import { h } from "./dom";
import { formatNumber } from "./format";

export class AudioStore {
  private readonly blobs = new Map<string, Blob>();
  private readonly pending = new Map<string, Promise<Blob>>();
  private bytes = 0;

  constructor(
    private readonly client: RequestClient,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  get(digest: string): Promise<Blob> {
    const hit = this.blobs.get(digest);
    if (hit !== undefined) {
      this.blobs.delete(digest);
      this.blobs.set(digest, hit);
      return Promise.resolve(hit);
    }
    const inFlight = this.pending.get(digest);
    if (inFlight !== undefined) return inFlight;
    const made = this.client.request("blob", { digest }).then(({ msg, buffers }) => {
      const view = buffers[0];
      if (view === undefined) throw new Error("the kernel sent no audio bytes");
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
      const blob = new Blob([bytes], { type: msg.mime });
      this.put(digest, blob);
      return blob;
    });
    this.pending.set(digest, made);
    const forget = (): void => { this.pending.delete(digest); };
    made.then(forget, forget);
    return made;
  }

  get size(): number {
    return this.blobs.size;
  }

  private put(digest: string, blob: Blob): void {
    this.blobs.set(digest, blob);
    this.bytes += blob.size;
    while (this.bytes > this.maxBytes && this.blobs.size > 1) {
      const [oldest, old] = this.blobs.entries().next().value as [string, Blob];
      this.blobs.delete(oldest);
      this.bytes -= old.size;
    }
  }
}

/** An audio cell: a player (its source arrives asynchronously) and the caption as text. */
export function renderAudio(cell: HTMLElement, value: Record<string, unknown>, store: AudioStore): void {
  cell.classList.add("dv-audio");
  const caption = typeof value.caption === "string" ? value.caption : "";
  const rate = typeof value.sample_rate === "number" ? `${formatNumber(value.sample_rate)} Hz` : "";
  const audio = h("audio", { attrs: { controls: "", preload: "metadata" } });
  audio.title = [caption, rate].filter(Boolean).join(" · ");
  // Using the player must not select the row (a row click re-renders nothing, but the
  // keyboard handler would steal the arrows and space).
  for (const ev of ["click", "mousedown", "keydown"]) audio.addEventListener(ev, (e) => e.stopPropagation());
  cell.appendChild(audio);
  if (caption) cell.appendChild(h("span", { class: "dv-audio-caption", text: caption }));
  const digest = typeof value.digest === "string" ? value.digest : "";
  if (!digest) return;
  store.get(digest).then(
    (blob) => {
      // The row may have been recycled while the bytes travelled: then nobody needs a URL.
      if (!audio.isConnected) return;
      audio.src = URL.createObjectURL(blob);
    },
    (error: unknown) => {
      if (!audio.isConnected) return;
      cell.classList.add("dv-audio-error");
      audio.title = `audio unavailable: ${error instanceof Error ? error.message : String(error)}`;
    },
  );
}

/** Stop and free every player under `root` (a row being recycled, or the whole widget). */
export function releaseAudio(root: Element): void {
  for (const audio of root.querySelectorAll("audio")) {
    const src = audio.getAttribute("src");
    if (src !== null && src.startsWith("blob:")) {
      audio.pause();
      audio.removeAttribute("src");
      audio.load(); // drops the media resource that held the URL
      URL.revokeObjectURL(src);
    }
  }
}
