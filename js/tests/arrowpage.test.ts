import { describe, expect, it } from "vitest";
import { Field, Int32, Struct, Table, Utf8, tableFromArrays, tableToIPC, vectorFromArray } from "apache-arrow";
import { decodePage } from "../src/arrowpage";

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
});
