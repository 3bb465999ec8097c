// Filter text from header summaries: a brushed histogram range or a clicked top value becomes a
// term of the filter language (dsviz_widget/engine/_tokens.py is its grammar), joined to the
// filter already typed with `and`, replacing the term an earlier brush or click put there for the
// same column. Text only: the kernel parses and checks it like anything typed.

import { quoteColumn } from "./filterbar";
import type { HistogramSummary } from "./protocol";

/** What a header summary asks to filter by: bins `first..last` of a histogram, or a value. */
export type SummaryPick =
  | { type: "range"; first: number; last: number }
  | { type: "value"; value: unknown };

/** A string literal the tokenizer reads back as `text` (the inverse of its escapes, as
 * `engine._view.format_literal` writes them). */
export function stringLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (code < 32) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A number as the tokenizer reads it: no exponent sign trouble, never NaN or infinite. */
function numberText(value: number): string {
  if (Object.is(value, -0)) return "0";
  return String(value);
}

/** `value` as a literal of the filter language, or null when it has none (objects). */
export function literal(value: unknown): string | null {
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? numberText(value) : null;
  // Dates, times and durations come as text the engine parses as the column's type.
  if (typeof value === "string") return stringLiteral(value);
  return null;
}

/** Digits after the point that tell a bin's edges apart: one more than the bin width needs. */
function decimalsFor(width: number): number {
  if (!(width > 0) || !Number.isFinite(width)) return 6;
  return Math.max(0, Math.min(12, Math.ceil(-Math.log10(width)) + 1));
}

function roundTo(value: number, decimals: number, up: boolean): number {
  const scale = 10 ** decimals;
  const scaled = value * scale;
  // Snapped outwards (floor the low end, ceil the high end) so the brushed bins stay whole;
  // the epsilon keeps 0.29 * 100 = 28.999999999999996 from dropping a digit.
  const r = up ? Math.ceil(scaled - 1e-9) : Math.floor(scaled + 1e-9);
  return Number((r / scale).toFixed(decimals));
}

/**
 * The bounds of histogram bins `first..last` (inclusive): the bins' edges, with the ends of the
 * histogram at the data's min and max. Integer columns get integer bounds holding exactly the
 * integers of those bins; float bounds are rounded outwards to a few digits past the bin width.
 */
export function binBounds(s: HistogramSummary, first: number, last: number, integer: boolean): { lo: number; hi: number } | null {
  const n = s.counts.length;
  if (n === 0 || s.edges.length !== n + 1 || s.min === null || s.max === null) return null;
  const a = Math.max(0, Math.min(first, last));
  const b = Math.min(n - 1, Math.max(first, last));
  const min = Number(s.min);
  const max = Number(s.max);
  const loEdge = a === 0 ? min : (s.edges[a] as number);
  const hiEdge = b === n - 1 ? max : (s.edges[b + 1] as number);
  if (integer) {
    // A bin holds lo <= v < hi (the last one also its upper edge, the max).
    const lo = Math.ceil(loEdge);
    const hi = b === n - 1 ? Math.floor(hiEdge) : Math.ceil(hiEdge) - 1;
    return { lo, hi: Math.max(lo, hi) };
  }
  const width = ((s.edges[n] as number) - (s.edges[0] as number)) / n;
  const d = decimalsFor(width);
  return { lo: roundTo(loEdge, d, false), hi: roundTo(hiEdge, d, true) };
}

/** The filter term for bounds: `col >= lo and col <= hi`. */
export function rangeTerm(column: string, lo: number, hi: number): string {
  const q = quoteColumn(column);
  return `${q} >= ${numberText(lo)} and ${q} <= ${numberText(hi)}`;
}

/** The filter term for one value: `col == "value"`, or null for a value with no literal. */
export function valueTerm(column: string, value: unknown): string | null {
  if (value === null || value === undefined) return `${quoteColumn(column)} is null`;
  const lit = literal(value);
  return lit === null ? null : `${quoteColumn(column)} == ${lit}`;
}

// ---- joining terms ------------------------------------------------------------------------

interface Split {
  /** The top-level `and` parts, trimmed; null if the text has a top-level `or`. */
  parts: string[] | null;
}

/** Split `text` at its top-level `and`s (outside strings, backtick names and brackets). */
export function splitAnd(text: string): Split {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let i = 0;
  const n = text.length;
  const word = (at: number, w: string): boolean => {
    if (text.slice(at, at + w.length).toLowerCase() !== w) return false;
    const before = at === 0 ? " " : (text[at - 1] as string);
    const after = at + w.length >= n ? " " : (text[at + w.length] as string);
    return !/[\w%.@`]/.test(before) && !/[\w%.@`]/.test(after);
  };
  while (i < n) {
    const ch = text[i] as string;
    if (ch === "'" || ch === '"') {
      i++;
      while (i < n && text[i] !== ch) i += text[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (ch === "`") {
      i++;
      while (i < n && !(text[i] === "`" && text[i + 1] !== "`")) i += text[i] === "`" ? 2 : 1;
      i++;
      continue;
    }
    if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      if (word(i, "or") || text.startsWith("||", i)) return { parts: null };
      const and = word(i, "and") ? 3 : text.startsWith("&&", i) ? 2 : 0;
      if (and) {
        parts.push(text.slice(start, i).trim());
        i += and;
        start = i;
        continue;
      }
    }
    i++;
  }
  parts.push(text.slice(start).trim());
  return { parts: parts.filter((p) => p.length > 0) };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Does `part` restrict `column` the way a pick of this type writes it (a bound, or `==`)? */
function isPickTerm(part: string, column: string, type: SummaryPick["type"]): boolean {
  const q = escapeRegExp(quoteColumn(column));
  const value = String.raw`(?:-?[0-9.][0-9.eE+\-_]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|true|false)`;
  const re = type === "range"
    ? new RegExp(String.raw`^${q}\s*(?:>=|<=|>|<)\s*${value}$`)
    : new RegExp(String.raw`^(?:${q}\s*(?:==|=)\s*${value}|${q}\s+is\s+null)$`, "i");
  return re.test(part);
}

/**
 * `filter` narrowed by `term` for `column`: terms an earlier pick of the same type put there for
 * that column are replaced (a second brush moves the range; a second value replaces the first,
 * since a column cannot equal two values), the rest of the filter is kept. A filter with a
 * top-level `or` is kept whole in brackets.
 */
export function combineFilter(filter: string, column: string, type: SummaryPick["type"], term: string): string {
  const text = filter.trim();
  if (!text) return term;
  const { parts } = splitAnd(text);
  if (parts === null) return `(${text}) and ${term}`;
  const kept = parts.filter((p) => !isPickTerm(p, column, type));
  return [...kept, term].join(" and ");
}
