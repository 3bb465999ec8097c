import { describe, expect, it } from "vitest";
import { boxLabel, classColor, parseBoxes } from "../src/geometry";
import { cellClasses, type ClassDef, type ClassList } from "../src/imagecell";
import { legendGroups } from "../src/legend";
import type { OverlayInfo } from "../src/protocol";

// Two class lists that reuse id 1: the ground truth's "cat", the predictions' "car".
const TRUTH: ClassList = new Map<number, ClassDef>([[0, { name: "bg", color: "" }], [1, { name: "cat", color: "#ff0000" }]]);
const PREDS: ClassList = new Map<number, ClassDef>([[0, { name: "bg", color: "" }], [1, { name: "car", color: "#0000ff" }]]);
const LISTS = new Map([["t".repeat(64), TRUTH], ["p".repeat(64), PREDS]]);

function label(classes: string | null): string {
  const own = cellClasses({ classes }, LISTS);
  const boxes = JSON.stringify({ g: { box_data: [{ position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, domain: "pixel", class_id: 1 }] } });
  const [box] = parseBoxes(boxes, 10, 10);
  return boxLabel(box!, (id) => own.get(id)?.name);
}

describe("class lists are per image", () => {
  it("labels and colours a box from its own cell's list", () => {
    expect(label("t".repeat(64))).toBe("cat");
    expect(label("p".repeat(64))).toBe("car");
    const colors = (d: string): Map<number, string> => new Map([...cellClasses({ classes: d }, LISTS)].map(([i, c]) => [i, c.color]));
    expect(classColor(1, colors("t".repeat(64)))).toBe("#ff0000");
    expect(classColor(1, colors("p".repeat(64)))).toBe("#0000ff");
  });

  it("shows the id, never another list's name, for a cell without a known list", () => {
    expect(label(null)).not.toMatch(/cat|car/);
    expect(label("x".repeat(64))).not.toMatch(/cat|car/);
  });

  const all = (d: string): OverlayInfo => ({ boxes: true, scores: false, masks: true, box_classes: { [d]: [0, 1] }, mask_classes: {}, exact: true });

  it("groups the legend per list and names each chip's column when lists differ", () => {
    const groups = legendGroups([
      { column: "ground_truth", lists: ["t".repeat(64)], overlays: all("t".repeat(64)) },
      { column: "predictions", lists: ["p".repeat(64)], overlays: all("p".repeat(64)) },
    ], LISTS);
    expect(groups.map((g) => g.title)).toEqual(["ground_truth:", "predictions:"]);
    expect(groups.map((g) => g.chips.map((c) => c.name))).toEqual([["bg (ground_truth)", "cat (ground_truth)"], ["bg (predictions)", "car (predictions)"]]);
    // One list in one column: plain names, as before.
    const one = legendGroups([{ column: "image", lists: ["t".repeat(64)], overlays: all("t".repeat(64)) }], LISTS);
    expect(one[0]?.chips.map((c) => c.name)).toEqual(["bg", "cat"]);
  });

  it("lists only the classes that occur, in id order, and no list without any", () => {
    const ten: ClassList = new Map(Array.from({ length: 10 }, (_, i) => [i, { name: `c${i}`, color: "" }] as [number, ClassDef]));
    const lists = new Map([["a".repeat(64), ten], ["t".repeat(64), TRUTH]]);
    const overlays: OverlayInfo = { boxes: true, scores: true, masks: false, box_classes: { ["a".repeat(64)]: [8, 1, 3] }, mask_classes: {}, exact: true };
    const groups = legendGroups([{ column: "image", lists: ["t".repeat(64), "a".repeat(64)], overlays }], lists);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.title).toBe("image:");
    expect(groups[0]?.chips.map((c) => c.name)).toEqual(["c1", "c3", "c8"]);
  });

  it("offers no toggle for a mask's uncoloured background, but one for a box of class 0", () => {
    const d = "t".repeat(64);
    const masks: OverlayInfo = { boxes: false, scores: false, masks: true, box_classes: {}, mask_classes: { [d]: [0, 1] }, exact: true };
    expect(legendGroups([{ column: "image", lists: [d], overlays: masks }], LISTS)[0]?.chips.map((c) => c.name)).toEqual(["cat"]);
    const boxes: OverlayInfo = { ...masks, boxes: true, box_classes: { [d]: [0] } };
    expect(legendGroups([{ column: "image", lists: [d], overlays: boxes }], LISTS)[0]?.chips.map((c) => c.name)).toEqual(["bg", "cat"]);
  });
});
