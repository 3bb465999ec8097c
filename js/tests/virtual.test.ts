import { describe, expect, it } from "vitest";
import { MAX_SCROLL_PX, layout, rowTop, scrollTopToReveal, visibleRange } from "../src/virtual";

describe("virtual window", () => {
  it("is plain arithmetic for small tables", () => {
    expect(layout(100, 30, 300)).toEqual({ spacer: 3000, ratio: 1 });
    expect(visibleRange(0, 300, 30, 100, 1, 0)).toEqual({ first: 0, last: 9 });
    expect(visibleRange(600, 300, 30, 100, 1, 2)).toEqual({ first: 18, last: 31 });
    expect(rowTop(20, 600, 30, 1)).toBe(600);
    expect(visibleRange(0, 300, 30, 0, 1)).toEqual({ first: 0, last: -1 });
  });

  it("compresses the scrollbar for ten million rows and still reaches the last row", () => {
    const rows = 10_000_000;
    const viewport = 400;
    const { spacer, ratio } = layout(rows, 30, viewport);
    expect(spacer).toBe(MAX_SCROLL_PX);
    const bottom = spacer - viewport;
    const range = visibleRange(bottom, viewport, 30, rows, ratio, 0);
    expect(range.last).toBe(rows - 1);
    // The last row sits at the bottom edge of the viewport.
    expect(rowTop(rows - 1, bottom, 30, ratio) + 30).toBeCloseTo(bottom + viewport, 3);
    // The first row at the top.
    expect(visibleRange(0, viewport, 30, rows, ratio, 0).first).toBe(0);
  });

  it("scrolls minimally to reveal a row", () => {
    expect(scrollTopToReveal(5, 0, 300, 30, 1)).toBeNull();
    expect(scrollTopToReveal(12, 0, 300, 30, 1)).toBe(13 * 30 - 300);
    expect(scrollTopToReveal(2, 300, 300, 30, 1)).toBe(60);
  });
});
