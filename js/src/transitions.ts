// The compare view's "Transitions" panel: how one categorical or boolean column's values moved
// between two versions (the kernel's `transitions` reply), as a matrix of counts beside the
// grid. A cell is a button: clicking it narrows the filter in force to that cell's rows (the
// kernel wrote its filter text). The matrix follows the query: it is asked again whenever
// the rows shown change.
//
// The layout (which cell is on the diagonal, totals, shading, fixed / broke / same) is pure
// and unit-tested (js/tests/transitions.test.ts); the panel only draws it, as text.

import { RequestError } from "./client";
import type { QueryController } from "./controller";
import { clear, h } from "./dom";
import { formatCount } from "./format";
import { TRANSITION_VALUES, type TransitionsResponse } from "./protocol";

/** The label the kernel gives the bucket of the values beyond the most frequent ones. */
const OTHER = "other";

export interface MatrixCell {
  count: number;
  /** Filter text selecting exactly this cell's rows; "" for a cell with an "other" value. */
  filter: string;
  /** Same value in both versions (unchanged rows). */
  diagonal: boolean;
  /** 0 for an empty cell, else in (0, 1]: the count against the largest count of its kind
   * (diagonal cells against the diagonal's, changes against the changes'), so the moves stay
   * visible beside a large unchanged diagonal. */
  shade: number;
}

export interface MatrixLayout {
  /** Values of the "before" version (rows) and of the "after" version (columns), as text. */
  rows: string[];
  cols: string[];
  /** cells[i][j]: rows with value rows[i] before and cols[j] after. */
  cells: MatrixCell[][];
  rowTotals: number[];
  colTotals: number[];
  total: number;
}

type Reply = Pick<TransitionsResponse, "before_values" | "after_values" | "cells" | "total"> &
  Partial<Pick<TransitionsResponse, "kind_of_values">>;

/** Whether entry `i` of an axis is the kernel's "other" bucket rather than a value that is
 * spelled "other": the bucket is last on a full axis, and none of its cells has a filter. */
function otherBuckets(values: string[], cells: Reply["cells"], side: "before" | "after"): boolean[] {
  return values.map((v, i) => {
    if (v !== OTHER || i !== values.length - 1 || values.length < TRANSITION_VALUES) return false;
    return cells.every((c) => c[side] !== i || c.filter === "");
  });
}

/**
 * One order for both axes, so an unchanged value sits on the diagonal and a row reads like
 * its column: numbers ascending, false before true, text by how often it occurs (both versions
 * together, then alphabetically); "null" after the values, the "other" bucket last. (The
 * kernel sends each side most frequent first, which scatters the diagonal.)
 */
function sharedRank(reply: Reply, rowOther: boolean[], colOther: boolean[]): (value: string, other: boolean) => number[] {
  const freq = new Map<string, number>();
  for (const c of reply.cells) {
    for (const [side, values] of [["before", reply.before_values], ["after", reply.after_values]] as const) {
      const v = values[c[side]];
      if (v !== undefined) freq.set(v, (freq.get(v) ?? 0) + c.count);
    }
  }
  const kind = reply.kind_of_values ?? "";
  const numeric = kind === "int" || kind === "float" || kind === "derived";
  const known = [...new Set([...reply.before_values.filter((_, i) => !rowOther[i]), ...reply.after_values.filter((_, j) => !colOther[j])])];
  known.sort((a, b) => {
    if ((a === "null") !== (b === "null")) return a === "null" ? 1 : -1;
    if (numeric && Number.isFinite(Number(a)) && Number.isFinite(Number(b))) return Number(a) - Number(b);
    if (kind === "bool") return a.localeCompare(b); // "false" < "true"
    return (freq.get(b) ?? 0) - (freq.get(a) ?? 0) || a.localeCompare(b);
  });
  const rank = new Map(known.map((v, i) => [v, i]));
  return (value, other) => [other ? 1 : 0, rank.get(value) ?? known.length];
}

function permutation(values: string[], other: boolean[], rank: (value: string, other: boolean) => number[]): number[] {
  const keyed = values.map((v, i) => ({ i, key: rank(v, other[i] ?? false) }));
  keyed.sort((a, b) => (a.key[0] ?? 0) - (b.key[0] ?? 0) || (a.key[1] ?? 0) - (b.key[1] ?? 0));
  return keyed.map((k) => k.i);
}

export function layoutMatrix(reply: Reply): MatrixLayout {
  const rowOther = otherBuckets(reply.before_values, reply.cells, "before");
  const colOther = otherBuckets(reply.after_values, reply.cells, "after");
  const rank = sharedRank(reply, rowOther, colOther);
  const rowOrder = permutation(reply.before_values, rowOther, rank);
  const colOrder = permutation(reply.after_values, colOther, rank);
  // Old index -> drawn position.
  const rowAt = new Map(rowOrder.map((old, pos) => [old, pos]));
  const colAt = new Map(colOrder.map((old, pos) => [old, pos]));
  const rows = rowOrder.map((i) => reply.before_values[i] ?? "");
  const cols = colOrder.map((j) => reply.after_values[j] ?? "");
  const cells: MatrixCell[][] = rowOrder.map((i) =>
    colOrder.map((j) => ({
      count: 0, filter: "", shade: 0,
      diagonal: reply.before_values[i] === reply.after_values[j] && !rowOther[i] && !colOther[j],
    })),
  );
  const rowTotals = rows.map(() => 0);
  const colTotals = cols.map(() => 0);
  for (const c of reply.cells) {
    const r = rowAt.get(c.before);
    const k = colAt.get(c.after);
    const cell = r === undefined || k === undefined ? undefined : cells[r]?.[k];
    if (!cell || r === undefined || k === undefined) continue; // outside the axes: malformed, skipped
    cell.count += c.count;
    cell.filter = c.filter;
    rowTotals[r] = (rowTotals[r] ?? 0) + c.count;
    colTotals[k] = (colTotals[k] ?? 0) + c.count;
  }
  let maxDiagonal = 0;
  let maxOff = 0;
  for (const row of cells) {
    for (const cell of row) {
      if (cell.diagonal) maxDiagonal = Math.max(maxDiagonal, cell.count);
      else maxOff = Math.max(maxOff, cell.count);
    }
  }
  for (const row of cells) {
    for (const cell of row) {
      const max = cell.diagonal ? maxDiagonal : maxOff;
      // A floor, so a cell of 1 among thousands is still seen to be non-empty.
      cell.shade = cell.count > 0 && max > 0 ? 0.15 + 0.85 * (cell.count / max) : 0;
    }
  }
  return { rows, cols, cells, rowTotals, colTotals, total: reply.total };
}

export interface BoolSummary {
  /** false -> true */
  fixed: number;
  /** true -> false */
  broke: number;
  /** the same value in both versions (missing in both counts as the same) */
  same: number;
  /** to or from a missing value */
  other: number;
}

/** How a boolean column (e.g. `correct`) moved: fixed, broke, the same. */
export function boolSummary(layout: MatrixLayout): BoolSummary {
  const out: BoolSummary = { fixed: 0, broke: 0, same: 0, other: 0 };
  layout.cells.forEach((row, i) =>
    row.forEach((cell, j) => {
      const from = layout.rows[i];
      const to = layout.cols[j];
      if (from === "false" && to === "true") out.fixed += cell.count;
      else if (from === "true" && to === "false") out.broke += cell.count;
      else if (cell.diagonal) out.same += cell.count;
      else out.other += cell.count;
    }),
  );
  return out;
}

/** The filter in force narrowed by `term` (a clicked cell's filter). Clicking the cell the
 * filter already narrows to keeps it as it is. */
export function narrowFilter(current: string, term: string): string {
  const text = current.trim();
  if (!text || text === term) return term;
  if (text.endsWith(`(${term})`)) return text;
  return `(${text}) and (${term})`;
}

/** The panel's choice: which column, between which two versions. */
export interface TransitionChoice {
  column: string;
  before: string;
  after: string;
}

/** The first and last version, for the first offered column (null when none is offered). */
export function defaultChoice(columns: string[], labels: string[]): TransitionChoice | null {
  const column = columns[0];
  const before = labels[0];
  const after = labels[labels.length - 1];
  return column !== undefined && before !== undefined && after !== undefined ? { column, before, after } : null;
}

function select(label: string, values: string[], value: string, onChange: (v: string) => void): HTMLSelectElement {
  const el = h("select", { class: "dv-tr-select", attrs: { "aria-label": label } });
  for (const v of values) el.appendChild(h("option", { text: v, attrs: { value: v } }));
  el.value = value;
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export class TransitionsPanel {
  readonly el: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly body: HTMLElement;
  private readonly note: HTMLElement;
  private choice: TransitionChoice | null = null;
  /** What the matrix drawn (or being asked for) describes; a refresh with the same key is
   * a no-op. */
  private key = "";
  private _open = false;

  constructor(
    private readonly query: QueryController,
    private readonly onClose: () => void,
  ) {
    this.controls = h("div", { class: "dv-tr-controls" });
    this.summary = h("div", { class: "dv-tr-summary" });
    this.body = h("div", { class: "dv-tr-body" });
    this.note = h("div", { class: "dv-tr-note", attrs: { "aria-live": "polite" } });
    this.el = h("section", { class: "dv-transitions", attrs: { "aria-label": "transitions" } }, [
      this.controls, this.summary, this.body, this.note,
    ]);
    this.el.style.display = "none";
  }

  get isOpen(): boolean {
    return this._open;
  }

  /** The columns offered: the kernel's compared columns that it can group (so their values are
   * categories) and that hold categories: booleans, integers, strings. */
  columns(): string[] {
    const info = this.query.info;
    const compare = info?.compare;
    const first = compare?.labels[0];
    if (!info || !compare || first === undefined) return [];
    return compare.compared.filter((c) => {
      const col = info.columns.find((x) => x.name === `${c}@${first}`);
      return !!col && col.capabilities.groupable && (["bool", "int", "str"].includes(col.kind) || col.type.startsWith("dictionary"));
    });
  }

  open(): void {
    this._open = true;
    this.el.style.display = "";
    this.choice ??= defaultChoice(this.columns(), this.query.info?.compare?.labels ?? []);
    this.renderControls();
    this.refresh();
  }

  close(): void {
    this._open = false;
    this.el.style.display = "none";
    this.key = "";
  }

  /** The rows shown may have changed: ask for the matrix of the current query, unless the one
   * drawn (or asked for) already describes it. */
  refresh(): void {
    if (!this._open) return;
    const choice = this.choice;
    if (!choice) {
      clear(this.body);
      this.note.textContent = "No compared column holds categories (booleans, integers or text).";
      return;
    }
    const key = JSON.stringify([this.query.spec(), choice]);
    if (key === this.key) return;
    this.key = key;
    this.body.classList.add("dv-tr-loading");
    this.query
      .transitions(choice.column, choice.before, choice.after)
      .then((reply) => {
        if (this.key !== key) return;
        this.draw(reply);
      })
      .catch((error: Error) => {
        // A newer request replaced this one: its answer will draw.
        if (this.key !== key || (error instanceof RequestError && error.reason === "cancelled")) return;
        this.body.classList.remove("dv-tr-loading");
        this.note.textContent = `Could not count the transitions: ${error.message}`;
        this.note.classList.add("dv-tr-error");
      });
  }

  private renderControls(): void {
    clear(this.controls);
    const choice = this.choice;
    const labels = this.query.info?.compare?.labels ?? [];
    const close = h("button", { class: "dv-chip-x dv-tr-close", text: "×", title: "close the transitions panel", attrs: { type: "button" } });
    close.addEventListener("click", () => this.onClose());
    const title = h("span", { class: "dv-tr-title", text: "Transitions" });
    if (!choice) {
      this.controls.append(title, close);
      return;
    }
    const set = (patch: Partial<TransitionChoice>): void => {
      this.choice = { ...choice, ...patch };
      this.renderControls();
      this.refresh();
    };
    this.controls.append(
      title,
      select("transitions column", this.columns(), choice.column, (column) => set({ column })),
      h("span", { class: "dv-tr-from", text: "from" }),
      select("from version", labels, choice.before, (before) => set({ before })),
      h("span", { class: "dv-tr-from", text: "to" }),
      select("to version", labels, choice.after, (after) => set({ after })),
      close,
    );
  }

  private versionClass(label: string): string {
    const i = this.query.info?.compare?.labels.indexOf(label) ?? -1;
    return i >= 0 ? ` dv-key dv-v${i}` : "";
  }

  private draw(reply: TransitionsResponse): void {
    const layout = layoutMatrix(reply);
    this.body.classList.remove("dv-tr-loading");
    this.note.classList.remove("dv-tr-error");
    clear(this.summary);
    if (reply.kind_of_values === "bool") {
      const s = boolSummary(layout);
      const part = (cls: string, text: string): HTMLElement => h("span", { class: `dv-tr-stat ${cls}`, text });
      this.summary.append(
        part("dv-tr-fixed", `fixed ${formatCount(s.fixed)}`),
        part("", "·"),
        part("dv-tr-broke", `broke ${formatCount(s.broke)}`),
        part("", "·"),
        part("dv-tr-same", `same ${formatCount(s.same)}`),
      );
      if (s.other) this.summary.append(part("", "·"), part("dv-tr-other", `to or from null ${formatCount(s.other)}`));
    }
    clear(this.body);
    this.body.appendChild(this.table(reply, layout));
    this.note.textContent = layout.total ? `${formatCount(layout.total)} rows · click a count to show them` : "No rows.";
  }

  private table(reply: TransitionsResponse, layout: MatrixLayout): HTMLTableElement {
    const { column, before, after } = reply;
    // The axes' titles: the "after" version over its columns, the "before" one over its rows.
    const title = h("tr", {}, [
      h("td"),
      h("th", { class: "dv-tr-axis-row", attrs: { colspan: String(layout.cols.length), scope: "colgroup" } }, [
        h("span", { class: `dv-tr-axis${this.versionClass(after)}`, text: `${column}@${after}` }),
        h("span", { class: "dv-tr-arrow", text: " →" }),
      ]),
      h("td"),
    ]);
    const corner = h("th", { class: "dv-tr-corner", attrs: { scope: "col" } }, [
      h("span", { class: `dv-tr-axis${this.versionClass(before)}`, text: `${column}@${before}` }),
      h("span", { class: "dv-tr-arrow", text: " ↓" }),
    ]);
    const head = h("tr", {}, [corner]);
    for (const c of layout.cols) head.appendChild(h("th", { class: "dv-tr-col", text: c, attrs: { scope: "col" } }));
    head.appendChild(h("th", { class: "dv-tr-total", text: "total", attrs: { scope: "col" } }));
    const tbody = h("tbody");
    layout.cells.forEach((row, i) => {
      const from = layout.rows[i] ?? "";
      const tr = h("tr", {}, [h("th", { class: "dv-tr-row", text: from, attrs: { scope: "row" } })]);
      row.forEach((cell, j) => tr.appendChild(this.cell(reply, from, layout.cols[j] ?? "", cell)));
      tr.appendChild(h("td", { class: "dv-tr-total", text: formatCount(layout.rowTotals[i] ?? 0) }));
      tbody.appendChild(tr);
    });
    const foot = h("tr", { class: "dv-tr-foot" }, [h("th", { class: "dv-tr-row dv-tr-total", text: "total", attrs: { scope: "row" } })]);
    for (const n of layout.colTotals) foot.appendChild(h("td", { class: "dv-tr-total", text: formatCount(n) }));
    foot.appendChild(h("td", { class: "dv-tr-total dv-tr-grand", text: formatCount(layout.total) }));
    tbody.appendChild(foot);
    return h("table", { class: "dv-tr-matrix" }, [h("thead", {}, [title, head]), tbody]);
  }

  private cell(reply: TransitionsResponse, from: string, to: string, cell: MatrixCell): HTMLTableCellElement {
    // A boolean's moves say which way they went: fixed (false -> true) or broke.
    const move = reply.kind_of_values !== "bool" ? "" : from === "false" && to === "true" ? " dv-tr-fix" : from === "true" && to === "false" ? " dv-tr-break" : "";
    const td = h("td", { class: `dv-tr-cell${cell.diagonal ? " dv-tr-diag" : ""}${move}`, attrs: { "data-from": from, "data-to": to } });
    // The shade is a share of a theme colour (the CSS mixes it), so dark mode keeps it readable.
    td.style.setProperty("--dv-tr-shade", `${Math.round(cell.shade * 100)}%`);
    if (cell.count === 0) return td;
    const what = `${reply.column} ${from} → ${to}: ${formatCount(cell.count)} rows`;
    if (!cell.filter) {
      td.appendChild(h("span", { class: "dv-tr-count", text: formatCount(cell.count), title: `${what} (values grouped as "other": not a filter)` }));
      return td;
    }
    const button = h("button", {
      class: "dv-tr-count", text: formatCount(cell.count), title: `${what}; click to show them`, attrs: { type: "button" },
    });
    button.addEventListener("click", () => this.query.narrowFilter(cell.filter));
    td.appendChild(button);
    return td;
  }
}
