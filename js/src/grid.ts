// The grid: header with sort arrows and summaries, virtually scrolled rows, cell rendering
// dispatch, selection, the keyboard cursor and the detail view it opens. Rows and columns come
// from the query controller; the grid only draws them and turns clicks into its intents.

import { releaseAudio, type AudioStore } from "./audio";
import type { SummaryPick } from "./brush";
import { renderCell, type CellContext, type RowData } from "./cells";
import { copyText } from "./clipboard";
import {
  cellNeed, densityOf, dragResize, fitWidth, headerNeed, isTextual, pinOffsets, rowHeightFor, thumbSize,
  titleIfClipped, type Density,
} from "./colsize";
import type { Column } from "./columns";
import { headerText, headerTitle, versionClass } from "./comparecols";
import { drawBands } from "./compareheader";
import type { QueryController } from "./controller";
import {
  clickMode, keyAction, moveCursor, span, toggled, withRange, type Cell, type KeyAction, type SelectMode, type RowWindow,
} from "./cursor";
import type { Detail } from "./detail";
import { clear, h } from "./dom";
import { formatCount } from "./format";
import type { Model } from "./model";
import { MAX_SELECTION } from "./protocol";
import { drawSummary } from "./summary";
import type { ThumbStore } from "./thumbs";
import {
  clampOffset, currentOffset, layout, needsResync, offsetToReveal, rowTop, visibleRange, wheelPixels, type OwnScroll,
} from "./virtual";

export interface GridParts {
  /** The thumbnail store for thumbnails of this size (longest side, px). */
  thumbs: (size: number) => ThumbStore;
  audio: AudioStore;
  detail: Detail;
  /** Focus the widget (its root takes the keyboard). */
  focus: () => void;
}

export class Grid {
  readonly el: HTMLElement;
  private readonly header: HTMLElement;
  private readonly headerInner: HTMLElement;
  /** Compare mode: the group headers above the column headers (compareheader.ts). */
  private readonly bands = h("div", { class: "dv-hbands" });
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly empty = h("div", { class: "dv-empty", text: "No rows match." });
  private rendered = new Map<number, HTMLElement>();
  /** The keyboard cursor's cell, or null until a key or a click places it. */
  private cursor: Cell | null = null;
  /** The cell drawn with the cursor's ring (the cursor's, once its row is drawn). */
  private cursorEl: HTMLElement | null = null;
  /** The view position a shift-click or Shift+Arrow range starts from. */
  private anchor = -1;
  /** Bumped by every selection change, so a range still being resolved cannot overwrite a
   * later click. */
  private selectSeq = 0;
  private selectionIds: readonly number[] = [];
  private selectionSet = new Set<number>();
  private frame = 0;
  /** Set when the grid itself last scrolled (wheel, keyboard); see `currentOffset`. */
  private own: OwnScroll | null = null;
  /** The scroll compression the rows were last drawn under (null: nothing drawn yet). */
  private drawnRatio: number | null = null;
  /** Left offsets of the pinned columns (they stick there while the grid scrolls sideways). */
  private pins = new Map<string, number>();
  private lastPin: string | null = null;
  /** A column edge is being dragged: header redraws (summaries arriving) wait for its end, or
   * they would take the handle, and the drag with it, away from under the pointer. */
  private resizing = false;
  private headerStale = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
    private readonly parts: GridParts,
  ) {
    this.header = h("div", { class: "dv-header" });
    this.headerInner = h("div", { class: "dv-header-inner" });
    this.header.append(this.bands, this.headerInner);
    this.spacer = h("div", { class: "dv-spacer" });
    this.scroller = h("div", { class: "dv-scroller", attrs: { role: "grid", tabindex: "0", "aria-label": "rows" } }, [this.spacer, this.empty]);
    this.el = h("div", { class: "dv-grid" }, [this.header, this.scroller]);

    this.scroller.addEventListener("scroll", () => {
      this.header.scrollLeft = this.scroller.scrollLeft;
      this.schedule();
    }, { passive: true });
    // Not passive: a compressed scrollbar's wheel steps are taken over (and the default cancelled).
    this.scroller.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    // Measured on hover, not when drawn: a layout read per cell per frame would cost scrolling.
    this.scroller.addEventListener("mouseover", (e) => {
      const cell = e.target instanceof Element ? e.target.closest<HTMLElement>(".dv-cell") : null;
      if (cell && !cell.classList.contains("dv-rownum")) titleIfClipped(cell);
    }, { passive: true });
    const resize = new ResizeObserver(() => this.schedule());
    resize.observe(this.scroller);
    this.cleanups.push(() => resize.disconnect());
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    for (const c of this.cleanups) c();
  }

  /** The query changed: the drawn rows are stale and the view goes back to the top. */
  reset(): void {
    this.cursor = null;
    this.anchor = -1; // view positions of the old query
    for (const el of this.rendered.values()) this.dropRow(el);
    this.rendered.clear();
    this.own = null;
    this.drawnRatio = null;
    this.scroller.scrollTop = 0;
  }

  /** Draw the rows now, not on the next animation frame: the rows are what the user waits
   * for, and the count and the rows then appear in the same frame. */
  drawNow(): void {
    cancelAnimationFrame(this.frame);
    this.renderRows(false);
  }

  /** Redraw every visible row (overlay options or shared scales changed). */
  repaint(): void {
    this.renderRows(true);
  }

  /** Selection only toggles classes on the rows already drawn: rebuilding them would restart
   * thumbnails and stop a playing clip. */
  refreshSelection(): void {
    this.renderRows(false);
  }

  // ---- layout ---------------------------------------------------------------------------

  private get density(): Density {
    return densityOf(this.model.get("density"));
  }

  private get rowHeight(): number {
    return rowHeightFor(this.query.columns, this.query.grouped, this.density);
  }

  /** The scroller's height; 400 before it is laid out, the same everywhere the ratio is computed
   * (the wheel's precise offset is only trusted under the ratio it was made with). */
  private get viewport(): number {
    return this.scroller.clientHeight || 400;
  }

  visibleCount(): number {
    return Math.ceil(this.viewport / this.rowHeight) + 10;
  }

  private schedule(): void {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.renderRows(false));
  }

  private get numRows(): number {
    return this.query.numRows ?? 0;
  }

  /** The row-number column fits the largest row number. */
  private get numWidth(): number {
    return Math.max(40, String(formatCount(Math.max(1, this.numRows))).length * 7.5 + 14);
  }

  // ---- rows -----------------------------------------------------------------------------

  private renderRows(force: boolean): void {
    const rh = this.rowHeight;
    const count = this.numRows;
    const viewport = this.viewport;
    const { spacer, ratio } = layout(count, rh, viewport);
    if (this.drawnRatio !== null && this.drawnRatio !== ratio) {
      // The count changed the compression (a filter's count arrives after its rows): the rows
      // on screen stay where they are, so the scroller moves to the offset they were drawn at.
      const shown = currentOffset(this.scroller.scrollTop, this.drawnRatio, this.own);
      this.own = { offset: shown, scrollTop: this.scroller.scrollTop, ratio: this.drawnRatio };
    }
    this.drawnRatio = ratio;
    const width = this.query.columns.reduce((s, c) => s + c.width, 0) + this.numWidth;
    this.updatePins();
    this.spacer.style.height = `${spacer}px`;
    this.empty.style.display = this.query.numRows === 0 ? "" : "none";
    this.spacer.style.width = `${width}px`;
    if (needsResync(this.scroller.scrollTop, ratio, this.own)) this.scrollToOffset(this.own.offset, ratio);
    const scrollTop = this.scroller.scrollTop;
    const offset = clampOffset(currentOffset(scrollTop, ratio, this.own), count, rh, viewport);
    const { first, last } = visibleRange(offset, viewport, rh, count);
    this.query.want(first, last);
    const selection = this.selected();
    for (const [i, el] of this.rendered) {
      if (i < first || i > last || force) {
        this.dropRow(el);
        this.rendered.delete(i);
      }
    }
    const ctx = this.cellContext();
    for (let i = first; i <= last; i++) {
      const row = this.query.row(i);
      let el = this.rendered.get(i);
      if (el && el.dataset.loaded === "0" && row) {
        this.dropRow(el);
        el = undefined;
      }
      if (!el) {
        el = this.renderRow(i, row, ctx, rh);
        this.rendered.set(i, el);
        this.spacer.appendChild(el);
      }
      el.style.top = `${rowTop(i, scrollTop, offset, rh)}px`;
      const rid = row ? row._row : undefined;
      const selected = typeof rid === "number" && selection.has(rid);
      el.classList.toggle("dv-selected", selected);
      el.setAttribute("aria-selected", String(selected));
      el.classList.toggle("dv-cursor", i === this.cursor?.row);
    }
    this.markCursor();
  }

  /** The selected row ids as a set, rebuilt only when the synced list changes (a range may
   * hold MAX_SELECTION ids, and rows are drawn on every scroll frame). */
  private selected(): ReadonlySet<number> {
    const ids = this.model.get("selection");
    if (ids !== this.selectionIds) {
      this.selectionIds = ids;
      this.selectionSet = new Set(ids);
    }
    return this.selectionSet;
  }

  /** Ring the cursor's cell (aria-selected for screen readers and tests); its row may not be
   * drawn, then nothing is. */
  private markCursor(): void {
    const cur = this.cursor;
    const key = cur ? this.query.columns[cur.col]?.key : undefined;
    let cell: HTMLElement | null = null;
    const row = cur ? this.rendered.get(cur.row) : undefined;
    if (row && key !== undefined) {
      for (const child of row.children) {
        if (child instanceof HTMLElement && child.dataset.col === key) cell = child;
      }
    }
    if (cell === this.cursorEl) return;
    if (this.cursorEl) {
      this.cursorEl.classList.remove("dv-cursor-cell");
      this.cursorEl.removeAttribute("aria-selected");
    }
    if (cell) {
      cell.classList.add("dv-cursor-cell");
      cell.setAttribute("aria-selected", "true");
    }
    this.cursorEl = cell;
  }

  private dropRow(el: HTMLElement): void {
    if (this.cursorEl && el.contains(this.cursorEl)) this.cursorEl = null;
    releaseAudio(el);
    el.remove();
  }

  private cellContext(): CellContext {
    return {
      thumbs: this.parts.thumbs(thumbSize(this.density)),
      audio: this.parts.audio,
      overlay: (c) => this.query.overlay(c),
      rowHeight: this.rowHeight,
      pairScale: (col) => this.query.pairScale(col),
      versionLabels: this.query.info?.compare?.labels ?? [],
      changeColumns: this.query.changeColumns,
    };
  }

  private renderRow(index: number, row: RowData | undefined, ctx: CellContext, rh: number): HTMLElement {
    const el = h("div", { class: "dv-row", attrs: { role: "row", "aria-rowindex": String(index + 1) } });
    el.style.height = `${rh}px`;
    el.dataset.index = String(index);
    el.dataset.loaded = row ? "1" : "0";
    const num = h("div", { class: "dv-cell dv-rownum", text: formatCount(index + 1), style: { width: `${this.numWidth}px` } });
    this.stick(num, this.pins.size > 0 ? 0 : undefined, false);
    el.appendChild(num);
    this.query.columns.forEach((col, j) => {
      // aria-colindex counts the row-number column as the first.
      const cell = h("div", { class: "dv-cell", attrs: { role: "gridcell", "data-col": col.key, "aria-colindex": String(j + 2) } });
      cell.style.width = `${col.width}px`;
      this.stick(cell, this.pins.get(col.key), this.isLastPin(col));
      if (col.version !== null) cell.classList.add("dv-ver", versionClass(col.version));
      if (row) renderCell(cell, col, row, ctx);
      else cell.classList.add("dv-placeholder");
      if (col.kind === "image" && row) {
        cell.addEventListener("click", (e) => {
          e.stopPropagation();
          this.parts.focus();
          this.cursor = { row: index, col: j };
          this.markCursor();
          this.openDetail(index);
        });
      }
      el.appendChild(cell);
    });
    el.addEventListener("click", (e) => this.onRowClick(index, e));
    return el;
  }

  /** Show virtual `offset`: scrollTop gets its compressed, rounded copy and the grid keeps the
   * precise value for drawing until something else moves the scroller. */
  private scrollToOffset(offset: number, ratio: number): void {
    const next = clampOffset(offset, this.numRows, this.rowHeight, this.viewport);
    this.scroller.scrollTop = next / ratio;
    // Read back: the browser rounds and clamps, and the scroll event compares against this value.
    this.own = { offset: next, scrollTop: this.scroller.scrollTop, ratio };
  }

  /** Under a compressed scrollbar a native wheel step would move `ratio` times too far, so the
   * grid moves by the wheel's delta in row space. Uncompressed, the browser scrolls natively. */
  private onWheel(e: WheelEvent): void {
    if (e.ctrlKey || e.shiftKey) return; // pinch-zoom; shift+wheel scrolls sideways natively
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) return; // a sideways swipe stays native
    const rh = this.rowHeight;
    const viewport = this.viewport;
    const { ratio } = layout(this.numRows, rh, viewport);
    if (ratio <= 1) return;
    const offset = clampOffset(currentOffset(this.scroller.scrollTop, ratio, this.own), this.numRows, rh, viewport);
    const next = clampOffset(offset + wheelPixels(e.deltaY, e.deltaMode, rh, viewport), this.numRows, rh, viewport);
    // At either end the wheel is left to the page, which then scrolls as it would natively.
    if (next === offset) return;
    e.preventDefault();
    // The default carried the sideways part of a diagonal swipe too.
    if (e.deltaX !== 0) this.scroller.scrollLeft += wheelPixels(e.deltaX, e.deltaMode, rh, this.scroller.clientWidth);
    this.scrollToOffset(next, ratio);
    this.schedule();
  }

  // ---- header ---------------------------------------------------------------------------

  renderHeader(): void {
    if (this.resizing) {
      this.headerStale = true;
      return;
    }
    this.headerStale = false;
    clear(this.headerInner);
    const sort = this.query.sortKeys;
    this.updatePins();
    const num = h("div", { class: "dv-hcell dv-rownum", text: "#", style: { width: `${this.numWidth}px` } });
    this.stick(num, this.pins.size > 0 ? 0 : undefined, false);
    this.headerInner.appendChild(num);
    for (const col of this.query.columns) {
      const idx = sort.findIndex((s) => s === col.sortField || s === `-${col.sortField}`);
      const desc = idx >= 0 && (sort[idx] as string).startsWith("-");
      const arrow = idx < 0 ? "" : `${desc ? "▼" : "▲"}${sort.length > 1 ? idx + 1 : ""}`;
      const labels = this.query.info?.compare?.labels ?? [];
      const name = h("span", { class: "dv-hname", text: headerText(col, labels) });
      const field0 = col.fields[0] as string;
      const picks = !col.pair && this.query.pickable(field0)
        ? "; drag across the histogram or click a value to filter" : "";
      const hint = (this.query.sortable(col)
        ? "click the name to sort, shift-click to add a sort key" : "cannot be sorted") + picks;
      const hc = h("div", {
        class: "dv-hcell", title: `${headerTitle(col)} — ${hint}`,
        attrs: { role: "columnheader", "data-col": col.key, "aria-sort": idx < 0 ? "none" : desc ? "descending" : "ascending" },
      }, [h("div", { class: "dv-htop" }, [name, h("span", { class: "dv-sort", text: arrow })])]);
      hc.style.width = `${col.width}px`;
      this.stick(hc, this.pins.get(col.key), this.isLastPin(col));
      if (col.version !== null) hc.classList.add("dv-ver", versionClass(col.version));
      if (col.pair) {
        const legend = h("div", { class: "dv-pair-legend" });
        labels.forEach((l, i) => legend.appendChild(h("span", { class: `dv-key ${versionClass(i)}`, text: l })));
        hc.appendChild(legend);
      } else if (col.kind !== "changed") {
        const field = col.fields[0] as string;
        const s = this.query.summaries.get(field);
        const pick = this.query.pickable(field) ? (p: SummaryPick) => this.query.pickSummary(field, p) : undefined;
        if (s) hc.appendChild(drawSummary(s, col.width - 14, 36, pick, () => this.query.exactSummary(field)));
      }
      hc.addEventListener("click", (e) => this.query.sortBy(col, e.shiftKey));
      hc.appendChild(this.resizeHandle(col, hc));
      this.headerInner.appendChild(hc);
    }
    this.drawBands(this.query.columns);
  }

  private drawBands(columns: readonly Column[]): void {
    drawBands(this.bands, columns, {
      numWidth: this.numWidth, pins: pinOffsets(columns, this.numWidth), labels: this.query.info?.compare?.labels ?? [],
      counts: this.query.changes?.counts,
    });
  }

  // ---- column layout (rules in colsize.ts) ------------------------------------------------

  /** Make a header or row cell stick at `left` px (a pinned column), or not (undefined). */
  private stick(el: HTMLElement, left: number | undefined, last: boolean): void {
    el.classList.toggle("dv-pinned", left !== undefined);
    el.classList.toggle("dv-pin-last", last);
    el.style.left = left === undefined ? "" : `${left}px`;
  }

  private updatePins(): void {
    this.pins = pinOffsets(this.query.columns, this.numWidth);
    this.lastPin = [...this.pins.keys()].pop() ?? null;
  }

  /** The last pinned column draws the edge the others scroll under. */
  private isLastPin(col: Column): boolean {
    return col.key === this.lastPin;
  }

  /** The right edge of a header cell: drag to resize, double-click to fit. Its clicks never
   * reach the header cell, so a resize never sorts. */
  private resizeHandle(col: Column, hc: HTMLElement): HTMLElement {
    const handle = h("div", {
      class: "dv-resize", title: "drag to resize, double-click to fit",
      attrs: { role: "separator", "aria-orientation": "vertical", "aria-label": `resize ${col.label}` },
    });
    handle.addEventListener("pointerdown", (e) => {
      this.resizing = dragResize(handle, this.el, e, col.width, (w) => this.showWidth(col.key, w), (w) => {
        this.resizing = false;
        if (w !== null) this.setWidth(col.key, w);
        if (this.headerStale) this.renderHeader();
      });
    });
    handle.addEventListener("click", (e) => e.stopPropagation());
    handle.addEventListener("dblclick", (e) => {
      e.stopPropagation();
      this.fit(col, hc);
    });
    return handle;
  }

  private cellsOf(key: string): HTMLElement[] {
    const sel = `[data-col="${CSS.escape(key)}"]`;
    return [...this.headerInner.querySelectorAll<HTMLElement>(sel), ...this.spacer.querySelectorAll<HTMLElement>(sel)];
  }

  /** While dragging: move the header and the drawn cells now; the model gets the width (and
   * everything is redrawn at it) when the drag ends. */
  private showWidth(key: string, width: number): void {
    for (const el of this.cellsOf(key)) el.style.width = `${width}px`;
    const columns = this.query.columns.map((c) => (c.key === key ? { ...c, width } : c));
    for (const [k, left] of pinOffsets(columns, this.numWidth)) for (const el of this.cellsOf(k)) el.style.left = `${left}px`;
    this.spacer.style.width = `${columns.reduce((s, c) => s + c.width, 0) + this.numWidth}px`;
    this.drawBands(columns);
  }

  private setWidth(key: string, width: number | null): void {
    const next = { ...this.model.get("column_widths") };
    if (width === null) delete next[key];
    else next[key] = width;
    this.query.setState("column_widths", next);
  }

  /** Fit a text column to its header and the widest value drawn; other columns go back to
   * their default width. */
  private fit(col: Column, hc: HTMLElement): void {
    if (!isTextual(col)) {
      this.setWidth(col.key, null);
      return;
    }
    const cells = [...this.spacer.querySelectorAll<HTMLElement>(`.dv-row[data-loaded="1"] .dv-cell[data-col="${CSS.escape(col.key)}"]`)];
    this.setWidth(col.key, fitWidth(headerNeed(hc), cells.map(cellNeed)));
  }

  // ---- interaction ----------------------------------------------------------------------

  private onRowClick(index: number, e: MouseEvent): void {
    const row = this.query.row(index);
    if (!row) return;
    this.parts.focus();
    this.cursor = { row: index, col: this.columnAt(e.target) ?? this.cursor?.col ?? 0 };
    this.markCursor();
    if (this.query.grouped) {
      this.query.openGroup(row);
      return;
    }
    const rid = row._row;
    if (typeof rid === "number") this.select(clickMode(e), index, rid);
    this.schedule();
  }

  /** The column index of the cell an event happened in, if any. */
  private columnAt(target: EventTarget | null): number | null {
    const cell = target instanceof Element ? target.closest<HTMLElement>(".dv-cell[data-col]") : null;
    if (!cell) return null;
    const j = this.query.columns.findIndex((c) => c.key === cell.dataset.col);
    return j < 0 ? null : j;
  }

  /** A click (or a key) at view position `index`, whose row id is `rid`. */
  private select(mode: SelectMode, index: number, rid: number): void {
    const sel = this.model.get("selection");
    if (mode === "toggle") {
      this.anchor = index;
      this.setSelection(toggled(sel, rid));
    } else if (mode === "replace" || this.anchor < 0) {
      this.anchor = index;
      this.setSelection([rid]);
    } else {
      const { first, last } = span(this.anchor, index);
      void this.selectRange(first, last, mode === "add-range" ? sel : []);
    }
  }

  private setSelection(ids: number[]): void {
    this.selectSeq++;
    this.query.setState("selection", ids);
  }

  /** Select view positions first..last after `base`, whether their rows are loaded or not (the
   * kernel names the ids of rows not loaded). A range longer than MAX_SELECTION is refused with
   * a message: its ids would cross to the browser and back in one synced list. */
  private async selectRange(first: number, last: number, base: readonly number[]): Promise<void> {
    const n = last - first + 1;
    const seq = ++this.selectSeq;
    if (n > MAX_SELECTION) {
      this.query.notice(
        `A selection holds at most ${formatCount(MAX_SELECTION)} rows; this range has ${formatCount(n)}. ` +
        "Select a shorter range, or filter the rows first.",
        true,
      );
      return;
    }
    try {
      const ids = await this.query.rowIds(first, last);
      if (seq !== this.selectSeq) return; // a later click or key won
      this.setSelection(withRange(base, ids));
    } catch (error) {
      if (seq !== this.selectSeq || (error as { reason?: string }).reason === "cancelled") return;
      this.query.notice(`Could not select the rows: ${(error as Error).message}`, true);
    }
  }

  /** Where the viewport is, in rows. */
  private window(): RowWindow {
    const viewport = this.viewport;
    const rh = this.rowHeight;
    const count = this.numRows;
    const { ratio } = layout(count, rh, viewport);
    const offset = clampOffset(currentOffset(this.scroller.scrollTop, ratio, this.own), count, rh, viewport);
    return { offset, viewport, rowHeight: rh, count };
  }

  /** Move the cursor for a movement key; the selection follows vertical moves (Shift extends
   * it from the anchor), and the view scrolls just enough to show the cursor's cell. */
  private move(action: KeyAction): void {
    const w = this.window();
    const before = this.cursor;
    const next = moveCursor(before, action, w, this.query.columns.length);
    if (next === null) return;
    this.cursor = next;
    const { ratio } = layout(w.count, w.rowHeight, w.viewport);
    const to = offsetToReveal(next.row, w.offset, w.viewport, w.rowHeight);
    if (to !== null) this.scrollToOffset(to, ratio);
    this.drawNow();
    this.revealColumn();
    const vertical = before === null || before.row !== next.row || action.kind === "row-edge";
    if (vertical && !this.query.grouped) {
      const extend = "extend" in action && action.extend;
      if (extend) {
        if (this.anchor < 0) this.anchor = before?.row ?? next.row;
        const { first, last } = span(this.anchor, next.row);
        void this.selectRange(first, last, []);
      } else {
        this.anchor = next.row;
        void this.selectRange(next.row, next.row, []);
      }
    }
    if (vertical && this.parts.detail.open) this.openDetail(next.row);
  }

  /** Scroll sideways just enough to show the cursor's cell (past any cells stuck to the left
   * edge: the row number, pinned columns). */
  private revealColumn(): void {
    const cell = this.cursorEl;
    if (!cell) return;
    const box = this.scroller.getBoundingClientRect();
    const left = box.left + this.scroller.clientLeft;
    let stuck = left;
    for (const sib of cell.parentElement?.children ?? []) {
      if (sib === cell) break;
      if (sib instanceof HTMLElement && getComputedStyle(sib).position === "sticky") {
        stuck = Math.max(stuck, sib.getBoundingClientRect().right);
      }
    }
    const right = left + this.scroller.clientWidth;
    const r = cell.getBoundingClientRect();
    // The first column brings the row numbers back with it.
    if (this.cursor?.col === 0) this.scroller.scrollLeft = 0;
    else if (r.left < stuck) this.scroller.scrollLeft -= stuck - r.left;
    else if (r.right > right) this.scroller.scrollLeft += Math.min(r.right - right, r.left - stuck);
  }

  /** Whether a key pressed on `target` is the grid's to take: the widget's root, the grid or the
   * detail view, never a form control (the filter box, a slider, a menu's checkbox). */
  private ownsKey(target: EventTarget | null, root: HTMLElement): boolean {
    if (!(target instanceof HTMLElement)) return false;
    if (target.closest("input, textarea, select, button, [contenteditable]") && target !== root) return false;
    return target === root || this.el.contains(target) || this.parts.detail.el.contains(target);
  }

  /**
   * Keyboard navigation; the widget's root forwards its keydown events here.
   *
   * A key the grid acts on is consumed: `preventDefault` (JupyterLab's command registry skips
   * an event whose default is prevented, and JupyterLab listens on the document's bubbling
   * phase, after us) and `stopPropagation` (no other listener up the page takes it either), so
   * ArrowDown moves the cursor, not the notebook's active cell. Keys the grid does not act on
   * (Shift+Enter, Ctrl+S, letters) go on to the notebook as before.
   */
  onKey(e: KeyboardEvent, root: HTMLElement): void {
    const action = keyAction(e);
    if (action === null) return;
    // Esc closes the detail view from anywhere in it, its Close button included.
    if (action.kind !== "close" && !this.ownsKey(e.target, root)) return;
    if (!this.act(action, root)) return;
    e.preventDefault();
    e.stopPropagation();
  }

  /** Do what a key asks; false when there is nothing to do (the key is not consumed). */
  private act(action: KeyAction, root: HTMLElement): boolean {
    switch (action.kind) {
      case "close":
        if (!this.parts.detail.open) return false;
        this.parts.detail.close();
        return true;
      case "open": {
        const row = this.cursor ? this.query.row(this.cursor.row) : undefined;
        if (!this.cursor || !row) return false;
        if (this.query.grouped) this.query.openGroup(row);
        else this.openDetail(this.cursor.row);
        return true;
      }
      case "copy": {
        const text = this.cursorText();
        if (text === null || hasTextSelection(root)) return false; // a mouse selection copies natively
        void copyText(text, root).then((ok) => {
          if (!ok) this.query.notice("Could not copy: the browser refused the clipboard", true);
        });
        return true;
      }
      default:
        this.move(action);
        return true;
    }
  }

  /** The cursor cell's text as shown, or null when there is no cursor or its row is not loaded. */
  private cursorText(): string | null {
    if (!this.cursor || !this.query.row(this.cursor.row)) return null;
    this.drawNow();
    const cell = this.cursorEl;
    if (!cell) return null;
    return (cell.innerText || cell.textContent || "").trim();
  }

  private openDetail(index: number): void {
    const row = this.query.row(index);
    if (!row || this.query.grouped) return;
    this.parts.detail.show(row, this.query.columns, index, this.numRows);
  }
}

function hasTextSelection(root: HTMLElement): boolean {
  const sel = root.ownerDocument.getSelection();
  return sel !== null && !sel.isCollapsed && sel.anchorNode !== null && root.contains(sel.anchorNode);
}
