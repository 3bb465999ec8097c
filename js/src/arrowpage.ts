// Decode a page (Arrow IPC stream bytes) into rows of plain values the grid can render.
//
// Strings are decoded here, not by apache-arrow: its UTF-8 decoder (and the flatbuffers one
// it reads field names with) is a default `TextDecoder`, which drops a leading U+FEFF (BOM)
// from every value. Data must be shown as it is, so Utf8 / LargeUtf8 / Utf8View values are
// decoded from the raw offsets and bytes, and field names from the raw schema message, with
// `ignoreBOM: true`. Other leaf types still come from apache-arrow's getters.

import { BinaryView, Data, DataType, tableFromIPC, Vector, type Table } from "apache-arrow";

/** A row's values by column position; the column names are on the Page. */
export type Row = unknown[];

export interface Page {
  fields: string[];
  rows: Row[];
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** UTF-8 bytes to a string, keeping a leading U+FEFF. */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** A field's exact name and its children's (struct members, list items), from the schema. */
interface Names {
  name: string;
  children: Names[];
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
    // Arrow StructRow / MapRow: to an object with no prototype, so keys like "__proto__" stay data.
    const json = v.toJSON() as Record<string, unknown>;
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(json)) out[key] = plain(json[key]);
    return out;
  }
  return value;
}

// apache-arrow's getter for one Data chunk (for the types this file does not decode itself).
const chunkVectors = new WeakMap<Data, Vector>();
function libraryValue(data: Data, index: number): unknown {
  let vector = chunkVectors.get(data);
  if (!vector) {
    vector = new Vector([data]);
    chunkVectors.set(data, vector);
  }
  return plain(vector.get(index));
}

const binaryViews = new WeakMap<Data, Data>();

function variableWidthBytes(data: Data, index: number): Uint8Array {
  const offsets = data.valueOffsets as ArrayLike<number | bigint>;
  const values = data.values as Uint8Array;
  return values.subarray(Number(offsets[index]), Number(offsets[index + 1]));
}

/** The value at `index` of one chunk, as a plain value; `names` are the schema's exact names. */
function valueAt(data: Data, index: number, names: Names | undefined): unknown {
  const type = data.type as DataType;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    return data.getValid(index) ? utf8.decode(variableWidthBytes(data, index)) : null;
  }
  if (DataType.isUtf8View(type)) {
    if (!data.getValid(index)) return null;
    // The same buffers read as BinaryView give the raw bytes of the value.
    let bytesView = binaryViews.get(data);
    if (!bytesView) {
      bytesView = data.clone(new BinaryView());
      binaryViews.set(data, bytesView);
    }
    const bytes = libraryValue(bytesView, index);
    return bytes instanceof Uint8Array ? utf8.decode(bytes) : null;
  }
  if (DataType.isDictionary(type)) {
    if (!data.getValid(index) || !data.dictionary) return null;
    const key = Number((data.values as ArrayLike<number | bigint>)[index]);
    return vectorValueAt(data.dictionary, key, names);
  }
  if (DataType.isStruct(type)) {
    if (!data.getValid(index)) return null;
    // To an object with no prototype, so keys like "__proto__" stay data.
    const out = Object.create(null) as Record<string, unknown>;
    type.children.forEach((field, j) => {
      const child = data.children[j];
      const own = names?.children[j];
      out[exactName(field.name, own)] = child ? valueAt(child, index, own) : null;
    });
    return out;
  }
  if (DataType.isList(type) || DataType.isLargeList(type) || DataType.isFixedSizeList(type)) {
    if (!data.getValid(index)) return null;
    const child = data.children[0];
    if (!child) return [];
    let begin: number;
    let end: number;
    if (DataType.isFixedSizeList(type)) {
      begin = index * type.listSize;
      end = begin + type.listSize;
    } else {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      begin = Number(offsets[index]);
      end = Number(offsets[index + 1]);
    }
    const items = names?.children[0];
    const out: unknown[] = new Array(Math.max(0, end - begin));
    for (let k = begin; k < end; k++) out[k - begin] = valueAt(child, k, items);
    return out;
  }
  return libraryValue(data, index);
}

// Chunk start positions of a Vector (a dictionary can come in several batches).
const chunkStarts = new WeakMap<Vector, number[]>();
function vectorValueAt(vector: Vector, index: number, names: Names | undefined): unknown {
  const chunks = vector.data;
  if (chunks.length === 1) return valueAt(chunks[0] as Data, index, names);
  let starts = chunkStarts.get(vector);
  if (!starts) {
    starts = [];
    let at = 0;
    for (const chunk of chunks) {
      starts.push(at);
      at += chunk.length;
    }
    chunkStarts.set(vector, starts);
  }
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  const chunk = chunks[lo];
  const local = index - (starts[lo] as number);
  return chunk && local >= 0 && local < chunk.length ? valueAt(chunk, local, names) : null;
}

/** The raw name when it is the library's name with the BOM the library dropped, else the library's. */
function exactName(decoded: string, own: Names | undefined): string {
  if (!own || own.name === decoded) return decoded;
  return own.name.startsWith("\ufeff") && own.name.slice(1) === decoded ? own.name : decoded;
}

/**
 * The field names of an IPC stream's schema message, read straight from its flatbuffer (the
 * Arrow Message / Schema / Field tables), or null if the bytes do not start with one (then the
 * library's names are used).
 */
export function schemaNames(bytes: Uint8Array): Names[] | null {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    let size = view.getInt32(pos, true);
    pos += 4;
    if (size === -1) {
      size = view.getInt32(pos, true); // after the continuation marker
      pos += 4;
    }
    if (size <= 0 || pos + size > bytes.length) return null;
    const base = pos;
    const u32 = (at: number): number => view.getUint32(base + at, true);
    const deref = (at: number): number => at + u32(at);
    // Position of field `slot` of the table at `table`, or 0 when absent.
    const slot = (table: number, i: number): number => {
      const vtable = table - view.getInt32(base + table, true);
      const vsize = view.getUint16(base + vtable, true);
      if (4 + 2 * i >= vsize) return 0;
      const off = view.getUint16(base + vtable + 4 + 2 * i, true);
      return off ? table + off : 0;
    };
    const tables = (at: number): number[] => {
      if (!at) return [];
      const vec = deref(at);
      const n = u32(vec);
      if (vec + 4 + 4 * n > size) throw new RangeError("vector out of bounds");
      return Array.from({ length: n }, (_, k) => deref(vec + 4 + 4 * k));
    };
    const text = (at: number): string => {
      if (!at) return "";
      const s = deref(at);
      const n = u32(s);
      if (s + 4 + n > size) throw new RangeError("string out of bounds");
      return decodeUtf8(bytes.subarray(base + s + 4, base + s + 4 + n));
    };
    const field = (table: number, depth: number): Names => {
      if (depth > 64) throw new RangeError("schema too deep");
      return { name: text(slot(table, 0)), children: tables(slot(table, 5)).map((c) => field(c, depth + 1)) };
    };
    const message = deref(0);
    const headerType = slot(message, 1);
    if (!headerType || view.getUint8(base + headerType) !== 1) return null; // MessageHeader.Schema
    const header = slot(message, 2);
    if (!header) return null;
    return tables(slot(deref(header), 1)).map((f) => field(f, 0));
  } catch {
    return null;
  }
}

export function tableToPage(table: Table, names: Names[] | null = null): Page {
  const schemaFields = table.schema.fields;
  const own = names && names.length === schemaFields.length ? names : null;
  const fields = schemaFields.map((f, i) => exactName(f.name, own?.[i]));
  const columns = fields.map((_, i) => table.getChildAt(i));
  const rows: Row[] = new Array(table.numRows);
  for (let r = 0; r < table.numRows; r++) {
    const row: Row = new Array(fields.length);
    for (let c = 0; c < fields.length; c++) {
      const column = columns[c];
      row[c] = column ? vectorValueAt(column, r, own?.[c]) : null;
    }
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
  return tableToPage(tableFromIPC(bytes), schemaNames(bytes));
}
