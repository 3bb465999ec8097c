// Every message kind the browser side and the kernel side exchange, with its shape.
//
// MUST STAY IN STEP WITH dsviz_widget/widget/_protocol.py; tests/widget/test_protocol_sync.py
// checks that both files name the same kinds and the same fields (one field per line below).
//
// The browser pulls, the kernel answers: a request is {id, kind, ...}; its answer echoes the id
// with kind "<kind>-response" (or "error"). Bulk data travels in buffers: a page is one Arrow
// IPC stream, a thumbnail its encoded image bytes, a mask raw little-endian class ids, an audio
// clip its file's bytes.

export const PROTOCOL_VERSION = 1;

export const REQUEST_KINDS = ["info", "page", "summary", "thumbnails", "blob"] as const;
export const RESPONSE_KINDS = [
  "info-response",
  "page-response",
  "summary-response",
  "thumbnails-response",
  "blob-response",
  "error",
] as const;

export type RequestKind = (typeof REQUEST_KINDS)[number];
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

export interface QuerySpec {
  filter?: string;
  sort?: string[];
  group_by?: string[];
  columns?: string[] | null;
  changed_only?: boolean;
  group?: Record<string, unknown> | null;
  /** Drill into the group holding this source row id: exact for every key type (a key value
   * may not survive JSON or a JS number: int64 above 2^53, NaN, decimals, timestamps). */
  group_row?: number | null;
}

export interface InfoRequest {
  id: string;
  kind: "info";
}

export interface PageRequest {
  id: string;
  kind: "page";
  query: QuerySpec;
  offset: number;
  limit: number;
}

export interface SummaryRequest {
  id: string;
  kind: "summary";
  query: QuerySpec;
  column: string;
}

export interface ThumbnailsRequest {
  id: string;
  kind: "thumbnails";
  images: string[];
  masks: string[];
  size: number;
}

/** The bytes of one media file; the kernel serves only files the table's audio cells name. */
export interface BlobRequest {
  id: string;
  kind: "blob";
  digest: string;
}

export type Request = InfoRequest | PageRequest | SummaryRequest | ThumbnailsRequest | BlobRequest;

/** What the engine can do with a column; the grid offers only these, never guessing by kind. */
export interface ColumnCapabilities {
  sortable: boolean;
  groupable: boolean;
  /** Values can be compared in a filter ('is null' works on every column). */
  filterable: boolean;
  /** The header summary has values, not only a count of missing cells. */
  summarisable: boolean;
}

export interface ColumnInfo {
  name: string;
  kind: string;
  type: string;
  capabilities: ColumnCapabilities;
}

export interface ClassInfo {
  id: number;
  name: string;
  color?: string;
}

export interface CompareInfo {
  labels: string[];
  on: string;
}

export interface InfoResponse {
  id: string;
  kind: "info-response";
  name: string;
  total_rows: number;
  columns: ColumnInfo[];
  classes: Record<string, ClassInfo[]>;
  /** Per image column, the digests of the class lists its cells use (keys of `classes`). */
  class_lists: Record<string, string[]>;
  compare: CompareInfo | null;
  protocol: number;
}

/**
 * Which field of a group page plays which part. Any column can be a group key, so a key may be
 * named "count" or "_sample_rows"; the kernel then names its own fields "count_" and so on.
 * The browser reads roles from here and never guesses them from field names.
 */
export interface GroupRoles {
  /** The key columns, under their own (table) names, in group_by order. */
  keys: string[];
  /** int64: rows in the group. */
  count: string;
  /** list<int64>: a few source row ids of the group; hidden, the first one drills in. */
  sample_rows: string;
  /** list<string>: image digests of the sample rows; null when the table has no images. */
  sample_images: string | null;
}

export interface PageResponse {
  id: string;
  kind: "page-response";
  offset: number;
  num_rows: number;
  total_rows: number;
  grouped: boolean;
  elapsed_ms: number;
  /** Drilled into a group: [column, value as text] pairs, for the chip naming it. */
  group_key: [string, string][] | null;
  /** A group page (`grouped`): which field is the count, the sample rows, ...; else null. */
  roles: GroupRoles | null;
}

export interface HistogramSummary {
  type: "histogram";
  edges: number[];
  counts: number[];
  nulls: number;
  posinf?: number; // +inf / -inf values: in no bin, and not in min/max
  neginf?: number;
  min: number | null;
  max: number | null;
}

export interface TopSummary {
  type: "top";
  values: unknown[];
  counts: number[];
  nulls: number;
  distinct: number;
}

export type Summary = HistogramSummary | TopSummary;

export interface SummaryResponse {
  id: string;
  kind: "summary-response";
  column: string;
  summary: Summary;
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

export interface ThumbnailsResponse {
  id: string;
  kind: "thumbnails-response";
  items: MediaItem[];
}

/** Buffers: [file bytes]. */
export interface BlobResponse {
  id: string;
  kind: "blob-response";
  digest: string;
  mime: string;
  size: number;
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
  | SummaryResponse
  | ThumbnailsResponse
  | BlobResponse
  | ErrorResponse;

/** The response type that answers each request kind. */
export interface ResponseFor {
  info: InfoResponse;
  page: PageResponse;
  summary: SummaryResponse;
  thumbnails: ThumbnailsResponse;
  blob: BlobResponse;
}

export function isResponse(value: unknown): value is Response {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { id?: unknown; kind?: unknown };
  return (
    typeof v.id === "string" &&
    typeof v.kind === "string" &&
    (RESPONSE_KINDS as readonly string[]).includes(v.kind)
  );
}
