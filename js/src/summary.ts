// Header summaries: a small histogram or the top values of a column, drawn as SVG. With a
// `pick` callback they are also inputs: dragging across the histogram brushes whole bins, and a
// click on a top value picks it (brush.ts turns either into filter text).

import type { SummaryPick } from "./brush";
import { svg } from "./dom";
import { formatCount, formatNumber } from "./format";
import type { Summary, TopSummary } from "./protocol";

export function summaryText(s: Summary): string {
  if (s.type === "histogram") {
    const lo = s.min === null ? "—" : formatNumber(s.min);
    const hi = s.max === null ? "—" : formatNumber(s.max);
    // Infinities are in no bin and not in min/max: say how many, or the bars undercount.
    const extra = [
      s.posinf ? `${formatCount(s.posinf)} +inf` : "",
      s.neginf ? `${formatCount(s.neginf)} −inf` : "",
      s.nulls ? `${formatCount(s.nulls)} null` : "",
    ].filter(Boolean);
    return [`min ${lo}`, `max ${hi}`, ...extra].join(" · ");
  }
  const parts = s.values.slice(0, 8).map((v, i) => `${String(v)}: ${formatCount(s.counts[i] ?? 0)}`);
  if (s.sample !== undefined) {
    const head = `sample: the first ${formatCount(s.sample)} rows only (click "sample" for the exact summary)`;
    return `${head}\n≥ ${formatCount(s.distinct_min ?? 0)} distinct\n${parts.join("\n")}`;
  }
  return `${formatCount(s.distinct ?? 0)} distinct\n${parts.join("\n")}`;
}

/** A sample in which every non-null value appears once: its top values say nothing. */
export function allUnique(s: TopSummary): boolean {
  return s.sample !== undefined && s.distinct_min === s.sample - s.nulls;
}

/** The first ``n`` top values with their share of every row summarised (nulls included),
 * not of the values listed: one "astronaut" in 20 rows is 5%, however few values there are. */
export function topShares(s: TopSummary, n = 3): { text: string; frac: number }[] {
  return s.values.slice(0, n).map((v, i) => {
    const frac = s.count ? (s.counts[i] ?? 0) / s.count : 0;
    return { text: `${String(v)}${s.count ? ` ${Math.round(frac * 100)}%` : ""}`, frac };
  });
}

/** Which bin of `n` across `width` the offset `x` falls in. */
export function binAt(x: number, width: number, n: number): number {
  return Math.max(0, Math.min(n - 1, Math.floor((x / width) * n)));
}

export function drawSummary(
  s: Summary, width: number, height: number, pick?: (p: SummaryPick) => void, exact?: () => void,
): SVGSVGElement {
  const root = svg("svg", { class: "dv-summary", width, height, viewBox: `0 0 ${width} ${height}` });
  root.appendChild(svg("title", {}, summaryText(s)));
  if (s.type === "histogram") {
    const counts = s.counts;
    const max = Math.max(1, ...counts);
    const bw = counts.length ? width / counts.length : width;
    counts.forEach((c, i) => {
      const bh = c === 0 ? 0 : Math.max(1, (c / max) * (height - 2));
      root.appendChild(svg("rect", { class: "dv-hist", x: i * bw + 0.5, y: height - bh, width: Math.max(1, bw - 1), height: bh }));
    });
    if (pick && counts.length > 0) brushable(root, counts.length, width, height, pick);
    return root;
  }
  const rh = height / 3;
  let tag: SVGElement | undefined;
  if (s.sample !== undefined) {
    // Labelled as what it is: the first rows' values, not the column's; a click asks for the exact one.
    tag = svg("text", { class: "dv-sample", x: width - 2, y: rh - 2.5, "text-anchor": "end" }, "sample");
    if (exact) {
      tag.appendChild(svg("title", {}, "top values of the first rows only: click for the exact summary"));
      tag.addEventListener("click", (e) => {
        e.stopPropagation(); // not a sort
        exact();
      });
      tag.style.cursor = "pointer";
    }
    if (allUnique(s)) {
      root.appendChild(tag);
      root.appendChild(svg("text", { class: "dv-top-text", x: 3, y: rh - 2.5 }, "≈ all unique"));
      root.appendChild(svg("text", { class: "dv-top-text", x: 3, y: 2 * rh - 2.5 }, `≥ ${formatCount(s.distinct_min ?? 0)} distinct`));
      return root;
    }
  }
  topShares(s).forEach(({ text, frac }, i) => {
    root.appendChild(svg("rect", { class: "dv-top", x: 0, y: i * rh + 1, width: Math.max(1, frac * width), height: rh - 2 }));
    root.appendChild(svg("text", { class: "dv-top-text", x: 3, y: i * rh + rh - 2.5 }, text));
    if (!pick) return;
    // A full-width target over the bar and its text: the value, not the pixels, is the choice.
    const hit = svg("rect", { class: "dv-top-hit", x: 0, y: i * rh, width, height: rh, "data-index": i });
    hit.appendChild(svg("title", {}, `${String(s.values[i])}: click to filter to this value`));
    hit.addEventListener("click", (e) => {
      e.stopPropagation(); // a pick, not a sort
      pick({ type: "value", value: s.values[i] });
    });
    root.appendChild(hit);
  });
  // Last, over the first value's click target: the tag is its own button.
  if (tag) root.appendChild(tag);
  if (pick) root.addEventListener("click", (e) => e.stopPropagation());
  return root;
}

/** Drag across the bars to brush whole bins; a click without a drag picks one bin. */
function brushable(root: SVGSVGElement, n: number, width: number, height: number, pick: (p: SummaryPick) => void): void {
  root.classList.add("dv-brushable");
  const band = svg("rect", { class: "dv-brush", x: 0, y: 0, width: 0, height, visibility: "hidden" });
  root.appendChild(band);
  let first = -1;
  let last = -1;
  const binOf = (e: PointerEvent): number => binAt(e.clientX - root.getBoundingClientRect().left, width, n);
  const show = (): void => {
    const a = Math.min(first, last);
    const b = Math.max(first, last);
    band.setAttribute("x", String((a * width) / n));
    band.setAttribute("width", String(((b - a + 1) * width) / n));
    band.setAttribute("visibility", "visible");
  };
  root.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.stopPropagation();
    e.preventDefault(); // no text selection while dragging
    root.setPointerCapture(e.pointerId);
    first = last = binOf(e);
    show();
  });
  root.addEventListener("pointermove", (e) => {
    if (first < 0) return;
    last = binOf(e);
    show();
  });
  const end = (e: PointerEvent, apply: boolean): void => {
    if (first < 0) return;
    e.stopPropagation();
    const [a, b] = [Math.min(first, last), Math.max(first, last)];
    first = last = -1;
    // After this event's click has run (stopped below): picking redraws the header, and a
    // click landing on the new header would sort.
    if (apply) setTimeout(() => pick({ type: "range", first: a, last: b }), 0);
    else band.setAttribute("visibility", "hidden");
  };
  root.addEventListener("pointerup", (e) => end(e, true));
  root.addEventListener("pointercancel", (e) => end(e, false));
  // The click that ends a brush belongs to it, not to the header's click-to-sort.
  root.addEventListener("click", (e) => e.stopPropagation());
}
