// Compare mode's cells and headers, without a DOM: what a version's header reads, whether a
// version's value changed from the first version's, the pair's delta as text. The grouping of
// the columns is in columns.ts (`rowColumns`); the header band drawing in compareheader.ts.

import { CHANGED_FIELD, type Column } from "./columns";
import { formatNumber } from "./format";

type Row = Readonly<Record<string, unknown>>;

/** How many version colours styles.css defines (dv-v0 … dv-v7); later versions reuse them. */
export const VERSION_COLOURS = 8;

/** The CSS class giving version `i` its colour (bars, keys, header edges, changed cells). */
export function versionClass(i: number): string {
  return `dv-v${i % VERSION_COLOURS}`;
}

function has(row: Row, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(row, field);
}

/** The text a header shows: a version's label under its column's group header, the delta a
 * pair sorts by, the marker's Δ, else the column's name. */
export function headerText(column: Column, labels: readonly string[]): string {
  if (column.kind === "changed") return "Δ";
  if (column.pair) return labels.length > 1 ? `Δ ${labels[labels.length - 1]} − ${labels[0]}` : column.label;
  if (column.group !== null && column.version !== null) return labels[column.version] ?? column.label;
  return column.label;
}

/** What a header's tooltip names: the column and its kind; the marker says what it marks. */
export function headerTitle(column: Column): string {
  if (column.kind === "changed") return "changed: rows where a change column differs between the versions";
  if (column.pair) return `${column.label} (numbers: a bar per version, the delta last − first)`;
  return `${column.label} (${column.kind})`;
}

/**
 * Whether two page values are the same value, as the engine's `IS DISTINCT FROM` sees them:
 * nulls equal nulls, NaN equals NaN, structs and lists compare member by member (an image cell
 * is a struct: same digest, same boxes), bytes byte by byte.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a === "bigint" || typeof b === "bigint") {
    // The page turns int64 values that fit a double into numbers and keeps the rest as BigInts.
    const ok = (v: unknown): boolean => typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v));
    return ok(a) && ok(b) && BigInt(a as bigint | number) === BigInt(b as bigint | number);
  }
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const bb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(bb, k) && sameValue((a as Record<string, unknown>)[k], bb[k]));
}

/** A value as a tooltip's short text. */
function shortText(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "bigint") return formatNumber(value);
  if (typeof value === "string") return value.length > 60 ? `${value.slice(0, 59)}…` : value;
  if (typeof value === "boolean") return String(value);
  return "";
}

export interface Change {
  /** The tooltip: what it changed from. */
  title: string;
}

/**
 * Whether this version's cell changed from the first version's, and what it was; null when it
 * did not (or the column is not a later version).
 *
 * The kernel's `<c>@changed` flag, when the page has it, says whether any version differs; a
 * later version is then marked where its own value differs from the first's (with three versions
 * v5 may keep v0's value while v11 changes it). Without the flag (older kernels) the values on
 * the page decide alone; with the flag but without the first version on the page (hidden), the
 * flag does.
 */
export function versionChange(column: Column, row: Row): Change | null {
  if (column.group === null || column.version === null || column.pair) return null;
  const own = column.fields[0] as string;
  const flagField = `${column.group}@changed`;
  const flag = column.aux.includes(flagField) && has(row, flagField) ? row[flagField] : undefined;
  if (flag === false) return null;
  const first = column.aux.find((f) => f !== flagField);
  if (first === undefined) return null; // the first version shown: the others change from it
  const from = first.slice(column.group.length + 1);
  if (!has(row, first)) return flag === true ? { title: `changed from ${from}` } : null;
  if (sameValue(row[own], row[first])) return null;
  const was = shortText(row[first]);
  return { title: was ? `changed from ${from} (${from}: ${was})` : `changed from ${from}` };
}

/** Whether a pair's values differ between versions (the `<c>@changed` flag when present). */
export function pairChanged(column: Column, values: readonly (number | null)[], row: Row): boolean {
  const flagField = `${column.group ?? column.key}@changed`;
  if (column.aux.includes(flagField) && has(row, flagField) && typeof row[flagField] === "boolean") {
    return row[flagField] as boolean;
  }
  const first = values[0] ?? null;
  return values.some((v) => !sameValue(v, first));
}

/** A pair's delta: the kernel's `<c>@delta` when read, else last minus first; null when a
 * version has no value. */
export function pairDelta(column: Column, values: readonly (number | null)[], row: Row): number | null {
  const field = column.aux.find((f) => f.endsWith("@delta"));
  if (field !== undefined && has(row, field)) {
    const v = row[field];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null;
  }
  const first = values[0] ?? null;
  const last = values[values.length - 1] ?? null;
  return first === null || last === null ? null : last - first;
}

/** A delta as text with its sign: `+0.12`, `−0.05` (a minus sign, not a hyphen), `0`. */
export function formatDelta(delta: number): string {
  if (Number.isNaN(delta)) return "NaN";
  if (delta === 0) return "0";
  return `${delta > 0 ? "+" : "−"}${formatNumber(Math.abs(delta))}`;
}

export interface Marker {
  /** Whether the row changed in the change columns; null when the page has no answer. */
  changed: boolean | null;
  title: string;
}

/**
 * The marker column's state: whether the row changed in the change columns (`definition`: the
 * user's choice, else the kernel's default), from the row's `<c>@changed` flags, and a tooltip
 * naming the columns that differ. Without a definition yet, or without flags on the page, the
 * kernel's `changed` field (any compared column) answers.
 */
export function markerState(column: Column, row: Row, definition: readonly string[] | null): Marker {
  const flag = (c: string): boolean => row[`${c}@changed`] === true;
  const flags = column.aux.filter((f) => f.endsWith("@changed") && has(row, f)).map((f) => f.slice(0, -"@changed".length));
  const differ = flags.filter(flag);
  // An empty default (every column differs on every row) means any column, as the kernel's
  // changed-rows filter reads it: the row flag answers then.
  const usable = definition !== null && definition.length > 0 && flags.length > 0 && definition.every((c) => flags.includes(c));
  const fallback = has(row, CHANGED_FIELD) ? row[CHANGED_FIELD] : null;
  const changed = usable ? definition.some(flag) : typeof fallback === "boolean" ? fallback : null;
  if (changed === null) return { changed, title: "" };
  const others = usable ? differ.filter((c) => !definition.includes(c)) : [];
  const also = others.length ? ` (${others.join(", ")} ${others.length > 1 ? "differ" : "differs"}: not a change column)` : "";
  if (!changed) return { changed, title: `unchanged${also}` };
  const named = usable ? differ.filter((c) => definition.includes(c)) : differ;
  return { changed, title: `${named.length ? `changed: ${named.join(", ")}` : "changed"}${also}` };
}
