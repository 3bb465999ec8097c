import { describe, expect, it } from "vitest";
import { arrange, rowHeightFor } from "../src/colsize";
import { fieldsRead, rowColumns, type Column } from "../src/columns";
import { formatDelta, headerText, markerState, pairChanged, pairDelta, sameValue, versionChange, versionClass } from "../src/comparecols";
import { bandRuns } from "../src/compareheader";

const CAN = { sortable: true, groupable: true, filterable: true, summarisable: true };
const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "", capabilities: CAN }));

/** The fields `compare_sources` makes for id + pred (str) + conf (float) + n (int) + img (image),
 * versions in storage order (all of the first version's columns, then the next's). */
function source(labels: string[], withFlags = true): ReturnType<typeof info> {
  const base: [string, string][] = [["pred", "str"], ["conf", "float"], ["n", "int"], ["img", "image"]];
  const out: [string, string][] = [["id", "int"]];
  for (const l of labels) for (const [c, k] of base) out.push([`${c}@${l}`, k]);
  out.push(["changed", "bool"], ["conf@delta", "float"], ["n@delta", "float"]);
  if (withFlags) for (const [c] of base) out.push([`${c}@changed`, "bool"]);
  out.push(["_row", "int"]);
  return info(out);
}

const shape = (cols: Column[]) => cols.map((c) => [c.key, c.kind, c.group, c.version]);

describe("compare columns", () => {
  it("puts each column's versions side by side, keys and the changed marker first", () => {
    const out = rowColumns(source(["v0", "v11"]), [], { labels: ["v0", "v11"], on: "id", compared: [] });
    expect(shape(out)).toEqual([
      ["id", "int", null, null],
      ["changed", "changed", null, null],
      ["pred@v0", "str", "pred", 0], ["pred@v11", "str", "pred", 1],
      ["conf", "pair", "conf", null],
      ["n", "pair", "n", null],
      ["img@v0", "image", "img", 0], ["img@v11", "image", "img", 1],
    ]);
    // Neither the deltas nor the flags are columns of their own: the columns read them.
    const keys = out.map((c) => c.key);
    expect(keys.some((k) => k.endsWith("@delta") || k.endsWith("@changed"))).toBe(false);
    const conf = out.find((c) => c.key === "conf") as Column;
    expect(conf.fields).toEqual(["conf@v0", "conf@v11"]);
    expect(conf.sortField).toBe("conf@delta");
    expect(fieldsRead(conf)).toEqual(["conf@v0", "conf@v11", "conf@delta", "conf@changed"]);
    // A later version reads the first version's value to say what it changed from.
    expect(fieldsRead(out[3] as Column)).toEqual(["pred@v11", "pred@changed", "pred@v0"]);
    expect(fieldsRead(out[2] as Column)).toEqual(["pred@v0", "pred@changed"]);
    // Clicking a version's header sorts by that version.
    expect(out[3]?.sortField).toBe("pred@v11");
    expect(fieldsRead(out[1] as Column)).toEqual(["changed", "pred@changed", "conf@changed", "n@changed", "img@changed"]);
  });

  it("three versions: three fields per pair, three columns per other column, in label order", () => {
    const labels = ["v0", "v5", "v11"];
    const out = rowColumns(source(labels), [], { labels, on: "id", compared: [] });
    expect(out.map((c) => c.key)).toEqual([
      "id", "changed", "pred@v0", "pred@v5", "pred@v11", "conf", "n", "img@v0", "img@v5", "img@v11"]);
    expect(out.find((c) => c.key === "n")?.fields).toEqual(["n@v0", "n@v5", "n@v11"]);
    expect(out.filter((c) => c.group === "pred").map((c) => c.version)).toEqual([0, 1, 2]);
    // Three bars need a taller row than two.
    expect(rowHeightFor(out, false, "comfortable")).toBeGreaterThanOrEqual(3 * 11 + 8);
  });

  it("works before the kernel sends <c>@changed flags", () => {
    const out = rowColumns(source(["a", "b"], false), [], { labels: ["a", "b"], on: "id", compared: [] });
    expect(out.map((c) => c.key)).toEqual(["id", "changed", "pred@a", "pred@b", "conf", "n", "img@a", "img@b"]);
    expect(fieldsRead(out[3] as Column)).toEqual(["pred@b", "pred@a"]);
  });

  it("a column only some versions have stands under its header with those versions", () => {
    const cols = info([["id", "int"], ["x@v0", "int"], ["y@v1", "str"], ["x@v1", "int"], ["changed", "bool"], ["x@delta", "float"]]);
    const out = rowColumns(cols, [], { labels: ["v0", "v1"], on: "id", compared: [] });
    expect(shape(out)).toEqual([["id", "int", null, null], ["changed", "changed", null, null], ["x", "pair", "x", null], ["y@v1", "str", "y", 1]]);
  });

  it("visible columns may list a pair by its key; the order stays grouped", () => {
    const labels = ["v0", "v11"];
    const out = rowColumns(source(labels), ["pred@v11", "id", "conf", "pred@v0"], { labels, on: "id", compared: [] });
    expect(out.map((c) => c.key)).toEqual(["id", "pred@v0", "pred@v11", "conf"]);
  });

  it("keys pinned by the kernel come first, the marker next to them", () => {
    const labels = ["v0", "v11"];
    const out = arrange(rowColumns(source(labels), [], { labels, on: "id", compared: [] }), { widths: {}, pinned: ["id", "changed"], density: "comfortable" });
    expect(out.slice(0, 3).map((c) => [c.key, c.pinned])).toEqual([["id", true], ["changed", true], ["pred@v0", false]]);
    // The user unpins: the columns keep their grouped order.
    const unpinned = arrange(rowColumns(source(labels), [], { labels, on: "id", compared: [] }), { widths: {}, pinned: [], density: "comfortable" });
    expect(unpinned.slice(0, 3).map((c) => c.key)).toEqual(["id", "changed", "pred@v0"]);
  });

  it("runs of one group's columns make one band; a pinned version breaks its run", () => {
    const labels = ["v0", "v11"];
    const cols = rowColumns(source(labels), [], { labels, on: "id", compared: [] });
    expect(bandRuns(cols).map((r) => [r.group, r.columns.length])).toEqual([
      [null, 1], [null, 1], ["pred", 2], ["conf", 1], ["n", 1], ["img", 2]]);
    const pinned = arrange(cols, { widths: {}, pinned: ["pred@v11"], density: "comfortable" });
    expect(bandRuns(pinned).map((r) => [r.group, r.columns.map((c) => c.key)])).toEqual([
      ["pred", ["pred@v11"]], [null, ["id"]], [null, ["changed"]], ["pred", ["pred@v0"]], ["conf", ["conf"]], ["n", ["n"]],
      ["img", ["img@v0", "img@v11"]]]);
  });

  it("headers read the version labels, the pair's delta and Δ for the marker", () => {
    const labels = ["v0", "v5", "v11"];
    const out = rowColumns(source(labels), [], { labels, on: "id", compared: [] });
    expect(out.map((c) => headerText(c, labels))).toEqual(["id", "Δ", "v0", "v5", "v11", "Δ v11 − v0", "Δ v11 − v0", "v0", "v5", "v11"]);
    expect([0, 1, 7, 8].map(versionClass)).toEqual(["dv-v0", "dv-v1", "dv-v7", "dv-v0"]);
  });
});

describe("changed cells", () => {
  const labels = ["v0", "v5", "v11"];
  const cols = rowColumns(source(labels), [], { labels, on: "id", compared: [] });
  const col = (key: string) => cols.find((c) => c.key === key) as Column;

  it("marks a later version whose value differs from the first version's", () => {
    const row = { "pred@v0": "cat", "pred@v5": "cat", "pred@v11": "dog", "pred@changed": true };
    expect(versionChange(col("pred@v0"), row)).toBeNull();
    expect(versionChange(col("pred@v5"), row)).toBeNull(); // v5 kept v0's value
    expect(versionChange(col("pred@v11"), row)?.title).toBe("changed from v0 (v0: cat)");
  });

  it("the kernel's flag wins where it says unchanged; nulls equal nulls; a missing value is a change", () => {
    expect(versionChange(col("pred@v11"), { "pred@v0": "a", "pred@v11": "b", "pred@changed": false })).toBeNull();
    expect(versionChange(col("pred@v11"), { "pred@v0": null, "pred@v11": null, "pred@changed": false })).toBeNull();
    expect(versionChange(col("pred@v11"), { "pred@v0": "a", "pred@v11": null, "pred@changed": true })?.title).toBe("changed from v0 (v0: a)");
    // The first version hidden: the flag alone decides.
    expect(versionChange(col("pred@v11"), { "pred@v11": "b", "pred@changed": true })?.title).toBe("changed from v0");
  });

  it("without flags the values on the page decide, images member by member", () => {
    const plain = rowColumns(source(["a", "b"], false), [], { labels: ["a", "b"], on: "id", compared: [] });
    const img = plain.find((c) => c.key === "img@b") as Column;
    const cell = (digest: string, boxes: string | null) => ({ digest, format: "png", width: 4, height: 4, boxes });
    expect(versionChange(img, { "img@a": cell("d1", "{}"), "img@b": cell("d1", "{}") })).toBeNull();
    expect(versionChange(img, { "img@a": cell("d1", "{}"), "img@b": cell("d1", '{"p": 1}') })?.title).toBe("changed from a");
  });

  it("compares values as the engine does", () => {
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue(NaN, NaN)).toBe(true);
    expect(sameValue(0.1 + 0.2, 0.3)).toBe(false);
    expect(sameValue(3, 3n)).toBe(true);
    expect(sameValue(2n ** 60n, 2n ** 60n + 1n)).toBe(false);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameValue([1, [2]], [1, [3]])).toBe(false);
    expect(sameValue("1", 1)).toBe(false);
  });

  it("pairs: the delta is the kernel's, else last minus first; changed from the flag or the values", () => {
    const n = col("n");
    expect(pairDelta(n, [1, 2, 4], { "n@delta": 3 })).toBe(3);
    const noDelta = { ...n, aux: [] };
    expect(pairDelta(noDelta, [1, 2, 4], {})).toBe(3);
    expect(pairDelta(noDelta, [1, 2, null], {})).toBeNull();
    expect(pairChanged(n, [1, 1, 1], { "n@changed": false })).toBe(false);
    expect(pairChanged(noDelta, [1, 1, 2], {})).toBe(true);
    expect(pairChanged(noDelta, [null, null, null], {})).toBe(false);
  });

  it("formats a delta with its sign", () => {
    expect(formatDelta(0.12)).toBe("+0.12");
    expect(formatDelta(-0.05)).toBe("−0.05");
    expect(formatDelta(0)).toBe("0");
    expect(formatDelta(-1234)).toBe("−1,234");
  });

  it("the marker follows the change columns and says which columns differ", () => {
    const marker = col("changed");
    const row = { changed: true, "pred@changed": false, "conf@changed": true, "n@changed": false, "img@changed": false };
    // Before the kernel named its default: its row flag (any compared column) answers.
    expect(markerState(marker, row, null)).toEqual({ changed: true, title: "changed: conf" });
    // conf changes on every row, so the default leaves it out: this row is unchanged.
    expect(markerState(marker, row, ["pred", "n", "img"])).toEqual({
      changed: false, title: "unchanged (conf differs: not a change column)" });
    expect(markerState(marker, { ...row, "pred@changed": true }, ["pred"])).toEqual({
      changed: true, title: "changed: pred (conf differs: not a change column)" });
    expect(markerState(marker, { changed: false }, ["pred"])).toEqual({ changed: false, title: "unchanged" });
    expect(markerState(marker, {}, ["pred"]).changed).toBeNull();
  });
});
