import { describe, expect, it } from "vitest";
import { binBounds, combineFilter, rangeTerm, splitAnd, stringLiteral, valueTerm } from "../src/brush";
import type { HistogramSummary } from "../src/protocol";

function hist(edges: number[], min: number, max: number): HistogramSummary {
  return { type: "histogram", edges, counts: edges.slice(1).map(() => 1), nulls: 0, min, max };
}

describe("binBounds", () => {
  // 20 bins over 0.24 .. 0.91, as the engine interpolates them.
  const lo = 0.24;
  const hi = 0.91;
  const edges = [...Array.from({ length: 20 }, (_, k) => (lo / 20) * (20 - k) + (hi / 20) * k), hi];
  const s = hist(edges, lo, hi);

  it("rounds float edges outwards to a few digits past the bin width", () => {
    // Width 0.0335: three decimals. Bins 2..4 span 0.307 .. 0.4075.
    expect(binBounds(s, 2, 4, false)).toEqual({ lo: 0.307, hi: 0.408 });
    expect(binBounds(s, 4, 2, false)).toEqual({ lo: 0.307, hi: 0.408 }); // dragged leftwards
  });

  it("ends at the data's min and max at the histogram's ends", () => {
    expect(binBounds(s, 0, 19, false)).toEqual({ lo: 0.24, hi: 0.91 });
  });

  it("gives integer columns the integers of the brushed bins", () => {
    // One bin per integer (edges k ± 0.5) for a small range: bins 1..3 are 3, 4, 5.
    const ints = hist([1.5, 2.5, 3.5, 4.5, 5.5, 6.5], 2, 6);
    expect(binBounds(ints, 1, 3, true)).toEqual({ lo: 3, hi: 5 });
    // Wide bins: [0, 5) [5, 10) [10, 15]: the middle bin is 5..9, the last 10..15.
    const wide = hist([0, 5, 10, 15], 0, 15);
    expect(binBounds(wide, 1, 1, true)).toEqual({ lo: 5, hi: 9 });
    expect(binBounds(wide, 2, 2, true)).toEqual({ lo: 10, hi: 15 });
  });

  it("has nothing to say about an empty histogram", () => {
    expect(binBounds({ type: "histogram", edges: [], counts: [], nulls: 3, min: null, max: null }, 0, 0, false)).toBeNull();
  });
});

describe("terms", () => {
  it("quotes names the tokenizer would not read bare", () => {
    expect(rangeTerm("confidence", 0.3, 0.5)).toBe("confidence >= 0.3 and confidence <= 0.5");
    expect(rangeTerm("%_other", -1, 2)).toBe("`%_other` >= -1 and `%_other` <= 2");
    expect(rangeTerm("and", 0, 1)).toBe("`and` >= 0 and `and` <= 1");
    expect(valueTerm("a`b", "x")).toBe('`a``b` == "x"');
  });

  it("escapes quotes, backslashes and control characters in values", () => {
    expect(stringLiteral('say "hi"')).toBe('"say \\"hi\\""');
    expect(stringLiteral("it's")).toBe('"it\'s"');
    expect(stringLiteral("a\\b\nc")).toBe('"a\\\\b\\u000ac"');
    expect(valueTerm("label", 'O"Brien')).toBe('label == "O\\"Brien"');
  });

  it("writes booleans, numbers and missing values as literals", () => {
    expect(valueTerm("ok", true)).toBe("ok == true");
    expect(valueTerm("n", 3)).toBe("n == 3");
    expect(valueTerm("label", null)).toBe("label is null");
    expect(valueTerm("n", Number.NaN)).toBeNull();
  });
});

describe("splitAnd", () => {
  it("splits at top-level and, not inside strings, names or brackets", () => {
    expect(splitAnd('a > 1 and b == "x and y" and (c or d) AND `e and f` < 2').parts).toEqual([
      "a > 1", 'b == "x and y"', "(c or d)", "`e and f` < 2",
    ]);
    expect(splitAnd("band > 1 && android == 2").parts).toEqual(["band > 1", "android == 2"]);
  });

  it("says when the filter has a top-level or", () => {
    expect(splitAnd("a > 1 or b > 2").parts).toBeNull();
    expect(splitAnd("score > 1 || b").parts).toBeNull();
    expect(splitAnd("color == 'red'").parts).toEqual(["color == 'red'"]);
  });
});

describe("combineFilter", () => {
  it("adds the term to an empty filter or with and", () => {
    expect(combineFilter("", "x", "range", "x >= 1 and x <= 2")).toBe("x >= 1 and x <= 2");
    expect(combineFilter("label == 'cat'", "x", "range", "x >= 1 and x <= 2")).toBe("label == 'cat' and x >= 1 and x <= 2");
  });

  it("replaces an earlier brush of the same column, keeping other columns' terms", () => {
    const f = "y > 0 and x >= 1 and x <= 2 and label == 'cat'";
    expect(combineFilter(f, "x", "range", "x >= 5 and x <= 6")).toBe("y > 0 and label == 'cat' and x >= 5 and x <= 6");
  });

  it("replaces an earlier value of the same column, with its quotes escaped", () => {
    const f = 'label == "O\\"Brien" and x >= 1';
    expect(combineFilter(f, "label", "value", 'label == "cat"')).toBe('x >= 1 and label == "cat"');
  });

  it("brackets a filter with a top-level or", () => {
    expect(combineFilter("a > 1 or b > 2", "x", "value", 'x == "k"')).toBe('(a > 1 or b > 2) and x == "k"');
  });
});
