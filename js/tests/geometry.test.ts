import { describe, expect, it } from "vitest";
import {
  boxLabel, classColor, colorMask, fitContain, hexToRgb, mapRect, parseBox, parseBoxes, visibleBoxes,
} from "../src/geometry";

describe("box geometry", () => {
  it("reads pixel min/max boxes", () => {
    const b = parseBox({ position: { minX: 10, maxX: 30, minY: 5, maxY: 25 }, domain: "pixel", class_id: 2 }, "g", 100, 50);
    expect(b?.rect).toEqual({ x: 10, y: 5, w: 20, h: 20 });
    expect(b?.classId).toBe(2);
  });

  it("reads fractional middle/width/height boxes", () => {
    const b = parseBox({ position: { middle: [0.5, 0.5], width: 0.2, height: 0.4 } }, "g", 200, 100);
    expect(b?.rect.x).toBeCloseTo(80);
    expect(b?.rect.y).toBeCloseTo(30);
    expect(b?.rect.w).toBeCloseTo(40);
    expect(b?.rect.h).toBeCloseTo(40);
  });

  it("normalises swapped corners and skips malformed boxes", () => {
    const boxes = parseBoxes(JSON.stringify({
      a: { box_data: [
        { position: { minX: 30, maxX: 10, minY: 25, maxY: 5 }, domain: "pixel" },
        { position: { minX: "1", maxX: 2, minY: 0, maxY: 1 } },
        { position: { middle: [1], width: 1, height: 1 } },
        { nothing: true },
      ] },
      b: { box_data: "nope" },
    }), 100, 100);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]?.rect).toEqual({ x: 10, y: 5, w: 20, h: 20 });
    expect(parseBoxes("{not json", 1, 1)).toEqual([]);
    expect(parseBoxes(null, 1, 1)).toEqual([]);
  });

  it("does not read inherited keys (__proto__ stays data)", () => {
    const json = '{"__proto__": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}}]}}';
    const boxes = parseBoxes(json, 10, 10);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]?.group).toBe("__proto__");
    expect(({} as Record<string, unknown>).box_data).toBeUndefined();
  });

  it("filters by hidden classes and score threshold; unscored boxes always show", () => {
    const boxes = parseBoxes(JSON.stringify({ p: { box_data: [
      { position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, class_id: 1, scores: { score: 0.3 } },
      { position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, class_id: 2, scores: { conf: 0.9 } },
      { position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, class_id: 3 },
    ] } }), 10, 10);
    expect(visibleBoxes(boxes, { hiddenClasses: new Set(), threshold: 0.5 }).map((b) => b.classId)).toEqual([2, 3]);
    expect(visibleBoxes(boxes, { hiddenClasses: new Set([2]), threshold: 0 }).map((b) => b.classId)).toEqual([1, 3]);
  });

  it("fits an image into a frame and maps boxes with it", () => {
    const frame = fitContain(200, 100, 100, 100);
    expect(frame).toEqual({ x: 0, y: 25, w: 100, h: 50 });
    expect(mapRect({ x: 100, y: 50, w: 20, h: 10 }, 200, 100, frame)).toEqual({ x: 50, y: 50, w: 10, h: 5 });
    expect(fitContain(0, 10, 5, 5)).toEqual({ x: 0, y: 0, w: 0, h: 0 });
  });

  it("labels boxes with caption or class name and score", () => {
    const [box] = parseBoxes(JSON.stringify({ p: { box_data: [
      { position: { minX: 0, maxX: 1, minY: 0, maxY: 1 }, class_id: 1, scores: { score: 0.876 } }] } }), 1, 1);
    expect(boxLabel(box!, (id) => (id === 1 ? "cat" : undefined))).toBe("cat 0.88");
  });
});

describe("colours", () => {
  it("uses a class's own colour, else a stable palette entry", () => {
    expect(classColor(1, new Map([[1, "#123456"]]))).toBe("#123456");
    expect(classColor(1, new Map([[1, "javascript:alert(1)"]]))).toBe(classColor(1));
    expect(classColor(11)).toBe(classColor(1));
    expect(classColor(-1)).toMatch(/^#[0-9a-f]{6}$/);
    expect(hexToRgb("#ff8000")).toEqual([255, 128, 0]);
    expect(hexToRgb("red")).toBeNull();
  });

  it("colours masks per class with opacity, leaving hidden classes transparent", () => {
    const ids = new Uint8Array([0, 1, 2, 1]);
    const rgba = colorMask(ids, (id) => (id === 0 ? null : id === 1 ? [255, 0, 0] : null), 0.5);
    expect(Array.from(rgba.slice(0, 8))).toEqual([0, 0, 0, 0, 255, 0, 0, 128]);
    expect(rgba[11]).toBe(0);
    expect(rgba[15]).toBe(128);
    expect(colorMask(new Uint16Array([300]), () => [1, 2, 3], 2)[3]).toBe(255);
  });
});
