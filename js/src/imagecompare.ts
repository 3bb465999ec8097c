// Compared images overlaid: an image column's versions (`image@v0`, `image@v11`) shown as one
// column whose thumbnail is the first version's picture with every version's boxes in that
// version's colour and line style and the mask pixels whose class changed highlighted
// (imagecell.ts draws them), or side by side, one column per version. The choice is the
// `image_compare` trait; "auto" overlays a column when the kernel found its versions to be the
// same pictures on every row (the info reply's `same_images`).

import type { Column } from "./columns";
import { fieldValue, type RowData } from "./cells";
import { clear, h, svg } from "./dom";
import { versionClass } from "./comparecols";
import { asImageCell, paintImage, versionDash, type ImageCell, type OverlayOptions, type VersionLayer } from "./imagecell";
import type { Model } from "./model";
import type { CompareInfo, InfoResponse } from "./protocol";
import type { ThumbStore } from "./thumbs";

export type ImageCompareMode = "auto" | "overlay" | "side";

/** The compared image columns: base name -> its versions' fields, in version order. */
export function imageVersions(info: Pick<InfoResponse, "columns" | "compare"> | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const compare = info?.compare;
  if (!info || !compare || compare.labels.length < 2) return out;
  const kinds = new Map(info.columns.map((c) => [c.name, c.kind]));
  const first = `@${compare.labels[0]}`;
  for (const c of info.columns) {
    if (c.kind !== "image" || !c.name.endsWith(first)) continue;
    const base = c.name.slice(0, -first.length);
    const fields = compare.labels.map((l) => `${base}@${l}`);
    if (base && fields.every((f) => kinds.get(f) === "image")) out.set(base, fields);
  }
  return out;
}

/** Whether the versions of compared image column `base` are drawn overlaid. */
export function isOverlaid(base: string, mode: ImageCompareMode, sameImages: Readonly<Record<string, boolean>>): boolean {
  if (mode === "overlay") return true;
  if (mode === "side") return false;
  return Object.prototype.hasOwnProperty.call(sameImages, base) && sameImages[base] === true;
}

/**
 * The grid's columns with each overlaid image column's version sub-columns made one column,
 * where its first version stood: kind "image", `fields` every version's field (a column
 * reading several image fields is drawn overlaid, see `paintCompared`). Columns of versions
 * the user hid stay as they are.
 */
export function overlayImageColumns(
  columns: readonly Column[],
  info: Pick<InfoResponse, "columns" | "compare" | "same_images"> | null,
  mode: ImageCompareMode,
): Column[] {
  const groups = imageVersions(info);
  const byField = new Map<string, string>();
  for (const [base, fields] of groups) {
    if (!isOverlaid(base, mode, info?.same_images ?? {})) continue;
    const shown = new Set(columns.map((c) => c.fields[0]));
    if (fields.every((f) => shown.has(f))) for (const f of fields) byField.set(f, base);
  }
  if (byField.size === 0) return [...columns];
  const labels = info?.compare?.labels ?? [];
  const out: Column[] = [];
  const merged = new Map<string, Column>();
  for (const col of columns) {
    const base = col.kind === "image" && col.fields.length === 1 ? byField.get(col.fields[0] as string) : undefined;
    if (base === undefined) {
      out.push(col);
      continue;
    }
    const fields = groups.get(base) ?? col.fields;
    const into = merged.get(base);
    if (into) {
      // What the versions read beside (the kernel's `<c>@changed` flag), not their own fields.
      for (const f of col.aux) if (!into.aux.includes(f) && !fields.includes(f)) into.aux.push(f);
      continue;
    }
    // Under its group header (the compared column's name), the header names the versions drawn.
    const column: Column = {
      ...col, key: base, label: labels.length === fields.length ? labels.join(" + ") : base, fields,
      version: null, pair: false, group: base, aux: col.aux.filter((f) => !fields.includes(f)),
    };
    merged.set(base, column);
    out.push(column);
  }
  return out;
}

/** Cells of an overlaid column: the first version present gives the picture drawn. */
function versionLayers(column: Column, row: RowData, overlay: (field: string) => OverlayOptions): { picture: ImageCell | null; layers: VersionLayer[] } {
  const layers = column.fields.map((f) => ({ cell: asImageCell(fieldValue(row, f)), hidden: overlay(f).hidden }));
  return { picture: layers.find((l) => l.cell !== null)?.cell ?? null, layers };
}

/**
 * Draw an overlaid image column's cell into `host` (w x h). Each version's classes are hidden
 * as the legend says for that version's column; the rest of the options are shared. False when
 * no version has an image in this row.
 */
export function paintCompared(
  host: HTMLElement,
  column: Column,
  row: RowData,
  w: number,
  hgt: number,
  store: ThumbStore,
  overlay: (field: string) => OverlayOptions,
  labels: OverlayOptions["labels"],
): boolean {
  const { picture, layers } = versionLayers(column, row, overlay);
  if (!picture) return false;
  host.classList.add("dv-img-compare");
  paintImage(host, picture, w, hgt, store, { ...overlay(column.fields[0] as string), labels }, layers);
  return true;
}

/**
 * A grid cell of an overlaid image column: the thumbnail (labels where they fit) and, where the
 * kernel's `<c>@changed` flag says the versions differ (boxes, masks or picture), the changed
 * cell's edge as the layout draws it for a version's cell. False when no version has an image.
 */
export function renderCompared(
  cell: HTMLElement,
  column: Column,
  row: RowData,
  w: number,
  hgt: number,
  store: ThumbStore,
  overlay: (field: string) => OverlayOptions,
): boolean {
  const host = h("div");
  cell.appendChild(host);
  if (!paintCompared(host, column, row, w, hgt, store, overlay, "fit")) {
    host.remove();
    return false;
  }
  const flag = `${column.group ?? column.key}@changed`;
  if (column.aux.includes(flag) && fieldValue(row, flag) === true) {
    cell.classList.add("dv-changed", "dv-overlay-changed");
    cell.title = `the versions differ (${column.label})`;
  }
  return true;
}

/**
 * The key to the versions' colours and line styles: a short line of each, then its label; with
 * `masks`, also what a highlighted mask pixel means (its class changed in that version).
 */
export function versionKey(labels: readonly string[], masks: boolean): HTMLElement {
  const key = h("span", { class: "dv-version-key" });
  labels.forEach((label, i) => {
    const line = svg("svg", { class: "dv-version-line", width: 22, height: 10, viewBox: "0 0 22 10", "aria-hidden": "true" });
    line.appendChild(svg("line", { class: `dv-key-line ${versionClass(i)}`, x1: 1, y1: 5, x2: 21, y2: 5, "stroke-dasharray": versionDash(i) }));
    key.appendChild(h("span", { class: "dv-version", attrs: { "data-version": String(i) } }, [line, h("span", { text: label })]));
  });
  if (masks && labels.length > 1) {
    labels.slice(1).forEach((label, j) => {
      const swatch = h("span", { class: `dv-change-swatch ${versionClass(j + 1)}` });
      key.appendChild(h("span", { class: "dv-mask-change-key", title: `mask pixels whose class in ${label} differs from ${labels[0] ?? ""}` },
        [swatch, h("span", { text: `mask changed in ${label}` })]));
    });
  }
  return key;
}

/** Whether some version of this row's compared image has a mask. */
function hasMasks(column: Column, row: RowData): boolean {
  return column.fields.some((f) => {
    const masks = asImageCell(fieldValue(row, f))?.masks;
    return typeof masks === "string" && masks !== "{}";
  });
}

/**
 * The detail view's figure of an overlaid image column: its name and the key to the versions
 * above the picture (so they are in view together), the picture drawn `w` x `hgt` in all. Null
 * when no version has an image in this row.
 */
export function comparedFigure(
  column: Column,
  row: RowData,
  labels: readonly string[],
  w: number,
  hgt: number,
  store: ThumbStore,
  overlay: (field: string) => OverlayOptions,
): HTMLElement | null {
  const host = h("div");
  const names = labels.length === column.fields.length ? labels : column.fields;
  const head = h("div", { class: "dv-figure-key" }, [
    h("span", { class: "dv-figure-name", text: column.group ?? column.label }), versionKey(names, hasMasks(column, row)),
  ]);
  const fig = h("figure", { class: "dv-figure dv-figure-compare" }, [head, host]);
  return paintCompared(host, column, row, w, hgt - KEY_HEIGHT, store, overlay, true) ? fig : null;
}

/** Height taken by the key above an overlaid picture in the detail view, px. */
const KEY_HEIGHT = 26;

/**
 * The legend's part for compared images: overlaid / side by side, and which colour and line
 * style is which version. Shown only when the comparison has an image column.
 */
export class ImageCompareControl {
  readonly el: HTMLElement;
  private groups = new Map<string, string[]>();
  private info: Pick<InfoResponse, "columns" | "compare" | "same_images" | "overlays"> | null = null;
  private readonly buttons: Record<"overlay" | "side", HTMLButtonElement>;
  private readonly key: HTMLElement;

  constructor(private readonly model: Model) {
    const button = (mode: "overlay" | "side", text: string): HTMLButtonElement => {
      const b = h("button", { class: "dv-seg", text, attrs: { type: "button", "data-mode": mode, "aria-pressed": "false" } });
      b.addEventListener("click", () => {
        this.model.set("image_compare", mode);
        this.model.save_changes();
      });
      return b;
    };
    this.buttons = { overlay: button("overlay", "overlaid"), side: button("side", "side by side") };
    this.key = h("span");
    this.el = h("div", { class: "dv-legend-group dv-image-compare" }, [
      h("span", { class: "dv-legend-title", text: "versions:" }),
      h("span", { class: "dv-segs", attrs: { role: "group", "aria-label": "compared images" } }, [this.buttons.overlay, this.buttons.side]),
      this.key,
    ]);
    this.el.style.display = "none";
  }

  setup(info: Pick<InfoResponse, "columns" | "compare" | "same_images" | "overlays"> | null): void {
    this.info = info;
    this.groups = imageVersions(info);
    clear(this.key);
    const compare: CompareInfo | null | undefined = info?.compare;
    const masks = [...this.groups.values()].some((fields) => fields.some((f) => info?.overlays?.[f]?.masks === true));
    if (compare) this.key.appendChild(versionKey(compare.labels, masks));
    this.el.style.display = this.groups.size > 0 ? "" : "none";
    this.sync();
  }

  /** Show the mode in force: overlaid when every compared image column is. */
  sync(): void {
    const mode = this.model.get("image_compare");
    const same = this.info?.same_images ?? {};
    const overlaid = [...this.groups.keys()].every((b) => isOverlaid(b, mode, same));
    this.buttons.overlay.setAttribute("aria-pressed", String(overlaid));
    this.buttons.side.setAttribute("aria-pressed", String(!overlaid));
  }
}
