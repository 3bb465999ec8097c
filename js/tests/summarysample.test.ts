// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { allUnique, drawSummary, summaryText } from "../src/summary";

const captions = {
  type: "top" as const, values: ["image 0", "image 1"], counts: [1, 1], nulls: 0,
  distinct: null, count: 1_000_000, sample: 1_000_000, distinct_min: 1_000_000,
};
const mixed = { ...captions, values: ["a", "b"], counts: [400_000, 100_000], distinct_min: 500_001 };

describe("a sampled top-values summary", () => {
  it("says it is of the first rows and gives its distinct count as a lower bound", () => {
    const text = summaryText(captions);
    expect(text).toContain("sample: the first 1,000,000 rows only");
    expect(text).toContain("≥ 1,000,000 distinct");
    expect(summaryText({ ...captions, sample: undefined, distinct: 12 })).toMatch(/^12 distinct/);
  });
  it("shows an all-unique sample as such, not as bars of 0%", () => {
    expect(allUnique(captions)).toBe(true);
    expect(allUnique(mixed)).toBe(false);
    const root = drawSummary(captions, 120, 36);
    const texts = [...root.querySelectorAll("text")].map((t) => t.textContent);
    expect(texts).toContain("sample");
    expect(texts).toContain("≈ all unique");
    expect(root.querySelectorAll("rect.dv-top")).toHaveLength(0);
  });
  it("labels sampled bars, and a click on the label asks for the exact summary", () => {
    let asked = 0;
    let picked = 0;
    const root = drawSummary(mixed, 120, 36, () => { picked += 1; }, () => { asked += 1; });
    expect(root.querySelectorAll("rect.dv-top")).toHaveLength(2);
    const tag = root.querySelector("text.dv-sample") as SVGElement;
    expect(tag.firstChild?.textContent).toBe("sample"); // then its tooltip
    expect(root.lastElementChild).toBe(tag); // above the first value's click target
    tag.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect([asked, picked]).toEqual([1, 0]);
  });
  it("draws no label on an exact summary", () => {
    const root = drawSummary({ ...mixed, sample: undefined, distinct_min: undefined, distinct: 9 }, 120, 36);
    expect(root.querySelector("text.dv-sample")).toBeNull();
  });
});
