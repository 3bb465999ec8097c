// An image with its overlays: the picture and masks on a canvas, boxes as SVG on top (so each
// box is an element a test or a screen reader can find, and captions are SVG text).

import { h, svg, clear } from "./dom";
import {
  boxLabel, classColor, colorMask, fitContain, hexToRgb, mapRect, maskChange, parseBoxes, primaryScore,
  visibleBoxes, type IdTile, type Rect, type RGB,
} from "./geometry";
import { VERSION_COLOURS, versionClass } from "./comparecols";
import { placeLabels } from "./labels";
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
  /** Box labels: always (the detail view), "fit" (thumbnails: when the image is big enough
   * for them to be read) or never. */
  labels: boolean | "fit";
}

/** Thumbnails get labels from this drawn image height on (a large-thumbnail row). */
const FIT_LABELS_HEIGHT = 64;

let measurer: CanvasRenderingContext2D | null | undefined;
let labelFamily = "sans-serif";

/** Width of `text` in the labels' font; a rough estimate where canvas text is unavailable. */
function textWidth(text: string, size: number): number {
  if (measurer === undefined) {
    measurer = document.createElement("canvas").getContext("2d");
    // The labels' CSS font (styles.css: .dv-box-label), read once: themes keep the UI font.
    const family = getComputedStyle(document.documentElement).getPropertyValue("--jp-ui-font-family").trim();
    labelFamily = family || "sans-serif";
  }
  if (!measurer) return text.length * size * 0.6;
  measurer.font = `${size}px ${labelFamily}`;
  return measurer.measureText(text).width;
}

/** `text` cut (with an ellipsis) to at most `width` pixels. */
function fitText(text: string, size: number, width: number): string {
  if (textWidth(text, size) <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(`${text.slice(0, mid)}…`, size) <= width) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? `${text.slice(0, lo)}…` : "";
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

/**
 * Whether a mask's pixels of class `id` are painted: class 0 is background unless its list
 * gives it a colour on purpose. The legend asks too, so it offers no toggle that does nothing.
 */
export function maskPaints(id: number, own: ClassList): boolean {
  return id !== 0 || Boolean(own.get(0)?.color);
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

/**
 * The versions of one compared image drawn over one picture (see imagecompare.ts): entry i is
 * version i's cell (null where the row is missing from it) and the classes hidden in its
 * column. Its boxes are drawn in version i's colour and line style (CSS `dv-v<i>`), its masks
 * as a difference from version 0's.
 */
export interface VersionLayer {
  cell: ImageCell | null;
  hidden: ReadonlySet<number>;
}

interface DrawnBox {
  rect: Rect;
  label: string;
  score: number;
  /** The class colour (one image), or null: a version's colour from the CSS (compare). */
  color: string | null;
  version: number | null;
}

/** The boxes to draw, in frame coordinates: the cell's own, or every version's. */
function drawnBoxes(cell: ImageCell, frame: Rect, opts: OverlayOptions, versions: readonly VersionLayer[] | undefined): DrawnBox[] {
  const layers: { cell: ImageCell; hidden: ReadonlySet<number>; version: number | null }[] = versions
    ? versions.flatMap((v, i) => (v.cell ? [{ cell: v.cell, hidden: v.hidden, version: i }] : []))
    : [{ cell, hidden: opts.hidden, version: null }];
  const out: DrawnBox[] = [];
  for (const layer of layers) {
    const c = layer.cell;
    const own = cellClasses(c, opts.classes);
    const colors = new Map<number, string>();
    for (const [id, def] of own) colors.set(id, def.color);
    const boxes = visibleBoxes(parseBoxes(c.boxes, c.width, c.height), { hiddenClasses: layer.hidden, threshold: opts.threshold });
    for (const box of boxes) {
      out.push({
        rect: mapRect(box.rect, c.width, c.height, frame),
        label: boxLabel(box, (id) => own.get(id)?.name),
        score: primaryScore(box) ?? -Infinity,
        color: layer.version === null ? classColor(box.classId, colors) : null,
        version: layer.version,
      });
    }
  }
  return out;
}

/** Dash patterns of the versions' boxes, in turn: v0 solid, v1 dashed, v2 dotted, v3 dash-dot
 * (the colour tells later versions apart). */
const DASHES = ["", "6 3", "1.5 2.5", "6 2 1.5 2"];

/** Version `i`'s line style (an SVG stroke-dasharray; "" is solid). */
export function versionDash(i: number): string {
  return DASHES[i % DASHES.length] ?? "";
}

/**
 * Render (or re-render) `cell` into `host`, sized w x h; repaints itself as thumbnails arrive.
 * With `versions` (a compared image shown overlaid), `cell` is the picture drawn and every
 * version's boxes and mask difference go over it.
 */
export function paintImage(
  host: HTMLElement,
  cell: ImageCell,
  w: number,
  h_: number,
  store: ThumbStore,
  opts: OverlayOptions,
  versions?: readonly VersionLayer[],
): void {
  clear(host);
  // Set again once the masks are drawn: until then this drawing has counted nothing.
  delete host.dataset.changedPixels;
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
  const boxes = drawnBoxes(cell, frame, opts, versions);
  const layer = svg("svg", { class: "dv-boxes", width: w, height: h_, viewBox: `0 0 ${w} ${h_}` });
  layer.setAttribute("data-boxes", String(boxes.length));
  host.setAttribute("data-boxes", String(boxes.length));
  const fs = frame.w >= 300 ? 12 : 9;
  const showLabels = opts.labels === true || (opts.labels === "fit" && frame.h >= FIT_LABELS_HEIGHT);
  const labelled: DrawnBox[] = [];
  for (const box of boxes) {
    const r = box.rect;
    const g = svg("g", { class: "dv-box-g" });
    const rect = svg("rect", {
      class: box.version === null ? "dv-box" : `dv-box ${versionClass(box.version)}`,
      x: r.x, y: r.y, width: Math.max(1, r.w), height: Math.max(1, r.h),
    });
    if (box.color !== null) rect.setAttribute("stroke", box.color);
    if (box.version !== null) {
      rect.setAttribute("data-version", String(box.version));
      if (versionDash(box.version)) rect.setAttribute("stroke-dasharray", versionDash(box.version));
    }
    rect.appendChild(svg("title", {}, box.label));
    g.appendChild(rect);
    layer.appendChild(g);
    if (showLabels && box.label) labelled.push(box);
  }
  // The most confident boxes are labelled first: where labels crowd, theirs are kept.
  const order = labelled.map((_, i) => i).sort((a, b) => (labelled[b]?.score ?? 0) - (labelled[a]?.score ?? 0) || a - b);
  const requests = order.map((i) => {
    const l = labelled[i]!;
    return { box: l.rect, w: Math.ceil(textWidth(l.label, fs)) + 6, h: fs + 5 };
  });
  // Drawn in box order (so the n-th label is the n-th box's), over every box.
  const spots = new Map(placeLabels(requests, frame).map((p) => [order[p.index]!, p]));
  labelled.forEach((l, i) => {
    const p = spots.get(i);
    if (!p) return;
    const text = p.shrunk ? fitText(l.label, fs, p.w - 6) : l.label;
    if (!text) return;
    const g = svg("g", { class: "dv-box-label-g" });
    const bg = svg("rect", {
      class: l.version === null ? "dv-box-label-bg" : `dv-box-label-bg ${versionClass(l.version)}`,
      x: p.x, y: p.y, width: p.w, height: p.h,
    });
    if (l.color !== null) bg.setAttribute("fill", l.color);
    g.appendChild(bg);
    // textLength holds the text to its measured width, so it never spills out of its
    // background whatever font the notebook uses.
    g.appendChild(svg("text", {
      class: "dv-box-label", x: p.x + 3, y: p.y + p.h / 2, "font-size": fs, "dominant-baseline": "central",
      textLength: Math.max(1, Math.min(p.w - 6, textWidth(text, fs))), lengthAdjust: "spacingAndGlyphs",
    }, text));
    layer.appendChild(g);
  });
  host.dataset.frame = JSON.stringify([frame.x, frame.y, frame.w, frame.h].map((v) => Math.round(v * 100) / 100));
  host.appendChild(layer);

  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.scale(dpr, dpr);
  const repaint = (): void => {
    if (host.isConnected) paintImage(host, cell, w, h_, store, opts, versions);
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
  if (versions) {
    paintMaskChange(host, ctx, frame, versions, store, repaint);
  } else {
    const own = cellClasses(cell, opts.classes);
    const colors = new Map<number, string>();
    for (const [id, c] of own) colors.set(id, c.color);
    for (const digest of maskDigests(cell)) {
      const tile = store.mask(digest, repaint);
      if (tile === undefined || tile instanceof Error) continue;
      const rgba = colorMask(tile.ids, (id) => {
        if (!maskPaints(id, own)) return null;
        if (opts.hidden.has(id)) return null;
        return hexToRgb(classColor(id, colors));
      }, opts.maskOpacity);
      drawPixels(ctx, rgba, tile.width, tile.height, frame);
    }
  }
  if (cell.caption && opts.labels === true) host.appendChild(h("div", { class: "dv-img-caption", text: cell.caption }));
}

/** RGBA pixels of a mask's size stretched over the picture's frame, unsmoothed (class edges stay sharp). */
function drawPixels(ctx: CanvasRenderingContext2D, rgba: Uint8ClampedArray<ArrayBuffer>, width: number, height: number, frame: Rect): void {
  const off = document.createElement("canvas");
  off.width = width;
  off.height = height;
  off.getContext("2d")?.putImageData(new ImageData(rgba, width, height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, frame.x, frame.y, frame.w, frame.h);
}

/** What the unchanged pixels of a changed mask are shaded with: black, a spotlight on the
 * change that reads in light and dark themes alike, and that a theme switch cannot leave stale
 * in thumbnails drawn before it (canvas pixels do not follow CSS variables). */
const SHADE: RGB = [0, 0, 0];

/**
 * Compared masks: per mask group, the pixels whose class differs from version 0's in some
 * later version, in that version's colour; where any changed, the rest of the picture is
 * shaded so they stand out. `host.dataset.changedPixels` counts them (per mask pixel).
 */
function paintMaskChange(
  host: HTMLElement,
  ctx: CanvasRenderingContext2D,
  frame: Rect,
  versions: readonly VersionLayer[],
  store: ThumbStore,
  repaint: () => void,
): void {
  const groups = new Set(versions.flatMap((v) => (v.cell ? Object.keys(maskGroups(v.cell)) : [])));
  if (groups.size > 0 && !host.isConnected) {
    // The versions' colours are CSS variables, known only in the document: a cell drawn
    // before its row is attached draws its masks once it is.
    requestAnimationFrame(repaint);
    return;
  }
  let total = 0;
  let waiting = false;
  for (const group of groups) {
    const tiles: (IdTile | "empty" | null)[] = [];
    let pending = false;
    for (const v of versions) {
      const digest = v.cell ? maskGroups(v.cell)[group] : undefined;
      if (!v.cell) { tiles.push(null); continue; }
      if (digest === undefined) { tiles.push("empty"); continue; }
      const tile = store.mask(digest, repaint);
      if (tile === undefined) pending = true;
      tiles.push(tile === undefined || tile instanceof Error ? null : tile);
    }
    if (pending) {
      waiting = true; // drawn again when its tiles arrive
      continue;
    }
    const colors = versions.map((_, i) => cssColor(host, `--dv-v${i % VERSION_COLOURS}`));
    const change = maskChange(tiles, (i) => colors[i] ?? null, SHADE);
    if (!change) continue;
    total += change.changed;
    drawPixels(ctx, change.rgba, change.width, change.height, frame);
  }
  if (!waiting) host.dataset.changedPixels = String(total);
}

/** A mask cell's groups: group name -> digest of its PNG. */
function maskGroups(cell: ImageCell): Record<string, string> {
  const out: Record<string, string> = {};
  if (!cell.masks) return out;
  try {
    const data = JSON.parse(cell.masks) as unknown;
    if (typeof data !== "object" || data === null) return out;
    for (const group of Object.keys(data)) {
      const d = (data as Record<string, { digest?: unknown }>)[group]?.digest;
      if (typeof d === "string") Object.defineProperty(out, group, { value: d, enumerable: true });
    }
  } catch {
    // A malformed masks field draws no masks, as for a single image.
  }
  return out;
}

let colorProbe: CanvasRenderingContext2D | null | undefined;

/** A CSS colour variable of `el` (a theme colour, a version's colour) as RGB, via the canvas's
 * own colour parser (the theme may name it, "white", or give it as rgb()). */
function cssColor(el: Element, variable: string): RGB | null {
  const text = getComputedStyle(el).getPropertyValue(variable).trim();
  if (!text) return null;
  if (colorProbe === undefined) colorProbe = document.createElement("canvas").getContext("2d");
  if (!colorProbe) return hexToRgb(text);
  colorProbe.fillStyle = "#000000";
  colorProbe.fillStyle = text;
  return hexToRgb(String(colorProbe.fillStyle));
}
