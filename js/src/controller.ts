// The query side of the widget, without a DOM: which query the model's state asks for, the
// page cache of its rows, the header summaries, request errors and the status line.
//
// The grid and the toolbar read its state and call its intents; it tells them what changed
// through `ControllerView.update`. Everything here can be driven from a unit test with a fake
// model and a fake request client (js/tests/controller.test.ts).

import { decodePage } from "./arrowpage";
import { binBounds, combineFilter, rangeTerm, valueTerm, type SummaryPick } from "./brush";
import { PENDING, type RowData } from "./cells";
import { RequestError, type RequestClient } from "./client";
import { arrange, densityOf } from "./colsize";
import { fieldsRead, groupColumns, groupMember, nextSort, rowColumns, type Column } from "./columns";
import { overlayImageColumns } from "./imagecompare";
import { RowCount, rowsStatus } from "./counting";
import { formatCount } from "./format";
import type { ClassDef, ClassList, OverlayOptions } from "./imagecell";
import type { Model, ViewState } from "./model";
import { PageCache } from "./pagecache";
import { narrowFilter } from "./transitions";
import type {
  ChangesResponse, ColumnCapabilities, ColumnInfo, GroupRoles, InfoResponse, QuerySpec, Summary, TransitionsResponse,
} from "./protocol";
import { MAX_PAGE_SIZE, MIN_PAGE_SIZE } from "./protocol";

/** The status line while a slow kernel has not answered yet (the rows show when it does). */
export const WAITING_STATUS = "waiting for the kernel: it is busy, probably running other cells…";

/** The status line once the kernel is gone (KERNEL_GONE, in the widget's banner, says more). */
export const GONE_STATUS = "not connected: the kernel is gone";

// `group` is not among them: Python turns it into `group_row`, which the browser sends.
const QUERY_KEYS: (keyof ViewState)[] = [
  "filter", "sort", "group_by", "group_row", "columns", "changed_only", "change_columns",
];
// How the columns are laid out (colsize.ts): the grid redraws, the rows are not refetched.
const LAYOUT_KEYS: (keyof ViewState)[] = ["column_widths", "pinned", "density"];


/**
 * What changed, for the view to redraw:
 * - `info`: the table's description arrived (columns, classes, compare labels), or its exact
 *   one replaced a provisional one (redraw in place: the query, rows and scroll stay);
 * - `reset`: the query changed; drawn rows are stale and the first window is loading;
 * - `header`: the columns or their summaries changed;
 * - `chips`: the kernel named the group looked into;
 * - `rows`: rows arrived (status, filter error and header width may change with them);
 * - `status`: the status line or the filter error changed without new rows (an error);
 * - `repaint`: cells that depend on summaries (compare pairs' shared scale) must be redrawn;
 * - `compare`: compare mode's change counts arrived, or rows of a new query did (the
 *   transitions matrix follows them).
 */
export type Change = "info" | "reset" | "header" | "chips" | "rows" | "status" | "repaint" | "compare";

export interface ControllerView {
  /** How many rows the grid shows at once: the first window loaded after a query change. */
  visibleRows(): number;
  update(change: Change): void;
}

/** The part of RequestClient the controller uses (a test passes a fake kernel). */
export type Requester = Pick<RequestClient, "request">;

export interface StatusLine {
  text: string;
  error: boolean;
}

export interface FilterProblem {
  message: string;
  /** 0-based character offset in the filter text, or -1. */
  position: number;
}

export interface ControllerOptions {
  /** Wait after rows arrive before asking for header summaries, ms. */
  summaryDelayMs?: number;
}

export class QueryController {
  // State the grid and the toolbar read (through the getters below) and never write.
  private _info: InfoResponse | null = null;
  private _columns: Column[] = [];
  /** The columns before the user's layout (widths, pins) is applied. */
  private baseColumns: Column[] = [];
  private _grouped = false;
  private readonly _classes = new Map<string, ClassList>();
  private readonly _summaries = new Map<string, Summary>();
  private _status: StatusLine = { text: "", error: false };
  private _filterShown: FilterProblem | null = null;
  private _groupKey: [string, string][] | null = null;
  /** The sort keys the kernel applied to the rows shown, in their field names (null: loading). */
  private _sortShown: string[] | null = null;
  /** The roles of the group page's fields (count, sample rows, ...), as the kernel named them. */
  private roles: GroupRoles | null = null;
  private cache: PageCache<RowData>;
  private summaryKey = "";
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private totalRows = 0;
  private queryGeneration = 0;
  private elapsed = 0;
  /** The last filter the kernel accepted, and the one in force while the typed one is invalid. */
  private goodFilter = "";
  private filterOverride: string | null = null;
  private filterError: FilterProblem | null = null;
  private readonly summaryDelayMs: number;
  /** Compare mode: on how many rows each compared column changed (asked once). */
  private _changes: ChangesResponse | null = null;
  private _changesError: string | null = null;
  private changesAsked = false;
  private readonly cleanups: (() => void)[] = [];
  private readonly count: RowCount;
  /** A group row clicked before its sample rows arrived: opened when they do. */
  private openWhenFilled: RowData | null = null;
  /** Which table's description is asked (a restart makes an unanswered one stale). */
  private infoGeneration = 0;
  /** The exact description failed (its download did): ask again with the next query, which
   * most often needs the file too (the kernel fetches it again in the background). */
  private settleAgain = false;

  constructor(
    private readonly model: Model,
    private readonly client: Requester,
    private readonly view: ControllerView,
    options: ControllerOptions = {},
  ) {
    this.summaryDelayMs = options.summaryDelayMs ?? 400;
    this.cache = this.newCache();
    this.count = new RowCount(
      async () => {
        const { msg } = await this.client.request("count", { query: this.spec() }, { channel: "count", onSlow: () => undefined });
        return msg.num_rows;
      },
      (n) => {
        // The grid grows to the count where it stands: the rows drawn and the scroll stay.
        this.cache.numRows = n;
        this.updateStatus();
        this.view.update("rows");
      },
      (error) => this.notice(`Could not count the rows: ${error.message}`, true),
    );
    const onQuery = (): void => {
      this.filterOverride = null;
      this.queryChanged();
    };
    // Compared images overlaid or side by side: other columns, the same rows.
    const onImages = (): void => {
      if (!this._info || this._grouped) return;
      this.setColumns(this.rowCols());
      this.view.update("header");
      this.view.update("repaint");
    };
    model.on("change:image_compare", onImages);
    this.cleanups.push(() => model.off("change:image_compare", onImages));
    const onPageSize = (): void => {
      this.cache = this.newCache();
      this.queryChanged();
    };
    const onLayout = (): void => {
      this.setColumns(this.baseColumns);
      this.view.update("header");
      this.view.update("repaint");
    };
    for (const k of QUERY_KEYS) model.on(`change:${k}`, onQuery);
    for (const k of LAYOUT_KEYS) model.on(`change:${k}`, onLayout);
    model.on("change:page_size", onPageSize);
    this.cleanups.push(() => {
      for (const k of QUERY_KEYS) model.off(`change:${k}`, onQuery);
      for (const k of LAYOUT_KEYS) model.off(`change:${k}`, onLayout);
      model.off("change:page_size", onPageSize);
    });
  }

  /** The table's description from the kernel; null until it arrives. */
  get info(): InfoResponse | null { return this._info; }
  /** The grid's columns: row columns, or a group page's once its first page arrived; in the
   * user's layout (pinned ones first, chosen widths). */
  get columns(): readonly Column[] { return this._columns; }
  /** Whether the rows are groups (grouped and not looking into one). */
  get grouped(): boolean { return this._grouped; }
  /** Class lists by digest (each image cell names its own). */
  get classes(): ReadonlyMap<string, ClassList> { return this._classes; }
  /** Header summaries of the current query by field name. */
  get summaries(): ReadonlyMap<string, Summary> { return this._summaries; }
  get status(): StatusLine { return this._status; }
  /** The filter error shown under the filter input. */
  get filterShown(): FilterProblem | null { return this._filterShown; }
  /** The sort keys in force, naming the shown fields: the kernel fits `sort` to the view (a
   * row column's key sorts groups by its mean), so a header's arrow follows what it applied. */
  get sortKeys(): readonly string[] { return this._sortShown ?? this.model.get("sort"); }
  /** Compare mode: the columns that define a change: the user's (`change_columns`), else the
   * kernel's default; null until the kernel said it. */
  get changeColumns(): readonly string[] | null {
    const chosen = this.model.get("change_columns");
    return chosen.length ? chosen : this._changes?.default ?? null;
  }
  /** The group looked into, as the kernel names it: [column, value as text] pairs. */
  get groupKey(): [string, string][] | null { return this._groupKey; }
  /** Compare mode: the change counts per compared column; null until the kernel answered. */
  get changes(): ChangesResponse | null { return this._changes; }
  /** Why the change counts could not be had, or null. */
  get changesError(): string | null { return this._changesError; }

  destroy(): void {
    clearTimeout(this.summaryTimer);
    for (const c of this.cleanups) c();
  }

  // ---- state ----------------------------------------------------------------------------

  setState<K extends keyof ViewState>(key: K, value: ViewState[K], extra: Partial<ViewState> = {}): void {
    this.model.set(key, value);
    for (const [k, v] of Object.entries(extra)) this.model.set(k as keyof ViewState, v as never);
    this.model.save_changes();
  }

  /** The query the model's state asks for, as the kernel receives it. */
  spec(): QuerySpec {
    const columns = this.model.get("columns");
    return {
      filter: this.filterOverride ?? this.model.get("filter"),
      sort: this.model.get("sort"),
      group_by: this.model.get("group_by"),
      columns: columns.length ? this.withRequired(columns) : null,
      changed_only: this.model.get("changed_only"),
      change_columns: this.model.get("change_columns"),
      // Only the row id goes back: a key value read from the page may be a BigInt (int64
      // above 2^53), a NaN or a timestamp's text, none of which round-trips through JSON.
      group_row: this.model.get("group_row"),
    };
  }

  /** Each listed column's fields: a compare pair's versions (listed by its key), the delta and
   * `<c>@changed` flags compare columns read. */
  private withRequired(columns: string[]): string[] {
    const out = new Set(columns);
    for (const c of this._columns) if (columns.includes(c.key)) fieldsRead(c).forEach((f) => out.add(f));
    return [...out].filter((f) => !this._columns.some((c) => c.pair && c.key === f));
  }

  /** Whether the engine can do `what` with table column `name` (the kernel's capability
   * table; a field the table does not have, e.g. a group page's count, sorts like a number). */
  can(name: string, what: keyof ColumnCapabilities): boolean {
    const info = this._info?.columns.find((c) => c.name === name);
    return info === undefined ? true : info.capabilities[what];
  }

  /** Table columns the group-by menu offers: groupable ones not grouped by already. */
  groupChoices(): ColumnInfo[] {
    const groupBy = this.model.get("group_by");
    return (this._info?.columns ?? []).filter((c) => c.capabilities.groupable && !groupBy.includes(c.name));
  }

  /** Every row column of the table, whatever is visible (the columns menu lists them). */
  allColumns(): Column[] {
    return rowColumns(this._info?.columns ?? [], [], this._info?.compare ?? null);
  }

  overlay(column: string): OverlayOptions {
    const hidden = this.model.get("hidden_classes");
    const ids = Object.prototype.hasOwnProperty.call(hidden, column) ? hidden[column] ?? [] : [];
    return {
      hidden: new Set(ids),
      threshold: this.model.get("score_threshold"),
      maskOpacity: this.model.get("mask_opacity"),
      classes: this._classes,
      labels: false,
    };
  }

  // ---- intents --------------------------------------------------------------------------

  // The sort stays: the kernel fits it to the groups (and back to the rows on ungrouping).
  groupBy(column: string): void {
    this.setState("group_by", [...this.model.get("group_by").filter((g) => g !== column), column], { group: null, group_row: null });
  }

  ungroup(column: string): void {
    this.setState("group_by", this.model.get("group_by").filter((k) => k !== column), { group: null, group_row: null });
  }

  /** Look into the group of a group page's row (by one of its source rows); a row whose
   * sample rows are still coming (counts first) opens when they arrive. */
  openGroup(row: RowData): void {
    const member = this.roles ? groupMember(row, this.roles) : null;
    this.openWhenFilled = null;
    if (member !== null) this.setState("group_row", member, { group: null });
    else if (this.roles && row[this.roles.sample_rows] === PENDING) this.openWhenFilled = row;
  }

  closeGroup(): void {
    this.setState("group_row", null, { group: null });
  }

  /** A header click: sort by the column, if the engine can. */
  sortBy(column: Column, additive: boolean): void {
    if (!this.sortable(column)) return;
    this.setState("sort", nextSort(this.sortKeys, column.sortField, additive));
  }

  /** Whether a header summary of `field` takes picks (a brush, a value click) as filters. */
  pickable(field: string): boolean {
    return !this._grouped && this.can(field, "filterable");
  }

  /** A brushed histogram range or a clicked top value of `field` narrows the filter in force
   * (the one the summary describes), replacing an earlier pick of that column. */
  /** Replace the sampled summary of `field` by the exact one (a GROUP BY over every filtered
   * row: slow on 100M distinct values, and the engine's time budget's error if it runs over). */
  exactSummary(field: string): void {
    const key = this.summaryKey;
    this.client
      .request("summary", { query: { ...this.spec(), columns: null }, column: field, exact: true }, { channel: `summary:${field}` })
      .then(({ msg }) => {
        if (this.summaryKey !== key) return;
        this._summaries.set(field, msg.summary);
        this.view.update("header");
      })
      .catch(() => undefined);
  }

  pickSummary(field: string, pick: SummaryPick): void {
    const s = this._summaries.get(field);
    let term: string | null = null;
    if (pick.type === "range" && s?.type === "histogram") {
      const type = this._info?.columns.find((c) => c.name === field)?.type ?? "";
      const bounds = binBounds(s, pick.first, pick.last, /^u?int\d*$/.test(type));
      if (bounds) term = rangeTerm(field, bounds.lo, bounds.hi);
    } else if (pick.type === "value") {
      term = valueTerm(field, pick.value);
    }
    if (term === null) return;
    this.setState("filter", combineFilter(this.spec().filter ?? "", field, pick.type, term));
  }

  /** A transitions cell was clicked: narrow the filter in force to its rows (`term` is the
   * filter text the kernel wrote for the cell). */
  narrowFilter(term: string): void {
    this.setState("filter", narrowFilter(this.spec().filter ?? "", term));
  }

  /** Compare mode: how `column` moved from version `before` to `after` over the rows the
   * query shows. A newer call cancels an unanswered one. */
  async transitions(column: string, before: string, after: string): Promise<TransitionsResponse> {
    const { msg } = await this.client.request(
      "transitions", { query: { ...this.spec(), columns: null }, column, before, after }, { channel: "transitions", onSlow: () => undefined },
    );
    return msg;
  }

  /** Compare mode: count the changes per column, once; asked after the first rows arrived,
   * so the one scan it takes never holds up the first page. */
  private fetchChanges(): void {
    if (this.changesAsked || !this._info?.compare) return;
    this.changesAsked = true;
    this.client
      .request("changes", {}, { channel: "changes", onSlow: () => undefined })
      .then(({ msg }) => {
        this._changes = msg;
        this.view.update("compare");
        // The header's group bands show the counts; the changed markers follow the default
        // change columns the reply names.
        this.view.update("header");
        this.view.update("repaint");
      })
      .catch((error: Error) => {
        this._changesError = error.message;
        this.view.update("compare");
      });
  }

  sortable(column: Column): boolean {
    return column.kind !== "samples" && this.can(column.sortField, "sortable");
  }

  // ---- rows -----------------------------------------------------------------------------

  /** Rows (or groups) matching the query; null until the first page arrives. */
  get numRows(): number | null {
    return this.cache.numRows;
  }

  row(index: number): RowData | undefined {
    return this.cache.get(index);
  }

  /** Source row ids of view positions first..last (inclusive), in view order: from the rows
   * held when every one is, else from the kernel (a selection range over rows not loaded).
   * The caller bounds the range by MAX_SELECTION; a newer call cancels an unanswered one. */
  async rowIds(first: number, last: number): Promise<number[]> {
    const held: number[] = [];
    for (let i = first; i <= last; i++) {
      const id = this.cache.get(i)?._row;
      if (typeof id !== "number") break;
      held.push(id);
    }
    if (held.length === last - first + 1) return held;
    const { msg } = await this.client.request(
      "ids", { query: this.spec(), offset: first, limit: last - first + 1 }, { channel: "select" },
    );
    return msg.ids;
  }

  /** Say something on the status line (until the next rows arrive). */
  notice(text: string, error = false): void {
    this.setStatus(text, error);
    this.view.update("status");
  }

  /** Make rows first..last (inclusive) load unless they are held. */
  want(first: number, last: number): void {
    if (last >= first && (!this.cache.has(first) || !this.cache.has(last))) void this.cache.ensure(first, last);
  }

  private newCache(): PageCache<RowData> {
    const size = Math.max(MIN_PAGE_SIZE, Math.min(MAX_PAGE_SIZE, this.model.get("page_size") || 100));
    return new PageCache<RowData>((o, l, s) => this.load(o, l, s), size, 30, () => this.onLoaded());
  }

  /** The kernel has not answered for a while: most often it is running other cells. */
  private waiting(): void {
    this.setStatus(WAITING_STATUS, false);
    this.view.update("status");
  }

  /** The kernel now shows another table (a comparison of versions, or back to the table):
   * forget all that described the old one and load the new one. The caller has cancelled the
   * requests asked of the old table (RequestClient.cancelAll). */
  restart(): Promise<void> {
    this._info = null;
    this.infoGeneration++;
    this.settleAgain = false;
    this._classes.clear();
    this._summaries.clear();
    clearTimeout(this.summaryTimer);
    this.summaryKey = "";
    this.setColumns([]);
    this._grouped = false;
    this.roles = null;
    this._groupKey = null;
    this._sortShown = null;
    this.goodFilter = "";
    this.filterOverride = null;
    this.filterError = null;
    this._filterShown = null;
    // The new table's change counts (a comparison) are asked again after its first page.
    this._changes = null;
    this._changesError = null;
    this.changesAsked = false;
    this.cache.reset();
    this.count.reset();
    this.queryGeneration++;
    this.setStatus("Loading…");
    this.view.update("reset");
    return this.start();
  }

  /** Ask the kernel what the table is, then load the first rows; if it could only say so
   * provisionally (a remote table's files still downloading), ask for the exact description. */
  async start(): Promise<void> {
    try {
      const { msg } = await this.client.request("info", { wait: false }, { onSlow: () => this.waiting() });
      this.describe(msg);
      this.queryChanged();
      if (msg.provisional) void this.settle();
    } catch (error) {
      if (error instanceof RequestError && error.reason === "gone") this.setStatus(GONE_STATUS, true);
      else this.setStatus(`Could not load the table: ${(error as Error).message}`, true);
      this.view.update("status");
    }
  }

  private describe(msg: InfoResponse): void {
    this._info = msg;
    this.totalRows = msg.total_rows;
    for (const [digest, list] of Object.entries(msg.classes)) {
      const byId = new Map<number, ClassDef>();
      for (const c of list) if (!byId.has(c.id)) byId.set(c.id, { name: c.name, color: c.color ?? "" });
      this._classes.set(digest, byId);
    }
    this.view.update("info");
  }

  /** The description was provisional: one request, which the kernel answers once the table's
   * files are here (no polling; it waits as long as the download takes). The exact one
   * replaces it in place: the query, the rows drawn, the scroll, the selection and the open
   * detail view stay. A failed download leaves the provisional one in force and says why. */
  private async settle(quiet = false): Promise<void> {
    const generation = this.infoGeneration;
    this.settleAgain = false;
    try {
      const { msg } = await this.client.request("info", { wait: true }, { channel: "info:exact", onSlow: () => undefined });
      if (generation !== this.infoGeneration) return;
      const layout = (i: InfoResponse | null): string => JSON.stringify([i?.columns, i?.compare, i?.same_images]);
      const moved = layout(msg) !== layout(this._info);
      this.describe(msg);
      if (moved && !this._grouped) {
        this.setColumns(this.rowCols());
        this.view.update("header");
      }
      this.view.update("repaint");
    } catch (error) {
      if (generation !== this.infoGeneration) return;
      // Cancelled (another table shown), the widget closed or its kernel gone (the banner
      // says so): nothing to tell about the description.
      if (error instanceof RequestError && error.reason !== "server") return;
      this.settleAgain = true;
      // Said once: the next query's own error (or rows) tells the rest.
      if (!quiet) this.notice(`The table's description stays provisional: ${(error as Error).message}`, true);
    }
  }

  private async load(offset: number, limit: number, signal: AbortSignal): Promise<{ rows: RowData[]; numRows: number }> {
    const generation = this.queryGeneration;
    const spec = this.spec();
    const { msg, buffers } = await this.client.request(
      "page", { query: spec, offset, limit }, { signal, channel: "page", onSlow: () => this.waiting() },
    );
    const page = decodePage(buffers[0] as DataView);
    const rows = page.rows.map((values) => {
      const row = Object.create(null) as RowData;
      page.fields.forEach((f, i) => { row[f] = values[i]; });
      return row;
    });
    this.totalRows = msg.total_rows;
    this.elapsed = msg.elapsed_ms;
    if (JSON.stringify(msg.group_key) !== JSON.stringify(this._groupKey)) {
      this._groupKey = msg.group_key;
      this.view.update("chips");
    }
    this.roles = msg.grouped ? msg.roles : null;
    this._sortShown = msg.sort;
    // Counts first: a group page's aggregates and sample rows come in a second reply.
    const pending = msg.grouped ? msg.pending : [];
    for (const row of rows) for (const f of pending) row[f] = PENDING;
    if (msg.grouped !== this._grouped || (msg.grouped && this._columns.length === 0)) {
      this._grouped = msg.grouped;
      this.setColumns(msg.grouped && msg.roles
        ? groupColumns([...page.fields, ...pending], this._info?.columns ?? [], msg.roles)
        : this.rowCols());
      this.view.update("header");
    }
    // An answer to an older query is dropped by the cache: it must not touch this count.
    if (generation !== this.queryGeneration) return { rows, numRows: msg.num_rows ?? msg.rows_at_least };
    if (pending.length) void this.fillGroups(spec, offset, limit, rows, generation);
    return { rows, numRows: this.count.fromPage(msg.num_rows, msg.rows_at_least) };
  }

  /** The rest of a group page whose keys and counts came first: every field of the same
   * groups, in the same order, written into the rows held (their "…" cells redraw). */
  private async fillGroups(spec: QuerySpec, offset: number, limit: number, rows: RowData[], generation: number): Promise<void> {
    try {
      const { buffers } = await this.client.request(
        "groups", { query: spec, offset, limit }, { channel: `groups:${offset}`, onSlow: () => undefined },
      );
      if (generation !== this.queryGeneration) return;
      const page = decodePage(buffers[0] as DataView);
      page.rows.forEach((values, i) => {
        const row = rows[i];
        if (row) page.fields.forEach((f, j) => { row[f] = values[j]; });
      });
      this.view.update("repaint");
      const clicked = this.openWhenFilled;
      if (clicked && rows.includes(clicked)) this.openGroup(clicked);
    } catch (error) {
      if (generation !== this.queryGeneration || (error instanceof RequestError && error.reason === "cancelled")) return;
      this.notice(`Could not compute the groups' values: ${(error as Error).message}`, true);
    }
  }

  private setColumns(columns: Column[]): void {
    this.baseColumns = columns;
    this._columns = arrange(columns, {
      widths: this.model.get("column_widths"),
      pinned: this.model.get("pinned"),
      density: densityOf(this.model.get("density")),
    });
  }

  private rowCols(): Column[] {
    const columns = rowColumns(this._info?.columns ?? [], this.model.get("columns"), this._info?.compare ?? null);
    return overlayImageColumns(columns, this._info, this.model.get("image_compare"));
  }

  private queryChanged(): void {
    if (!this._info) return;
    if (this.filterOverride === null) this.filterError = null;
    this._filterShown = this.filterError;
    this._grouped = this.model.get("group_by").length > 0 && this.model.get("group_row") === null;
    this._sortShown = null;
    this.openWhenFilled = null;
    this.setColumns(this._grouped ? [] : this.rowCols());
    this.cache.reset();
    this.count.reset();
    this.queryGeneration++;
    clearTimeout(this.summaryTimer);
    this._summaries.clear(); // stale histograms would describe other rows
    this.summaryKey = "";
    this.setStatus("Loading…");
    this.view.update("reset");
    void this.cache.ensure(0, this.view.visibleRows());
    if (this.settleAgain) void this.settle(true);
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
      this._filterShown = { message: err.message, position: err.position };
      this.setStatus(err.message, true);
      this.view.update("status");
      return;
    }
    if (err instanceof RequestError && err.reason === "gone") {
      this.setStatus(GONE_STATUS, true); // the widget's banner says what to do
      this.view.update("status");
      return;
    }
    if (err) {
      this.setStatus(`Error: ${(err as Error).message}`, true);
      this.view.update("status");
      return;
    }
    if (this.filterOverride === null) {
      this.goodFilter = this.model.get("filter");
      this._filterShown = null;
    }
    this.updateStatus();
    this.view.update("rows");
    this.count.request(); // after the rows are drawn: a new filter's count, if still to come
    if (this._info?.compare) {
      this.fetchChanges();
      this.view.update("compare");
    }
    // Header summaries scan every matching row: ask once the user pauses, so a burst of
    // filter edits does not queue full scans in front of the next page.
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => this.fetchSummaries(), this.summaryDelayMs);
  }

  private fetchSummaries(): void {
    const key = JSON.stringify({ ...this.spec(), columns: null });
    if (key === this.summaryKey) return;
    this.summaryKey = key;
    this._summaries.clear();
    const spec = this.spec();
    for (const col of this._columns) {
      if (this._grouped || col.kind === "samples") continue;
      for (const field of col.pair ? col.fields : [col.fields[0] as string]) {
        if (!this.can(field, "summarisable")) continue; // the kernel's capability table
        this.client
          .request("summary", { query: { ...spec, columns: null }, column: field, exact: false }, { channel: `summary:${field}` })
          .then(({ msg }) => {
            if (this.summaryKey !== key) return;
            this._summaries.set(field, msg.summary);
            this.view.update("header");
            if (col.pair) this.view.update("repaint");
          })
          .catch(() => undefined);
      }
    }
  }

  /** Compare mode: the largest absolute value of a pair's fields, for a shared bar scale. */
  pairScale(column: Column): number | null {
    let m = 0;
    for (const f of column.fields) {
      const s = this._summaries.get(f);
      if (s?.type === "histogram") m = Math.max(m, Math.abs(s.min ?? 0), Math.abs(s.max ?? 0));
    }
    return m > 0 ? m : null;
  }

  // ---- status ---------------------------------------------------------------------------

  private updateStatus(): void {
    const n = this.numRows ?? 0;
    const total = this.totalRows;
    const ms = this.elapsed ? ` · ${Math.round(this.elapsed)} ms` : "";
    if (this._grouped) {
      this.setStatus(`${formatCount(n)} groups · ${formatCount(total)} rows${ms}`);
    } else {
      const selected = this.model.get("selection").length;
      const sel = selected ? ` · ${formatCount(selected)} selected` : "";
      this.setStatus(`${rowsStatus(n, total, this.count.counting)}${sel}${ms}`);
    }
  }

  /** The selection changed: the status line counts it (unless it shows a failed load). */
  selectionChanged(): void {
    if (this.cache.lastError || this.cache.numRows === null) return;
    this.updateStatus();
    this.view.update("status");
  }

  private setStatus(text: string, error = false): void {
    this._status = { text: `${this._info?.name ? `${this._info.name} · ` : ""}${text}`, error };
  }
}
