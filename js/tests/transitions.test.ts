import { describe, expect, it } from "vitest";
import { boolSummary, defaultChoice, layoutMatrix, narrowFilter } from "../src/transitions";
import type { TransitionsResponse } from "../src/protocol";

type Reply = Pick<TransitionsResponse, "before_values" | "after_values" | "cells" | "total">;

const cell = (before: number, after: number, count: number, filter = `f${before}${after}`) => ({ before, after, count, filter });

describe("layoutMatrix", () => {
  const reply: Reply = {
    before_values: ["3", "5", "8"],
    after_values: ["5", "3", "8", "9"],
    cells: [cell(0, 1, 40), cell(0, 0, 2), cell(1, 0, 30), cell(2, 2, 10), cell(2, 3, 1), cell(1, 3, 4)],
    total: 87,
  };

  it("places each count at its values and marks the same value in both versions as diagonal", () => {
    const m = layoutMatrix(reply);
    expect(m.cells.map((r) => r.map((c) => c.count))).toEqual([
      [2, 40, 0, 0],
      [30, 0, 0, 4],
      [0, 0, 10, 1],
    ]);
    // Diagonal by value, not by position: "3" is the second column.
    expect(m.cells.map((r) => r.map((c) => c.diagonal))).toEqual([
      [false, true, false, false],
      [true, false, false, false],
      [false, false, true, false],
    ]);
    expect(m.cells[0]?.[1]?.filter).toBe("f01");
  });

  it("totals rows and columns, and they add up to the total", () => {
    const m = layoutMatrix(reply);
    expect(m.rowTotals).toEqual([42, 34, 11]);
    expect(m.colTotals).toEqual([32, 40, 10, 5]);
    expect(m.rowTotals.reduce((a, b) => a + b)).toBe(m.total);
    expect(m.colTotals.reduce((a, b) => a + b)).toBe(m.total);
  });

  it("shades changes against the largest change and the diagonal against the largest unchanged", () => {
    const m = layoutMatrix(reply);
    const shade = (i: number, j: number) => m.cells[i]?.[j]?.shade ?? -1;
    expect(shade(1, 3)).toBe(1); // 5 -> 9, 4 rows: the largest change
    expect(shade(0, 1)).toBe(1); // 3 -> 3, 40 rows: the largest on the diagonal
    expect(shade(1, 0)).toBeCloseTo(0.15 + 0.85 * (30 / 40));
    expect(shade(0, 0)).toBeCloseTo(0.15 + 0.85 * (2 / 4));
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
