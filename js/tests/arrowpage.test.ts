import { describe, expect, it } from "vitest";
import {
  Dictionary, Field, Int32, LargeUtf8, List, Struct, Table, Utf8, Utf8View,
  tableFromArrays, tableToIPC, vectorFromArray,
} from "apache-arrow";
import { decodePage, schemaNames } from "../src/arrowpage";

const BOM = "\uFEFF";

describe("decodePage", () => {
  it("decodes an IPC stream into rows of plain values", () => {
    const table = tableFromArrays({
      id: BigInt64Array.from([1n, 2n, 9007199254740993n]),
      score: Float64Array.from([0.5, 0.25, 1]),
      label: ["cat", null, "<script>"],
    });
    const bytes = tableToIPC(table, "stream");
    const page = decodePage(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    expect(page.fields).toEqual(["id", "score", "label"]);
    expect(page.rows[0]).toEqual([1, 0.5, "cat"]);
    expect(page.rows[1]).toEqual([2, 0.25, null]);
    expect(page.rows[2]?.[0]).toBe(9007199254740993n); // unsafe integers stay exact
  });

  it("turns struct cells into prototype-free objects", () => {
    const type = new Struct([new Field("__proto__", new Utf8(), true), new Field("width", new Int32(), true)]);
    const cells = vectorFromArray([{ __proto__: "x", width: 3 } as unknown as Record<string, unknown>], type);
    const bytes = tableToIPC(new Table({ cell: cells }), "stream");
    const page = decodePage(bytes);
    const cell = page.rows[0]?.[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(cell)).toBeNull();
    expect(cell.width).toBe(3);
    expect(({} as Record<string, unknown>).width).toBeUndefined();
  });

  it("keeps a leading U+FEFF in string values (Utf8, LargeUtf8, Utf8View, dictionary)", () => {
    const values = [`${BOM}abc`, null, "plain", `${BOM}`, `${BOM}${BOM}two`, "a\uFEFFinside"];
    const table = tableFromArrays({ id: Int32Array.from([0, 1, 2, 3, 4, 5]), dict: values });
    expect(table.getChild("dict")?.type).toBeInstanceOf(Dictionary); // tableFromArrays dictionary-encodes
    const more = new Table({
      utf8: vectorFromArray(values, new Utf8()),
      large: vectorFromArray(values, new LargeUtf8()),
      view: vectorFromArray(values, new Utf8View()),
    });
    const page = decodePage(tableToIPC(table.assign(more), "stream"));
    expect(page.fields).toEqual(["id", "dict", "utf8", "large", "view"]);
    expect(page.rows[0]).toEqual([0, `${BOM}abc`, `${BOM}abc`, `${BOM}abc`, `${BOM}abc`]);
    expect((page.rows[0]?.[1] as string).charCodeAt(0)).toBe(0xfeff);
    for (let c = 1; c < 5; c++) expect(page.rows.map((r) => r[c])).toEqual(values);
  });

  it("keeps U+FEFF in struct members, list items, JSON text and field names", () => {
    const caption = `${BOM}caption`;
    const image = new Struct([
      new Field(`${BOM}caption`, new Utf8(), true),
      new Field("boxes", new Utf8(), true),
    ]);
    const boxes = JSON.stringify([{ caption: `${BOM}box`, [`${BOM}key`]: `${BOM}value` }]);
    const cells = vectorFromArray([{ [caption]: caption, boxes }, null] as unknown as Record<string, unknown>[], image);
    const list = vectorFromArray([[`${BOM}a`, "b"], null], new List(new Field("item", new Utf8(), true)));
    const text = vectorFromArray([JSON.stringify({ [`${BOM}k`]: `${BOM}v` }), `${BOM}`], new Utf8());
    const bytes = tableToIPC(new Table({ [`${BOM}image`]: cells, list, [`${BOM}`]: text }), "stream");
    expect(schemaNames(bytes)?.map((n) => n.name)).toEqual([`${BOM}image`, "list", BOM]);

    const page = decodePage(bytes);
    expect(page.fields).toEqual([`${BOM}image`, "list", BOM]);
    const cell = page.rows[0]?.[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(cell)).toBeNull();
    expect(Object.keys(cell)).toEqual([caption, "boxes"]);
    expect(cell[caption]).toBe(caption);
    expect(JSON.parse(cell.boxes as string)).toEqual([{ caption: `${BOM}box`, [`${BOM}key`]: `${BOM}value` }]);
    expect(page.rows[1]?.[0]).toBeNull();
    expect(page.rows[0]?.[1]).toEqual([`${BOM}a`, "b"]);
    expect(page.rows[1]?.[1]).toBeNull();
    expect(JSON.parse(page.rows[0]?.[2] as string)).toEqual({ [`${BOM}k`]: `${BOM}v` });
    expect(page.rows[1]?.[2]).toBe(BOM);
  });

  it("reads strings across several record batches", () => {
    const a = new Table({ s: vectorFromArray([`${BOM}one`, "two"], new Utf8()) });
    const b = new Table({ s: vectorFromArray([null, "three", `${BOM}four`], new Utf8()) });
    const table = a.concat(b);
    expect(table.batches.length).toBe(2);
    const page = decodePage(tableToIPC(table, "stream"));
    expect(page.rows.map((r) => r[0])).toEqual([`${BOM}one`, "two", null, "three", `${BOM}four`]);
  });

  it("falls back to the library's names when the bytes are not a schema message", () => {
    expect(schemaNames(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(schemaNames(new Uint8Array(0))).toBeNull();
    const file = tableToIPC(tableFromArrays({ [`${BOM}x`]: Int32Array.from([1]) }), "file");
    expect(schemaNames(file)).toBeNull(); // apache-arrow writes the file schema only in the footer
    const page = decodePage(file);
    expect(page.fields).toEqual(["x"]);
    expect(page.rows).toEqual([[1]]);
  });
});
