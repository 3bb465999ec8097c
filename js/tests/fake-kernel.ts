// A small kernel and model for driving the query controller without a notebook: a table of
// `id`, `score`, `label`, `emb` rows answering info / page / summary requests the way the real
// kernel does (Arrow IPC pages, positioned filter errors, group pages with roles), and a model
// that fires `change:<key>` when a value changes, as anywidget's does.

import { Field, Int32, List, Table, tableToIPC, vectorFromArray, Float64, Utf8 } from "apache-arrow";
import { RequestClient } from "../src/client";
import type { Change, ControllerView } from "../src/controller";
import type { Model, ViewState } from "../src/model";
import type {
  ColumnInfo, CountRequest, GroupsRequest, InfoRequest, InfoResponse, PageRequest, QuerySpec, Request, SummaryRequest,
} from "../src/protocol";
import { FakeTransport } from "./fake-transport";

export interface FakeRow {
  _row: number;
  id: number;
  score: number;
  label: string;
}

const CAN_ALL = { sortable: true, groupable: true, filterable: true, summarisable: true };
export const COLUMNS: ColumnInfo[] = [
  { name: "id", kind: "int", type: "int64", capabilities: CAN_ALL },
  { name: "score", kind: "float", type: "double", capabilities: CAN_ALL },
  { name: "label", kind: "str", type: "string", capabilities: CAN_ALL },
  // An array cell is a struct of bytes: the engine neither sorts nor groups it.
  { name: "emb", kind: "array", type: "struct", capabilities: { sortable: false, groupable: false, filterable: false, summarisable: false } },
];

/** The class list the fake table's image overlays name. */
export const CLASSES = { L: [{ id: 1, name: "cat", color: "#f00" }, { id: 2, name: "dog", color: "#0f0" }] };

function classLists(overlays: InfoResponse["overlays"]): Record<string, string[]> {
  return Object.fromEntries(Object.keys(overlays).map((name) => [name, ["L"]]));
}

function ipc(table: Table): DataView {
  const bytes = tableToIPC(table, "stream");
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class FilterError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

/** `<column> <op> <number or 'text'>`, or nothing. Anything else is an error at its end. */
function matcher(filter: string): (row: FakeRow) => boolean {
  const text = filter.trim();
  if (!text) return () => true;
  const m = /^(\w+)\s*(>|<|==)\s*(\S+)$/.exec(text);
  if (!m) throw new FilterError("expected a value", filter.length);
  const [, column, op, raw] = m as unknown as [string, keyof FakeRow, string, string];
  const value: number | string = raw.startsWith("'") ? raw.slice(1, -1) : Number(raw);
  return (row) => {
    const v = row[column];
    return op === ">" ? v > value : op === "<" ? v < value : v === value;
  };
}

export class FakeKernel {
  readonly transport = new FakeTransport();
  readonly client = new RequestClient(this.transport);
  /** The next page request fails with this message (a kernel-side error). */
  failNext: string | null = null;
  infoError: string | null = null;
  /** Answer the first info request as a remote table's head describes it (`provisional`,
   * with these overlays); an info request that waits is held until `settle()`. */
  provisional: InfoResponse["overlays"] | null = null;
  private heldInfo: ((overlays: InfoResponse["overlays"] | Error) => void) | null = null;
  /** As the engine does: a filtered page that is full comes back uncounted (num_rows null). */
  countLater = false;
  /** Count requests wait here until `releaseCounts()` (a count that takes a while). */
  holdCounts = false;
  private readonly held: (() => void)[] = [];
  /** Groups requests (a group page's aggregates) wait here until `releaseGroups()`. */
  holdGroups = false;
  private readonly heldGroups: (() => void)[] = [];

  constructor(readonly rows: FakeRow[]) {
    const send = this.transport.send.bind(this.transport);
    // Answer at once: the client has registered the request before it sends it.
    this.transport.send = (msg: Request) => {
      send(msg);
      this.answer(msg);
    };
  }

  static ofSize(n: number): FakeKernel {
    return new FakeKernel(Array.from({ length: n }, (_, i) => ({ _row: i, id: i, score: i / n, label: i % 2 ? "cat" : "dog" })));
  }

  /** Answer the held info request that waits with the exact overlays (or fail it). */
  settle(exact: InfoResponse["overlays"] | Error): void {
    const answer = this.heldInfo;
    this.heldInfo = null;
    answer?.(exact);
  }

  get infos(): InfoRequest[] {
    return this.transport.sent.filter((m): m is InfoRequest => m.kind === "info");
  }

  get pages(): PageRequest[] {
    return this.transport.sent.filter((m): m is PageRequest => m.kind === "page");
  }

  get lastQuery(): QuerySpec | undefined {
    return this.pages.at(-1)?.query;
  }

  get counts(): CountRequest[] {
    return this.transport.sent.filter((m): m is CountRequest => m.kind === "count");
  }

  /** Answer the count requests held so far. */
  releaseCounts(): void {
    this.held.splice(0).forEach((answer) => answer());
  }

  get groupsAsked(): GroupsRequest[] {
    return this.transport.sent.filter((m): m is GroupsRequest => m.kind === "groups");
  }

  /** Answer the groups requests held so far. */
  releaseGroups(): void {
    this.heldGroups.splice(0).forEach((answer) => answer());
  }

  get summaries(): SummaryRequest[] {
    return this.transport.sent.filter((m): m is SummaryRequest => m.kind === "summary");
  }

  private answer(msg: Request): void {
    const reply = (body: object, buffers: DataView[] = []): void =>
      this.transport.reply({ id: msg.id, kind: `${msg.kind}-response`, ...body }, buffers);
    const fail = (error: string, position = -1): void =>
      this.transport.reply({ id: msg.id, kind: "error", request_kind: msg.kind, error, position });
    try {
      if (msg.kind === "info") {
        if (this.infoError) return fail(this.infoError);
        const answer = (overlays: InfoResponse["overlays"], provisional: boolean): void =>
          reply({ name: "t", total_rows: this.rows.length, columns: COLUMNS, classes: this.provisional ? CLASSES : {}, class_lists: classLists(overlays), overlays, compare: null, same_images: {}, provisional, protocol: 1 });
        if (this.provisional === null) answer({}, false);
        else if (!msg.wait) answer(this.provisional, true);
        else this.heldInfo = (exact) => (exact instanceof Error ? fail(exact.message) : answer(exact, false));
      } else if (msg.kind === "page") {
        if (this.failNext !== null) {
          const error = this.failNext;
          this.failNext = null;
          return fail(error);
        }
        this.page(msg, reply);
      } else if (msg.kind === "groups") {
        const answer = (): void => this.groupPage(msg, reply, true);
        if (this.holdGroups) this.heldGroups.push(answer);
        else answer();
      } else if (msg.kind === "count") {
        const rows = this.select(msg.query);
        const answer = (): void => reply({ num_rows: rows.length, total_rows: this.rows.length, elapsed_ms: 3 });
        if (this.holdCounts) this.held.push(answer);
        else answer();
      } else if (msg.kind === "summary") {
        const rows = this.select(msg.query);
        const values = rows.map((r) => r[msg.column as keyof FakeRow]);
        const numbers = values.filter((v): v is number => typeof v === "number");
        const summary = numbers.length
          ? { type: "histogram", edges: [Math.min(...numbers), Math.max(...numbers)], counts: [numbers.length], nulls: 0, min: Math.min(...numbers), max: Math.max(...numbers) }
          : { type: "top", values: [...new Set(values)], counts: [], nulls: 0, distinct: new Set(values).size, count: values.length };
        reply({ column: msg.column, summary });
      }
    } catch (error) {
      if (error instanceof FilterError) fail(error.message, error.position);
      else throw error;
    }
  }

  /** Rows matching the filter (and the group looked into), sorted. */
  private select(query: QuerySpec): FakeRow[] {
    const keep = matcher(query.filter ?? "");
    let rows = this.rows.filter(keep);
    const groupBy = query.group_by ?? [];
    if (query.group_row != null && groupBy.length) {
      const member = this.rows[query.group_row] as FakeRow;
      rows = rows.filter((r) => groupBy.every((k) => r[k as keyof FakeRow] === member[k as keyof FakeRow]));
    }
    for (const key of [...(query.sort ?? [])].reverse()) {
      const field = key.replace(/^-/, "") as keyof FakeRow;
      const sign = key.startsWith("-") ? -1 : 1;
      rows = [...rows].sort((a, b) => (a[field] < b[field] ? -sign : a[field] > b[field] ? sign : 0));
    }
    return rows;
  }

  private page(msg: PageRequest, reply: (body: object, buffers: DataView[]) => void): void {
    const q = msg.query;
    const rows = this.select(q);
    const groupBy = q.group_by ?? [];
    const common = { offset: msg.offset, total_rows: this.rows.length, elapsed_ms: 3 };
    if (groupBy.length && q.group_row == null) {
      this.groupPage(msg, reply, false);
      return;
    }
    const slice = rows.slice(msg.offset, msg.offset + msg.limit);
    const names = q.columns ?? COLUMNS.map((c) => c.name);
    const table = new Table({
      _row: vectorFromArray(slice.map((r) => r._row), new Int32()),
      ...(names.includes("id") ? { id: vectorFromArray(slice.map((r) => r.id), new Int32()) } : {}),
      ...(names.includes("score") ? { score: vectorFromArray(slice.map((r) => r.score), new Float64()) } : {}),
      ...(names.includes("label") ? { label: vectorFromArray(slice.map((r) => r.label), new Utf8()) } : {}),
    });
    const member = q.group_row != null ? this.rows[q.group_row] : undefined;
    const groupKey = member ? groupBy.map((k) => [k, String(member[k as keyof FakeRow])]) : null;
    const uncounted = this.countLater && Boolean(q.filter?.trim()) && slice.length === msg.limit;
    const counts = uncounted
      ? { num_rows: null, rows_at_least: msg.offset + slice.length }
      : { num_rows: rows.length, rows_at_least: rows.length };
    reply({ ...common, ...counts, grouped: false, group_key: groupKey, roles: null, sort: q.sort ?? [], pending: [] }, [ipc(table)]);
  }

  /** A group page as the kernel answers it: keys and counts first (`pending` names the rest),
   * then, asked with a groups request, every field (`full`). */
  private groupPage(msg: PageRequest | GroupsRequest, reply: (body: object, buffers: DataView[]) => void, full: boolean): void {
    const q = msg.query;
    const rows = this.select(q);
    const key = (q.group_by ?? [])[0] as keyof FakeRow;
    const groups = new Map<unknown, FakeRow[]>();
    for (const r of rows) groups.set(r[key], [...(groups.get(r[key]) ?? []), r]);
    const all = [...groups.entries()].slice(msg.offset, msg.offset + msg.limit);
    const table = new Table({
      [key]: vectorFromArray(all.map(([k]) => String(k)), new Utf8()),
      count: vectorFromArray(all.map(([, rs]) => rs.length), new Int32()),
      ...(full ? {
        "mean(score)": vectorFromArray(all.map(([, rs]) => rs.reduce((a, r) => a + r.score, 0) / rs.length), new Float64()),
        _sample_rows: vectorFromArray(all.map(([, rs]) => rs.slice(0, 3).map((r) => r._row)), new List(new Field("item", new Int32(), true))),
      } : {}),
    });
    const roles = { keys: [key], count: "count", sample_rows: "_sample_rows", sample_images: null };
    if (full) {
      reply({ offset: msg.offset, roles, elapsed_ms: 3 }, [ipc(table)]);
      return;
    }
    // As the kernel fits the sort to a group page: keys naming none of its fields drop out.
    const sort = (q.sort ?? []).filter((k) => [key, "count"].includes(k.replace(/^-/, "")));
    reply({
      offset: msg.offset, total_rows: this.rows.length, elapsed_ms: 3, num_rows: groups.size, rows_at_least: groups.size,
      grouped: true, group_key: null, roles, sort, pending: ["mean(score)", "_sample_rows"],
    }, [ipc(table)]);
  }
}

export const DEFAULT_STATE: ViewState = {
  filter: "", sort: [], group_by: [], group: null, group_row: null, columns: [], selection: [],
  page_size: 100, height: 400, score_threshold: 0, mask_opacity: 0.5, hidden_classes: {}, changed_only: false, change_columns: [], image_compare: "auto", filter_error: null,
  column_widths: {}, pinned: [], density: "comfortable",
  versions: null, compared_with: null, compare_error: "", source_generation: 0,
};

export class FakeModel implements Model {
  readonly state: ViewState;
  saves = 0;
  private readonly listeners = new Map<string, Set<(...args: unknown[]) => void>>();

  constructor(state: Partial<ViewState> = {}) {
    this.state = { ...DEFAULT_STATE, ...state };
  }

  get<K extends keyof ViewState>(key: K): ViewState[K] {
    return this.state[key];
  }

  /** Like Backbone: `change:<key>` fires at once, and only when the value changed. */
  set<K extends keyof ViewState>(key: K, value: ViewState[K]): void {
    if (JSON.stringify(this.state[key]) === JSON.stringify(value)) return;
    this.state[key] = value;
    for (const cb of [...(this.listeners.get(`change:${key}`) ?? [])]) cb();
  }

  save_changes(): void {
    this.saves++;
  }

  on(event: string, callback: (...args: unknown[]) => void): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(callback);
  }

  off(event?: string | null, callback?: ((...args: unknown[]) => void) | null): void {
    if (event && callback) this.listeners.get(event)?.delete(callback);
  }

  send(): void {}
}

/** Records what the controller says changed; `until` resolves once a condition holds after
 * one of its updates (tests wait on the controller's own events, never on time). */
export class FakeView implements ControllerView {
  changes: Change[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(private readonly rows = 20) {}

  visibleRows(): number {
    return this.rows;
  }

  update(change: Change): void {
    this.changes.push(change);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  /** The next time the controller reports `change`. */
  next(change: Change): Promise<void> {
    const seen = this.changes.length;
    return this.until(() => this.changes.slice(seen).includes(change));
  }
}
