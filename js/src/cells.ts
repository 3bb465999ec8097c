// Typed cells. Every value from data becomes text (textContent, SVG text), never HTML.

import type { Column } from "./columns";
import { renderAudio, type AudioStore } from "./audio";
import { formatDelta, markerState, pairChanged, pairDelta, versionChange, versionClass } from "./comparecols";
import { h, svg } from "./dom";
import { formatNumber, isNumericKind, jsonPreview } from "./format";
import { asImageCell, paintImage, type OverlayOptions } from "./imagecell";
import { renderCompared } from "./imagecompare";
import type { ThumbStore } from "./thumbs";

export type RowData = Record<string, unknown>;

export interface CellContext {
  thumbs: ThumbStore;
  audio: AudioStore;
  overlay: (column: string) => OverlayOptions;
  rowHeight: number;
  /** Compare mode: largest absolute value per pair column, for a shared bar scale. */
  pairScale: (column: Column) => number | null;
  versionLabels: string[];
  /** Compare mode: the columns that define a change (null until the kernel said its default). */
  changeColumns: readonly string[] | null;
}

/** The value of a group row's field still being computed (a group page comes counts first:
 * its aggregates and sample rows arrive in a second reply). Drawn as "…", never as a number. */
export const PENDING: unique symbol = Symbol("pending");

export function fieldValue(row: RowData, field: string): unknown {
  return Object.prototype.hasOwnProperty.call(row, field) ? row[field] : null;
}

function nullCell(cell: HTMLElement): void {
  cell.classList.add("dv-null");
  cell.textContent = "null";
}

export function renderCell(cell: HTMLElement, column: Column, row: RowData, ctx: CellContext): void {
  if (column.fields.some((f) => fieldValue(row, f) === PENDING)) {
    cell.classList.add("dv-pending");
    cell.textContent = "…";
    cell.title = "computing…";
    return;
  }
  renderValue(cell, column, row, ctx);
  // A later version's cell whose value differs from the first version's is marked (an edge in
  // its version's colour, styles.css) and says what it was.
  const change = versionChange(column, row);
  if (change) {
    cell.classList.add("dv-changed");
    cell.title = cell.title ? `${change.title}\n${cell.title}` : change.title;
  }
}

function renderValue(cell: HTMLElement, column: Column, row: RowData, ctx: CellContext): void {
  const value = fieldValue(row, column.fields[0] as string);
  switch (column.kind) {
    case "pair":
      renderPair(cell, column, row, ctx);
      return;
    case "changed": {
      // The row flag as a narrow marker: a dot where the row changed, nothing where it did not.
      const marker = markerState(column, row, ctx.changeColumns);
      if (marker.changed === null) return nullCell(cell);
      cell.classList.add("dv-marker");
      cell.title = marker.title;
      if (marker.changed) cell.appendChild(h("span", { class: "dv-marker-dot", text: "●" }));
      return;
    }
    case "image": {
      if (column.fields.length > 1) {
        // An image column's versions overlaid (imagecompare.ts).
        if (!renderCompared(cell, column, row, column.width - 12, ctx.rowHeight - 8, ctx.thumbs, ctx.overlay)) nullCell(cell);
        return;
      }
      const image = asImageCell(value);
      if (!image) return nullCell(cell);
      const host = h("div");
      cell.appendChild(host);
      paintImage(host, image, column.width - 12, ctx.rowHeight - 8, ctx.thumbs, { ...ctx.overlay(column.key), labels: "fit" });
      return;
    }
    case "samples": {
      cell.classList.add("dv-samples");
      const digests = Array.isArray(value) ? value.filter((d): d is string => typeof d === "string") : [];
      const none = { hidden: new Set<number>(), threshold: 0, maskOpacity: 0, classes: new Map(), labels: false };
      for (const digest of digests.slice(0, 4)) {
        const host = h("div");
        cell.appendChild(host);
        paintImage(host, { digest, width: 1, height: 1, caption: null, boxes: null, masks: null, classes: null },
          48, ctx.rowHeight - 8, ctx.thumbs, none);
      }
      return;
    }
    case "audio": {
      if (value === null || typeof value !== "object") return nullCell(cell);
      renderAudio(cell, value as Record<string, unknown>, ctx.audio);
      return;
    }
    case "list":
    case "dict": {
      if (typeof value !== "string") return nullCell(cell);
      cell.classList.add("dv-json");
      cell.textContent = jsonPreview(value);
      cell.title = value.length > 2000 ? `${value.slice(0, 2000)}…` : value;
      return;
    }
    case "bool":
      if (value === null) return nullCell(cell);
      cell.classList.add("dv-bool");
      cell.textContent = value ? "true" : "false";
      return;
    case "array":
      if (value === null) return nullCell(cell);
      cell.classList.add("dv-mono");
      cell.textContent = String(value);
      return;
    default:
      break;
  }
  if (value === null || value === undefined) return nullCell(cell);
  if (isNumericKind(column.kind) && (typeof value === "number" || typeof value === "bigint")) {
    cell.classList.add("dv-num");
    cell.textContent = formatNumber(value);
    if (column.fields[0]?.endsWith("@delta") && typeof value === "number" && value !== 0) {
      cell.classList.add(value > 0 ? "dv-pos" : "dv-neg");
    }
    return;
  }
  const text = typeof value === "string" ? value : String(value);
  cell.textContent = text;
  if (text.length > 20) cell.title = text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** One horizontal bar per version on a shared scale, each with its value as text, and the
 * delta (last minus first) beside them. */
function renderPair(cell: HTMLElement, column: Column, row: RowData, ctx: CellContext): void {
  cell.classList.add("dv-pair");
  const values = column.fields.map((f) => {
    const v = fieldValue(row, f);
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null;
  });
  const scale = ctx.pairScale(column) ?? Math.max(1e-12, ...values.map((v) => Math.abs(v ?? 0)));
  const deltaW = 50;
  const width = Math.max(40, column.width - 16 - deltaW);
  const gap = 3;
  const barH = Math.max(6, Math.min(14, (ctx.rowHeight - 10) / values.length - gap));
  const height = values.length * (barH + gap);
  const root = svg("svg", { class: "dv-pair-svg", width, height, viewBox: `0 0 ${width} ${height}` });
  const textW = 52;
  values.forEach((v, i) => {
    const y = i * (barH + gap);
    const w = v === null ? 0 : Math.max(1, (Math.abs(v) / (scale || 1)) * (width - textW - 4));
    const bar = svg("rect", { class: `dv-bar ${versionClass(i)}`, x: 0, y, width: w, height: barH, rx: 2 });
    bar.appendChild(svg("title", {}, `${ctx.versionLabels[i] ?? i}: ${v === null ? "null" : formatNumber(v)}`));
    root.appendChild(bar);
    // Centred on its bar, so the texts of three or more versions do not run into each other.
    root.appendChild(svg("text", { class: "dv-bar-text", x: width - textW, y: y + barH / 2, "dominant-baseline": "central" },
      v === null ? "null" : formatNumber(v)));
  });
  cell.appendChild(root);
  const delta = pairDelta(column, values, row);
  const text = h("span", { class: "dv-delta", text: delta === null ? "" : formatDelta(delta) });
  if (delta !== null && delta !== 0 && !Number.isNaN(delta)) text.classList.add(delta > 0 ? "dv-pos" : "dv-neg");
  const first = ctx.versionLabels[0] ?? "first";
  const last = ctx.versionLabels[ctx.versionLabels.length - 1] ?? "last";
  text.title = delta === null ? "no delta: a version has no value" : `${last} − ${first}: ${formatNumber(delta)}`;
  cell.appendChild(text);
  if (pairChanged(column, values, row)) {
    cell.classList.add("dv-changed");
    cell.title = `changed from ${first}`;
  }
}
