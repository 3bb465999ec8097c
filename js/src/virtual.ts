// Fixed-height virtual scrolling over any number of rows.
//
// Why not @tanstack/virtual-core: it keeps one measurement object per row (O(rows) memory and
// time on every count change), which is fine for 10^4 rows and unusable for 10^7. With a fixed
// row height the window is plain arithmetic. Browsers also cap an element's height (~17-33M px),
// so past MAX_SCROLL_PX the scrollbar is compressed: scrollTop maps linearly onto the virtual
// offset, and rows are placed relative to the current scroll position.

export const MAX_SCROLL_PX = 8_000_000;

export interface Layout {
  /** Height of the scrolled spacer element, px. */
  spacer: number;
  /** Virtual px per real scroll px (1 unless compressed). */
  ratio: number;
}

export function layout(count: number, rowHeight: number, viewport: number): Layout {
  const total = Math.max(0, count) * rowHeight;
  if (total <= MAX_SCROLL_PX) return { spacer: total, ratio: 1 };
  const span = Math.max(1, MAX_SCROLL_PX - viewport);
  return { spacer: MAX_SCROLL_PX, ratio: Math.max(1, (total - viewport) / span) };
}

export interface Range {
  first: number;
  last: number; // inclusive; last < first when empty
}

/** Rows intersecting the viewport, widened by `overscan` rows each side. */
export function visibleRange(
  scrollTop: number, viewport: number, rowHeight: number, count: number, ratio: number, overscan = 6,
): Range {
  if (count <= 0) return { first: 0, last: -1 };
  const offset = scrollTop * ratio;
  const first = Math.max(0, Math.floor(offset / rowHeight) - overscan);
  const last = Math.min(count - 1, Math.ceil((offset + viewport) / rowHeight) + overscan - 1);
  return { first, last };
}

/** Top of row `index` inside the spacer, px. */
export function rowTop(index: number, scrollTop: number, rowHeight: number, ratio: number): number {
  return scrollTop + (index * rowHeight - scrollTop * ratio);
}

/** The scrollTop that brings row `index` into view (minimal movement), or null if it is. */
export function scrollTopToReveal(
  index: number, scrollTop: number, viewport: number, rowHeight: number, ratio: number,
): number | null {
  const offset = scrollTop * ratio;
  const top = index * rowHeight;
  if (top < offset) return top / ratio;
  if (top + rowHeight > offset + viewport) return (top + rowHeight - viewport) / ratio;
  return null;
}
