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
  /** Compare mode: the compared column this one shows (a version of it, or its pair), drawn as
   * one header over all its versions; null for keys and plain tables. */
  group: string | null;
  /** Fields the column reads but does not draw as columns of their own: the pair's delta, the
   * `<c>@changed` flag, the first version a later one is compared with. */
  aux: string[];
}

/** The source row id the engine adds to a row page; a table cannot have a column of this name. */
export const ROW_FIELD = "_row";

/** The compare source's row flag: true where a change column differs (the contract's `changed`). */
export const CHANGED_FIELD = "changed";

export function widthFor(kind: string, name: string): number {
  if (kind === "image") return 132;
  if (kind === "samples") return 4 * 52 + 12;
  if (kind === "pair") return 210;
  if (kind === "changed") return 40;
  if (kind === "audio") return 300;
  if (isNumericKind(kind)) return Math.max(96, Math.min(160, name.length * 8 + 36));
  if (kind === "bool") return Math.max(70, name.length * 8 + 36);
  return Math.max(120, Math.min(240, name.length * 9 + 40));
}

function plainColumn(name: string, kind: string, version: number | null): Column {
  return {
    key: name, label: name, kind, fields: [name], width: widthFor(kind, name),
    version, pair: false, sortField: name, pinned: false, group: null, aux: [],
  };
}

/** Every field a column needs in a page: what it draws and what it reads beside. */
export function fieldsRead(column: Column): string[] {
  return [...column.fields, ...column.aux];
}

/**
 * Columns of a row view: storage columns in order (or `visible` order).
 *
 * In compare mode the versions of each compared column stand side by side, in the order the
 * columns first appear: the keys first, then the `changed` marker, then per column either one
 * pair (numeric in every version: bars on a shared scale and the delta) or one column per
 * version, in label order, under one header. `<c>@delta` and `<c>@changed` are read by those
 * columns, never shown as columns of their own. `visible` may name a pair by its key.
 */
export function rowColumns(
  info: ColumnInfo[],
  visible: readonly string[],
  compare: CompareInfo | null,
): Column[] {
  const byName = new Map(info.map((c) => [c.name, c]));
  const kindOf = (n: string): string => byName.get(n)?.kind ?? "native";
  let names = info.map((c) => c.name).filter((n) => n !== ROW_FIELD);
  if (!compare) {
    if (visible.length > 0) names = visible.filter((n) => byName.has(n));
    return names.map((n) => plainColumn(n, kindOf(n), null));
  }
  const labels = compare.labels;
  if (visible.length > 0) {
    // A pair is listed by its key, the compared column's name: it stands for its versions.
    names = visible.flatMap((n) => (byName.has(n) ? [n] : labels.map((l) => `${n}@${l}`).filter((f) => byName.has(f))));
  }
  const split = (name: string): [string, string] | null => {
    const at = name.lastIndexOf("@");
    return at > 0 ? [name.slice(0, at), name.slice(at + 1)] : null;
  };
  const keys: Column[] = [];
  let marker: Column | null = null;
  const groups = new Map<string, string[]>(); // base -> its version fields shown, first seen first
  for (const name of names) {
    const parts = split(name);
    if (parts && labels.includes(parts[1])) {
      const fields = groups.get(parts[0]) ?? [];
      if (!fields.includes(name)) fields.push(name);
      groups.set(parts[0], fields);
    } else if (name === CHANGED_FIELD) {
      marker = changedMarker(names, byName, labels);
    } else if (!(parts && (parts[1] === "delta" || parts[1] === "changed") && labels.some((l) => byName.has(`${parts[0]}@${l}`)))) {
      keys.push(plainColumn(name, kindOf(name), null));
    }
  }
  const out: Column[] = [...keys, ...(marker ? [marker] : [])];
  for (const [base, shown] of groups) {
    const every = labels.map((l) => `${base}@${l}`);
    const flag = byName.has(`${base}@changed`) ? [`${base}@changed`] : [];
    const delta = `${base}@delta`;
    if (every.every((f) => byName.has(f) && isNumericKind(kindOf(f)))) {
      out.push({
        key: base, label: base, kind: "pair", fields: every, width: widthFor("pair", base), version: null,
        pair: true, sortField: byName.has(delta) ? delta : (every[0] as string), pinned: false, group: base,
        aux: [...(byName.has(delta) ? [delta] : []), ...flag],
      });
      continue;
    }
    const first = every.find((f) => byName.has(f)) as string;
    const ordered = every.filter((f) => shown.includes(f));
    for (const f of ordered) {
      const version = labels.indexOf(f.slice(base.length + 1));
      out.push({ ...plainColumn(f, kindOf(f), version), group: base, aux: f === first ? flag : [...flag, first] });
    }
  }
  return out;
}

/** The `changed` row flag as a narrow marker; it reads every `<c>@changed` flag to say which
 * columns differ. */
function changedMarker(names: readonly string[], byName: ReadonlyMap<string, ColumnInfo>, labels: readonly string[]): Column {
  const flags = [...byName.keys()].filter((n) => {
    if (!n.endsWith("@changed")) return false;
    const base = n.slice(0, -"@changed".length);
    return labels.some((l) => byName.has(`${base}@${l}`)) && names.some((m) => m.startsWith(`${base}@`));
  });
  return {
    ...plainColumn(CHANGED_FIELD, "changed", null), aux: flags,
  };
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
