// How the user lays the columns out: widths (drag a header's right edge, double-click it to fit
// the text), columns pinned to the left, and the row density. The rules are plain functions
// (js/tests/colsize.test.ts); the DOM helpers at the end measure text and run a drag.
//
// The state lives in the widget's synced traits (`column_widths`, `pinned`, `density`), so Python
// reads and sets it, saved views keep it, and a filter or sort change leaves it alone.

import { widthFor, type Column } from "./columns";
import { DENSITIES, MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH } from "./protocol";

export type Density = (typeof DENSITIES)[number];

/** Fitting never makes a column wider than this: one long value must not push the rest away
 * (a drag can still go to MAX_COLUMN_WIDTH). */
export const MAX_FIT = 560;

interface DensitySpec {
  /** Row heights, px: plain rows, rows with players or compare bars, rows with an image
   * column, group rows, group rows with sample thumbnails. */
  plain: number;
  wide: number;
  image: number;
  groups: number;
  samples: number;
  /** Default width of an image column, px. */
  imageWidth: number;
  /** Longest side of the thumbnails asked for, px: about twice the drawn size, so they stay
   * sharp on a high-density screen without shipping pixels nobody sees. */
  thumb: number;
}

export const DENSITY: Readonly<Record<Density, DensitySpec>> = {
  // 40 px image rows: a 520 px widget (toolbar, legend, header, status) shows about 9 of them.
  compact: { plain: 24, wide: 34, image: 40, groups: 24, samples: 36, imageWidth: 64, thumb: 96 },
  comfortable: { plain: 30, wide: 40, image: 96, groups: 32, samples: 60, imageWidth: 132, thumb: 256 },
  large: { plain: 40, wide: 56, image: 200, groups: 40, samples: 120, imageWidth: 272, thumb: 512 },
};

export function densityOf(value: unknown): Density {
  return (DENSITIES as readonly unknown[]).includes(value) ? (value as Density) : "comfortable";
}

/** One row's height for these columns: the tallest kind of cell decides. */
export function rowHeightFor(columns: readonly Column[], grouped: boolean, density: Density): number {
  const d = DENSITY[density];
  if (grouped) return columns.some((c) => c.kind === "samples") ? d.samples : d.groups;
  if (columns.some((c) => c.kind === "image")) return d.image;
  // A compare pair draws a bar per version: three or more need more than a wide row.
  const bars = Math.max(0, ...columns.filter((c) => c.pair).map((c) => c.fields.length));
  if (bars > 0 || columns.some((c) => c.kind === "audio")) return Math.max(d.wide, bars * 11 + 8);
  return d.plain;
}

/** The thumbnail size (longest side, px) to request at this density. */
export function thumbSize(density: Density): number {
  return DENSITY[density].thumb;
}

export function clampWidth(px: number): number {
  if (!Number.isFinite(px)) return MIN_COLUMN_WIDTH;
  return Math.round(Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, px)));
}

/** A column's width when the user did not choose one: an image column follows the density. */
export function defaultWidth(column: Column, density: Density): number {
  if (column.kind === "image") return DENSITY[density].imageWidth;
  return widthFor(column.kind, column.label);
}

export interface LayoutState {
  widths: Readonly<Record<string, number>>;
  pinned: readonly string[];
  density: Density;
}

/** The columns as the user laid them out: pinned ones first (in pin order), then the others in
 * their order, each at its chosen width or its default. Keys not shown are ignored. */
export function arrange(columns: readonly Column[], state: LayoutState): Column[] {
  const pinned = new Set(state.pinned);
  const sized = columns.map((c): Column => {
    const chosen = Object.prototype.hasOwnProperty.call(state.widths, c.key) ? state.widths[c.key] : undefined;
    const width = chosen !== undefined ? clampWidth(chosen) : c.kind === "image" ? defaultWidth(c, state.density) : c.width;
    return { ...c, width, pinned: pinned.has(c.key) };
  });
  const byKey = new Map(sized.map((c) => [c.key, c]));
  const first: Column[] = [];
  for (const key of new Set(state.pinned)) {
    const c = byKey.get(key);
    if (c) first.push(c);
  }
  return [...first, ...sized.filter((c) => !c.pinned)];
}

/** Where each pinned column sticks: its left edge, px, after the row numbers (`start` wide) and
 * the pinned columns before it. */
export function pinOffsets(columns: readonly Column[], start: number): Map<string, number> {
  const out = new Map<string, number>();
  let left = start;
  for (const c of columns) {
    if (!c.pinned) continue;
    out.set(c.key, left);
    left += c.width;
  }
  return out;
}

/** The next pinned list when a column's pin is toggled. */
export function togglePin(pinned: readonly string[], key: string): string[] {
  return pinned.includes(key) ? pinned.filter((k) => k !== key) : [...pinned, key];
}

/** The width a drag makes of `start` moved by `dx` px. */
export function dragWidth(start: number, dx: number): number {
  return clampWidth(start + dx);
}

/** The width that shows the header's text and the widest cell's, each measured with its
 * padding and borders; whole pixels, rounded up, within [MIN_COLUMN_WIDTH, MAX_FIT]. */
export function fitWidth(header: number, cells: readonly number[]): number {
  const widest = Math.max(header, ...cells.filter((w) => Number.isFinite(w)));
  return Math.min(MAX_FIT, Math.max(MIN_COLUMN_WIDTH, Math.ceil(widest + 1)));
}

/** Columns whose cells are text (fitting measures it); images, bars and players are not. */
export function isTextual(column: Column): boolean {
  return !["image", "samples", "audio", "pair", "changed"].includes(column.kind);
}

// ---- DOM ------------------------------------------------------------------------------------

const MAX_TITLE = 2000;

/** Width of the laid-out text inside `el`, px, whatever the width of the box around it. */
export function textWidth(el: Node): number {
  const range = document.createRange();
  range.selectNodeContents(el);
  return range.getBoundingClientRect().width;
}

/** Horizontal padding and borders of `el`, px. */
function chrome(el: Element): number {
  const s = getComputedStyle(el);
  return (parseFloat(s.paddingLeft) || 0) + (parseFloat(s.paddingRight) || 0)
    + (parseFloat(s.borderLeftWidth) || 0) + (parseFloat(s.borderRightWidth) || 0);
}

/** A text cell's needed width: its text plus its padding and borders. */
export function cellNeed(cell: HTMLElement): number {
  return textWidth(cell) + chrome(cell);
}

/** Whether a cell's text is wider than the room its box gives it. */
export function isClipped(cell: HTMLElement): boolean {
  return cellNeed(cell) > cell.offsetWidth + 0.5;
}

/**
 * On hover: a text cell whose text is clipped gets its full text as a tooltip (the text, never
 * markup); one that fits again loses it. A tooltip the cell came with (long text, JSON) stays.
 */
export function titleIfClipped(cell: HTMLElement): void {
  if (cell.firstElementChild) return; // an image, bars or a player: not text
  const ours = cell.dataset.clipTitle === "1";
  if (cell.title && !ours) return;
  if (isClipped(cell)) {
    const text = cell.textContent ?? "";
    cell.title = text.length > MAX_TITLE ? `${text.slice(0, MAX_TITLE)}…` : text;
    cell.dataset.clipTitle = "1";
  } else if (ours) {
    cell.removeAttribute("title");
    delete cell.dataset.clipTitle;
  }
}

/** What a header cell needs: its name, its sort arrow, the gap between them, its padding. */
export function headerNeed(hcell: HTMLElement): number {
  const top = hcell.querySelector(".dv-htop");
  if (!top) return textWidth(hcell) + chrome(hcell);
  let need = chrome(hcell);
  const parts = Array.from(top.children);
  for (const part of parts) need += textWidth(part);
  const gap = parseFloat(getComputedStyle(top).columnGap) || 0;
  return need + gap * Math.max(0, parts.length - 1);
}

/**
 * Run a resize drag from a pointerdown on `handle`: `onMove` gets each new width, `onEnd` the
 * last one, or null if it did not change. The pointer is captured, so the drag follows it
 * outside the header; `host` shows the resize cursor meanwhile. Returns whether a drag started.
 */
export function dragResize(
  handle: HTMLElement,
  host: HTMLElement,
  e: PointerEvent,
  start: number,
  onMove: (width: number) => void,
  onEnd: (width: number | null) => void,
): boolean {
  if (e.button !== 0) return false;
  e.preventDefault();
  e.stopPropagation();
  const x0 = e.clientX;
  let width = start;
  handle.setPointerCapture(e.pointerId);
  host.classList.add("dv-resizing");
  const move = (ev: PointerEvent): void => {
    const next = dragWidth(start, ev.clientX - x0);
    if (next === width) return;
    width = next;
    onMove(width);
  };
  const end = (): void => {
    handle.removeEventListener("pointermove", move);
    handle.removeEventListener("pointerup", end);
    handle.removeEventListener("pointercancel", end);
    host.classList.remove("dv-resizing");
    onEnd(width !== start ? width : null);
  };
  handle.addEventListener("pointermove", move);
  handle.addEventListener("pointerup", end);
  handle.addEventListener("pointercancel", end);
  return true;
}
