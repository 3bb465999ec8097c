import { describe, expect, it } from "vitest";
import { summaryText } from "../src/summary";

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
