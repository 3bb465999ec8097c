// Decode a page (Arrow IPC stream bytes) into rows of plain values the grid can render.

import { tableFromIPC, Vector, type Table } from "apache-arrow";

/** A row's values by column position; the column names are on the Page. */
export type Row = unknown[];

export interface Page {
  fields: string[];
  rows: Row[];
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (typeof value !== "object") return value;
  if (value instanceof Uint8Array) return value;
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, plain); // list cells
  const v = value as { toJSON?: () => unknown };
  if (typeof v.toJSON === "function") {
    // Arrow StructRow: to an object with no prototype, so keys like "__proto__" stay data.
    const json = v.toJSON() as Record<string, unknown>;
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(json)) out[key] = plain(json[key]);
    return out;
  }
  return value;
}

export function tableToPage(table: Table): Page {
  const fields = table.schema.fields.map((f) => f.name);
  const columns = fields.map((_, i) => table.getChildAt(i));
  const rows: Row[] = new Array(table.numRows);
  for (let r = 0; r < table.numRows; r++) {
    const row: Row = new Array(fields.length);
    for (let c = 0; c < fields.length; c++) row[c] = plain(columns[c]?.get(r));
    rows[r] = row;
  }
  return { fields, rows };
}

export function decodePage(buffer: DataView | ArrayBuffer | Uint8Array): Page {
  const bytes =
    buffer instanceof Uint8Array
      ? buffer
      : buffer instanceof ArrayBuffer
        ? new Uint8Array(buffer)
        : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return tableToPage(tableFromIPC(bytes));
}
