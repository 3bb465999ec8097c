// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { clampAxis, fitScale, fitTransform, PAD, PanZoom, zoomAt, ZOOM_MAX, ZOOM_MIN, type FitLimits } from "../src/panzoom";
import { canvasMeasure, cutMiddle, fitText, fontsAt, MIN_DETAIL_PX, MIN_LABEL_PX, type Measure } from "../src/lineage-labels";

const LIMITS: FitLimits = { max: 1, minWidth: 0.4, minHeight: 0.6 };

describe("fitting a drawing to its view", () => {
  it("keeps a small drawing at its own size", () => {
    expect(fitScale({ width: 300, height: 100 }, 800, 400, LIMITS)).toBe(1);
  });

  it("shrinks a wide drawing to the width", () => {
    const k = fitScale({ width: 1600, height: 100 }, 800, 400, LIMITS);
    expect(k).toBeCloseTo((800 - 2 * PAD) / 1600);
    expect(1600 * k + 2 * PAD).toBeCloseTo(800);
  });

  it("shrinks to the height too while cards stay readable, and pans a taller one", () => {
    // Fits in 400 px at 0.8.
    expect(fitScale({ width: 400, height: 470 }, 800, 400, LIMITS)).toBeCloseTo((400 - 2 * PAD) / 470);
    // 60 rows of versions would need 0.1: it keeps 0.6 and is panned.
    expect(fitScale({ width: 900, height: 3480 }, 1000, 400, LIMITS)).toBe(0.6);
    // ... unless the width alone needs less.
    expect(fitScale({ width: 2000, height: 3480 }, 1000, 400, LIMITS)).toBeCloseTo((1000 - 2 * PAD) / 2000);
  });

  it("shrinks a very wide drawing only to the width floor, then pans it", () => {
    expect(fitScale({ width: 20_000, height: 50 }, 800, 400, LIMITS)).toBe(0.4);
  });

  it("centres a drawing that fits, shows the left end of a wide one and the middle of a tall one", () => {
    const small = fitTransform({ width: 300, height: 100 }, 800, 400, 90, LIMITS);
    expect(small.t).toEqual({ k: 1, x: 250, y: PAD });
    expect(small.height).toBe(100 + 2 * PAD);
    const wide = fitTransform({ width: 20_000, height: 50 }, 800, 400, 90, LIMITS);
    expect(wide.t.x).toBe(PAD);
    expect(wide.height).toBe(90); // never thinner than the minimum
    const tall = fitTransform({ width: 900, height: 3480 }, 1000, 400, 90, LIMITS);
    expect([tall.t.y, tall.height]).toEqual([(400 - 3480 * 0.6) / 2, 400]); // its middle
  });

  it("never lets the drawing leave the view, nor pans past its edges", () => {
    expect(clampAxis(400, 300, 800)).toBe(400); // fits: anywhere inside
    expect(clampAxis(600, 300, 800)).toBe(800 - 300 - PAD);
    expect(clampAxis(50, 2000, 800)).toBe(PAD); // wider: its start at the left edge at most
    expect(clampAxis(-5000, 2000, 800)).toBe(800 - 2000 - PAD);
  });

  it("zooms about a point that stays put, within limits", () => {
    const t = zoomAt({ k: 1, x: 10, y: 20 }, 2, 110, 120);
    expect(t.k).toBe(2);
    // The drawing point under (110, 120) was (100, 100); it still is.
    expect([(110 - t.x) / t.k, (120 - t.y) / t.k]).toEqual([100, 100]);
    expect(zoomAt({ k: 1, x: 0, y: 0 }, 100, 0, 0).k).toBe(ZOOM_MAX);
    expect(zoomAt({ k: 1, x: 0, y: 0 }, 0.001, 0, 0).k).toBe(ZOOM_MIN);
  });
});

/** A view of a given width in jsdom (which lays nothing out): clientWidth fixed, clientHeight
 * the height PanZoom sets. */
function view(width: number): { el: HTMLElement; layer: SVGGElement } {
  const el = document.createElement("div");
  Object.defineProperty(el, "clientWidth", { get: () => width });
  Object.defineProperty(el, "clientHeight", { get: () => parseFloat(el.style.height) || 0 });
  el.getBoundingClientRect = () => ({ left: 0, top: 0, right: width, bottom: 400, width, height: 400, x: 0, y: 0, toJSON: () => ({}) });
  el.setPointerCapture = () => undefined;
  el.hasPointerCapture = () => false;
  const layer = document.createElementNS("http://www.w3.org/2000/svg", "g");
  document.body.appendChild(el);
  return { el, layer };
}

const transform = (layer: SVGGElement): number[] =>
  (layer.getAttribute("transform")?.match(/-?[\d.]+/g) ?? []).map(Number);

describe("PanZoom on a view", () => {
  it("fits, zooms with ctrl + wheel and buttons, pans by wheel, drag and keys, and fits again", () => {
    const { el, layer } = view(600);
    const scales: number[] = [];
    const pz = new PanZoom(el, layer, LIMITS, 90, { onChange: (t) => scales.push(t.k) });
    pz.setContent({ width: 1200, height: 2000 }, 400);
    const [, , k0] = transform(layer);
    expect(k0).toBeCloseTo((600 - 2 * PAD) / 1200, 3);
    expect(el.style.height).toBe("400px");

    // ctrl + wheel up zooms in about the pointer.
    const zoom = new WheelEvent("wheel", { deltaY: -100, ctrlKey: true, clientX: 300, clientY: 200, cancelable: true });
    el.dispatchEvent(zoom);
    expect(zoom.defaultPrevented).toBe(true);
    expect(transform(layer)[2]!).toBeGreaterThan(k0!);

    // A plain wheel pans down through the drawing, and lets the page scroll at its end.
    const before = transform(layer)[1]!;
    const down = new WheelEvent("wheel", { deltaY: 100, cancelable: true });
    el.dispatchEvent(down);
    expect(down.defaultPrevented).toBe(true);
    expect(transform(layer)[1]!).toBe(before - 100);
    for (let i = 0; i < 100; i++) el.dispatchEvent(new WheelEvent("wheel", { deltaY: 100, cancelable: true }));
    const atEnd = new WheelEvent("wheel", { deltaY: 100, cancelable: true });
    el.dispatchEvent(atEnd);
    expect(atEnd.defaultPrevented).toBe(false);

    // Dragging moves it with the pointer.
    const [x1, y1] = transform(layer);
    el.dispatchEvent(new PointerEvent("pointerdown", { button: 0, pointerId: 1, clientX: 100, clientY: 100 }));
    el.dispatchEvent(new PointerEvent("pointermove", { pointerId: 1, clientX: 80, clientY: 130 }));
    el.dispatchEvent(new PointerEvent("pointerup", { pointerId: 1, clientX: 80, clientY: 130 }));
    const [x2, y2] = transform(layer);
    expect(x2! - x1!).toBeCloseTo(-20, 1);
    expect(y2! - y1!).toBeCloseTo(30, 1);
    expect(pz.dragged).toBe(true);

    // Keys: "-" zooms out, "0" fits again; the keys it used do not reach JupyterLab.
    const minus = new KeyboardEvent("keydown", { key: "-", bubbles: true, cancelable: true });
    let reachedDocument = false;
    const spy = (): void => {
      reachedDocument = true;
    };
    document.addEventListener("keydown", spy);
    el.dispatchEvent(minus);
    expect(reachedDocument).toBe(false);
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "0", bubbles: true }));
    expect(transform(layer)[2]).toBeCloseTo(k0!, 3);
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
    expect(reachedDocument).toBe(true); // other keys are JupyterLab's
    document.removeEventListener("keydown", spy);
    expect(scales.length).toBeGreaterThan(3);
    pz.dispose();
  });
});

describe("labels at any zoom", () => {
  it("keeps fonts at least the minimum size on screen", () => {
    for (const k of [1, 0.8, 0.6, 0.5, 0.4]) {
      const f = fontsAt(k, 40);
      expect(f.label).not.toBeNull();
      expect(f.label! * k).toBeGreaterThanOrEqual(MIN_LABEL_PX - 1e-9);
      if (f.detail !== null) expect(f.detail * k).toBeGreaterThanOrEqual(MIN_DETAIL_PX - 1e-9);
    }
    expect(fontsAt(1, 40)).toEqual({ label: 12, detail: 10.5 });
    expect(fontsAt(0.4, 40).detail).toBeNull(); // two lines no longer fit the card
    expect(fontsAt(0.15, 40)).toEqual({ label: null, detail: null });
  });

  it("cuts the middle of text that does not fit, keeping as much of both ends as fits", () => {
    const measure: Measure = (text, size) => text.length * size * 0.5;
    expect(fitText("train", 100, 12, measure)).toBe("train");
    const text = "create-dataset · 2026-11-30 14:02";
    // 16 characters fit: 15 kept around the "…".
    const cut = fitText(text, 100, 12, measure);
    expect(cut).toBe("create-d…0 14:02");
    expect(measure(cut, 12)).toBeLessThanOrEqual(100);
    expect(measure(cutMiddle(text, 16), 12)).toBeGreaterThan(100);
    expect(fitText("predictions-from-the-big-model:v12", 120, 12, measure)).toBe("prediction…model:v12");
    expect(fitText(text, 5, 12, measure)).toBe("…");
  });

  it("measures without a canvas by an average width that scales with the size", () => {
    const m = canvasMeasure("sans-serif");
    expect(m("abcd", 20)).toBeCloseTo(2 * m("abcd", 10));
    expect(m("abcdefgh", 10)).toBeCloseTo(2 * m("abcd", 10));
  });
});
