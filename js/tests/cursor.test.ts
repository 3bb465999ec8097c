import { describe, expect, it } from "vitest";
import {
  clickMode, firstFullyVisible, keyAction, moveCursor, onScreen, pageRows, span, toggled, withRange,
  type KeyAction, type KeyLike, type RowWindow,
} from "../src/cursor";

function key(k: string, mods: Partial<KeyLike> = {}): KeyLike {
  return { key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods };
}

function act(k: string, mods: Partial<KeyLike> = {}): KeyAction {
  const a = keyAction(key(k, mods));
  if (a === null) throw new Error(`${k} is not the grid's`);
  return a;
}

// 1,000 rows of 30 px under a 300 px viewport scrolled to row 100 exactly: rows 100..109 show.
const W: RowWindow = { offset: 3000, viewport: 300, rowHeight: 30, count: 1000 };

describe("the key map", () => {
  it("takes the navigation keys, Enter, Esc and Ctrl/Cmd+C", () => {
    expect(act("ArrowDown")).toEqual({ kind: "move", rows: 1, cols: 0, extend: false });
    expect(act("ArrowUp", { shiftKey: true })).toEqual({ kind: "move", rows: -1, cols: 0, extend: true });
    expect(act("ArrowRight")).toEqual({ kind: "move", rows: 0, cols: 1, extend: false });
    expect(act("Home")).toEqual({ kind: "col-edge", end: false });
    expect(act("End", { ctrlKey: true })).toEqual({ kind: "row-edge", end: true, extend: false });
    expect(act("Home", { metaKey: true, shiftKey: true })).toEqual({ kind: "row-edge", end: false, extend: true });
    expect(act("PageDown")).toEqual({ kind: "page", dir: 1, extend: false });
    expect(act("Enter")).toEqual({ kind: "open" });
    expect(act("Escape")).toEqual({ kind: "close" });
    expect(act("c", { ctrlKey: true })).toEqual({ kind: "copy" });
    expect(act("c", { metaKey: true })).toEqual({ kind: "copy" });
  });

  it("leaves the notebook's and the browser's keys alone", () => {
    for (const k of [
      key("Enter", { shiftKey: true }), // run the cell
      key("s", { ctrlKey: true }), // save
      key("ArrowDown", { altKey: true }),
      key("ArrowDown", { ctrlKey: true }),
      key("c"), // the notebook's copy-cell in command mode
      key("C", { ctrlKey: true, shiftKey: true }), // dev tools
      key("Tab"),
      key(" "),
      key("ArrowLeft", { shiftKey: true }),
    ]) {
      expect(keyAction(k)).toBeNull();
    }
  });
});

describe("the cursor", () => {
  it("moves by rows and columns and stays inside the grid", () => {
    expect(moveCursor({ row: 105, col: 2 }, act("ArrowDown"), W, 4)).toEqual({ row: 106, col: 2 });
    expect(moveCursor({ row: 105, col: 3 }, act("ArrowRight"), W, 4)).toEqual({ row: 105, col: 3 });
    expect(moveCursor({ row: 105, col: 0 }, act("ArrowLeft"), W, 4)).toEqual({ row: 105, col: 0 });
    expect(moveCursor({ row: 105, col: 1 }, act("End"), W, 4)).toEqual({ row: 105, col: 3 });
    expect(moveCursor({ row: 105, col: 3 }, act("Home"), W, 4)).toEqual({ row: 105, col: 0 });
    const top = { ...W, offset: 0 };
    expect(moveCursor({ row: 0, col: 1 }, act("ArrowUp"), top, 4)).toEqual({ row: 0, col: 1 });
    const bottom = { ...W, offset: 1000 * 30 - 300 };
    expect(moveCursor({ row: 999, col: 1 }, act("ArrowDown"), bottom, 4)).toEqual({ row: 999, col: 1 });
  });

  it("pages by a screenful less one row", () => {
    expect(pageRows(W)).toBe(9);
    expect(moveCursor({ row: 105, col: 1 }, act("PageDown"), W, 4)).toEqual({ row: 114, col: 1 });
    expect(moveCursor({ row: 105, col: 1 }, act("PageUp"), W, 4)).toEqual({ row: 96, col: 1 });
    expect(moveCursor({ row: 995, col: 1 }, act("PageDown"), { ...W, offset: 29_700 }, 4)).toEqual({ row: 999, col: 1 });
    expect(pageRows({ ...W, viewport: 20 })).toBe(1); // a row taller than the screen
  });

  it("goes to the first and last rows with Ctrl+Home / Ctrl+End, wherever it was", () => {
    expect(moveCursor({ row: 5, col: 2 }, act("End", { ctrlKey: true }), W, 4)).toEqual({ row: 999, col: 2 });
    expect(moveCursor(null, act("Home", { ctrlKey: true }), W, 4)).toEqual({ row: 0, col: 0 });
  });

  it("starts on the first row wholly on screen when there is none or it scrolled away", () => {
    expect(moveCursor(null, act("ArrowDown"), W, 4)).toEqual({ row: 100, col: 0 });
    expect(moveCursor(null, act("ArrowUp"), W, 4)).toEqual({ row: 100, col: 0 });
    expect(moveCursor(null, act("PageDown"), W, 4)).toEqual({ row: 100, col: 0 });
    // Scrolled 10 px into row 100: row 101 is the first wholly visible one.
    const mid = { ...W, offset: 3010 };
    expect(firstFullyVisible(mid)).toBe(101);
    expect(moveCursor({ row: 3, col: 2 }, act("ArrowDown"), mid, 4)).toEqual({ row: 101, col: 2 });
    expect(moveCursor({ row: 500, col: 9 }, act("ArrowUp"), mid, 4)).toEqual({ row: 101, col: 3 });
    // Partly on screen counts as on screen: the cursor moves from there.
    expect(onScreen(100, mid)).toBe(true);
    expect(moveCursor({ row: 100, col: 2 }, act("ArrowDown"), mid, 4)).toEqual({ row: 101, col: 2 });
    expect(onScreen(110, mid)).toBe(true);
    expect(onScreen(111, mid)).toBe(false);
    // Enter and Esc do not place a cursor.
    expect(moveCursor(null, act("Enter"), W, 4)).toBeNull();
  });

  it("has nowhere to go in an empty grid", () => {
    expect(moveCursor(null, act("ArrowDown"), { ...W, count: 0 }, 4)).toBeNull();
    expect(moveCursor(null, act("ArrowDown"), W, 0)).toBeNull();
    expect(firstFullyVisible({ ...W, count: 0 })).toBe(0);
  });

  it("takes the top row when no row fits wholly (a row taller than the viewport)", () => {
    expect(firstFullyVisible({ offset: 150, viewport: 80, rowHeight: 96, count: 10 })).toBe(1);
    expect(firstFullyVisible({ offset: 110, viewport: 80, rowHeight: 96, count: 10 })).toBe(1);
  });
});

describe("selection", () => {
  it("reads the modifier keys of a click", () => {
    const e = { shiftKey: false, ctrlKey: false, metaKey: false };
    expect(clickMode(e)).toBe("replace");
    expect(clickMode({ ...e, ctrlKey: true })).toBe("toggle");
    expect(clickMode({ ...e, metaKey: true })).toBe("toggle");
    expect(clickMode({ ...e, shiftKey: true })).toBe("range");
    expect(clickMode({ ...e, shiftKey: true, metaKey: true })).toBe("add-range");
  });

  it("spans view positions in view order either way", () => {
    expect(span(2, 6)).toEqual({ first: 2, last: 6 });
    expect(span(6, 2)).toEqual({ first: 2, last: 6 });
  });

  it("toggles a row in and out, keeping the order rows were chosen in", () => {
    expect(toggled([12, 13, 14, 15, 16], 14)).toEqual([12, 13, 15, 16]);
    expect(toggled([12, 13, 15, 16], 3)).toEqual([12, 13, 15, 16, 3]);
  });

  it("adds a range after the selection, each row once", () => {
    expect(withRange([7, 3], [2, 3, 4])).toEqual([7, 3, 2, 4]);
    expect(withRange([], [5, 6])).toEqual([5, 6]);
  });
});
