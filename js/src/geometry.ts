// Overlay geometry: where boxes go on a scaled image, which are shown, what colour masks get.
// Pure functions over plain data, so they are unit-tested without a browser.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Box {
  group: string;
  classId: number | null;
  caption: string | null;
  scores: Map<string, number>;
  /** In source-image pixels. */
  rect: Rect;
}

export type RGB = [number, number, number];

const PALETTE: readonly string[] = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function own(obj: unknown, key: string): unknown {
  if (typeof obj !== "object" || obj === null) return undefined;
  return Object.prototype.hasOwnProperty.call(obj, key)
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

/** Parse one box (architecture.md shape) into source-pixel coordinates; null if malformed. */
export function parseBox(raw: unknown, group: string, width: number, height: number): Box | null {
  const pos = own(raw, "position");
  if (typeof pos !== "object" || pos === null) return null;
  const pixel = own(raw, "domain") === "pixel";
  const sx = pixel ? 1 : width;
  const sy = pixel ? 1 : height;
  let x0: number | null, x1: number | null, y0: number | null, y1: number | null;
  const middle = own(pos, "middle");
  if (Array.isArray(middle)) {
    const mx = finite(middle[0]);
    const my = finite(middle[1]);
    const w = finite(own(pos, "width"));
    const h = finite(own(pos, "height"));
    if (mx === null || my === null || w === null || h === null) return null;
    x0 = mx - w / 2; x1 = mx + w / 2; y0 = my - h / 2; y1 = my + h / 2;
  } else {
    x0 = finite(own(pos, "minX")); x1 = finite(own(pos, "maxX"));
    y0 = finite(own(pos, "minY")); y1 = finite(own(pos, "maxY"));
    if (x0 === null || x1 === null || y0 === null || y1 === null) return null;
  }
  const scores = new Map<string, number>();
  const rawScores = own(raw, "scores");
  if (typeof rawScores === "object" && rawScores !== null) {
    for (const key of Object.keys(rawScores)) {
      const v = finite(own(rawScores, key));
      if (v !== null) scores.set(key, v);
    }
  }
  const classId = finite(own(raw, "class_id"));
  const caption = own(raw, "box_caption");
  return {
    group,
    classId,
    caption: typeof caption === "string" ? caption : null,
    scores,
    rect: {
      x: Math.min(x0, x1) * sx,
      y: Math.min(y0, y1) * sy,
      w: Math.abs(x1 - x0) * sx,
      h: Math.abs(y1 - y0) * sy,
    },
  };
}

/** Parse an image cell's `boxes` JSON: {"<group>": {"box_data": [box, ...]}}. Bad boxes are skipped. */
export function parseBoxes(json: string | null | undefined, width: number, height: number): Box[] {
  if (!json) return [];
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return [];
  }
  const out: Box[] = [];
  if (typeof data !== "object" || data === null) return out;
  for (const group of Object.keys(data)) {
    const boxData = own(own(data, group), "box_data");
    if (!Array.isArray(boxData)) continue;
    for (const raw of boxData) {
      const box = parseBox(raw, group, width, height);
      if (box) out.push(box);
    }
  }
  return out;
}

/** The score a threshold applies to: "score" if present, else the first one. */
export function primaryScore(box: Box): number | null {
  if (box.scores.has("score")) return box.scores.get("score") ?? null;
  for (const v of box.scores.values()) return v;
  return null;
}

export interface OverlayFilter {
  hiddenClasses: ReadonlySet<number>;
  threshold: number;
}

export function visibleBoxes(boxes: readonly Box[], filter: OverlayFilter): Box[] {
  return boxes.filter((b) => {
    if (b.classId !== null && filter.hiddenClasses.has(b.classId)) return false;
    const s = primaryScore(b);
    return s === null || s >= filter.threshold;
  });
}

/** Where an image of srcW x srcH lands inside a dstW x dstH frame, scaled to fit, centred. */
export function fitContain(srcW: number, srcH: number, dstW: number, dstH: number): Rect {
  if (srcW <= 0 || srcH <= 0) return { x: 0, y: 0, w: 0, h: 0 };
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const w = srcW * scale;
  const h = srcH * scale;
  return { x: (dstW - w) / 2, y: (dstH - h) / 2, w, h };
}

/** Map a box from source-image pixels into a frame where the image occupies `frame`. */
export function mapRect(rect: Rect, srcW: number, srcH: number, frame: Rect): Rect {
  const kx = srcW > 0 ? frame.w / srcW : 0;
  const ky = srcH > 0 ? frame.h / srcH : 0;
  return { x: frame.x + rect.x * kx, y: frame.y + rect.y * ky, w: rect.w * kx, h: rect.h * ky };
}

export function hexToRgb(hex: string): RGB | null {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m || m[1] === undefined) return null;
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A stable colour per class: the class's own colour if valid, else a palette entry. */
export function classColor(classId: number | null, colors?: ReadonlyMap<number, string>): string {
  if (classId === null) return PALETTE[0] as string;
  const own = colors?.get(classId);
  if (own !== undefined && hexToRgb(own) !== null) return own;
  const i = ((Math.trunc(classId) % PALETTE.length) + PALETTE.length) % PALETTE.length;
  return PALETTE[i] as string;
}

/**
 * Colour a mask of class ids into RGBA pixels. Class 0 is background unless it has a colour of its
 * own and is not hidden; hidden classes are transparent. `opacity` is in [0, 1].
 */
export function colorMask(
  ids: ArrayLike<number>,
  colorFor: (classId: number) => RGB | null,
  opacity: number,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(ids.length * 4));
  const alpha = Math.round(Math.max(0, Math.min(1, opacity)) * 255);
  const cache = new Map<number, RGB | null>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    let rgb = cache.get(id);
    if (rgb === undefined) {
      rgb = colorFor(id);
      cache.set(id, rgb);
    }
    if (rgb === null) continue;
    out[i * 4] = rgb[0];
    out[i * 4 + 1] = rgb[1];
    out[i * 4 + 2] = rgb[2];
    out[i * 4 + 3] = alpha;
  }
  return out;
}

/**
 * Whether a caption already shows `score`: a number in it with a decimal point or a percent
 * sign that equals the score at the caption's own precision ("car (0.913)", "car 91%").
 */
export function captionHasScore(caption: string, score: number): boolean {
  for (const m of caption.matchAll(/(\d*\.\d+|\d+)(\s*%)?/g)) {
    const text = m[1] ?? "";
    const percent = m[2] !== undefined;
    const dot = text.indexOf(".");
    if (dot < 0 && !percent) continue; // a bare integer is a count or an id, not a score
    const decimals = (dot < 0 ? 0 : text.length - dot - 1) + (percent ? 2 : 0);
    const value = Number(text) / (percent ? 100 : 1);
    if (Math.abs(Number(score.toFixed(decimals)) - value) < 1e-9) return true;
  }
  return false;
}

/**
 * Text for a box label: its caption (as W&B shows it), else its class name; then its primary
 * score, unless the caption already shows it (W&B examples caption boxes "car (0.913)").
 */
export function boxLabel(box: Box, className: (id: number) => string | undefined): string {
  const name = box.caption ?? (box.classId !== null ? className(box.classId) ?? String(box.classId) : "");
  const s = primaryScore(box);
  if (s === null || (box.caption !== null && captionHasScore(box.caption, s))) return name;
  return name ? `${name} ${s.toFixed(2)}` : s.toFixed(2);
}

/** Class ids per pixel of one mask (a mask tile). */
export interface IdTile {
  ids: ArrayLike<number>;
  width: number;
  height: number;
}

export interface MaskChange {
  rgba: Uint8ClampedArray<ArrayBuffer>;
  width: number;
  height: number;
  /** Pixels whose class differs from version 0's in some later version. */
  changed: number;
}

/** Alpha of a changed pixel's version colour, and of the shade over the unchanged ones. */
const CHANGED_ALPHA = 230;
const DIM_ALPHA = 120;

/**
 * One mask group compared across versions. `tiles[i]` is version i's mask, "empty" where
 * version i's image has no mask of this group (all background, class 0), null where the row
 * is missing from version i (nothing to compare). A pixel whose class in version i differs
 * from version 0's takes version i's colour (the last such version's); the others are covered
 * with `dim` (half transparent), so the change stands out. Null when nothing changed,
 * or when the masks are of different sizes (not one picture).
 */
export function maskChange(
  tiles: readonly (IdTile | "empty" | null)[],
  colorFor: (version: number) => RGB | null,
  dim: RGB | null,
): MaskChange | null {
  const real = tiles.filter((t): t is IdTile => t !== null && t !== "empty");
  const size = real[0];
  if (!size || tiles[0] === null || real.some((t) => t.width !== size.width || t.height !== size.height)) return null;
  const n = size.width * size.height;
  const at = (t: IdTile | "empty", p: number): number => (t === "empty" ? 0 : (t.ids[p] as number));
  const first = tiles[0] as IdTile | "empty";
  const out = new Uint8ClampedArray(new ArrayBuffer(n * 4));
  let changed = 0;
  for (let p = 0; p < n; p++) {
    const base = at(first, p);
    let by = -1;
    for (let i = 1; i < tiles.length; i++) {
      const t = tiles[i];
      if (t !== null && t !== undefined && at(t, p) !== base) by = i;
    }
    if (by < 0) continue;
    const rgb = colorFor(by);
    if (!rgb) continue;
    changed++;
    out.set([rgb[0], rgb[1], rgb[2], CHANGED_ALPHA], p * 4);
  }
  if (changed === 0) return null;
  if (dim) {
    for (let p = 0; p < n; p++) if (out[p * 4 + 3] === 0) out.set([dim[0], dim[1], dim[2], DIM_ALPHA], p * 4);
  }
  return { rgba: out, width: size.width, height: size.height, changed };
}
