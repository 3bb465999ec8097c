// The widget: toolbar, legend, virtual grid, status bar, detail view; wired to the model.

import { decodePage } from "./arrowpage";
import { AudioStore, releaseAudio } from "./audio";
import { renderCell, type CellContext, type RowData } from "./cells";
import { RequestClient, RequestError, type Transport } from "./client";
import { groupColumns, groupMember, nextSort, rowColumns, type Column } from "./columns";
import { Detail } from "./detail";
import { clear, h } from "./dom";
import { FilterBar } from "./filterbar";
import { formatCount } from "./format";
import type { ClassDef, ClassList, OverlayOptions } from "./imagecell";
import { Legend } from "./legend";
import type { Model, ViewState } from "./model";
import { PageCache } from "./pagecache";
import type { ColumnCapabilities, GroupRoles, InfoResponse, QuerySpec, Summary } from "./protocol";
import { drawSummary } from "./summary";
import { ThumbStore } from "./thumbs";
import { layout, rowTop, scrollTopToReveal, visibleRange } from "./virtual";

// `group` is not among them: Python turns it into `group_row`, which the browser sends.
const QUERY_KEYS: (keyof ViewState)[] = ["filter", "sort", "group_by", "group_row", "columns", "changed_only"];
const OVERLAY_KEYS: (keyof ViewState)[] = ["score_threshold", "mask_opacity", "hidden_classes"];

function modelTransport(model: Model): Transport {
  return {
    send: (msg, buffers) => model.send(msg, undefined, buffers),
    listen: (handler) => {
      const cb = (...args: unknown[]): void => handler(args[0], (args[1] as DataView[]) ?? []);
      model.on("msg:custom", cb);
      return () => model.off("msg:custom", cb);
    },
  };
}

export class App {
  readonly root: HTMLElement;
  private readonly client: RequestClient;
  private readonly thumbs: ThumbStore;
  private readonly detailThumbs: ThumbStore;
  private readonly audio: AudioStore;
  private info: InfoResponse | null = null;
  private cache: PageCache<RowData>;
  private columns: Column[] = [];
  private grouped = false;
  /** Class lists by digest (each image cell names its own). */
  private classes = new Map<string, ClassList>();
  private summaries = new Map<string, Summary>();
  private summaryKey = "";
  private totalRows = 0;
  private elapsed = 0;
  private cursor = -1; // keyboard cursor: view row index
  private anchor = -1;
  private rendered = new Map<number, HTMLElement>();
  private readonly filterBar: FilterBar;
  private readonly legend: Legend;
  private readonly detail: Detail;
  // DOM
  private readonly header: HTMLElement;
  private readonly headerInner: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly empty = h("div", { class: "dv-empty", text: "No rows match." });
  private readonly status: HTMLElement;
  private readonly chips: HTMLElement;
  private readonly groupSelect: HTMLSelectElement;
  private readonly columnsButton: HTMLButtonElement;
  private readonly columnsMenu: HTMLElement;
  private readonly changedBox: HTMLLabelElement;
  private readonly cleanups: (() => void)[] = [];
  private frame = 0;
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last filter the kernel accepted, and the one in force while the typed one is invalid. */
  private goodFilter = "";
  private filterOverride: string | null = null;
  private filterError: { message: string; position: number } | null = null;
  /** The group looked into, as the kernel names it: [column, value as text] pairs. */
  private groupKey: [string, string][] | null = null;
  /** The roles of the group page's fields (count, sample rows, ...), as the kernel named them. */
  private roles: GroupRoles | null = null;

  constructor(
    private readonly model: Model,
    host: HTMLElement,
  ) {
    this.client = new RequestClient(modelTransport(model));
    this.thumbs = new ThumbStore(this.client, 256);
    this.detailThumbs = new ThumbStore(this.client, 1024, 40);
    this.audio = new AudioStore(this.client);
    this.cache = this.newCache();

    this.filterBar = new FilterBar((text) => this.setState("filter", text));
    this.groupSelect = h("select", { class: "dv-select", attrs: { "aria-label": "group by" } });
    this.groupSelect.addEventListener("change", () => {
      const v = this.groupSelect.value;
      this.groupSelect.value = "";
      // Row sort keys mean nothing to group rows (and vice versa): grouping starts unsorted.
      if (v) this.setState("group_by", [...this.model.get("group_by").filter((g) => g !== v), v], { group: null, group_row: null, sort: [] });
    });
    this.columnsButton = h("button", { class: "dv-button", text: "Columns", attrs: { type: "button" } });
    this.columnsMenu = h("div", { class: "dv-menu" });
    this.columnsButton.addEventListener("click", () => this.toggleColumnsMenu());
    const changedInput = h("input", { attrs: { type: "checkbox" } });
    changedInput.addEventListener("change", () => this.setState("changed_only", changedInput.checked));
    this.changedBox = h("label", { class: "dv-toggle" }, [changedInput, h("span", { text: "changed rows only" })]);
    this.changedBox.style.display = "none";
    this.chips = h("div", { class: "dv-chips" });
    this.legend = new Legend(model);
    this.header = h("div", { class: "dv-header" });
    this.headerInner = h("div", { class: "dv-header-inner" });
    this.header.appendChild(this.headerInner);
    this.spacer = h("div", { class: "dv-spacer" });
    this.scroller = h("div", { class: "dv-scroller", attrs: { role: "grid", tabindex: "0", "aria-label": "rows" } }, [this.spacer, this.empty]);
    this.status = h("div", { class: "dv-status", attrs: { "aria-live": "polite" } });
    this.detail = new Detail(this.detailThumbs, (col) => this.overlay(col), () => this.root.focus());
    this.root = h("div", { class: "dv-root", attrs: { tabindex: "-1" } }, [
      h("div", { class: "dv-toolbar" }, [
        this.filterBar.el, this.groupSelect, h("div", { class: "dv-menu-wrap" }, [this.columnsButton, this.columnsMenu]), this.changedBox,
      ]),
      this.chips,
      this.legend.el,
      h("div", { class: "dv-grid" }, [this.header, this.scroller]),
      this.status,
      this.detail.el,
    ]);
    host.appendChild(this.root);
    this.applyHeight();

    this.scroller.addEventListener("scroll", () => {
      this.header.scrollLeft = this.scroller.scrollLeft;
      this.schedule();
    }, { passive: true });
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    const resize = new ResizeObserver(() => this.schedule());
    resize.observe(this.scroller);
    this.cleanups.push(() => resize.disconnect());

    const onQuery = (): void => {
      this.filterOverride = null;
      this.queryChanged();
    };
    const onOverlay = (): void => { this.legend.sync(); this.repaintAll(); this.detail.repaint(); };
    // Selection only toggles classes on the rows already drawn: rebuilding them would restart
    // thumbnails and stop a playing clip.
    const onSelection = (): void => this.renderRows(false);
    const onHeight = (): void => this.applyHeight();
    const onPageSize = (): void => {
      this.cache = this.newCache();
      this.queryChanged();
    };
    for (const k of QUERY_KEYS) model.on(`change:${k}`, onQuery);
    for (const k of OVERLAY_KEYS) model.on(`change:${k}`, onOverlay);
    model.on("change:selection", onSelection);
    model.on("change:height", onHeight);
    model.on("change:page_size", onPageSize);
    this.cleanups.push(() => {
      for (const k of QUERY_KEYS) model.off(`change:${k}`, onQuery);
      for (const k of OVERLAY_KEYS) model.off(`change:${k}`, onOverlay);
      model.off("change:selection", onSelection);
      model.off("change:height", onHeight);
      model.off("change:page_size", onPageSize);
    });
    void this.start();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.summaryTimer);
    for (const c of this.cleanups) c();
    releaseAudio(this.root);
    this.client.close();
    this.root.remove();
  }

  // ---- state ----------------------------------------------------------------------------

  private setState<K extends keyof ViewState>(key: K, value: ViewState[K], extra: Partial<ViewState> = {}): void {
    this.model.set(key, value);
    for (const [k, v] of Object.entries(extra)) this.model.set(k as keyof ViewState, v as never);
    this.model.save_changes();
  }

  private spec(): QuerySpec {
    const columns = this.model.get("columns");
    return {
      filter: this.filterOverride ?? this.model.get("filter"),
      sort: this.model.get("sort"),
      group_by: this.model.get("group_by"),
      columns: columns.length ? this.withRequired(columns) : null,
      changed_only: this.model.get("changed_only"),
      // Only the row id goes back: a key value read from the page may be a BigInt (int64
      // above 2^53), a NaN or a timestamp's text, none of which round-trips through JSON.
      group_row: this.model.get("group_row"),
    };
  }

  /** Compare pairs need every version's field even if only the pair is listed. */
  private withRequired(columns: string[]): string[] {
    const out = new Set(columns);
    for (const c of this.columns) if (c.pair && columns.includes(c.key)) c.fields.forEach((f) => out.add(f));
    return [...out];
  }

  private overlay(column: string): OverlayOptions {
    const hidden = this.model.get("hidden_classes");
    const ids = Object.prototype.hasOwnProperty.call(hidden, column) ? hidden[column] ?? [] : [];
    return {
      hidden: new Set(ids),
      threshold: this.model.get("score_threshold"),
      maskOpacity: this.model.get("mask_opacity"),
      classes: this.classes,
      labels: false,
    };
  }

  private applyHeight(): void {
    this.root.style.height = `${Math.max(240, this.model.get("height"))}px`;
  }

  // ---- data -----------------------------------------------------------------------------

  private newCache(): PageCache<RowData> {
    const size = Math.max(10, Math.min(1000, this.model.get("page_size") || 100));
    return new PageCache<RowData>((o, l, s) => this.load(o, l, s), size, 30, () => this.onLoaded());
  }

  private async start(): Promise<void> {
    try {
      const { msg } = await this.client.request("info", {});
      this.info = msg;
      this.totalRows = msg.total_rows;
      for (const [digest, list] of Object.entries(msg.classes)) {
        const byId = new Map<number, ClassDef>();
        for (const c of list) if (!byId.has(c.id)) byId.set(c.id, { name: c.name, color: c.color ?? "" });
        this.classes.set(digest, byId);
      }
      this.changedBox.style.display = msg.compare ? "" : "none";
      this.filterBar.columns = msg.columns.map((c) => c.name);
      const images = msg.columns.filter((c) => c.kind.includes("image")).map((c) => c.name);
      this.legend.setup(images.map((name) => ({ column: name, lists: msg.class_lists[name] ?? [] })), this.classes);
      this.queryChanged();
    } catch (error) {
      this.showStatus(`Could not load the table: ${(error as Error).message}`, true);
    }
  }

  private async load(offset: number, limit: number, signal: AbortSignal): Promise<{ rows: RowData[]; numRows: number }> {
    const spec = this.spec();
    const { msg, buffers } = await this.client.request("page", { query: spec, offset, limit }, { signal, channel: "page" });
    const page = decodePage(buffers[0] as DataView);
    const rows = page.rows.map((values) => {
      const row = Object.create(null) as RowData;
      page.fields.forEach((f, i) => { row[f] = values[i]; });
      return row;
    });
    this.totalRows = msg.total_rows;
    this.elapsed = msg.elapsed_ms;
    if (JSON.stringify(msg.group_key) !== JSON.stringify(this.groupKey)) {
      this.groupKey = msg.group_key;
      this.renderChips();
    }
    this.roles = msg.grouped ? msg.roles : null;
    if (msg.grouped !== this.grouped || (msg.grouped && this.columns.length === 0)) {
      this.grouped = msg.grouped;
      this.columns = msg.grouped && msg.roles
        ? groupColumns(page.fields, this.info?.columns ?? [], msg.roles)
        : this.rowCols();
      this.renderHeader();
    }
    return { rows, numRows: msg.num_rows };
  }

  private rowCols(): Column[] {
    return rowColumns(this.info?.columns ?? [], this.model.get("columns"), this.info?.compare ?? null);
  }

  private queryChanged(): void {
    if (!this.info) return;
    this.filterBar.value = this.model.get("filter");
    if (this.filterOverride === null) this.filterError = null;
    this.filterBar.showError(this.filterError?.message ?? null, this.filterError?.position ?? -1);
    this.grouped = this.model.get("group_by").length > 0 && this.model.get("group_row") === null;
    this.columns = this.grouped ? [] : this.rowCols();
    this.cache.reset();
    clearTimeout(this.summaryTimer);
    this.summaries.clear(); // stale histograms would describe other rows
    this.summaryKey = "";
    this.cursor = -1;
    for (const el of this.rendered.values()) this.dropRow(el);
    this.rendered.clear();
    this.scroller.scrollTop = 0;
    this.renderChips();
    this.renderHeader();
    this.showStatus("Loading…");
    void this.cache.ensure(0, this.visibleCount());
  }

  private onLoaded(): void {
    const err = this.cache.lastError;
    if (err instanceof RequestError && err.reason === "server") {
      const typed = this.model.get("filter");
      if (this.filterOverride === null && typed !== this.goodFilter) {
        // A malformed filter keeps the rows as they were: show the error, re-run the last
        // good filter.
        this.filterError = { message: err.message, position: err.position };
        this.filterOverride = this.goodFilter;
        this.queryChanged();
        return;
      }
      this.filterBar.showError(err.message, err.position);
      this.showStatus(err.message, true);
      return;
    }
    if (err) {
      this.showStatus(`Error: ${(err as Error).message}`, true);
      return;
    }
    if (this.filterOverride === null) {
      this.goodFilter = this.model.get("filter");
      this.filterBar.showError(null);
    }
    this.updateStatus();
    this.renderHeader(); // row-number width follows the count
    // Draw now, not on the next animation frame: the rows are what the user waits for, and
    // the count and the rows then appear in the same frame.
    cancelAnimationFrame(this.frame);
    this.renderRows(false);
    // Header summaries scan every matching row: ask once the user pauses, so a burst of
    // filter edits does not queue full scans in front of the next page.
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => this.fetchSummaries(), 400);
  }

  private fetchSummaries(): void {
    const key = JSON.stringify({ ...this.spec(), columns: null });
    if (key === this.summaryKey) return;
    this.summaryKey = key;
    this.summaries.clear();
    const spec = this.spec();
    for (const col of this.columns) {
      if (this.grouped || ["image", "audio", "list", "dict", "array", "samples"].includes(col.kind)) continue;
      for (const field of col.pair ? col.fields : [col.fields[0] as string]) {
        this.client
          .request("summary", { query: { ...spec, columns: null }, column: field }, { channel: `summary:${field}` })
          .then(({ msg }) => {
            if (this.summaryKey !== key) return;
            this.summaries.set(field, msg.summary);
            this.renderHeader();
            if (col.pair) this.repaintAll();
          })
          .catch(() => undefined);
      }
    }
  }

  // ---- rendering ------------------------------------------------------------------------

  private get rowHeight(): number {
    if (this.grouped) return this.columns.some((c) => c.kind === "samples") ? 60 : 32;
    if (this.columns.some((c) => c.kind === "image")) return 96;
    if (this.columns.some((c) => c.pair || c.kind === "audio")) return 40;
    return 30;
  }

  private visibleCount(): number {
    return Math.ceil((this.scroller.clientHeight || 400) / this.rowHeight) + 10;
  }

  private schedule(): void {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.renderRows(false));
  }

  /** The row-number column fits the largest row number. */
  private get numWidth(): number {
    return Math.max(40, String(formatCount(Math.max(1, this.numRows))).length * 7.5 + 14);
  }

  private get numRows(): number {
    return this.cache.numRows ?? 0;
  }

  private renderRows(force: boolean): void {
    const rh = this.rowHeight;
    const count = this.numRows;
    const viewport = this.scroller.clientHeight || 400;
    const { spacer, ratio } = layout(count, rh, viewport);
    const width = this.columns.reduce((s, c) => s + c.width, 0) + this.numWidth;
    this.spacer.style.height = `${spacer}px`;
    this.empty.style.display = this.cache.numRows === 0 ? "" : "none";
    this.spacer.style.width = `${width}px`;
    const scrollTop = this.scroller.scrollTop;
    const { first, last } = visibleRange(scrollTop, viewport, rh, count, ratio);
    if (last >= first && (!this.cache.has(first) || !this.cache.has(last))) void this.cache.ensure(first, last);
    const selection = new Set(this.model.get("selection"));
    for (const [i, el] of this.rendered) {
      if (i < first || i > last || force) {
        this.dropRow(el);
        this.rendered.delete(i);
      }
    }
    const ctx = this.cellContext();
    for (let i = first; i <= last; i++) {
      const row = this.cache.get(i);
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
      el.style.top = `${rowTop(i, scrollTop, rh, ratio)}px`;
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
      thumbs: this.thumbs,
      audio: this.audio,
      overlay: (c) => this.overlay(c),
      rowHeight: this.rowHeight,
      pairScale: (col) => {
        let m = 0;
        for (const f of col.fields) {
          const s = this.summaries.get(f);
          if (s?.type === "histogram") m = Math.max(m, Math.abs(s.min ?? 0), Math.abs(s.max ?? 0));
        }
        return m > 0 ? m : null;
      },
      versionLabels: this.info?.compare?.labels ?? [],
    };
  }

  private renderRow(index: number, row: RowData | undefined, ctx: CellContext, rh: number): HTMLElement {
    const el = h("div", { class: "dv-row", attrs: { role: "row", "aria-rowindex": String(index + 1) } });
    el.style.height = `${rh}px`;
    el.dataset.index = String(index);
    el.dataset.loaded = row ? "1" : "0";
    el.appendChild(h("div", { class: "dv-cell dv-rownum", text: formatCount(index + 1), style: { width: `${this.numWidth}px` } }));
    for (const col of this.columns) {
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

  private repaintAll(): void {
    this.renderRows(true);
  }

  private renderHeader(): void {
    clear(this.headerInner);
    const sort = this.model.get("sort");
    this.headerInner.appendChild(h("div", { class: "dv-hcell dv-rownum", text: "#", style: { width: `${this.numWidth}px` } }));
    for (const col of this.columns) {
      const idx = sort.findIndex((s) => s === col.sortField || s === `-${col.sortField}`);
      const desc = idx >= 0 && (sort[idx] as string).startsWith("-");
      const arrow = idx < 0 ? "" : `${desc ? "▼" : "▲"}${sort.length > 1 ? idx + 1 : ""}`;
      const name = h("span", { class: "dv-hname", text: col.label });
      const sortable = col.kind !== "samples" && this.can(col.sortField, "sortable");
      const hint = sortable ? "click to sort, shift-click to add a sort key" : "cannot be sorted";
      const hc = h("div", {
        class: "dv-hcell", title: `${col.label} (${col.kind}) — ${hint}`,
        attrs: { role: "columnheader", "data-col": col.key, "aria-sort": idx < 0 ? "none" : desc ? "descending" : "ascending" },
      }, [h("div", { class: "dv-htop" }, [name, h("span", { class: "dv-sort", text: arrow })])]);
      hc.style.width = `${col.width}px`;
      if (col.version !== null) hc.classList.add(`dv-ver${col.version}`);
      if (col.pair) {
        const legend = h("div", { class: "dv-pair-legend" });
        (this.info?.compare?.labels ?? []).forEach((l, i) => legend.appendChild(h("span", { class: `dv-key dv-v${i}`, text: l })));
        hc.appendChild(legend);
      } else {
        const s = this.summaries.get(col.fields[0] as string);
        if (s) hc.appendChild(drawSummary(s, col.width - 14, 36));
      }
      hc.addEventListener("click", (e) => {
        if (!sortable) return;
        this.setState("sort", nextSort(this.model.get("sort"), col.sortField, e.shiftKey));
      });
      this.headerInner.appendChild(hc);
    }
    this.renderGroupSelect();
  }

  /** Whether the engine can do ``what`` with table column ``name`` (the kernel's capability
   * table; a field the table does not have, e.g. a group page's count, sorts like a number). */
  private can(name: string, what: keyof ColumnCapabilities): boolean {
    const info = this.info?.columns.find((c) => c.name === name);
    return info === undefined ? true : info.capabilities[what];
  }

  private renderGroupSelect(): void {
    clear(this.groupSelect);
    this.groupSelect.appendChild(h("option", { text: "Group by…", attrs: { value: "" } }));
    for (const c of this.info?.columns ?? []) {
      if (!c.capabilities.groupable) continue;
      if (this.model.get("group_by").includes(c.name)) continue;
      this.groupSelect.appendChild(h("option", { text: c.name, attrs: { value: c.name } }));
    }
  }

  private renderChips(): void {
    clear(this.chips);
    const groupBy = this.model.get("group_by");
    for (const g of groupBy) {
      const x = h("button", { class: "dv-chip-x", text: "×", title: `stop grouping by ${g}`, attrs: { type: "button" } });
      x.addEventListener("click", () => this.setState("group_by", groupBy.filter((k) => k !== g), { group: null, group_row: null, sort: [] }));
      this.chips.appendChild(h("span", { class: "dv-chip" }, [h("span", { text: `group: ${g}` }), x]));
    }
    if (this.model.get("group_row") !== null && groupBy.length > 0) {
      // The kernel names the group (exact values as text); until its page arrives, "…".
      const text = this.groupKey ? this.groupKey.map(([k, v]) => `${k} = ${v}`).join(", ") : "…";
      const back = h("button", { class: "dv-button dv-back", text: "← all groups", attrs: { type: "button" } });
      back.addEventListener("click", () => this.setState("group_row", null, { group: null, sort: [] }));
      this.chips.appendChild(back);
      this.chips.appendChild(h("span", { class: "dv-chip dv-chip-group", text: text }));
    }
    this.chips.style.display = this.chips.childElementCount ? "" : "none";
  }

  private toggleColumnsMenu(): void {
    const open = this.columnsMenu.style.display === "block";
    this.columnsMenu.style.display = open ? "none" : "block";
    if (open) return;
    clear(this.columnsMenu);
    const all = rowColumns(this.info?.columns ?? [], [], this.info?.compare ?? null);
    const visible = new Set(this.model.get("columns"));
    const allVisible = visible.size === 0;
    for (const col of all) {
      const box = h("input", { attrs: { type: "checkbox" } });
      box.checked = allVisible || visible.has(col.key);
      box.addEventListener("change", () => {
        const current = new Set(this.model.get("columns").length ? this.model.get("columns") : all.map((c) => c.key));
        if (box.checked) current.add(col.key);
        else current.delete(col.key);
        const next = all.map((c) => c.key).filter((k) => current.has(k));
        this.setState("columns", next.length === all.length ? [] : next);
      });
      this.columnsMenu.appendChild(h("label", { class: "dv-menu-item" }, [box, h("span", { text: col.label })]));
    }
  }

  private updateStatus(): void {
    const n = this.numRows;
    const total = this.totalRows;
    const ms = this.elapsed ? ` · ${Math.round(this.elapsed)} ms` : "";
    if (this.grouped) {
      this.showStatus(`${formatCount(n)} groups · ${formatCount(total)} rows${ms}`);
    } else {
      this.showStatus(`${formatCount(n)} of ${formatCount(total)} rows${ms}`);
    }
  }

  private showStatus(text: string, error = false): void {
    this.status.textContent = `${this.info?.name ? `${this.info.name} · ` : ""}${text}`;
    this.status.classList.toggle("dv-status-error", error);
  }

  // ---- interaction ----------------------------------------------------------------------

  private onRowClick(index: number, e: MouseEvent): void {
    const row = this.cache.get(index);
    if (!row) return;
    this.root.focus({ preventScroll: true });
    this.cursor = index;
    if (this.grouped) {
      const member = this.roles ? groupMember(row, this.roles) : null;
      if (member !== null) this.setState("group_row", member, { group: null, sort: [] });
      return;
    }
    const rid = row._row;
    if (typeof rid !== "number") return;
    const sel = this.model.get("selection");
    if (e.metaKey || e.ctrlKey) {
      this.setState("selection", sel.includes(rid) ? sel.filter((r) => r !== rid) : [...sel, rid]);
    } else if (e.shiftKey && this.anchor >= 0) {
      const out: number[] = [];
      for (let i = Math.min(this.anchor, index); i <= Math.max(this.anchor, index); i++) {
        const r = this.cache.get(i)?._row;
        if (typeof r === "number") out.push(r);
      }
      this.setState("selection", out);
    } else {
      this.anchor = index;
      this.setState("selection", [rid]);
    }
  }

  private moveCursor(delta: number): void {
    const n = this.numRows;
    if (n === 0) return;
    this.cursor = Math.max(0, Math.min(n - 1, (this.cursor < 0 ? -1 : this.cursor) + delta));
    const { ratio } = layout(n, this.rowHeight, this.scroller.clientHeight);
    const top = scrollTopToReveal(this.cursor, this.scroller.scrollTop, this.scroller.clientHeight, this.rowHeight, ratio);
    if (top !== null) this.scroller.scrollTop = top;
    const rid = this.cache.get(this.cursor)?._row;
    if (!this.grouped && typeof rid === "number") {
      this.anchor = this.cursor;
      this.setState("selection", [rid]);
    }
    if (this.detail.open) this.openDetail(this.cursor);
    this.schedule();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "Escape" && this.detail.open) {
      this.detail.close();
      e.preventDefault();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.moveCursor(e.key === "ArrowDown" ? 1 : -1);
      e.preventDefault();
    } else if (e.key === "PageDown" || e.key === "PageUp") {
      const step = Math.max(1, Math.floor(this.scroller.clientHeight / this.rowHeight) - 1);
      this.moveCursor(e.key === "PageDown" ? step : -step);
      e.preventDefault();
    } else if (e.key === "Enter" && this.cursor >= 0) {
      const row = this.cache.get(this.cursor);
      if (this.grouped && row) this.onRowClick(this.cursor, new MouseEvent("click"));
      else this.openDetail(this.cursor);
      e.preventDefault();
    }
  }

  private openDetail(index: number): void {
    const row = this.cache.get(index);
    if (!row || this.grouped) return;
    this.detail.show(row, this.columns, index, this.numRows);
  }
}
