import { describe, expect, it } from "vitest";
import { rowColumns } from "../src/columns";
import { maskChange, type IdTile, type RGB } from "../src/geometry";
import { versionDash } from "../src/imagecell";
import { imageVersions, isOverlaid, overlayImageColumns } from "../src/imagecompare";

const CAN = { sortable: false, groupable: false, filterable: true, summarisable: true };
const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "", capabilities: CAN }));
const COMPARE = { labels: ["v0", "v11"], on: "id", compared: ["image", "pred"] };
const COLUMNS = info([["id", "int"], ["image@v0", "image"], ["pred@v0", "str"], ["image@v11", "image"], ["pred@v11", "str"],
  ["changed", "bool"]]);
const INFO = { columns: COLUMNS, compare: COMPARE, same_images: { image: true } };

describe("compared image columns", () => {
  it("finds an image column's versions", () => {
    expect([...imageVersions(INFO)]).toEqual([["image", ["image@v0", "image@v11"]]]);
    expect(imageVersions({ columns: COLUMNS, compare: null }).size).toBe(0);
    // A version that is not an image (or missing) is no compared image.
    const mixed = info([["id", "int"], ["image@v0", "image"], ["image@v11", "str"]]);
    expect(imageVersions({ columns: mixed, compare: COMPARE }).size).toBe(0);
  });

  it("overlays by choice, or (auto) where the kernel found the same pictures", () => {
    expect(isOverlaid("image", "auto", { image: true })).toBe(true);
    expect(isOverlaid("image", "auto", { image: false })).toBe(false);
    expect(isOverlaid("image", "auto", {})).toBe(false);
    expect(isOverlaid("image", "overlay", { image: false })).toBe(true);
    expect(isOverlaid("image", "side", { image: true })).toBe(false);
    expect(isOverlaid("__proto__", "auto", {})).toBe(false);
  });

  it("makes the versions one column where the first stood, reading every version's field", () => {
    const cols = rowColumns(COLUMNS, [], COMPARE);
    const out = overlayImageColumns(cols, INFO, "auto");
    expect(out.map((c) => c.key)).toEqual(cols.flatMap((c) => (c.key === "image@v11" ? [] : [c.key === "image@v0" ? "image" : c.key])));
    const image = out.find((c) => c.key === "image")!;
    expect([image.kind, image.label, image.group, image.version, image.fields])
      .toEqual(["image", "v0 + v11", "image", null, ["image@v0", "image@v11"]]);
    // Side by side: the columns as they are.
    expect(overlayImageColumns(cols, INFO, "side").map((c) => c.key)).toEqual(cols.map((c) => c.key));
    // A version hidden by the user: nothing to overlay.
    const shown = rowColumns(COLUMNS, ["id", "image@v0", "pred@v0"], COMPARE);
    expect(overlayImageColumns(shown, INFO, "overlay").map((c) => c.key)).toEqual(["id", "image@v0", "pred@v0"]);
  });
});

const tile = (rows: number[][]): IdTile => ({ ids: Uint8Array.from(rows.flat()), width: rows[0]!.length, height: rows.length });
const COLORS: RGB[] = [[0, 0, 255], [255, 128, 0], [0, 200, 0]];
const colorFor = (i: number): RGB | null => COLORS[i] ?? null;
const alphaAt = (rgba: Uint8ClampedArray, p: number): number => rgba[p * 4 + 3]!;
const rgbAt = (rgba: Uint8ClampedArray, p: number): number[] => [...rgba.slice(p * 4, p * 4 + 3)];

describe("mask difference", () => {
  it("colours the pixels whose class changed by the version that changed them; shades the rest", () => {
    const v0 = tile([[0, 1], [1, 1]]);
    const v1 = tile([[0, 2], [1, 1]]);
    const v2 = tile([[0, 2], [0, 1]]);
    const out = maskChange([v0, v1, v2], colorFor, [0, 0, 0])!;
    expect(out.changed).toBe(2);
    expect(rgbAt(out.rgba, 1)).toEqual([0, 200, 0]); // v1 and v2 both differ: the later wins
    expect(rgbAt(out.rgba, 2)).toEqual([0, 200, 0]);
    expect(alphaAt(out.rgba, 1)).toBeGreaterThan(alphaAt(out.rgba, 0));
    expect(rgbAt(out.rgba, 0)).toEqual([0, 0, 0]);
    expect(alphaAt(out.rgba, 3)).toBeGreaterThan(0);
  });

  it("draws nothing when nothing changed, or when the masks are not of one picture", () => {
    const v0 = tile([[0, 1], [1, 1]]);
    expect(maskChange([v0, tile([[0, 1], [1, 1]])], colorFor, [0, 0, 0])).toBeNull();
    expect(maskChange([v0, tile([[0, 1, 1]])], colorFor, [0, 0, 0])).toBeNull();
  });

  it("takes a version without this mask as background and skips a version missing the row", () => {
    const v1 = tile([[0, 3], [0, 0]]);
    const out = maskChange(["empty", v1], colorFor, null)!;
    expect(out.changed).toBe(1);
    expect(alphaAt(out.rgba, 0)).toBe(0); // no shade asked for
    expect(maskChange([tile([[1]]), null], colorFor, null)).toBeNull();
    expect(maskChange([null, tile([[1]])], colorFor, null)).toBeNull();
  });
});

describe("three versions", () => {
  it("merge into one column reading all three, each with its own line style", () => {
    const compare = { labels: ["v0", "v5", "v11"], on: "id", compared: ["image"] };
    const columns = info([["id", "int"], ["image@v0", "image"], ["image@v5", "image"], ["image@v11", "image"]]);
    const all = { columns, compare, same_images: { image: true } };
    const out = overlayImageColumns(rowColumns(columns, [], compare), all, "auto");
    const image = out.find((c) => c.key === "image")!;
    expect(image.fields).toEqual(["image@v0", "image@v5", "image@v11"]);
    expect(image.label).toBe("v0 + v5 + v11");
    expect(out.filter((c) => c.kind === "image")).toHaveLength(1);
    const dashes = [0, 1, 2].map(versionDash);
    expect(dashes[0]).toBe("");
    expect(new Set(dashes).size).toBe(3);
  });
});
