import { describe, expect, it } from "vitest";
import { Field, Int64, List, Table, tableToIPC, vectorFromArray } from "apache-arrow";
import { decodePage } from "../src/arrowpage";
import { groupColumns, groupMember, nextSort, rowColumns } from "../src/columns";
import { completions, quoteColumn, wordAt } from "../src/filterbar";
import { formatCount, formatNumber, jsonPreview } from "../src/format";

const CAN = { sortable: true, groupable: true, filterable: true, summarisable: true };
const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "", capabilities: CAN }));
/** The roles the kernel names for a group page whose keys took none of the made names. */
const ROLES = { keys: ["label"], count: "count", sample_rows: "_sample_rows", sample_images: "_sample_images" };

describe("columns", () => {
  it("shows storage columns without _row, or the chosen ones in order", () => {
    const cols = info([["id", "int"], ["image", "image"], ["_row", "int"]]);
    expect(rowColumns(cols, [], null).map((c) => c.key)).toEqual(["id", "image"]);
    expect(rowColumns(cols, ["image", "id", "ghost"], null).map((c) => c.key)).toEqual(["image", "id"]);
  });

  it("merges numeric version columns into one pair column in compare mode", () => {
    const cols = info([["id", "int"], ["score@v0", "float"], ["score@v1", "float"], ["label@v0", "str"],
      ["label@v1", "str"], ["changed", "bool"], ["score@delta", "float"]]);
    const out = rowColumns(cols, [], { labels: ["v0", "v1"], on: "id", compared: ["score", "label"] });
    expect(out.map((c) => [c.key, c.kind, c.version])).toEqual([
      ["id", "int", null], ["score", "pair", null], ["label@v0", "str", 0], ["label@v1", "str", 1],
      ["changed", "bool", null], ["score@delta", "float", null]]);
    expect(out[1]?.fields).toEqual(["score@v0", "score@v1"]);
    expect(out[1]?.sortField).toBe("score@delta");
  });

  it("group views show keys, count, aggregates and samples", () => {
    const out = groupColumns(["label", "count", "mean(score)", "_sample_rows", "_sample_images"], info([["label", "str"]]), ROLES);
    expect(out.map((c) => [c.key, c.kind])).toEqual([
      ["label", "str"], ["count", "int"], ["mean(score)", "float"], ["_sample_images", "samples"]]);
  });

  it("takes each group field's role from the kernel, so a key may be named count", () => {
    const cols = info([["count", "str"], ["score", "float"], ["_row", "int"]]);
    const roles = { keys: ["count"], count: "count_", sample_rows: "_sample_rows", sample_images: "_sample_images" };
    const out = groupColumns(["count", "count_", "mean(score)", "_sample_rows", "_sample_images"], cols, roles);
    expect(out.map((c) => [c.key, c.label, c.kind, c.sortField])).toEqual([
      ["count", "count", "str", "count"], // the user's key: its own kind, sorts by the key
      ["count_", "count_", "int", "count_"], // the group count: an int, sorts by count_
      ["mean(score)", "mean(score)", "float", "mean(score)"],
      ["_sample_images", "samples", "samples", "_sample_images"]]);
  });

  it("shows keys named _sample_rows or _sample_images and hides only the role fields", () => {
    const rows = groupColumns(["_sample_rows", "count", "_sample_rows_", "_sample_images"], info([["_sample_rows", "str"]]),
      { keys: ["_sample_rows"], count: "count", sample_rows: "_sample_rows_", sample_images: "_sample_images" });
    expect(rows.map((c) => [c.key, c.kind])).toEqual([["_sample_rows", "str"], ["count", "int"], ["_sample_images", "samples"]]);
    const images = groupColumns(["_sample_images", "count", "_sample_rows", "_sample_images_"], info([["_sample_images", "str"]]),
      { keys: ["_sample_images"], count: "count", sample_rows: "_sample_rows", sample_images: "_sample_images_" });
    expect(images.map((c) => [c.key, c.label, c.kind])).toEqual([
      ["_sample_images", "_sample_images", "str"], ["count", "count", "int"], ["_sample_images_", "samples", "samples"]]);
    // No image column: no samples column, and nothing is taken for one.
    const plain = groupColumns(["label", "count", "_sample_rows"], info([["label", "str"]]), { ...ROLES, sample_images: null });
    expect(plain.map((c) => c.key)).toEqual(["label", "count"]);
  });

  it("aggregates are numbers even when a table column has the same name", () => {
    const out = groupColumns(["label", "count", "mean(x)", "_sample_rows"], info([["label", "str"], ["mean(x)", "str"]]),
      { ...ROLES, sample_images: null });
    expect(out.map((c) => [c.key, c.kind])).toEqual([["label", "str"], ["count", "int"], ["mean(x)", "float"]]);
  });

  it("a plain view shows a user column named _sample_rows (only _row is the widget's)", () => {
    const cols = info([["id", "int"], ["_sample_rows", "str"], ["_sample_images", "str"], ["_row", "int"]]);
    expect(rowColumns(cols, [], null).map((c) => c.key)).toEqual(["id", "_sample_rows", "_sample_images"]);
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
    const member = groupMember(row, { ...ROLES, keys: ["k"] });
    expect(member).toBe(3);
    expect(JSON.parse(JSON.stringify({ query: { group_row: member } }))).toEqual({ query: { group_row: 3 } });
  });

  it("is null for anything that is not a safe row id", () => {
    for (const bad of [undefined, null, [], [-1], [1.5], [2 ** 60], ["3"], [9007199254740993n], "3"]) {
      expect(groupMember({ _sample_rows: bad }, ROLES)).toBeNull();
    }
  });

  it("reads the sample rows from the field the kernel names, not from a key of that name", () => {
    const roles = { keys: ["_sample_rows"], count: "count", sample_rows: "_sample_rows_", sample_images: null };
    expect(groupMember({ _sample_rows: [5, 6], count: 2, _sample_rows_: [9, 11] }, roles)).toBe(9);
    expect(groupMember({ _sample_rows: [5, 6], count: 2 }, roles)).toBeNull();
    // A key named "count" holding a list does not pass for the sample rows either.
    expect(groupMember({ count: [1], count_: 3, _sample_rows: [4] }, { ...ROLES, count: "count_" })).toBe(4);
  });
});
