// Which columns the grid shows and how: plain fields, compare pairs, group rows.

import type { ColumnInfo, CompareInfo, GroupRoles } from "./protocol";
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
  /** Drawn first and kept in view while the grid scrolls sideways (the `pinned` trait). */
  pinned: boolean;
}

/** The source row id the engine adds to a row page; a table cannot have a column of this name. */
export const ROW_FIELD = "_row";

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
    version, pair: false, sortField: name, pinned: false,
  };
}

/** Columns of a row view: storage columns in order (or `visible` order), compare pairs merged. */
export function rowColumns(
  info: ColumnInfo[],
  visible: readonly string[],
  compare: CompareInfo | null,
): Column[] {
  const byName = new Map(info.map((c) => [c.name, c]));
  let names = info.map((c) => c.name).filter((n) => n !== ROW_FIELD);
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
          pair: true, sortField: byName.has(delta) ? delta : (fields[0] as string), pinned: false,
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

/**
 * Columns of a group view, from the fields of the first group page and the roles the kernel
 * gave them. Keys take their table column's kind; the count is an int whatever a table column
 * of its name holds; the sample rows are hidden; the rest are aggregates (numbers).
 *
 * The count keeps its field's name as label: it reads "count" unless a key is called "count",
 * and then "count_", so the two headers never read the same (and match the engine's page).
 */
export function groupColumns(fields: string[], info: ColumnInfo[], roles: GroupRoles): Column[] {
  const byName = new Map(info.map((c) => [c.name, c]));
  const keys = new Set(roles.keys);
  const out: Column[] = [];
  for (const f of fields) {
    if (f === roles.sample_rows) continue;
    if (f === roles.sample_images) {
      out.push({ ...plainColumn(f, "samples", null), label: "samples" });
    } else if (f === roles.count) {
      out.push(plainColumn(f, "int", null));
    } else if (keys.has(f)) {
      const kind = byName.get(f)?.kind ?? "native";
      out.push(plainColumn(f, kind === "derived" ? "float" : kind, null));
    } else {
      out.push(plainColumn(f, "float", null));
    }
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
 * (its first sample row, in the field `roles.sample_rows` names), or null. Never the key values:
 * the page holds an int64 key above 2^53 as a BigInt, which JSON cannot hold, and a NaN or a
 * timestamp's text would not match.
 */
export function groupMember(row: Readonly<Record<string, unknown>>, roles: GroupRoles): number | null {
  const rows = Object.prototype.hasOwnProperty.call(row, roles.sample_rows) ? row[roles.sample_rows] : undefined;
  const first = Array.isArray(rows) ? (rows[0] as unknown) : undefined;
  return typeof first === "number" && Number.isSafeInteger(first) && first >= 0 ? first : null;
}
