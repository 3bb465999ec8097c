// Node labels of the lineage graph that stay readable at any zoom: the font grows (in the
// drawing's units) as the graph shrinks, so it never drops below a minimum size on screen; text
// that no longer fits its card loses its middle to "…" (the node's tooltip holds all of it);
// when even one line cannot fit, the card shows none.

/** Font sizes in the drawing's units at scale 1. */
export const LABEL_FONT = 12;
export const DETAIL_FONT = 10.5;
/** Smallest sizes on screen, in CSS pixels. */
export const MIN_LABEL_PX = 9;
export const MIN_DETAIL_PX = 8;

export interface Fonts {
  /** Font size of the label, in the drawing's units, or null: no label at this scale. */
  label: number | null;
  /** Font size of the second line, or null: not shown at this scale. */
  detail: number | null;
}

/** The fonts for a card `cardHeight` tall drawn at scale `k`; rounded to half units, so small
 * zoom steps change nothing and redraw no text. */
export function fontsAt(k: number, cardHeight: number): Fonts {
  const round = (v: number): number => Math.ceil(v * 2) / 2;
  const label = round(Math.max(LABEL_FONT, MIN_LABEL_PX / k));
  const detail = round(Math.max(DETAIL_FONT, MIN_DETAIL_PX / k));
  if (label + detail + 8 <= cardHeight) return { label, detail };
  if (label + 6 <= cardHeight) return { label, detail: null };
  return { label: null, detail: null };
}

/** Width of `text` at font size `size`: widths scale with the size, so one measure at a base
 * size serves every zoom. */
export type Measure = (text: string, size: number) => number;

/** A cut of `text` keeping `n` characters: its start and its end around "…". */
export function cutMiddle(text: string, n: number): string {
  const head = Math.ceil(n / 2);
  return `${text.slice(0, head).trimEnd()}…${text.slice(text.length - (n - head)).trimStart()}`;
}

/**
 * `text`, or the longest cut of it (start and end kept, the middle replaced by "…") that fits
 * `width`. The middle goes because the ends say most: a run's step and time ("train · 20…14:02"),
 * an artifact's name and version ("predictions-f…del:v12").
 */
export function fitText(text: string, width: number, size: number, measure: Measure): string {
  if (measure(text, size) <= width) return text;
  let lo = 0, hi = text.length - 1; // the most characters that fit, with "…", are in [lo, hi]
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(cutMiddle(text, mid), size) <= width) lo = mid;
    else hi = mid - 1;
  }
  return cutMiddle(text, lo);
}

/** Measures with a canvas in the page's font (cached per text); where there is no canvas (unit
 * tests in jsdom), an average character width. */
export function canvasMeasure(fontFamily: string): Measure {
  const BASE = 100;
  let ctx: CanvasRenderingContext2D | null = null;
  try {
    ctx = document.createElement("canvas").getContext("2d");
  } catch {
    ctx = null; // jsdom without the canvas package throws "not implemented"
  }
  if (ctx) ctx.font = `${BASE}px ${fontFamily}`;
  const cache = new Map<string, number>();
  return (text, size) => {
    let w = cache.get(text);
    if (w === undefined) {
      w = ctx ? ctx.measureText(text).width : text.length * 0.6 * BASE;
      if (cache.size > 20_000) cache.clear();
      cache.set(text, w);
    }
    return (w * size) / BASE;
  };
}
