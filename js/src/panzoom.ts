// Pan and zoom for a drawing inside a fixed view: the drawing is one SVG group whose transform
// is `translate(x, y) scale(k)`. Drag pans, ctrl/cmd + wheel (and a trackpad pinch, which the
// browser reports as one) zooms about the pointer, a plain wheel pans while the drawing can move
// that way and otherwise scrolls the page as usual, and the keys + - 0 and the arrows do the same
// from the keyboard. The math is plain functions, tested without a browser.

export interface Transform {
  k: number;
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface FitLimits {
  /** Never enlarge past this scale to fill the view (1: a small graph stays its own size). */
  max: number;
  /** Shrink to fit the width down to this scale; a wider drawing is panned instead. */
  minWidth: number;
  /** Shrink to fit the height (as well as the width) only down to this scale. */
  minHeight: number;
}

export const ZOOM_MIN = 0.1;
export const ZOOM_MAX = 3;
/** Empty space kept between the drawing and the view's edges, in screen pixels. */
export const PAD = 12;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The scale that shows `content` in a view `width` wide and at most `maxHeight` tall: the whole
 * width when the scale stays at or above `minWidth`, the whole height too while it stays at or
 * above `minHeight` (a tall graph is panned rather than shrunk until it is unreadable).
 */
export function fitScale(content: Size, width: number, maxHeight: number, limits: FitLimits): number {
  const w = content.width > 0 ? (width - 2 * PAD) / content.width : limits.max;
  const h = content.height > 0 ? (maxHeight - 2 * PAD) / content.height : limits.max;
  const byWidth = Math.max(Math.min(limits.max, w), Math.min(limits.minWidth, limits.max));
  return Math.max(Math.min(byWidth, h), Math.min(byWidth, limits.minHeight));
}

/** The offset along one axis keeping the drawing inside the view when it fits, and the view
 * inside the drawing (with PAD to spare) when it does not. */
export function clampAxis(offset: number, content: number, view: number): number {
  const lo = Math.min(PAD, view - content - PAD);
  const hi = Math.max(PAD, view - content - PAD);
  return clamp(offset, lo, hi);
}

export function clampPan(t: Transform, content: Size, view: Size): Transform {
  return {
    k: t.k,
    x: clampAxis(t.x, content.width * t.k, view.width),
    y: clampAxis(t.y, content.height * t.k, view.height),
  };
}

/** Scale by `factor` about the view point (px, py), which stays over the same drawing point. */
export function zoomAt(t: Transform, factor: number, px: number, py: number): Transform {
  const k = clamp(t.k * factor, ZOOM_MIN, ZOOM_MAX);
  const r = k / t.k;
  return { k, x: px - (px - t.x) * r, y: py - (py - t.y) * r };
}

/** The fitted transform, scaled by `fitScale` and centred; a drawing wider than the view shows
 * its left end (where a pipeline begins), a taller one its middle (where a layered graph,
 * each layer centred, has a card in every layer). Also says how tall the view should be: the
 * drawing's height, within [minHeight, maxHeight]. */
export function fitTransform(content: Size, width: number, maxHeight: number, minHeight: number, limits: FitLimits): { t: Transform; height: number } {
  const k = fitScale(content, width, maxHeight, limits);
  const height = clamp(content.height * k + 2 * PAD, minHeight, Math.max(minHeight, maxHeight));
  const w = content.width * k;
  const t = { k, x: w + 2 * PAD <= width ? (width - w) / 2 : PAD, y: (height - content.height * k) / 2 };
  return { t: clampPan(t, content, { width, height }), height };
}

/** Pixels a wheel event asks to move (lines and pages converted). */
export function wheelPixels(ev: WheelEvent, page: number): { dx: number; dy: number } {
  const unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? page : 1;
  let dx = ev.deltaX * unit;
  let dy = ev.deltaY * unit;
  if (ev.shiftKey && dx === 0) [dx, dy] = [dy, 0]; // shift + wheel scrolls sideways
  return { dx, dy };
}

export interface PanZoomOptions {
  /** Called after every change of the transform (the view's labels depend on the scale). */
  onChange(t: Transform): void;
}

/**
 * Owns the transform of `layer` inside `view`. `setContent` gives the drawing's size and fits
 * it; until the user pans or zooms, a change of the view's width fits it again.
 */
export class PanZoom {
  t: Transform = { k: 1, x: 0, y: 0 };
  private content: Size = { width: 0, height: 0 };
  private maxHeight = 400;
  private auto = true;
  private drag: { id: number; x: number; y: number; t: Transform; moved: boolean } | null = null;
  /** True from a drag's end until the click that ends it has gone by, so it selects nothing. */
  dragged = false;
  private readonly resize: ResizeObserver | null;
  private lastWidth = 0;

  constructor(
    readonly view: HTMLElement,
    readonly layer: SVGGElement,
    readonly limits: FitLimits,
    readonly minHeight: number,
    private readonly options: PanZoomOptions,
  ) {
    view.addEventListener("wheel", this.onWheel, { passive: false });
    view.addEventListener("pointerdown", this.onPointerDown);
    view.addEventListener("pointermove", this.onPointerMove);
    view.addEventListener("pointerup", this.onPointerUp);
    view.addEventListener("pointercancel", this.onPointerUp);
    view.addEventListener("keydown", this.onKey);
    view.addEventListener("focusin", this.onFocus);
    view.addEventListener("scroll", this.onScroll);
    // Not every host has ResizeObserver (jsdom in unit tests); the first fit then uses the
    // width at the time.
    this.resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => this.onResize());
    this.resize?.observe(view);
  }

  dispose(): void {
    this.resize?.disconnect();
    this.view.removeEventListener("wheel", this.onWheel);
    this.view.removeEventListener("pointerdown", this.onPointerDown);
    this.view.removeEventListener("pointermove", this.onPointerMove);
    this.view.removeEventListener("pointerup", this.onPointerUp);
    this.view.removeEventListener("pointercancel", this.onPointerUp);
    this.view.removeEventListener("keydown", this.onKey);
    this.view.removeEventListener("focusin", this.onFocus);
    this.view.removeEventListener("scroll", this.onScroll);
  }

  /** Pan the least that brings `el` (a part of the drawing) into the view. */
  reveal(el: Element): void {
    const r = el.getBoundingClientRect();
    const v = this.view.getBoundingClientRect();
    const shift = (lo: number, hi: number, vlo: number, vhi: number): number =>
      lo < vlo + PAD ? vlo + PAD - lo : hi > vhi - PAD ? Math.max(vhi - PAD - hi, vlo + PAD - lo) : 0;
    const dx = shift(r.left, r.right, v.left, v.right);
    const dy = shift(r.top, r.bottom, v.top, v.bottom);
    if (dx !== 0 || dy !== 0) this.panBy(dx, dy);
  }

  setContent(size: Size, maxHeight: number): void {
    this.content = size;
    this.maxHeight = maxHeight;
    this.fit();
  }

  /** Fit the drawing to the view's width (and height, while readable), and follow the view's
   * width from now on. */
  fit(): void {
    const width = this.view.clientWidth;
    this.auto = true;
    if (width <= 0) return; // not on the page yet: the resize observer fits it when it is
    this.lastWidth = width;
    const { t, height } = fitTransform(this.content, width, this.maxHeight, this.minHeight, this.limits);
    this.view.style.height = `${Math.round(height)}px`;
    this.apply(t);
  }

  /** Zoom by `factor` about the view's centre (buttons and keys). */
  zoomBy(factor: number): void {
    this.auto = false;
    this.apply(zoomAt(this.t, factor, this.view.clientWidth / 2, this.view.clientHeight / 2));
  }

  panBy(dx: number, dy: number): boolean {
    const before = this.t;
    this.apply({ k: before.k, x: before.x + dx, y: before.y + dy });
    const moved = Math.abs(this.t.x - before.x) > 0.5 || Math.abs(this.t.y - before.y) > 0.5;
    if (moved) this.auto = false;
    return moved;
  }

  private viewSize(): Size {
    return { width: this.view.clientWidth, height: this.view.clientHeight };
  }

  private apply(t: Transform): void {
    this.t = clampPan(t, this.content, this.viewSize());
    const { k, x, y } = this.t;
    this.layer.setAttribute("transform", `translate(${x.toFixed(2)},${y.toFixed(2)}) scale(${k.toFixed(4)})`);
    this.options.onChange(this.t);
  }

  private onResize(): void {
    const width = this.view.clientWidth;
    if (width === this.lastWidth || width <= 0) return;
    this.lastWidth = width;
    if (this.auto) this.fit();
    else this.apply(this.t);
  }

  private readonly onWheel = (ev: WheelEvent): void => {
    const { dx, dy } = wheelPixels(ev, this.view.clientHeight);
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      const box = this.view.getBoundingClientRect();
      this.auto = false;
      // exp keeps zooming in and out by the same steps symmetric; a pinch gives small deltas.
      this.apply(zoomAt(this.t, Math.exp(-dy * 0.002), ev.clientX - box.left, ev.clientY - box.top));
      return;
    }
    // The page scrolls on when the drawing cannot move further that way.
    if (this.panBy(-dx, -dy)) ev.preventDefault();
  };

  private readonly onPointerDown = (ev: PointerEvent): void => {
    if (ev.button !== 0) return;
    this.dragged = false;
    this.drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY, t: this.t, moved: false };
  };

  private readonly onPointerMove = (ev: PointerEvent): void => {
    const d = this.drag;
    if (d === null || ev.pointerId !== d.id) return;
    const dx = ev.clientX - d.x, dy = ev.clientY - d.y;
    if (!d.moved) {
      if (Math.hypot(dx, dy) < 4) return; // a click that wobbles is still a click
      d.moved = true;
      this.view.setPointerCapture(ev.pointerId);
      this.view.classList.add("dv-panning");
    }
    this.auto = false;
    this.apply({ k: d.t.k, x: d.t.x + dx, y: d.t.y + dy });
  };

  private readonly onPointerUp = (ev: PointerEvent): void => {
    const d = this.drag;
    if (d === null || ev.pointerId !== d.id) return;
    this.drag = null;
    if (!d.moved) return;
    this.dragged = true;
    this.view.classList.remove("dv-panning");
    if (this.view.hasPointerCapture(ev.pointerId)) this.view.releasePointerCapture(ev.pointerId);
    // The click that follows this pointerup (if any) is the drag's, not a selection.
    setTimeout(() => {
      this.dragged = false;
    }, 0);
  };

  /** A part of the drawing focused from the keyboard (Tab) is panned into view. */
  private readonly onFocus = (ev: FocusEvent): void => {
    const target = ev.target;
    if (target instanceof Element && target !== this.view && this.layer.contains(target)) this.reveal(target);
  };

  /** The view clips, it does not scroll: the browser scrolls it anyway to show a focused
   * element, which would shift the drawing outside the transform. Panning does that instead. */
  private readonly onScroll = (): void => {
    this.view.scrollTop = 0;
    this.view.scrollLeft = 0;
  };

  private readonly onKey = (ev: KeyboardEvent): void => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const step = 60;
    const keys: Record<string, () => void> = {
      "+": () => this.zoomBy(1.25),
      "=": () => this.zoomBy(1.25),
      "-": () => this.zoomBy(0.8),
      "0": () => this.fit(),
      ArrowLeft: () => this.panBy(step, 0),
      ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step),
      ArrowDown: () => this.panBy(0, -step),
    };
    const act = keys[ev.key];
    if (!act) return;
    act();
    ev.preventDefault();
    // JupyterLab reads keys from the document: arrows would move its active cell and "0 0"
    // restart the kernel, so the keys the graph used stop here.
    ev.stopPropagation();
  };
}
