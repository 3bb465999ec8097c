// The "Columns" button and its menu: show or hide each column, pin it to the left. The menu
// closes as menus do: on Escape, on a click outside it, or on the button again.

import { togglePin } from "./colsize";
import type { QueryController } from "./controller";
import { clear, h } from "./dom";
import type { Model } from "./model";

export class ColumnsMenu {
  readonly el: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly menu: HTMLElement;
  private closeListeners: (() => void) | null = null;

  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
  ) {
    this.button = h("button", {
      class: "dv-button", text: "Columns", attrs: { type: "button", "aria-haspopup": "true", "aria-expanded": "false" },
    });
    this.menu = h("div", { class: "dv-menu", attrs: { role: "menu" } });
    this.button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    this.el = h("div", { class: "dv-menu-wrap" }, [this.button, this.menu]);
  }

  get isOpen(): boolean {
    return this.menu.style.display === "block";
  }

  open(): void {
    this.render();
    this.menu.style.display = "block";
    this.button.setAttribute("aria-expanded", "true");
    const doc = this.el.ownerDocument;
    // Capture phase: the click or key is seen before anything inside the notebook acts on it,
    // and Escape closes the menu without also leaving JupyterLab's edit mode.
    const onDown = (e: PointerEvent): void => {
      if (!e.composedPath().includes(this.el)) this.close();
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      e.stopPropagation();
      this.close();
      this.button.focus({ preventScroll: true });
    };
    doc.addEventListener("pointerdown", onDown, true);
    doc.addEventListener("keydown", onKey, true);
    this.closeListeners = () => {
      doc.removeEventListener("pointerdown", onDown, true);
      doc.removeEventListener("keydown", onKey, true);
    };
  }

  close(): void {
    this.menu.style.display = "none";
    this.button.setAttribute("aria-expanded", "false");
    this.closeListeners?.();
    this.closeListeners = null;
  }

  destroy(): void {
    this.close();
  }

  private render(): void {
    clear(this.menu);
    const all = this.query.allColumns();
    const visible = new Set(this.model.get("columns"));
    const allVisible = visible.size === 0;
    for (const col of all) {
      const box = h("input", { attrs: { type: "checkbox" } });
      box.checked = allVisible || visible.has(col.key);
      box.addEventListener("change", () => {
        const shown = this.model.get("columns");
        const current = new Set(shown.length ? shown : all.map((c) => c.key));
        if (box.checked) current.add(col.key);
        else current.delete(col.key);
        const next = all.map((c) => c.key).filter((k) => current.has(k));
        this.query.setState("columns", next.length === all.length ? [] : next);
      });
      const pinned = this.model.get("pinned").includes(col.key);
      const pin = h("button", {
        class: "dv-pin", text: pinned ? "unpin" : "pin",
        title: pinned ? `unpin ${col.label}` : `pin ${col.label} to the left`,
        attrs: { type: "button", "aria-pressed": String(pinned), "data-col": col.key },
      });
      pin.addEventListener("click", () => {
        const next = togglePin(this.model.get("pinned"), col.key);
        this.query.setState("pinned", next);
        const now = next.includes(col.key);
        pin.textContent = now ? "unpin" : "pin";
        pin.title = now ? `unpin ${col.label}` : `pin ${col.label} to the left`;
        pin.setAttribute("aria-pressed", String(now));
      });
      this.menu.appendChild(h("label", { class: "dv-menu-item" }, [box, h("span", { class: "dv-menu-label", text: col.label }), pin]));
    }
  }
}
