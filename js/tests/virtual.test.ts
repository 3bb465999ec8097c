import { describe, expect, it } from "vitest";
import {
  MAX_SCROLL_PX, clampOffset, currentOffset, layout, needsResync, offsetToReveal, rowTop, visibleRange, wheelPixels,
} from "../src/virtual";

describe("virtual window", () => {
  it("is plain arithmetic for small tables", () => {
    expect(layout(100, 30, 300)).toEqual({ spacer: 3000, ratio: 1 });
    expect(visibleRange(0, 300, 30, 100, 0)).toEqual({ first: 0, last: 9 });
    expect(visibleRange(600, 300, 30, 100, 2)).toEqual({ first: 18, last: 31 });
    expect(rowTop(20, 600, 600, 30)).toBe(600);
    expect(visibleRange(0, 300, 30, 0)).toEqual({ first: 0, last: -1 });
  });

  it("compresses the scrollbar for ten million rows and still reaches the last row", () => {
    const rows = 10_000_000;
    const viewport = 400;
    const { spacer, ratio } = layout(rows, 30, viewport);
    expect(spacer).toBe(MAX_SCROLL_PX);
    const bottom = spacer - viewport;
    const offset = currentOffset(bottom, ratio, null);
    const range = visibleRange(offset, viewport, 30, rows, 0);
    expect(range.last).toBe(rows - 1);
    // The last row sits at the bottom edge of the viewport.
    expect(rowTop(rows - 1, bottom, offset, 30) + 30).toBeCloseTo(bottom + viewport, 3);
    // The first row at the top.
    expect(visibleRange(currentOffset(0, ratio, null), viewport, 30, rows, 0).first).toBe(0);
  });

  it("scrolls minimally to reveal a row", () => {
    expect(offsetToReveal(5, 0, 300, 30)).toBeNull();
    expect(offsetToReveal(12, 0, 300, 30)).toBe(13 * 30 - 300);
    expect(offsetToReveal(2, 300, 300, 30)).toBe(60);
  });
});

describe("wheel under a compressed scrollbar", () => {
  const rows = 10_000_000;
  const rh = 96;
  const viewport = 400;
  const { ratio } = layout(rows, rh, viewport);

  it("turns line and page deltas into rows and screenfuls", () => {
    expect(wheelPixels(100, 0, rh, viewport)).toBe(100);
    expect(wheelPixels(3, 1, rh, viewport)).toBe(3 * rh);
    expect(wheelPixels(-1, 2, rh, viewport)).toBe(-viewport);
  });

  it("moves one 100 px wheel step about one row, not ratio times that", () => {
    expect(ratio).toBeGreaterThan(100);
    // What the browser would do natively: 100 real px of a compressed scrollbar.
    const native = visibleRange(currentOffset(100, ratio, null), viewport, rh, rows, 0).first;
    expect(native).toBeGreaterThan(100);
    // Ours: the wheel moves the virtual offset by its delta.
    const start = 5_000_000 * rh;
    const next = clampOffset(start + wheelPixels(100, 0, rh, viewport), rows, rh, viewport);
    const moved = visibleRange(next, viewport, rh, rows, 0).first - visibleRange(start, viewport, rh, rows, 0).first;
    expect(moved).toBe(1);
  });

  it("keeps small steps the rounded scrollTop cannot hold", () => {
    let offset = 1_000_000 * rh;
    let own = { offset, scrollTop: Math.round(offset / ratio), ratio };
    for (let i = 0; i < 32; i++) {
      offset = clampOffset(currentOffset(Math.round(offset / ratio), ratio, own) + 3, rows, rh, viewport);
      own = { offset, scrollTop: Math.round(offset / ratio), ratio };
    }
    // 32 steps of 3 px: exactly one row further, though scrollTop moved by less than one px.
    expect(visibleRange(offset, viewport, rh, rows, 0).first).toBe(1_000_001);
  });

  it("clamps near the end to the last row at the bottom", () => {
    const end = rows * rh - viewport;
    expect(clampOffset(end - 10 + wheelPixels(5, 1, rh, viewport), rows, rh, viewport)).toBe(end);
    expect(visibleRange(end, viewport, rh, rows, 0).last).toBe(rows - 1);
    expect(clampOffset(-50, rows, rh, viewport)).toBe(0);
  });

  it("lets a thumb drag take over, to any depth", () => {
    const own = { offset: 123.5 * rh, scrollTop: Math.round((123.5 * rh) / ratio), ratio };
    expect(currentOffset(own.scrollTop, ratio, own)).toBe(own.offset);
    // The browser snapping a fractional scrollTop to whole pixels is not a drag.
    expect(currentOffset(own.scrollTop + 0.4, ratio, own)).toBe(own.offset);
    // ... nor is reading it back floored, then snapping it up (both within one px of exact).
    const exact = own.offset / ratio;
    expect(currentOffset(Math.floor(exact), ratio, own)).toBe(own.offset);
    expect(currentOffset(Math.ceil(exact), ratio, own)).toBe(own.offset);
    expect(currentOffset(Math.ceil(exact) + 1, ratio, own)).toBe((Math.ceil(exact) + 1) * ratio);
    // The scroller moved without the grid: the scrollbar's position wins.
    expect(currentOffset(4_000_000, ratio, own)).toBe(4_000_000 * ratio);
    // A new layout (the viewport or count changed) keeps the grid's offset, and asks for the
    // scroller to be moved to the new ratio; under the same ratio nothing is redone.
    expect(currentOffset(own.scrollTop, ratio * 2, own)).toBe(own.offset);
    expect(needsResync(own.scrollTop, ratio * 2, own)).toBe(true);
    expect(needsResync(own.scrollTop, ratio, own)).toBe(false);
    expect(needsResync(4_000_000, ratio * 2, own)).toBe(false);
    const bottom = MAX_SCROLL_PX - viewport;
    const range = visibleRange(currentOffset(bottom, ratio, own), viewport, rh, rows, 0);
    expect(range.last).toBe(rows - 1);
    const middle = visibleRange(currentOffset(bottom / 2, ratio, own), viewport, rh, rows, 0);
    expect(Math.abs(middle.first - rows / 2)).toBeLessThan(5);
  });
});
