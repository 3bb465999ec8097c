// The grid's keyboard cursor and row selection as plain arithmetic, without a DOM: which key
// moves the cursor where, where a cursor with nothing to go on starts, and how a click, a
// shift-click or a ctrl-click changes the selection. The grid (grid.ts) feeds it the key and
// the scroll position and draws what it answers; js/tests/cursor.test.ts pins the rules.

/** A cell of the grid: `row` is the view position (0-based), `col` the index into the grid's
 * columns (the row-number column is not one of them). */
export interface Cell {
  row: number;
  col: number;
}

/** What a key asks for, or null for a key the grid leaves alone (to the notebook, the page). */
export type KeyAction =
  | { kind: "move"; rows: number; cols: number; extend: boolean }
  | { kind: "row-edge"; end: boolean; extend: boolean } // Ctrl+Home / Ctrl+End
  | { kind: "col-edge"; end: boolean } // Home / End
  | { kind: "page"; dir: 1 | -1; extend: boolean }
  | { kind: "open" }
  | { kind: "close" }
  | { kind: "copy" };

/** The parts of a KeyboardEvent the mapping reads (a test passes a plain object). */
export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The grid's key map. Alt combinations are never taken (the browser and the OS own them), nor
 * Ctrl with other keys: Ctrl+S must still save the notebook. */
export function keyAction(e: KeyLike): KeyAction | null {
  if (e.altKey) return null;
  const accel = e.ctrlKey || e.metaKey;
  const extend = e.shiftKey;
  if (accel) {
    if (e.key === "Home" || e.key === "End") return { kind: "row-edge", end: e.key === "End", extend };
    if ((e.key === "c" || e.key === "C") && !e.shiftKey) return { kind: "copy" };
    return null;
  }
  switch (e.key) {
    case "ArrowDown": return { kind: "move", rows: 1, cols: 0, extend };
    case "ArrowUp": return { kind: "move", rows: -1, cols: 0, extend };
    case "ArrowRight": return extend ? null : { kind: "move", rows: 0, cols: 1, extend: false };
    case "ArrowLeft": return extend ? null : { kind: "move", rows: 0, cols: -1, extend: false };
    case "Home": return extend ? null : { kind: "col-edge", end: false };
    case "End": return extend ? null : { kind: "col-edge", end: true };
    case "PageDown": return { kind: "page", dir: 1, extend };
    case "PageUp": return { kind: "page", dir: -1, extend };
    // Shift+Enter is the notebook's "run cell": never taken.
    case "Enter": return extend ? null : { kind: "open" };
    case "Escape": return extend ? null : { kind: "close" };
    default: return null;
  }
}

/** Where the viewport is, in rows of a fixed height (virtual px, see virtual.ts). */
export interface RowWindow {
  offset: number;
  viewport: number;
  rowHeight: number;
  count: number;
}

/** The first row whose whole height is on screen (the top one when none is: a row taller than
 * the viewport). */
export function firstFullyVisible(w: RowWindow): number {
  if (w.count <= 0) return 0;
  const first = Math.ceil(w.offset / w.rowHeight - 1e-6);
  const fits = (first + 1) * w.rowHeight <= w.offset + w.viewport + 1e-6;
  return Math.min(w.count - 1, fits ? first : Math.floor(w.offset / w.rowHeight));
}

/** Rows a PageUp / PageDown moves: the screenful, less one row kept for context. */
export function pageRows(w: RowWindow): number {
  return Math.max(1, Math.floor(w.viewport / w.rowHeight) - 1);
}

/** Whether any part of row `row` is on screen. */
export function onScreen(row: number, w: RowWindow): boolean {
  const top = row * w.rowHeight;
  return top + w.rowHeight > w.offset && top < w.offset + w.viewport;
}

/**
 * Where the cursor goes for a movement key, in a grid of `w.count` rows and `cols` columns.
 *
 * A cursor that is not there yet, or has been scrolled off screen, starts where the user is
 * looking: on the first fully visible row (in its column, else the first), whatever the key; the
 * scroll position is left as it is. Ctrl+Home / Ctrl+End are absolute and go where they say.
 */
export function moveCursor(cursor: Cell | null, action: KeyAction, w: RowWindow, cols: number): Cell | null {
  if (w.count <= 0 || cols <= 0) return null;
  const clampRow = (r: number): number => Math.max(0, Math.min(w.count - 1, r));
  const clampCol = (c: number): number => Math.max(0, Math.min(cols - 1, c));
  if (action.kind === "row-edge") return { row: action.end ? w.count - 1 : 0, col: clampCol(cursor?.col ?? 0) };
  if (cursor === null || !onScreen(cursor.row, w)) {
    if (action.kind !== "move" && action.kind !== "page" && action.kind !== "col-edge") return cursor;
    return { row: firstFullyVisible(w), col: clampCol(cursor?.col ?? 0) };
  }
  switch (action.kind) {
    case "move": return { row: clampRow(cursor.row + action.rows), col: clampCol(cursor.col + action.cols) };
    case "page": return { row: clampRow(cursor.row + action.dir * pageRows(w)), col: clampCol(cursor.col) };
    case "col-edge": return { row: clampRow(cursor.row), col: action.end ? cols - 1 : 0 };
    default: return cursor;
  }
}

// ---- selection ------------------------------------------------------------------------------

/** How a click (or a key) changes the selection. */
export type SelectMode = "replace" | "toggle" | "range" | "add-range";

export function clickMode(e: { shiftKey: boolean; ctrlKey: boolean; metaKey: boolean }): SelectMode {
  const accel = e.ctrlKey || e.metaKey;
  if (e.shiftKey) return accel ? "add-range" : "range";
  return accel ? "toggle" : "replace";
}

/** The view positions first..last (inclusive) between an anchor and a target, in view order. */
export function span(anchor: number, target: number): { first: number; last: number } {
  return { first: Math.min(anchor, target), last: Math.max(anchor, target) };
}

/** Ctrl-click: the row joins the selection at its end, or leaves it. */
export function toggled(selection: readonly number[], id: number): number[] {
  return selection.includes(id) ? selection.filter((r) => r !== id) : [...selection, id];
}

/** A range's row ids after the selection's own (Ctrl+Shift-click), each id once, in order. */
export function withRange(selection: readonly number[], ids: readonly number[]): number[] {
  const seen = new Set(selection);
  const out = [...selection];
  for (const id of ids) {
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}
