// Where box labels go: each label beside its box, inside the image, never over another label.
// A pure function over rectangles, so the rule is unit-tested without a browser.

import type { Rect } from "./geometry";

export interface LabelRequest {
  /** The box, in the same coordinates as `bounds`. */
  box: Rect;
  /** The label's natural size (text width plus padding, line height). */
  w: number;
  h: number;
}

export interface PlacedLabel extends Rect {
  /** Which request this is (labels that cannot be placed are left out). */
  index: number;
  /** True when the label was narrowed to fit: its text must be shortened to `w`. */
  shrunk: boolean;
}

/** Narrowest a shrunk label may get, in multiples of its height (about three characters). */
const MIN_WIDTH = 2.2;

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/**
 * Greedy placement, in the order given (put the labels that matter most first): for each
 * label try above its box, inside its top edge, then below it, each moved into `bounds`;
 * the first spot free of earlier labels wins. A label wider than the image or than every
 * free spot is tried again narrowed to its box's width; one that still fits nowhere is
 * skipped (its box keeps a tooltip). Placed labels lie inside `bounds` and never overlap.
 */
export function placeLabels(requests: readonly LabelRequest[], bounds: Rect): PlacedLabel[] {
  const placed: PlacedLabel[] = [];
  const right = bounds.x + bounds.w;
  const bottom = bounds.y + bounds.h;
  requests.forEach((req, index) => {
    const h = Math.min(req.h, bounds.h);
    if (h <= 0 || bounds.w <= 0) return;
    const minW = Math.min(req.w, h * MIN_WIDTH);
    const widths = [Math.min(req.w, bounds.w)];
    const narrow = Math.max(minW, Math.min(req.w, req.box.w));
    if (narrow < widths[0]!) widths.push(Math.min(narrow, bounds.w));
    for (const w of widths) {
      const x = clamp(req.box.x, bounds.x, right - w);
      const spots = [req.box.y - h, req.box.y, req.box.y + req.box.h];
      for (const top of spots) {
        const rect = { x, y: clamp(top, bounds.y, bottom - h), w, h };
        if (placed.some((p) => overlaps(p, rect))) continue;
        placed.push({ ...rect, index, shrunk: w < req.w });
        return;
      }
    }
  });
  return placed;
}
