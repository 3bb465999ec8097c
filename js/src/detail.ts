// The large view of one row: its image(s) at high resolution with overlays and labels, and
// every field as text.

import type { Column } from "./columns";
import { fieldValue, type RowData } from "./cells";
import { clear, h } from "./dom";
import { formatCount, formatNumber } from "./format";
import { asImageCell, paintImage, type OverlayOptions } from "./imagecell";
import { comparedFigure } from "./imagecompare";
import type { ThumbStore } from "./thumbs";

export class Detail {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly title: HTMLElement;
  private current: { row: RowData; columns: readonly Column[]; index: number; count: number } | null = null;

  constructor(
    private readonly thumbs: ThumbStore,
    private readonly overlay: (column: string) => OverlayOptions,
    private readonly onClose: () => void,
    /** Compare mode: the versions' labels, for the key of an overlaid image. */
    private readonly versionLabels: () => readonly string[] = () => [],
  ) {
    this.title = h("span", { class: "dv-detail-title" });
    const close = h("button", { class: "dv-button", text: "Close (Esc)", attrs: { type: "button", "aria-label": "close" } });
    close.addEventListener("click", () => this.close());
    this.body = h("div", { class: "dv-detail-body" });
    this.el = h("div", { class: "dv-detail", attrs: { role: "dialog", "aria-modal": "false" } }, [
      h("div", { class: "dv-detail-bar" }, [this.title, close]),
      this.body,
    ]);
    this.el.style.display = "none";
  }

  get open(): boolean {
    return this.current !== null;
  }

  show(row: RowData, columns: readonly Column[], index: number, count: number): void {
    this.current = { row, columns, index, count };
    this.el.style.display = "";
    this.repaint();
  }

  /** The grid's columns changed (compared images overlaid or side by side): show the row so. */
  setColumns(columns: readonly Column[]): void {
    if (!this.current) return;
    this.current = { ...this.current, columns };
    this.repaint();
  }

  close(): void {
    this.current = null;
    this.el.style.display = "none";
    clear(this.body);
    this.onClose();
  }

  repaint(): void {
    if (!this.current) return;
    const { row, columns, index, count } = this.current;
    this.title.textContent = `Row ${formatCount(index + 1)} of ${formatCount(count)} (↑/↓ to move)`;
    clear(this.body);
    const images = h("div", { class: "dv-detail-images" });
    const fields = h("dl", { class: "dv-detail-fields" });
    const rect = this.el.getBoundingClientRect();
    const imageCols = columns.filter((c) => c.kind === "image");
    const w = Math.max(200, Math.min(900, (rect.width || 800) - 320) / Math.max(1, imageCols.length));
    const hgt = Math.max(160, (rect.height || 500) - 70);
    for (const col of columns) {
      if (col.kind === "image" && col.fields.length > 1) {
        // An image column's versions overlaid (imagecompare.ts).
        const fig = comparedFigure(col, row, this.versionLabels(), w, hgt, this.thumbs, this.overlay);
        if (fig) images.appendChild(fig);
        continue;
      }
      if (col.kind === "image") {
        const cell = asImageCell(fieldValue(row, col.fields[0] as string));
        if (!cell) continue;
        const host = h("div");
        images.appendChild(h("figure", { class: "dv-figure" }, [host, h("figcaption", { text: col.label })]));
        paintImage(host, cell, w, hgt, this.thumbs, { ...this.overlay(col.key), labels: true });
        continue;
      }
      for (const f of col.fields) {
        const v = fieldValue(row, f);
        let text: string;
        if (v === null || v === undefined) text = "null";
        else if (typeof v === "number" || typeof v === "bigint") text = formatNumber(v);
        else if (typeof v === "string" && (col.kind === "list" || col.kind === "dict")) {
          try { text = JSON.stringify(JSON.parse(v), null, 2); } catch { text = v; }
        } else if (typeof v === "object") text = JSON.stringify(v);
        else text = String(v);
        fields.appendChild(h("dt", { text: f }));
        fields.appendChild(h("dd", { text }));
      }
    }
    this.body.appendChild(images);
    this.body.appendChild(fields);
  }
}
