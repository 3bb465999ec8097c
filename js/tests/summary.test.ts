import { describe, expect, it } from "vitest";
import { summaryText, topShares } from "../src/summary";

describe("summaryText", () => {
  it("names infinities and nulls, which no bin and neither min nor max hold", () => {
    const s = { type: "histogram" as const, edges: [0, 1], counts: [3], nulls: 2, posinf: 1, neginf: 4, min: 0.25, max: 0.75 };
    expect(summaryText(s)).toBe("min 0.25 · max 0.75 · 1 +inf · 4 −inf · 2 null");
  });
  it("stays short without them", () => {
    const s = { type: "histogram" as const, edges: [0, 1], counts: [3], nulls: 0, posinf: 0, neginf: 0, min: 1, max: 2 };
    expect(summaryText(s)).toBe("min 1 · max 2");
  });
});

describe("topShares", () => {
  it("gives each top value's share of every row, not of the values listed", () => {
    // 20 rows: one astronaut, one camera, 18 other distinct values; only the top 2 are listed.
    const s = { type: "top" as const, values: ["astronaut", "camera"], counts: [1, 1], nulls: 0, distinct: 20, count: 20 };
    expect(topShares(s)).toEqual([{ text: "astronaut 5%", frac: 0.05 }, { text: "camera 5%", frac: 0.05 }]);
  });
  it("counts nulls in the whole", () => {
    const s = { type: "top" as const, values: ["a"], counts: [3], nulls: 1, distinct: 1, count: 4 };
    expect(topShares(s)).toEqual([{ text: "a 75%", frac: 0.75 }]);
  });
});
