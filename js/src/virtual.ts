// Fixed-height virtual scrolling over any number of rows.
//
// Why not @tanstack/virtual-core: it keeps one measurement object per row (O(rows) memory and
// time on every count change), which is fine for 10^4 rows and unusable for 10^7. With a fixed
// row height the window is plain arithmetic. Browsers also cap an element's height (~17-33M px),
// so past MAX_SCROLL_PX the scrollbar is compressed: scrollTop maps linearly onto the virtual
// offset (the px distance from row 0's top to the viewport's top), and rows are placed relative
// to the current scroll position.
//
// Compression would also multiply every wheel step by the ratio (one notch moving hundreds of
// rows), so the grid moves the virtual offset itself on wheel events and keeps it as a float:
// scrollTop is a rounded, compressed copy and cannot carry a 3 px step through a 40x ratio.

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

/** Rows intersecting the viewport at virtual `offset`, widened by `overscan` rows each side. */
export function visibleRange(
  offset: number, viewport: number, rowHeight: number, count: number, overscan = 6,
): Range {
  if (count <= 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(offset / rowHeight) - overscan);
  const last = Math.min(count - 1, Math.ceil((offset + viewport) / rowHeight) + overscan - 1);
  return { first, last };
}

/** Top of row `index` inside the spacer, px, when the viewport shows virtual `offset` and the
 * scroller's real scrollTop is `scrollTop`. */
export function rowTop(index: number, scrollTop: number, offset: number, rowHeight: number): number {
  return scrollTop + (index * rowHeight - offset);
}

/** The largest virtual offset: the last row's bottom at the viewport's bottom. */
export function maxOffset(count: number, rowHeight: number, viewport: number): number {
  return Math.max(0, Math.max(0, count) * rowHeight - viewport);
}

export function clampOffset(offset: number, count: number, rowHeight: number, viewport: number): number {
  return Math.min(maxOffset(count, rowHeight, viewport), Math.max(0, offset));
}

/** The virtual offset that brings row `index` into view (minimal movement), or null if it is. */
export function offsetToReveal(
  index: number, offset: number, viewport: number, rowHeight: number,
): number | null {
  const top = index * rowHeight;
  if (top < offset) return top;
  if (top + rowHeight > offset + viewport) return top + rowHeight - viewport;
  return null;
}

// WheelEvent.deltaMode values (the DOM constants, without needing a DOM in tests).
const DOM_DELTA_LINE = 1;
const DOM_DELTA_PAGE = 2;

/** A wheel delta in px: a "line" is one row, a "page" a screenful. */
export function wheelPixels(delta: number, deltaMode: number, rowHeight: number, viewport: number): number {
  if (deltaMode === DOM_DELTA_LINE) return delta * rowHeight;
  if (deltaMode === DOM_DELTA_PAGE) return delta * viewport;
  return delta;
}

/** Where the grid last put the scroller itself: the precise offset it meant, the scrollTop the
 * browser made of it, and the ratio both were computed under. */
export interface OwnScroll {
  offset: number;
  scrollTop: number;
  ratio: number;
}

/** The virtual offset to draw: the grid's own precise one while the scroller is still where the
 * grid put it, else (thumb drag, native scrolling) the scrollbar's position.
 *
 * "Where the grid put it" is within one px of the exact scrollTop the offset maps to: Chromium
 * may read a fractional scrollTop back as set, floored or rounded, and snaps it to whole pixels
 * at the next frame; none of that is the user moving. A new layout (the viewport or the count
 * changed the ratio) keeps the offset too: the same rows stay on screen, and the caller moves
 * the scroller to the new ratio (`needsResync`). */
export function currentOffset(scrollTop: number, ratio: number, own: OwnScroll | null): number {
  if (own && Math.abs(own.offset / own.ratio - scrollTop) <= 1) return own.offset;
  return scrollTop * ratio;
}

/** The scroller shows the grid's own offset under an old ratio: its scrollTop must be redone. */
export function needsResync(scrollTop: number, ratio: number, own: OwnScroll | null): own is OwnScroll {
  return own !== null && own.ratio !== ratio && currentOffset(scrollTop, ratio, own) === own.offset;
}
