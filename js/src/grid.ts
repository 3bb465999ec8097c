// The grid: header with sort arrows and summaries, virtually scrolled rows, cell rendering
// dispatch, selection, the keyboard cursor and the detail view it opens. Rows and columns come
// from the query controller; the grid only draws them and turns clicks into its intents.

import { releaseAudio, type AudioStore } from "./audio";
import type { SummaryPick } from "./brush";
import { renderCell, type CellContext, type RowData } from "./cells";
import type { QueryController } from "./controller";
import type { Detail } from "./detail";
import { clear, h } from "./dom";
import { formatCount } from "./format";
import type { Model } from "./model";
import { drawSummary } from "./summary";
import type { ThumbStore } from "./thumbs";
import {
  clampOffset, currentOffset, layout, needsResync, offsetToReveal, rowTop, visibleRange, wheelPixels, type OwnScroll,
} from "./virtual";

export interface GridParts {
  thumbs: ThumbStore;
  audio: AudioStore;
  detail: Detail;
  /** Focus the widget (its root takes the keyboard). */
  focus: () => void;
}

export class Grid {
  readonly el: HTMLElement;
  private readonly header: HTMLElement;
  private readonly headerInner: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly empty = h("div", { class: "dv-empty", text: "No rows match." });
  private rendered = new Map<number, HTMLElement>();
  private cursor = -1; // keyboard cursor: view row index
  private anchor = -1;
  private frame = 0;
  /** Set when the grid itself last scrolled (wheel, keyboard); see `currentOffset`. */
  private own: OwnScroll | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
    private readonly parts: GridParts,
  ) {
    this.header = h("div", { class: "dv-header" });
    this.headerInner = h("div", { class: "dv-header-inner" });
    this.header.appendChild(this.headerInner);
    this.spacer = h("div", { class: "dv-spacer" });
    this.scroller = h("div", { class: "dv-scroller", attrs: { role: "grid", tabindex: "0", "aria-label": "rows" } }, [this.spacer, this.empty]);
    this.el = h("div", { class: "dv-grid" }, [this.header, this.scroller]);

    this.scroller.addEventListener("scroll", () => {
      this.header.scrollLeft = this.scroller.scrollLeft;
      this.schedule();
    }, { passive: true });
    // Not passive: a compressed scrollbar's wheel steps are taken over (and the default cancelled).
    this.scroller.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
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
    this.cursor = -1;
    for (const el of this.rendered.values()) this.dropRow(el);
    this.rendered.clear();
    this.own = null;
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

  private get rowHeight(): number {
    const columns = this.query.columns;
    if (this.query.grouped) return columns.some((c) => c.kind === "samples") ? 60 : 32;
    if (columns.some((c) => c.kind === "image")) return 96;
    if (columns.some((c) => c.pair || c.kind === "audio")) return 40;
    return 30;
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
    const width = this.query.columns.reduce((s, c) => s + c.width, 0) + this.numWidth;
    this.spacer.style.height = `${spacer}px`;
    this.empty.style.display = this.query.numRows === 0 ? "" : "none";
    this.spacer.style.width = `${width}px`;
    if (needsResync(this.scroller.scrollTop, ratio, this.own)) this.scrollToOffset(this.own.offset, ratio);
    const scrollTop = this.scroller.scrollTop;
    const offset = clampOffset(currentOffset(scrollTop, ratio, this.own), count, rh, viewport);
    const { first, last } = visibleRange(offset, viewport, rh, count);
    this.query.want(first, last);
    const selection = new Set(this.model.get("selection"));
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
      el.classList.toggle("dv-selected", typeof rid === "number" && selection.has(rid));
      el.classList.toggle("dv-cursor", i === this.cursor);
    }
  }

  private dropRow(el: HTMLElement): void {
    releaseAudio(el);
    el.remove();
  }

  private cellContext(): CellContext {
    return {
      thumbs: this.parts.thumbs,
      audio: this.parts.audio,
      overlay: (c) => this.query.overlay(c),
      rowHeight: this.rowHeight,
      pairScale: (col) => this.query.pairScale(col),
      versionLabels: this.query.info?.compare?.labels ?? [],
    };
  }

  private renderRow(index: number, row: RowData | undefined, ctx: CellContext, rh: number): HTMLElement {
    const el = h("div", { class: "dv-row", attrs: { role: "row", "aria-rowindex": String(index + 1) } });
    el.style.height = `${rh}px`;
    el.dataset.index = String(index);
    el.dataset.loaded = row ? "1" : "0";
    el.appendChild(h("div", { class: "dv-cell dv-rownum", text: formatCount(index + 1), style: { width: `${this.numWidth}px` } }));
    for (const col of this.query.columns) {
      const cell = h("div", { class: "dv-cell", attrs: { role: "gridcell", "data-col": col.key } });
      cell.style.width = `${col.width}px`;
      if (col.version !== null) cell.classList.add(`dv-ver${col.version}`);
      if (row) renderCell(cell, col, row, ctx);
      else cell.classList.add("dv-placeholder");
      if (col.kind === "image" && row) {
        cell.addEventListener("click", (e) => {
          e.stopPropagation();
          this.cursor = index;
          this.openDetail(index);
        });
      }
      el.appendChild(cell);
    }
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
    clear(this.headerInner);
    const sort = this.query.sortKeys;
    this.headerInner.appendChild(h("div", { class: "dv-hcell dv-rownum", text: "#", style: { width: `${this.numWidth}px` } }));
    for (const col of this.query.columns) {
      const idx = sort.findIndex((s) => s === col.sortField || s === `-${col.sortField}`);
      const desc = idx >= 0 && (sort[idx] as string).startsWith("-");
      const arrow = idx < 0 ? "" : `${desc ? "▼" : "▲"}${sort.length > 1 ? idx + 1 : ""}`;
      const name = h("span", { class: "dv-hname", text: col.label });
      const hint = this.query.sortable(col) ? "click to sort, shift-click to add a sort key" : "cannot be sorted";
      const hc = h("div", {
        class: "dv-hcell", title: `${col.label} (${col.kind}) — ${hint}`,
        attrs: { role: "columnheader", "data-col": col.key, "aria-sort": idx < 0 ? "none" : desc ? "descending" : "ascending" },
      }, [h("div", { class: "dv-htop" }, [name, h("span", { class: "dv-sort", text: arrow })])]);
      hc.style.width = `${col.width}px`;
      if (col.version !== null) hc.classList.add(`dv-ver${col.version}`);
      if (col.pair) {
        const legend = h("div", { class: "dv-pair-legend" });
        (this.query.info?.compare?.labels ?? []).forEach((l, i) => legend.appendChild(h("span", { class: `dv-key dv-v${i}`, text: l })));
        hc.appendChild(legend);
      } else {
        const field = col.fields[0] as string;
        const s = this.query.summaries.get(field);
        const pick = this.query.pickable(field) ? (p: SummaryPick) => this.query.pickSummary(field, p) : undefined;
        if (s) hc.appendChild(drawSummary(s, col.width - 14, 36, pick));
      }
      hc.addEventListener("click", (e) => this.query.sortBy(col, e.shiftKey));
      this.headerInner.appendChild(hc);
    }
  }

  // ---- interaction ----------------------------------------------------------------------

  private onRowClick(index: number, e: MouseEvent): void {
    const row = this.query.row(index);
    if (!row) return;
    this.parts.focus();
    this.cursor = index;
    if (this.query.grouped) {
      this.query.openGroup(row);
      return;
    }
    const rid = row._row;
    if (typeof rid !== "number") return;
    const sel = this.model.get("selection");
    if (e.metaKey || e.ctrlKey) {
      this.query.setState("selection", sel.includes(rid) ? sel.filter((r) => r !== rid) : [...sel, rid]);
    } else if (e.shiftKey && this.anchor >= 0) {
      const out: number[] = [];
      for (let i = Math.min(this.anchor, index); i <= Math.max(this.anchor, index); i++) {
        const r = this.query.row(i)?._row;
        if (typeof r === "number") out.push(r);
      }
      this.query.setState("selection", out);
    } else {
      this.anchor = index;
      this.query.setState("selection", [rid]);
    }
  }

  private moveCursor(delta: number): void {
    const n = this.numRows;
    if (n === 0) return;
    this.cursor = Math.max(0, Math.min(n - 1, (this.cursor < 0 ? -1 : this.cursor) + delta));
    const viewport = this.viewport;
    const { ratio } = layout(n, this.rowHeight, viewport);
    const offset = currentOffset(this.scroller.scrollTop, ratio, this.own);
    const next = offsetToReveal(this.cursor, offset, viewport, this.rowHeight);
    if (next !== null) this.scrollToOffset(next, ratio);
    const rid = this.query.row(this.cursor)?._row;
    if (!this.query.grouped && typeof rid === "number") {
      this.anchor = this.cursor;
      this.query.setState("selection", [rid]);
    }
    if (this.parts.detail.open) this.openDetail(this.cursor);
    this.schedule();
  }

  /** Keyboard navigation; the widget's root forwards its keydown events here. */
  onKey(e: KeyboardEvent): void {
    if (e.key === "Escape" && this.parts.detail.open) {
      this.parts.detail.close();
      e.preventDefault();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.moveCursor(e.key === "ArrowDown" ? 1 : -1);
      e.preventDefault();
    } else if (e.key === "PageDown" || e.key === "PageUp") {
      const step = Math.max(1, Math.floor(this.scroller.clientHeight / this.rowHeight) - 1);
      this.moveCursor(e.key === "PageDown" ? step : -step);
      e.preventDefault();
    } else if (e.key === "Enter" && this.cursor >= 0) {
      const row = this.query.row(this.cursor);
      if (this.query.grouped && row) this.onRowClick(this.cursor, new MouseEvent("click"));
      else this.openDetail(this.cursor);
      e.preventDefault();
    }
  }

  private openDetail(index: number): void {
    const row = this.query.row(index);
    if (!row || this.query.grouped) return;
    this.parts.detail.show(row, this.query.columns, index, this.numRows);
  }
}
