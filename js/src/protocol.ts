// Every message kind the browser side and the kernel side exchange, with its shape.
//
// The types come from the Python ones: protocol.gen.ts is generated from
// dsviz_widget/widget/_protocol.py (`python -m dsviz_widget.widget._typescript`), and
// tests/widget/test_protocol_sync.py fails when it is stale. This module re-exports it and adds
// what Python does not type (yet): the shapes of a summary, a class and a group key pair,
// narrowing the generated messages. tsc checks below that every narrowing still fits them.
//
// The browser pulls, the kernel answers: a request is {id, kind, ...}; its answer echoes the id
// with kind "<kind>-response" (or "error"). Bulk data travels in buffers: a page is one Arrow
// IPC stream, a thumbnail its encoded image bytes, a mask raw little-endian class ids, an audio
// clip its file's bytes.

import type * as gen from "./protocol.gen";
import { RESPONSE_KINDS, type RequestKind } from "./protocol.gen";

export * from "./protocol.gen";

// Type aliases, not interfaces: an interface is not assignable to the generated
// Record<string, unknown>, which the checks at the end need.
export type ClassInfo = {
  id: number;
  name: string;
  color?: string;
};

export type HistogramSummary = {
  type: "histogram";
  edges: number[];
  counts: number[];
  nulls: number;
  posinf?: number; // +inf / -inf values: in no bin, and not in min/max
  neginf?: number;
  min: number | null;
  max: number | null;
};

export type TopSummary = {
  type: "top";
  values: unknown[];
  counts: number[];
  nulls: number;
  /** null when the summary is of a sample: the whole's number of distinct values is not known. */
  distinct: number | null;
  /** Rows summarised (nulls included): the whole for each value's share. */
  count: number;
  /** Present when values, counts, nulls and count are of the first `sample` filtered rows
   * only (a mostly-distinct column); `distinct_min` is their distinct values, a lower bound. */
  sample?: number;
  distinct_min?: number;
};

export type Summary = HistogramSummary | TopSummary;

export interface InfoResponse extends Omit<gen.InfoResponse, "classes"> {
  /** Classes digest -> the class list. */
  classes: Record<string, ClassInfo[]>;
}

export interface PageResponse extends Omit<gen.PageResponse, "group_key"> {
  /** Drilled into a group: [column, value as text] pairs, for the chip naming it. */
  group_key: [string, string][] | null;
}

export interface SummaryResponse extends Omit<gen.SummaryResponse, "summary"> {
  summary: Summary;
}

/** The response type that answers each request kind. */
export interface ResponseFor extends Omit<gen.ResponseFor, "info" | "page" | "summary"> {
  info: InfoResponse;
  page: PageResponse;
  summary: SummaryResponse;
}

export type Response = ResponseFor[RequestKind] | gen.ErrorResponse;

/** Compiles only when `T` is assignable to `U`. */
type Fits<T extends U, U> = T;
/** The narrowings above only narrow: each still is the message Python declares. */
export type NarrowingsFitPython = [
  Fits<ResponseFor, gen.ResponseFor>,
  Fits<Response, gen.Response>,
];

export function isResponse(value: unknown): value is Response {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { id?: unknown; kind?: unknown };
  return (
    typeof v.id === "string" &&
    typeof v.kind === "string" &&
    (RESPONSE_KINDS as readonly string[]).includes(v.kind)
  );
}
