import { describe, expect, it } from "vitest";
import { boxLabel, captionHasScore, parseBox, type Rect } from "../src/geometry";
import { placeLabels, type LabelRequest } from "../src/labels";

function overlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function inside(r: Rect, b: Rect): boolean {
  const eps = 1e-9;
  return r.x >= b.x - eps && r.y >= b.y - eps && r.x + r.w <= b.x + b.w + eps && r.y + r.h <= b.y + b.h + eps;
}

/** A small deterministic generator, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("label placement", () => {
  const frame = { x: 10, y: 5, w: 200, h: 150 };

  it("puts a lone label above its box, at the box's left edge", () => {
    const [p] = placeLabels([{ box: { x: 50, y: 60, w: 40, h: 30 }, w: 30, h: 12 }], frame);
    expect(p).toMatchObject({ x: 50, y: 48, w: 30, h: 12, index: 0, shrunk: false });
  });

  it("moves a label at the image's top edge inside the box, and one at its right edge left", () => {
    const [top] = placeLabels([{ box: { x: 50, y: 5, w: 40, h: 30 }, w: 30, h: 12 }], frame);
    expect(top).toMatchObject({ x: 50, y: 5 });
    const [right] = placeLabels([{ box: { x: 200, y: 60, w: 10, h: 10 }, w: 40, h: 12 }], frame);
    expect(right?.x).toBe(170);
    expect(inside(right!, frame)).toBe(true);
  });

  it("places labels of stacked boxes above, inside and below instead of on top of each other", () => {
    const box = { x: 40, y: 60, w: 50, h: 40 };
    const placed = placeLabels([{ box, w: 30, h: 12 }, { box, w: 30, h: 12 }, { box, w: 30, h: 12 }], frame);
    expect(placed.map((p) => p.y)).toEqual([48, 60, 100]);
  });

  it("narrows a label wider than the image, and skips one with nowhere to go", () => {
    const box = { x: 40, y: 60, w: 50, h: 40 };
    const [wide] = placeLabels([{ box, w: 500, h: 12 }], frame);
    expect(wide?.w).toBe(200);
    expect(wide?.shrunk).toBe(true);
    const four = placeLabels(Array.from({ length: 4 }, () => ({ box, w: 30, h: 12 })), frame);
    expect(four.map((p) => p.index)).toEqual([0, 1, 2]);
  });

  it("never overlaps and never leaves the image, for random crowds of boxes", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 30);
      const requests: LabelRequest[] = Array.from({ length: n }, () => {
        const x = frame.x - 20 + r() * (frame.w + 40);
        const y = frame.y - 20 + r() * (frame.h + 40);
        return { box: { x, y, w: r() * 80, h: r() * 80 }, w: 4 + r() * 120, h: 8 + r() * 10 };
      });
      const placed = placeLabels(requests, frame);
      expect(placed.length).toBeGreaterThan(0);
      for (const [i, a] of placed.entries()) {
        expect(inside(a, frame), `seed ${seed}: label ${a.index} outside`).toBe(true);
        for (const b of placed.slice(i + 1)) expect(overlap(a, b), `seed ${seed}: ${a.index} and ${b.index}`).toBe(false);
      }
      expect(new Set(placed.map((p) => p.index)).size).toBe(placed.length);
    }
  });
});

describe("box label text", () => {
  const box = (extra: Record<string, unknown>) =>
    parseBox({ position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, class_id: 3, ...extra }, "g", 10, 10)!;
  const names = (id: number): string | undefined => (id === 3 ? "car" : undefined);

  it("shows the class name and the score once", () => {
    expect(boxLabel(box({ scores: { score: 0.913 } }), names)).toBe("car 0.91");
    expect(boxLabel(box({}), names)).toBe("car");
  });

  it("does not repeat a score the caption already shows", () => {
    expect(boxLabel(box({ box_caption: "car (0.913)", scores: { score: 0.913 } }), names)).toBe("car (0.913)");
    expect(boxLabel(box({ box_caption: "car 0.91", scores: { score: 0.9134 } }), names)).toBe("car 0.91");
    expect(boxLabel(box({ box_caption: "car 91%", scores: { conf: 0.91 } }), names)).toBe("car 91%");
    // A caption without the score gets it; an integer in it is not a score.
    expect(boxLabel(box({ box_caption: "car 1", scores: { score: 1 } }), names)).toBe("car 1 1.00");
    expect(boxLabel(box({ box_caption: "a dog", scores: { score: 0.5 } }), names)).toBe("a dog 0.50");
  });

  it("reads numbers in captions at their own precision", () => {
    expect(captionHasScore("p=0.9", 0.91)).toBe(true);
    expect(captionHasScore("p=0.90", 0.91)).toBe(false);
    expect(captionHasScore("p=.5", 0.5)).toBe(true);
    expect(captionHasScore("car 2", 2)).toBe(false);
  });
});
