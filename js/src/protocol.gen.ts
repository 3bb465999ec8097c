// GENERATED, DO NOT EDIT: regenerate with `python -m dsviz_widget.widget._typescript`.
// From dsviz_widget/widget/_protocol.py (message shapes; field meanings are documented
// there), the widgets' synced traits and dsviz_widget/_format.py (capabilities).
// tests/widget/test_protocol_sync.py fails when this file is stale.

export const PROTOCOL_VERSION = 1;

export type RequestKind =
  | "info"
  | "page"
  | "count"
  | "groups"
  | "summary"
  | "thumbnails"
  | "blob"
  | "ids"
  | "changes"
  | "transitions";

export type ResponseKind =
  | "info-response"
  | "page-response"
  | "count-response"
  | "groups-response"
  | "summary-response"
  | "thumbnails-response"
  | "blob-response"
  | "ids-response"
  | "changes-response"
  | "transitions-response"
  | "error";

export const REQUEST_KINDS = [
  "info",
  "page",
  "count",
  "groups",
  "summary",
  "thumbnails",
  "blob",
  "ids",
  "changes",
  "transitions",
] as const;

export const RESPONSE_KINDS = [
  "info-response",
  "page-response",
  "count-response",
  "groups-response",
  "summary-response",
  "thumbnails-response",
  "blob-response",
  "ids-response",
  "changes-response",
  "transitions-response",
  "error",
] as const;

export const MAX_PAGE_ROWS = 5000;

export const MIN_PAGE_SIZE = 10;

export const MAX_PAGE_SIZE = 1000;

export const THUMBNAIL_BATCH = 60;

export const MAX_THUMBNAILS = 500;

export const MIN_THUMB_SIZE = 16;

export const MAX_THUMB_SIZE = 2048;

export const MAX_BLOB_BYTES = 67108864;

export const MIN_COLUMN_WIDTH = 40;

export const MAX_COLUMN_WIDTH = 2000;

export const DENSITIES = ["compact", "comfortable", "large"] as const;

export const IMAGE_COMPARE_MODES = ["auto", "overlay", "side"] as const;

export const MAX_SELECTION = 100000;

export const TRANSITION_VALUES = 12;

/** The structured query the browser sends; never SQL. All fields optional. */
export interface QuerySpec {
  filter?: string;
  sort?: string[];
  group_by?: string[];
  columns?: string[] | null;
  changed_only?: boolean;
  change_columns?: string[];
  group?: Record<string, unknown> | null;
  group_row?: number | null;
}

/**
 * Not a message: the value of the widget's synced `filter_error` trait (`None` when
 * the typed filter works). The kernel keeps the last good filter applied meanwhile.
 */
export interface FilterErrorState {
  message: string;
  position: number;
}

/**
 * The table's description. The first one is answered at once, from what is here; when
 * that answer was `provisional` (a remote table's files still downloading), the browser
 * asks again with `wait` true, and the kernel answers that one once the files are here
 * (the exact description), or with the download's error.
 */
export interface InfoRequest {
  id: string;
  kind: "info";
  wait: boolean;
}

export interface PageRequest {
  id: string;
  kind: "page";
  query: QuerySpec;
  offset: number;
  limit: number;
}

/**
 * The exact number of rows (or groups) `query` shows: asked right after a page whose
 * `num_rows` was null (a new filter's rows come first, the count after them).
 */
export interface CountRequest {
  id: string;
  kind: "count";
  query: QuerySpec;
}

/**
 * Every field of the groups `offset .. offset + limit` of a group page: asked right
 * after a page whose `pending` was not empty (the keys and counts come first, the
 * aggregates and sample rows after them).
 */
export interface GroupsRequest {
  id: string;
  kind: "groups";
  query: QuerySpec;
  offset: number;
  limit: number;
}

export interface SummaryRequest {
  id: string;
  kind: "summary";
  query: QuerySpec;
  column: string;
  exact: boolean;
}

export interface ThumbnailsRequest {
  id: string;
  kind: "thumbnails";
  images: string[];
  masks: string[];
  size: number;
}

/**
 * The bytes of one media file. Only files the table's audio columns refer to are served:
 * the browser cannot read arbitrary objects of the store by guessing digests.
 */
export interface BlobRequest {
  id: string;
  kind: "blob";
  digest: string;
}

/**
 * The source row ids of view positions `offset .. offset + limit`: a selection range
 * (shift-click) over rows the browser has not loaded. `limit` is at most `MAX_SELECTION`.
 */
export interface IdsRequest {
  id: string;
  kind: "ids";
  query: QuerySpec;
  offset: number;
  limit: number;
}

/** Compare mode: on how many rows each compared column changed (one scan, then kept). */
export interface ChangesRequest {
  id: string;
  kind: "changes";
}

/**
 * Compare mode: how `column`'s values moved from version `before` to `after`
 * (labels), over the rows `query` shows.
 */
export interface TransitionsRequest {
  id: string;
  kind: "transitions";
  query: QuerySpec;
  column: string;
  before: string;
  after: string;
}

export type Request =
  | InfoRequest
  | PageRequest
  | CountRequest
  | GroupsRequest
  | SummaryRequest
  | ThumbnailsRequest
  | BlobRequest
  | IdsRequest
  | ChangesRequest
  | TransitionsRequest;

/**
 * What the engine can do with a column (`dsviz_widget._format.CAPABILITIES` resolved
 * for the column's Arrow type): the browser offers only these, it never guesses by kind.
 */
export interface ColumnCapabilities {
  sortable: boolean;
  groupable: boolean;
  filterable: boolean;
  summarisable: boolean;
}

export interface ColumnInfo {
  name: string;
  kind: string;
  type: string;
  capabilities: ColumnCapabilities;
}

export interface CompareInfo {
  labels: string[];
  on: string;
  compared: string[];
}

/** One other version of the shown artifact table the version picker offers. */
export interface VersionChoice {
  version: string;
  label: string;
}

/**
 * Not a message: the value of the widget's synced `versions` trait (`None` for a
 * table not read from a logged artifact): the artifact table shown and what it can be
 * compared with.
 */
export interface VersionsState {
  artifact: string;
  entry: string;
  version: string;
  label: string;
  choices: VersionChoice[];
}

/**
 * What one image column's cells draw over their pictures (`engine.Engine.overlays`):
 * the widget shows the class legend, the score slider and the mask-opacity slider only
 * where they act.
 */
export interface OverlayInfo {
  boxes: boolean;
  scores: boolean;
  masks: boolean;
  box_classes: Record<string, number[]>;
  mask_classes: Record<string, number[]>;
  exact: boolean;
}

export interface InfoResponse {
  id: string;
  kind: "info-response";
  name: string;
  total_rows: number;
  columns: ColumnInfo[];
  classes: Record<string, Record<string, unknown>[]>;
  class_lists: Record<string, string[]>;
  overlays: Record<string, OverlayInfo>;
  compare: CompareInfo | null;
  same_images: Record<string, boolean>;
  provisional: boolean;
  protocol: number;
}

/**
 * Which field of a group page plays which part, so the browser never guesses by name.
 *
 * Any column can be a group key, so a key may be called `count` or `_sample_rows`; the
 * engine then appends `_` to the names it makes (`count_`), and the handler does the
 * same for the sample images column.
 */
export interface GroupRoles {
  keys: string[];
  count: string;
  sample_rows: string;
  sample_images: string | null;
}

/** Buffers: `[arrow_ipc_stream]`. */
export interface PageResponse {
  id: string;
  kind: "page-response";
  offset: number;
  num_rows: number | null;
  rows_at_least: number;
  total_rows: number;
  grouped: boolean;
  elapsed_ms: number;
  group_key: string[][] | null;
  roles: GroupRoles | null;
  sort: string[];
  pending: string[];
}

export interface CountResponse {
  id: string;
  kind: "count-response";
  num_rows: number;
  total_rows: number;
  elapsed_ms: number;
}

/**
 * Buffers: `[arrow_ipc_stream]`: the same groups as the page reply, in the same
 * order, with every field (keys, count, aggregates, sample rows and images).
 */
export interface GroupsResponse {
  id: string;
  kind: "groups-response";
  offset: number;
  roles: GroupRoles;
  elapsed_ms: number;
}

export interface SummaryResponse {
  id: string;
  kind: "summary-response";
  column: string;
  summary: Record<string, unknown>;
}

export interface MediaItem {
  digest: string;
  role: "image" | "mask";
  buffer: number;
  mime: string;
  width: number;
  height: number;
  dtype: string;
  error: string;
}

/** Buffers: one per item whose `buffer` is not -1. */
export interface ThumbnailsResponse {
  id: string;
  kind: "thumbnails-response";
  items: MediaItem[];
}

/** Buffers: `[file_bytes]`. */
export interface BlobResponse {
  id: string;
  kind: "blob-response";
  digest: string;
  mime: string;
  size: number;
}

export interface IdsResponse {
  id: string;
  kind: "ids-response";
  offset: number;
  ids: number[];
}

export interface ChangesResponse {
  id: string;
  kind: "changes-response";
  rows: number;
  counts: Record<string, number>;
  always: string[];
  default: string[];
}

export interface TransitionCell {
  before: number;
  after: number;
  count: number;
  filter: string;
}

export interface TransitionsResponse {
  id: string;
  kind: "transitions-response";
  column: string;
  before: string;
  after: string;
  kind_of_values: string;
  before_values: string[];
  after_values: string[];
  cells: TransitionCell[];
  total: number;
}

export interface ErrorResponse {
  id: string;
  kind: "error";
  request_kind: string;
  error: string;
  position: number;
}

export type Response =
  | InfoResponse
  | PageResponse
  | CountResponse
  | GroupsResponse
  | SummaryResponse
  | ThumbnailsResponse
  | BlobResponse
  | IdsResponse
  | ChangesResponse
  | TransitionsResponse
  | ErrorResponse;

/** The response type that answers each request kind. */
export interface ResponseFor {
  info: InfoResponse;
  page: PageResponse;
  count: CountResponse;
  groups: GroupsResponse;
  summary: SummaryResponse;
  thumbnails: ThumbnailsResponse;
  blob: BlobResponse;
  ids: IdsResponse;
  changes: ChangesResponse;
  transitions: TransitionsResponse;
}

/** The traits dsviz_widget.widget._widget.DatasetWidget syncs with the browser. */
export interface DatasetWidgetState {
  filter: string;
  filter_error: Record<string, unknown> | null;
  sort: string[];
  group_by: string[];
  group: Record<string, unknown> | null;
  group_row: number | null;
  columns: string[];
  column_widths: Record<string, number>;
  pinned: string[];
  density: "compact" | "comfortable" | "large";
  selection: number[];
  page_size: number;
  height: number;
  score_threshold: number;
  mask_opacity: number;
  hidden_classes: Record<string, number[]>;
  changed_only: boolean;
  change_columns: string[];
  image_compare: "auto" | "overlay" | "side";
  versions: Record<string, unknown> | null;
  compared_with: string | null;
  compare_error: string;
  source_generation: number;
}

/** The traits dsviz_widget.widget._lineage.LineageWidget syncs with the browser. */
export interface LineageWidgetState {
  graph: Record<string, unknown>;
  selected: string | null;
  explode: boolean;
  height: number;
  opened: string;
  tables: string[];
  table: string | null;
  can_open: boolean;
  error: string;
}

export const COLUMN_KINDS = [
  "int",
  "float",
  "bool",
  "str",
  "native",
  "image",
  "audio",
  "array",
  "list",
  "dict",
  "derived",
] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

/**
 * What the engine can do with each column kind (`dsviz_widget._format.CAPABILITIES`).
 * null: it depends on the Arrow type; the kernel sends every column's resolved
 * capabilities in `ColumnInfo.capabilities`, which is what the grid should read.
 */
export const CAPABILITIES: Readonly<Record<ColumnKind, ColumnCapabilities | null>> = {
  int: { sortable: true, groupable: true, filterable: true, summarisable: true },
  float: { sortable: true, groupable: true, filterable: true, summarisable: true },
  bool: { sortable: true, groupable: true, filterable: true, summarisable: true },
  str: { sortable: true, groupable: true, filterable: true, summarisable: true },
  native: null,
  image: { sortable: false, groupable: false, filterable: false, summarisable: false },
  audio: { sortable: false, groupable: false, filterable: false, summarisable: false },
  array: { sortable: false, groupable: false, filterable: false, summarisable: false },
  list: { sortable: true, groupable: true, filterable: true, summarisable: true },
  dict: { sortable: true, groupable: true, filterable: true, summarisable: true },
  derived: { sortable: true, groupable: true, filterable: true, summarisable: true },
};
