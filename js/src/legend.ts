// Per image column: toggles for the classes its boxes and masks show; for all: the score
// threshold (only when some box has a score) and the mask opacity (only when there are masks).
// What acts where comes from the kernel (the info reply's `overlays`), never guessed here.

import { clear, h } from "./dom";
import { classColor } from "./geometry";
import { maskPaints, type ClassList } from "./imagecell";
import type { OverlayInfo } from "./protocol";

/** An image column, the class lists (digests) its cells use and what they draw. */
export interface LegendColumn {
  column: string;
  lists: string[];
  /** From the kernel: boxes, scores, masks, and per list the class ids that occur. */
  overlays: OverlayInfo;
}

/** One chip of the legend: a class of one list, as shown in one image column. */
export interface LegendChip {
  column: string;
  id: number;
  name: string;
  color: string;
}

/**
 * The legend's groups: per image column, per class list it uses, the classes of that list that
 * occur in the column's boxes or masks, in id order. When the
 * lists shown differ (class 1 is "cat" in one, "car" in another), each chip also names its
 * column, "cat (ground_truth)", so two classes that share an id are never one chip.
 */
export function legendGroups(columns: readonly LegendColumn[], lists: ReadonlyMap<string, ClassList>): { title: string; chips: LegendChip[] }[] {
  const own = (m: Record<string, number[]>, d: string): readonly number[] =>
    Object.prototype.hasOwnProperty.call(m, d) ? m[d] ?? [] : [];
  const present = (c: LegendColumn, d: string): number[] => {
    const list = lists.get(d) ?? new Map();
    const masked = own(c.overlays.mask_classes, d).filter((id) => maskPaints(id, list));
    return [...new Set([...own(c.overlays.box_classes, d), ...masked])];
  };
  const used = (c: LegendColumn): string[] => c.lists.filter((d) => lists.has(d) && present(c, d).length > 0);
  const shown = new Set(columns.flatMap(used));
  const differ = shown.size > 1;
  const out: { title: string; chips: LegendChip[] }[] = [];
  for (const col of columns) {
    const { column } = col;
    const known = used(col);
    known.forEach((digest, i) => {
      const list = lists.get(digest) ?? new Map();
      const title = known.length > 1 ? `${column} (list ${i + 1}):` : `${column}:`;
      const ids = [...present(col, digest)].sort((a, b) => a - b);
      const chips = ids.flatMap((id) => {
        const c = list.get(id);
        return c ? [{ column, id, color: c.color, name: differ ? `${c.name} (${column})` : c.name }] : [];
      });
      if (chips.length > 0) out.push({ title, chips });
    });
  }
  return out;
}
import type { Model } from "./model";

export class Legend {
  readonly el: HTMLElement;
  private columns: LegendColumn[] = [];
  private classes: ReadonlyMap<string, ClassList> = new Map();
  private threshold: HTMLInputElement | null = null;
  private opacity: HTMLInputElement | null = null;
  private chips: HTMLButtonElement[] = [];

  /** A part drawn after the classes when the legend shows (compared images: imagecompare.ts). */
  extra: HTMLElement | null = null;

  constructor(private readonly model: Model) {
    this.el = h("div", { class: "dv-legend" });
    this.el.style.display = "none";
  }

  setup(imageColumns: LegendColumn[], classes: ReadonlyMap<string, ClassList>): void {
    this.columns = imageColumns;
    this.classes = classes;
    this.render();
  }

  private hidden(column: string): number[] {
    const all = this.model.get("hidden_classes");
    return Object.prototype.hasOwnProperty.call(all, column) ? all[column] ?? [] : [];
  }

  private toggle(column: string, id: number): void {
    const all = this.model.get("hidden_classes");
    const next: Record<string, number[]> = {};
    for (const k of Object.keys(all)) if (k !== "__proto__") next[k] = all[k] ?? [];
    const cur = new Set(this.hidden(column));
    if (cur.has(id)) cur.delete(id);
    else cur.add(id);
    Object.defineProperty(next, column, { value: [...cur].sort((a, b) => a - b), enumerable: true, writable: true, configurable: true });
    this.model.set("hidden_classes", next);
    this.model.save_changes();
  }

  private slider(label: string, value: number, onInput: (v: number) => void): [HTMLElement, HTMLInputElement] {
    const input = h("input", { class: "dv-range", attrs: { type: "range", min: "0", max: "1", step: "0.01", "aria-label": label } });
    input.value = String(value);
    const out = h("span", { class: "dv-range-value", text: value.toFixed(2) });
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      onInput(Number(input.value));
    });
    return [h("label", { class: "dv-legend-control" }, [h("span", { text: label }), input, out]), input];
  }

  private render(): void {
    clear(this.el);
    this.chips = [];
    const acts = (f: (o: OverlayInfo) => boolean): boolean => this.columns.some((c) => f(c.overlays));
    // Compared images without boxes or masks still get their overlaid / side-by-side choice.
    const extra = this.extra !== null && this.extra.style.display !== "none";
    if (!acts((o) => o.boxes || o.masks) && !extra) {
      this.el.style.display = "none";
      this.threshold = null;
      this.opacity = null;
      return;
    }
    this.el.style.display = "";
    for (const { title, chips } of legendGroups(this.columns, this.classes)) {
      const group = h("div", { class: "dv-legend-group" }, [h("span", { class: "dv-legend-title", text: title })]);
      const colors = new Map(chips.map((c) => [c.id, c.color]));
      const hidden = new Set(chips.length ? this.hidden(chips[0]?.column ?? "") : []);
      for (const c of chips) {
        const chip = h("button", {
          class: "dv-class", title: `show / hide ${c.name}`,
          attrs: { type: "button", "aria-pressed": String(!hidden.has(c.id)), "data-class": String(c.id), "data-column": c.column },
        }, [h("span", { class: "dv-swatch", style: { background: classColor(c.id, colors) } }), h("span", { text: c.name })]);
        chip.addEventListener("click", () => this.toggle(c.column, c.id));
        this.chips.push(chip);
        group.appendChild(chip);
      }
      this.el.appendChild(group);
    }
    const controls = h("div", { class: "dv-legend-group" });
    this.threshold = null;
    this.opacity = null;
    if (acts((o) => o.scores)) {
      const [t, ti] = this.slider("score ≥", this.model.get("score_threshold"), (v) => {
        this.model.set("score_threshold", v);
        this.model.save_changes();
      });
      this.threshold = ti;
      controls.appendChild(t);
    }
    if (acts((o) => o.masks)) {
      const [o, oi] = this.slider("mask opacity", this.model.get("mask_opacity"), (v) => {
        this.model.set("mask_opacity", v);
        this.model.save_changes();
      });
      this.opacity = oi;
      controls.appendChild(o);
    }
    if (controls.childElementCount) this.el.appendChild(controls);
    if (this.extra) this.el.appendChild(this.extra);
  }

  /** Reflect model changes made elsewhere (Python, another view). */
  sync(): void {
    for (const chip of this.chips) {
      const hidden = new Set(this.hidden(chip.dataset.column ?? ""));
      chip.setAttribute("aria-pressed", String(!hidden.has(Number(chip.dataset.class))));
    }
    if (this.threshold && document.activeElement !== this.threshold) this.threshold.value = String(this.model.get("score_threshold"));
    if (this.opacity && document.activeElement !== this.opacity) this.opacity.value = String(this.model.get("mask_opacity"));
  }
}
