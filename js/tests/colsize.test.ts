import { describe, expect, it } from "vitest";
import {
  arrange, clampWidth, DENSITY, densityOf, dragWidth, fitWidth, isTextual, MAX_FIT, pinOffsets, rowHeightFor,
  thumbSize, togglePin,
} from "../src/colsize";
import { rowColumns, type Column } from "../src/columns";
import { QueryController } from "../src/controller";
import { MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH } from "../src/protocol";
import { FakeKernel, FakeModel, FakeView } from "./fake-kernel";

const CAN = { sortable: true, groupable: true, filterable: true, summarisable: true };
const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "", capabilities: CAN }));
const COLS = rowColumns(info([["id", "int"], ["label", "str"], ["image", "image"], ["score", "float"]]), [], null);
const LAYOUT = { widths: {}, pinned: [], density: "comfortable" as const };
const keys = (cols: readonly Column[]): string[] => cols.map((c) => c.key);

describe("column widths", () => {
  it("takes the user's width for a column, the default for the others", () => {
    const out = arrange(COLS, { ...LAYOUT, widths: { label: 300 } });
    expect(out.map((c) => [c.key, c.width])).toEqual([["id", 96], ["label", 300], ["image", 132], ["score", 96]]);
    expect(COLS[1]?.width).toBe(120); // the input is not changed
  });

  it("holds widths to the range the kernel holds them to", () => {
    expect(clampWidth(3)).toBe(MIN_COLUMN_WIDTH);
    expect(clampWidth(1e6)).toBe(MAX_COLUMN_WIDTH);
    expect(clampWidth(Number.NaN)).toBe(MIN_COLUMN_WIDTH);
    expect(clampWidth(120.4)).toBe(120);
    expect(arrange(COLS, { ...LAYOUT, widths: { id: -50 } })[0]?.width).toBe(MIN_COLUMN_WIDTH);
  });

  it("moves a dragged edge by the pointer's movement, never below the minimum", () => {
    expect(dragWidth(120, 80)).toBe(200);
    expect(dragWidth(120, -500)).toBe(MIN_COLUMN_WIDTH);
  });

  it("fits the widest of the header and the cells, rounded up, bounded", () => {
    expect(fitWidth(60.2, [30, 151.3, 90])).toBe(153);
    expect(fitWidth(10, [])).toBe(MIN_COLUMN_WIDTH);
    expect(fitWidth(50, [5000])).toBe(MAX_FIT);
    expect(fitWidth(70, [Number.NaN])).toBe(71);
  });

  it("fits text columns only", () => {
    expect(COLS.filter(isTextual).map((c) => c.key)).toEqual(["id", "label", "score"]);
  });

  it("does not take a width from the object prototype", () => {
    const out = arrange(rowColumns(info([["constructor", "str"]]), [], null), LAYOUT);
    expect(out[0]?.width).toBe(widthOfStr("constructor"));
  });
});

function widthOfStr(name: string): number {
  return rowColumns(info([[name, "str"]]), [], null)[0]?.width ?? 0;
}

describe("pinned columns", () => {
  it("come first, in pin order; unknown keys are ignored", () => {
    const out = arrange(COLS, { ...LAYOUT, pinned: ["score", "ghost", "id", "score"] });
    expect(keys(out)).toEqual(["score", "id", "label", "image"]);
    expect(out.map((c) => c.pinned)).toEqual([true, true, false, false]);
  });

  it("stick after the row numbers and the pinned columns before them", () => {
    const out = arrange(COLS, { ...LAYOUT, pinned: ["label", "id"], widths: { label: 200 } });
    expect([...pinOffsets(out, 40)]).toEqual([["label", 40], ["id", 240]]);
    expect(pinOffsets(arrange(COLS, LAYOUT), 40).size).toBe(0);
  });

  it("toggle on and off", () => {
    expect(togglePin(["id"], "label")).toEqual(["id", "label"]);
    expect(togglePin(["id", "label"], "id")).toEqual(["label"]);
  });
});

describe("row density", () => {
  it("sets the row height by the tallest kind of cell", () => {
    const plain = COLS.filter((c) => c.kind !== "image");
    expect(rowHeightFor(plain, false, "compact")).toBe(24);
    expect(rowHeightFor(plain, false, "comfortable")).toBe(30);
    expect(rowHeightFor(COLS, false, "comfortable")).toBe(96);
    expect(rowHeightFor(COLS, false, "compact")).toBeLessThanOrEqual(40);
    expect(rowHeightFor(COLS, false, "large")).toBeGreaterThan(150);
    expect(rowHeightFor([], true, "comfortable")).toBe(32);
  });

  it("shows at least 8 image rows where comfortable showed about 4", () => {
    const scroller = 360; // a 520 px widget less its toolbar, legend, header and status line
    expect(Math.floor(scroller / rowHeightFor(COLS, false, "compact"))).toBeGreaterThanOrEqual(8);
    expect(Math.floor(scroller / rowHeightFor(COLS, false, "comfortable"))).toBeLessThan(5);
  });

  it("sizes image columns and thumbnails with the rows", () => {
    const width = (d: "compact" | "comfortable" | "large"): number =>
      arrange(COLS, { ...LAYOUT, density: d }).find((c) => c.key === "image")?.width ?? 0;
    expect(width("compact")).toBeLessThan(width("comfortable"));
    expect(width("large")).toBeGreaterThan(width("comfortable"));
    expect(thumbSize("compact")).toBeLessThan(thumbSize("comfortable"));
    expect(thumbSize("large")).toBeGreaterThan(thumbSize("comfortable"));
    for (const d of ["compact", "comfortable", "large"] as const) {
      // The thumbnail covers the drawn image (cell less its 8 px of padding) at least once.
      expect(thumbSize(d)).toBeGreaterThanOrEqual(Math.max(DENSITY[d].imageWidth - 12, DENSITY[d].image - 8));
    }
    // A chosen width wins over the density's.
    expect(arrange(COLS, { ...LAYOUT, density: "compact", widths: { image: 180 } })[2]?.width).toBe(180);
  });

  it("reads unknown values as comfortable", () => {
    expect(densityOf("large")).toBe("large");
    expect(densityOf("huge")).toBe("comfortable");
    expect(densityOf(undefined)).toBe("comfortable");
  });
});

describe("QueryController: the layout traits", () => {
  it("redraws the columns in the new layout without asking for rows again", async () => {
    const kernel = FakeKernel.ofSize(10);
    const model = new FakeModel();
    const view = new FakeView(20);
    const query = new QueryController(model, kernel.client, view, { summaryDelayMs: 0 });
    const rows = view.next("rows");
    await query.start();
    await rows;
    const pages = kernel.pages.length;
    view.changes.length = 0;
    model.set("pinned", ["label"]);
    model.set("column_widths", { id: 150 });
    model.set("density", "compact");
    expect(keys(query.columns)).toEqual(["label", "id", "score", "emb"]);
    expect(query.columns[1]?.width).toBe(150);
    expect(view.changes).toEqual(["header", "repaint", "header", "repaint", "header", "repaint"]);
    expect(kernel.pages).toHaveLength(pages);
    // The layout outlives a query change.
    const again = view.next("rows");
    model.set("filter", "score > 0.5");
    await again;
    expect(keys(query.columns)).toEqual(["label", "id", "score", "emb"]);
    expect(query.columns[1]?.width).toBe(150);
    query.destroy();
  });
});
