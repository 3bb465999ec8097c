// Header summaries: a small histogram or the top values of a column, drawn as SVG.

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
  return `${formatCount(s.distinct)} distinct\n${parts.join("\n")}`;
}

/** The first ``n`` top values with their share of every row summarised (nulls included),
 * not of the values listed: one "astronaut" in 20 rows is 5%, however few values there are. */
export function topShares(s: TopSummary, n = 3): { text: string; frac: number }[] {
  return s.values.slice(0, n).map((v, i) => {
    const frac = s.count ? (s.counts[i] ?? 0) / s.count : 0;
    return { text: `${String(v)}${s.count ? ` ${Math.round(frac * 100)}%` : ""}`, frac };
  });
}

export function drawSummary(s: Summary, width: number, height: number): SVGSVGElement {
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
    return root;
  }
  const rh = height / 3;
  topShares(s).forEach(({ text, frac }, i) => {
    root.appendChild(svg("rect", { class: "dv-top", x: 0, y: i * rh + 1, width: Math.max(1, frac * width), height: rh - 2 }));
    root.appendChild(svg("text", { class: "dv-top-text", x: 3, y: i * rh + rh - 2.5 }, text));
  });
  return root;
}
