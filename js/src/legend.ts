// Per image column: class toggles; for all: score threshold and mask opacity.

import { clear, h } from "./dom";
import { classColor } from "./geometry";
import type { ClassDef } from "./imagecell";
import type { Model } from "./model";

export class Legend {
  readonly el: HTMLElement;
  private columns: string[] = [];
  private classes: ReadonlyMap<number, ClassDef> = new Map();
  private threshold: HTMLInputElement | null = null;
  private opacity: HTMLInputElement | null = null;
  private chips: HTMLButtonElement[] = [];

  constructor(private readonly model: Model) {
    this.el = h("div", { class: "dv-legend" });
    this.el.style.display = "none";
  }

  setup(imageColumns: string[], classes: ReadonlyMap<number, ClassDef>): void {
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
    if (this.columns.length === 0) {
      this.el.style.display = "none";
      return;
    }
    this.el.style.display = "";
    const colors = new Map<number, string>();
    for (const [id, c] of this.classes) colors.set(id, c.color);
    for (const column of this.columns) {
      if (this.classes.size === 0) break;
      const group = h("div", { class: "dv-legend-group" }, [h("span", { class: "dv-legend-title", text: `${column}:` })]);
      const hidden = new Set(this.hidden(column));
      for (const [id, c] of this.classes) {
        const chip = h("button", {
          class: "dv-class", title: `show / hide ${c.name}`,
          attrs: { type: "button", "aria-pressed": String(!hidden.has(id)), "data-class": String(id), "data-column": column },
        }, [h("span", { class: "dv-swatch", style: { background: classColor(id, colors) } }), h("span", { text: c.name })]);
        chip.addEventListener("click", () => this.toggle(column, id));
        this.chips.push(chip);
        group.appendChild(chip);
      }
      this.el.appendChild(group);
    }
    const [t, ti] = this.slider("score ≥", this.model.get("score_threshold"), (v) => {
      this.model.set("score_threshold", v);
      this.model.save_changes();
    });
    const [o, oi] = this.slider("mask opacity", this.model.get("mask_opacity"), (v) => {
      this.model.set("mask_opacity", v);
      this.model.save_changes();
    });
    this.threshold = ti;
    this.opacity = oi;
    this.el.appendChild(h("div", { class: "dv-legend-group" }, [t, o]));
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
