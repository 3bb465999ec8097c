import { describe, expect, it } from "vitest";
import { Field, Int64, List, Table, tableToIPC, vectorFromArray } from "apache-arrow";
import { decodePage } from "../src/arrowpage";
import { groupColumns, groupMember, nextSort, rowColumns } from "../src/columns";
import { completions, quoteColumn, wordAt } from "../src/filterbar";
import { formatCount, formatNumber, jsonPreview } from "../src/format";

const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "" }));

describe("columns", () => {
  it("shows storage columns without _row, or the chosen ones in order", () => {
    const cols = info([["id", "int"], ["image", "image"], ["_row", "int"]]);
    expect(rowColumns(cols, [], null).map((c) => c.key)).toEqual(["id", "image"]);
    expect(rowColumns(cols, ["image", "id", "ghost"], null).map((c) => c.key)).toEqual(["image", "id"]);
  });

  it("merges numeric version columns into one pair column in compare mode", () => {
    const cols = info([["id", "int"], ["score@v0", "float"], ["score@v1", "float"], ["label@v0", "str"],
      ["label@v1", "str"], ["changed", "bool"], ["score@delta", "float"]]);
    const out = rowColumns(cols, [], { labels: ["v0", "v1"], on: "id" });
    expect(out.map((c) => [c.key, c.kind, c.version])).toEqual([
      ["id", "int", null], ["score", "pair", null], ["label@v0", "str", 0], ["label@v1", "str", 1],
      ["changed", "bool", null], ["score@delta", "float", null]]);
    expect(out[1]?.fields).toEqual(["score@v0", "score@v1"]);
    expect(out[1]?.sortField).toBe("score@delta");
  });

  it("group views show keys, count, aggregates and samples", () => {
    const out = groupColumns(["label", "count", "mean(score)", "_sample_rows", "_sample_images"], info([["label", "str"]]));
    expect(out.map((c) => [c.key, c.kind])).toEqual([
      ["label", "str"], ["count", "int"], ["mean(score)", "float"], ["_sample_images", "samples"]]);
  });

  it("cycles sort keys; shift adds and flips", () => {
    expect(nextSort([], "a", false)).toEqual(["a"]);
    expect(nextSort(["a"], "a", false)).toEqual(["-a"]);
    expect(nextSort(["-a"], "a", false)).toEqual([]);
    expect(nextSort(["-a", "b"], "c", false)).toEqual(["c"]);
    expect(nextSort(["a"], "b", true)).toEqual(["a", "b"]);
    expect(nextSort(["a", "b"], "b", true)).toEqual(["a", "-b"]);
    expect(nextSort(["a", "-b"], "b", true)).toEqual(["a"]);
  });
});

describe("filter bar helpers", () => {
  it("completes column names, quoting those that are not identifiers", () => {
    expect(completions(["label", "score", "%_vegetation", "my col"], "sc")).toEqual(["score"]);
    expect(completions(["label", "score", "%_vegetation"], "veg")).toEqual(["%_vegetation"]);
    expect(completions(["a"], "")).toEqual([]);
    expect(quoteColumn("score")).toBe("score");
    expect(quoteColumn("my col")).toBe("`my col`");
    expect(quoteColumn("a`b")).toBe("`a``b`");
    expect(wordAt("score > 1 and lab", 17)).toEqual({ start: 14, word: "lab" });
  });
});

describe("format", () => {
  it("uses thousands separators and readable decimals", () => {
    expect(formatCount(1_000_000)).toBe("1,000,000");
    expect(formatCount(12345678901234567890n)).toBe("12,345,678,901,234,567,890");
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(1234.5678)).toBe("1,234.568");
    expect(formatNumber(1e-7)).toBe("1.000e-7");
    expect(formatNumber(Number.NaN)).toBe("NaN");
  });

  it("previews JSON without evaluating it", () => {
    expect(jsonPreview('{"a": 1, "b": [1, 2], "c": {"d": 1}}')).toBe("{a: 1, b: [2 items], c: {1 keys}}");
    expect(jsonPreview("<b>not json")).toBe("<b>not json");
    expect(jsonPreview(JSON.stringify({ x: "y".repeat(200) }), 20)).toHaveLength(20);
  });
});

describe("groupMember", () => {
  it("names a group by a row id, so a key above 2^53 still makes a request JSON can carry", () => {
    // A group page as the kernel sends it: an int64 key beyond 2^53, its sample row ids.
    const key = new Field("k", new Int64(), true);
    const rows = new Field("_sample_rows", new List(new Field("item", new Int64(), true)), true);
    const table = new Table({
      k: vectorFromArray([9223372036854775807n, -9223372036854775808n], new Int64()),
      _sample_rows: vectorFromArray([[3n, 7n], [0n]], rows.type),
    });
    expect(table.schema.fields.map((f) => f.name)).toEqual([key.name, rows.name]);
    const bytes = tableToIPC(table, "stream");
    const page = decodePage(bytes);
    const row = Object.fromEntries(page.fields.map((f, i) => [f, page.rows[0]?.[i]]));
    expect(typeof row.k).toBe("bigint"); // what made JSON.stringify throw on a click
    expect(() => JSON.stringify({ group: { k: row.k } })).toThrow(/BigInt/);
    const member = groupMember(row);
    expect(member).toBe(3);
    expect(JSON.parse(JSON.stringify({ query: { group_row: member } }))).toEqual({ query: { group_row: 3 } });
  });

  it("is null for anything that is not a safe row id", () => {
    for (const bad of [undefined, null, [], [-1], [1.5], [2 ** 60], ["3"], [9007199254740993n], "3"]) {
      expect(groupMember({ _sample_rows: bad })).toBeNull();
    }
  });
});
