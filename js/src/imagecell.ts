// An image with its overlays: the picture and masks on a canvas, boxes as SVG on top (so each
// box is an element a test or a screen reader can find, and captions are SVG text).

import { h, svg, clear } from "./dom";
import {
  boxLabel, classColor, colorMask, fitContain, hexToRgb, mapRect, parseBoxes, visibleBoxes,
} from "./geometry";
import type { ThumbStore } from "./thumbs";

export interface ImageCell {
  digest: string;
  width: number;
  height: number;
  caption: string | null;
  boxes: string | null;
  masks: string | null;
  classes: string | null;
}

export interface ClassDef {
  name: string;
  color: string;
}

/** One class list: class id -> its name and colour. */
export type ClassList = ReadonlyMap<number, ClassDef>;

export interface OverlayOptions {
  hidden: ReadonlySet<number>;
  threshold: number;
  maskOpacity: number;
  /** Every class list of the table by its digest; each image uses its own (cell.classes). */
  classes: ReadonlyMap<string, ClassList>;
  labels: boolean;
}

const NO_CLASSES: ClassList = new Map();

/**
 * The class list of one image cell. Lists are per image: class 1 is "cat" in the ground
 * truth's list and may be "car" in the predictions', so a label or colour is never looked up
 * in a merged list. A cell without a (known) list shows ids.
 */
export function cellClasses(cell: Pick<ImageCell, "classes">, lists: ReadonlyMap<string, ClassList>): ClassList {
  return (cell.classes !== null && lists.get(cell.classes)) || NO_CLASSES;
}

export function asImageCell(value: unknown): ImageCell | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.digest !== "string") return null;
  const str = (x: unknown): string | null => (typeof x === "string" ? x : null);
  return {
    digest: v.digest,
    width: Number(v.width) || 0,
    height: Number(v.height) || 0,
    caption: str(v.caption),
    boxes: str(v.boxes),
    masks: str(v.masks),
    classes: str(v.classes),
  };
}

export function maskDigests(cell: ImageCell): string[] {
  if (!cell.masks) return [];
  try {
    const data = JSON.parse(cell.masks) as unknown;
    if (typeof data !== "object" || data === null) return [];
    const out: string[] = [];
    for (const group of Object.keys(data)) {
      const d = (data as Record<string, { digest?: unknown }>)[group]?.digest;
      if (typeof d === "string") out.push(d);
    }
    return out;
  } catch {
    return [];
  }
}

/** Render (or re-render) `cell` into `host`, sized w x h; repaints itself as thumbnails arrive. */
export function paintImage(
  host: HTMLElement,
  cell: ImageCell,
  w: number,
  h_: number,
  store: ThumbStore,
  opts: OverlayOptions,
): void {
  clear(host);
  host.classList.add("dv-img");
  host.style.width = `${w}px`;
  host.style.height = `${h_}px`;
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const canvas = h("canvas", { class: "dv-img-canvas" });
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h_ * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h_}px`;
  host.appendChild(canvas);
  const frame = fitContain(cell.width || 1, cell.height || 1, w, h_);
  const boxes = visibleBoxes(parseBoxes(cell.boxes, cell.width, cell.height), {
    hiddenClasses: opts.hidden,
    threshold: opts.threshold,
  });
  const layer = svg("svg", { class: "dv-boxes", width: w, height: h_, viewBox: `0 0 ${w} ${h_}` });
  layer.setAttribute("data-boxes", String(boxes.length));
  host.setAttribute("data-boxes", String(boxes.length));
  const own = cellClasses(cell, opts.classes);
  const colors = new Map<number, string>();
  for (const [id, c] of own) colors.set(id, c.color);
  for (const box of boxes) {
    const r = mapRect(box.rect, cell.width, cell.height, frame);
    const color = classColor(box.classId, colors);
    const label = boxLabel(box, (id) => own.get(id)?.name);
    const g = svg("g", { class: "dv-box-g" });
    const rect = svg("rect", {
      class: "dv-box", x: r.x, y: r.y, width: Math.max(1, r.w), height: Math.max(1, r.h),
      stroke: color, "data-class": box.classId ?? "",
    });
    rect.appendChild(svg("title", {}, label));
    g.appendChild(rect);
    if (opts.labels && label) {
      const fs = w >= 300 ? 12 : 9;
      const ty = r.y > fs + 2 ? r.y - 3 : r.y + fs + 1;
      g.appendChild(svg("rect", {
        class: "dv-box-label-bg", x: r.x, y: ty - fs, width: Math.min(w - r.x, label.length * fs * 0.6 + 4),
        height: fs + 3, fill: color,
      }));
      g.appendChild(svg("text", { class: "dv-box-label", x: r.x + 2, y: ty, "font-size": fs }, label));
    }
    layer.appendChild(g);
  }
  host.appendChild(layer);

  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.scale(dpr, dpr);
  const repaint = (): void => {
    if (host.isConnected) paintImage(host, cell, w, h_, store, opts);
  };
  const thumb = store.image(cell.digest, repaint);
  if (thumb === undefined) {
    host.classList.add("dv-loading");
    return;
  }
  host.classList.remove("dv-loading");
  if (thumb instanceof Error) {
    host.appendChild(h("span", { class: "dv-img-error", text: "image unavailable", title: thumb.message }));
    return;
  }
  host.dataset.thumb = `${thumb.width}x${thumb.height}`; // the size the kernel sent (tests read it)
  // Small images drawn larger (digits, icons, low-res crops) stay crisp pixels, not a blur.
  ctx.imageSmoothingEnabled = frame.w * dpr < thumb.width * 1.5;
  ctx.drawImage(thumb.bitmap, frame.x, frame.y, frame.w, frame.h);
  if (opts.maskOpacity <= 0) return;
  for (const digest of maskDigests(cell)) {
    const tile = store.mask(digest, repaint);
    if (tile === undefined || tile instanceof Error) continue;
    const rgba = colorMask(tile.ids, (id) => {
      if (id === 0 && !own.get(0)?.color) return null; // background unless coloured on purpose
      if (opts.hidden.has(id)) return null;
      return hexToRgb(classColor(id, colors));
    }, opts.maskOpacity);
    const off = document.createElement("canvas");
    off.width = tile.width;
    off.height = tile.height;
    off.getContext("2d")?.putImageData(new ImageData(rgba, tile.width, tile.height), 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, frame.x, frame.y, frame.w, frame.h);
  }
  if (cell.caption && opts.labels) host.appendChild(h("div", { class: "dv-img-caption", text: cell.caption }));
}
