import { describe, expect, it } from "vitest";
import { boolSummary, defaultChoice, layoutMatrix, narrowFilter } from "../src/transitions";

type Reply = Parameters<typeof layoutMatrix>[0];

const cell = (before: number, after: number, count: number, filter = `f${before}${after}`) => ({ before, after, count, filter });

describe("layoutMatrix", () => {
  const reply: Reply = {
    before_values: ["3", "5", "8"],
    after_values: ["5", "3", "8", "9"],
    cells: [cell(0, 1, 40), cell(0, 0, 2), cell(1, 0, 30), cell(2, 2, 10), cell(2, 3, 1), cell(1, 3, 4)],
    total: 87,
    kind_of_values: "int",
  };

  it("orders both axes alike, so the same value in both versions is on the diagonal", () => {
    const m = layoutMatrix(reply);
    expect(m.rows).toEqual(["3", "5", "8"]);
    expect(m.cols).toEqual(["3", "5", "8", "9"]);
    expect(m.cells.map((r) => r.map((c) => c.count))).toEqual([
      [40, 2, 0, 0],
      [0, 30, 0, 4],
      [0, 0, 10, 1],
    ]);
    expect(m.cells.map((r) => r.map((c) => c.diagonal))).toEqual([
      [true, false, false, false],
      [false, true, false, false],
      [false, false, true, false],
    ]);
    // Each cell keeps the kernel's filter for its rows.
    expect(m.cells[0]?.[0]?.filter).toBe("f01");
    expect(m.cells[1]?.[3]?.filter).toBe("f13");
  });

  it("puts text by frequency, false before true, null after the values and other last", () => {
    const text = layoutMatrix({
      before_values: ["b", "null", "a"], after_values: ["a", "c", "b"], total: 10, kind_of_values: "str",
      cells: [cell(0, 2, 1), cell(1, 0, 1), cell(2, 0, 5), cell(2, 1, 3)],
    });
    expect(text.rows).toEqual(["a", "b", "null"]);
    expect(text.cols).toEqual(["a", "c", "b"]);
    const bools = layoutMatrix({
      before_values: ["true", "false"], after_values: ["true", "false"], total: 3, kind_of_values: "bool",
      cells: [cell(0, 0, 2), cell(1, 0, 1)],
    });
    expect(bools.rows).toEqual(["false", "true"]);
    expect(bools.cells.map((r) => r.map((c) => c.count))).toEqual([[0, 1], [0, 2]]);
    const many = Array.from({ length: 11 }, (_, i) => String(11 - i)).concat("other");
    const capped = layoutMatrix({
      before_values: many, after_values: many, total: 1, kind_of_values: "int", cells: [cell(11, 0, 1, "")],
    });
    expect(capped.rows.at(0)).toBe("1");
    expect(capped.rows.at(-1)).toBe("other");
    expect(capped.cells[11]?.[10]?.count).toBe(1); // other -> 11
  });

  it("totals rows and columns, and they add up to the total", () => {
    const m = layoutMatrix(reply);
    expect(m.rowTotals).toEqual([42, 34, 11]);
    expect(m.colTotals).toEqual([40, 32, 10, 5]);
    expect(m.rowTotals.reduce((a, b) => a + b)).toBe(m.total);
    expect(m.colTotals.reduce((a, b) => a + b)).toBe(m.total);
  });

  it("shades changes against the largest change and the diagonal against the largest unchanged", () => {
    const m = layoutMatrix(reply);
    const shade = (i: number, j: number) => m.cells[i]?.[j]?.shade ?? -1;
    expect(shade(1, 3)).toBe(1); // 5 -> 9, 4 rows: the largest change
    expect(shade(0, 0)).toBe(1); // 3 -> 3, 40 rows: the largest on the diagonal
    expect(shade(1, 1)).toBeCloseTo(0.15 + 0.85 * (30 / 40));
    expect(shade(0, 1)).toBeCloseTo(0.15 + 0.85 * (2 / 4));
    expect(shade(0, 2)).toBe(0); // empty
    expect(shade(2, 3)).toBeGreaterThan(0.15); // a single row is still seen
  });

  it("never puts the 'other' bucket on the diagonal, but a value spelled 'other' is a value", () => {
    const before = Array.from({ length: 11 }, (_, i) => String(i)).concat("other");
    const bucket = layoutMatrix({
      before_values: before, after_values: before, total: 3,
      cells: [cell(11, 11, 2, ""), cell(0, 0, 1)],
    });
    expect(bucket.cells[11]?.[11]?.diagonal).toBe(false);
    expect(bucket.cells[0]?.[0]?.diagonal).toBe(true);
    const word = layoutMatrix({
      before_values: ["a", "other"], after_values: ["a", "other"], total: 2,
      cells: [cell(1, 1, 2, "x == 'other'")],
    });
    expect(word.cells[1]?.[1]?.diagonal).toBe(true);
  });
});

describe("boolSummary", () => {
  it("counts false->true as fixed, true->false as broke, equal values as the same", () => {
    const m = layoutMatrix({
      before_values: ["true", "false", "null"],
      after_values: ["false", "true", "null"],
      cells: [cell(0, 0, 7), cell(0, 1, 50), cell(1, 1, 12), cell(1, 0, 20), cell(2, 1, 3), cell(2, 2, 1)],
      total: 93,
    });
    expect(boolSummary(m)).toEqual({ fixed: 12, broke: 7, same: 71, other: 3 });
  });
});

describe("narrowFilter", () => {
  it("ands the cell's filter with the filter in force, or uses it alone", () => {
    expect(narrowFilter("", "a == 1")).toBe("a == 1");
    expect(narrowFilter("  ", "a == 1")).toBe("a == 1");
    expect(narrowFilter("x > 2 or y", "a == 1")).toBe("(x > 2 or y) and (a == 1)");
  });

  it("keeps the filter when it already narrows to the cell", () => {
    expect(narrowFilter("a == 1", "a == 1")).toBe("a == 1");
    expect(narrowFilter("(x > 2) and (a == 1)", "a == 1")).toBe("(x > 2) and (a == 1)");
  });
});

describe("defaultChoice", () => {
  it("is the first column between the first and the last version", () => {
    expect(defaultChoice(["pred", "correct"], ["v0", "v5", "v11"])).toEqual({ column: "pred", before: "v0", after: "v11" });
    expect(defaultChoice([], ["v0", "v1"])).toBeNull();
  });
});
