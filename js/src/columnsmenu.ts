// The "Columns" button and its menu: show or hide each column, pin it to the left.

import { togglePin } from "./colsize";
import type { QueryController } from "./controller";
import { clear, h } from "./dom";
import { DropdownMenu } from "./dropdown";
import type { Model } from "./model";

export class ColumnsMenu extends DropdownMenu {
  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
  ) {
    super("dv-button", "dv-menu dv-columns-menu", null, "Columns");
  }

  protected render(): void {
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
