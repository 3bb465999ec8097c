// Which columns the grid shows and how: plain fields, compare pairs, group rows.

import type { ColumnInfo, CompareInfo } from "./protocol";
import { isNumericKind } from "./format";

export interface Column {
  /** Stable id: the field name, or the base name of a compare pair. */
  key: string;
  label: string;
  kind: string;
  /** Fields of a page this column reads (two or more for a compare pair). */
  fields: string[];
  width: number;
  /** Compare mode: index of the version this column belongs to (for its colour). */
  version: number | null;
  pair: boolean;
  /** Field to sort by when the header is clicked. */
  sortField: string;
}

export const HIDDEN_FIELDS = new Set(["_row", "_sample_rows"]);

export function widthFor(kind: string, name: string): number {
  if (kind === "image") return 132;
  if (kind === "samples") return 4 * 52 + 12;
  if (kind === "pair") return 170;
  if (kind === "audio") return 300;
  if (isNumericKind(kind)) return Math.max(96, Math.min(160, name.length * 8 + 36));
  if (kind === "bool") return Math.max(70, name.length * 8 + 36);
  return Math.max(120, Math.min(240, name.length * 9 + 40));
}

function plainColumn(name: string, kind: string, version: number | null): Column {
  return {
    key: name, label: name, kind, fields: [name], width: widthFor(kind, name),
    version, pair: false, sortField: name,
  };
}

/** Columns of a row view: storage columns in order (or `visible` order), compare pairs merged. */
export function rowColumns(
  info: ColumnInfo[],
  visible: readonly string[],
  compare: CompareInfo | null,
): Column[] {
  const byName = new Map(info.map((c) => [c.name, c]));
  let names = info.map((c) => c.name).filter((n) => !HIDDEN_FIELDS.has(n));
  if (visible.length > 0) names = visible.filter((n) => byName.has(n));
  if (!compare) return names.map((n) => plainColumn(n, byName.get(n)?.kind ?? "native", null));
  const labels = compare.labels;
  const out: Column[] = [];
  const done = new Set<string>();
  for (const name of names) {
    if (done.has(name)) continue;
    const at = name.lastIndexOf("@");
    const base = at > 0 ? name.slice(0, at) : null;
    const label = at > 0 ? name.slice(at + 1) : null;
    const kind = byName.get(name)?.kind ?? "native";
    if (base !== null && label !== null && labels.includes(label)) {
      const fields = labels.map((l) => `${base}@${l}`);
      const allNumeric = fields.every((f) => byName.has(f) && isNumericKind(byName.get(f)?.kind ?? ""));
      if (allNumeric) {
        for (const f of fields) done.add(f);
        const delta = `${base}@delta`;
        out.push({
          key: base, label: base, kind: "pair", fields, width: widthFor("pair", base), version: null,
          pair: true, sortField: byName.has(delta) ? delta : (fields[0] as string),
        });
        continue;
      }
      out.push(plainColumn(name, kind, labels.indexOf(label)));
      done.add(name);
      continue;
    }
    out.push(plainColumn(name, kind, null));
    done.add(name);
  }
  return out;
}

/** Columns of a group view, from the fields of the first group page. */
export function groupColumns(fields: string[], info: ColumnInfo[]): Column[] {
  const byName = new Map(info.map((c) => [c.name, c]));
  const out: Column[] = [];
  for (const f of fields) {
    if (HIDDEN_FIELDS.has(f)) continue;
    if (f === "_sample_images") {
      out.push({ ...plainColumn(f, "samples", null), label: "samples" });
      continue;
    }
    const kind = f === "count" ? "int" : byName.get(f)?.kind ?? "float";
    out.push(plainColumn(f, kind === "derived" ? "float" : kind, null));
  }
  return out;
}

/** The next sort keys after a header click (shift adds or flips a key; a third click removes it). */
export function nextSort(sort: readonly string[], field: string, additive: boolean): string[] {
  const idx = sort.findIndex((s) => s === field || s === `-${field}`);
  const current = idx >= 0 ? (sort[idx] as string) : null;
  const next = current === null ? field : current === field ? `-${field}` : null;
  if (!additive) return next === null ? [] : [next];
  const out = [...sort];
  if (idx >= 0) {
    if (next === null) out.splice(idx, 1);
    else out[idx] = next;
  } else if (next !== null) out.push(next);
  return out;
}

/**
 * What a click on a group row sends to look into the group: a source row id of one of its rows
 * (its first sample row), or null. Never the key values: the page holds an int64 key above
 * 2^53 as a BigInt, which JSON cannot hold, and a NaN or a timestamp's text would not match.
 */
export function groupMember(row: Readonly<Record<string, unknown>>): number | null {
  const rows = row._sample_rows;
  const first = Array.isArray(rows) ? (rows[0] as unknown) : undefined;
  return typeof first === "number" && Number.isSafeInteger(first) && first >= 0 ? first : null;
}
