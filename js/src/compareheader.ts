// Compare mode's group headers: a band above the column headers where each compared column's
// name spans the headers of its versions (`pred` over `v0 | v11`). The band is its own row of
// the header, so the column headers below keep their widths, pins, resizing and sorting.

import type { Column } from "./columns";
import { clear, h } from "./dom";
import { formatCount } from "./format";

export interface BandLayout {
  /** Width of the row-number column, px. */
  numWidth: number;
  /** Left offsets of the pinned columns (colsize.pinOffsets). */
  pins: ReadonlyMap<string, number>;
  labels: readonly string[];
  /** Per compared column, the rows it changed on (the `changes` reply), when known. */
  counts?: Readonly<Record<string, number>>;
}

/** Consecutive columns of one compared column (and one pin state) form a run; any other
 * column is a run of its own with no group. */
export interface BandRun {
  group: string | null;
  columns: Column[];
}

export function bandRuns(columns: readonly Column[]): BandRun[] {
  const runs: BandRun[] = [];
  for (const col of columns) {
    const last = runs[runs.length - 1];
    if (last && col.group !== null && last.group === col.group && last.columns[0]?.pinned === col.pinned) {
      last.columns.push(col);
    } else {
      runs.push({ group: col.group, columns: [col] });
    }
  }
  return runs;
}

/** Draw the band into `host`, or hide it when no column is compared (a plain table). */
export function drawBands(host: HTMLElement, columns: readonly Column[], layout: BandLayout): void {
  clear(host);
  const compared = columns.some((c) => c.group !== null);
  host.style.display = compared ? "" : "none";
  if (!compared) return;
  const pinnedRight = layout.pins.size > 0 ? layout.numWidth + columns.filter((c) => c.pinned).reduce((s, c) => s + c.width, 0) : 0;
  const num = h("div", { class: "dv-hband", style: { width: `${layout.numWidth}px` } });
  if (layout.pins.size > 0) pin(num, 0);
  host.appendChild(num);
  for (const run of bandRuns(columns)) {
    const width = run.columns.reduce((s, c) => s + c.width, 0);
    const cell = h("div", { class: "dv-hband", style: { width: `${width}px` } });
    const left = layout.pins.get(run.columns[0]?.key ?? "");
    if (left !== undefined) pin(cell, left);
    if (run.group !== null) {
      const versions = run.columns.map((c) => (c.pair ? layout.labels.join(" | ") : layout.labels[c.version ?? -1] ?? c.label));
      cell.classList.add("dv-hband-group");
      cell.dataset.group = run.group;
      cell.title = `${run.group}: ${versions.join(" | ")}`;
      // The name stays in view while its group is scrolled partly under the pinned columns.
      const name = h("span", { class: "dv-hband-name", text: run.group });
      if (left === undefined) name.style.left = `${pinnedRight + 6}px`;
      const changed = layout.counts?.[run.group];
      if (changed !== undefined) {
        // How many rows this column changed on: what picking it as a change definition keeps.
        name.appendChild(h("span", { class: "dv-hband-count", text: ` · ${formatCount(changed)} changed` }));
        cell.title += `\n${formatCount(changed)} rows changed`;
      }
      cell.appendChild(name);
    }
    host.appendChild(cell);
  }
}

function pin(el: HTMLElement, left: number): void {
  el.classList.add("dv-pinned");
  el.style.left = `${left}px`;
}
