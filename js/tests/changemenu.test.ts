import { describe, expect, it } from "vitest";
import { alwaysNote, changeItems, changeLabel, effectiveColumns, nextChangeColumns } from "../src/changemenu";
import type { ChangesResponse } from "../src/protocol";

const changes: ChangesResponse = {
  id: "1", kind: "changes-response", rows: 300,
  counts: { pred: 41, correct: 30, confidence: 300 },
  always: ["confidence"], default: ["pred", "correct"],
};
const compared = ["pred", "correct", "confidence"];

describe("the change definition", () => {
  it("is the user's columns, else the kernel's default, unknown until it answered", () => {
    expect(effectiveColumns(["pred"], changes)).toEqual(["pred"]);
    expect(effectiveColumns([], changes)).toEqual(["pred", "correct"]);
    expect(effectiveColumns([], null)).toBeNull();
    expect(effectiveColumns(["correct"], null)).toEqual(["correct"]);
  });

  it("lists every compared column with its count, the always-differing one unchecked", () => {
    expect(changeItems(compared, [], changes)).toEqual([
      { name: "pred", count: 41, checked: true, always: false },
      { name: "correct", count: 30, checked: true, always: false },
      { name: "confidence", count: 300, checked: false, always: true },
    ]);
    expect(changeItems(compared, ["confidence"], changes).map((i) => i.checked)).toEqual([false, false, true]);
    expect(changeItems(compared, [], null).map((i) => i.count)).toEqual([null, null, null]);
  });

  it("turns a click into the trait: the checked columns, or [] when they are the default", () => {
    expect(nextChangeColumns(compared, [], changes, "correct", false)).toEqual(["pred"]);
    expect(nextChangeColumns(compared, ["pred"], changes, "correct", true)).toEqual([]);
    expect(nextChangeColumns(compared, [], changes, "confidence", true)).toEqual(["pred", "correct", "confidence"]);
    // Compared order, whatever the order of clicks.
    expect(nextChangeColumns(compared, ["confidence"], changes, "pred", true)).toEqual(["pred", "confidence"]);
  });

  it("refuses to leave no column checked", () => {
    expect(nextChangeColumns(compared, ["pred"], changes, "pred", false)).toBeNull();
  });

  it("names the columns in force on the button", () => {
    expect(changeLabel([], changes)).toBe("Changed in: pred, correct");
    expect(changeLabel(["pred"], changes)).toBe("Changed in: pred");
    expect(changeLabel([], null)).toBe("Changed in: …");
    expect(changeLabel(["a", "b", "c", "d", "e"], null)).toBe("Changed in: a, b, c, +2");
    expect(alwaysNote("confidence")).toBe("confidence differs on every row: left out");
  });
});
