// The controls around the grid: the filter bar, the group-by menu, the columns menu, the
// "changed rows only" toggle (compare views), the group chips and the status line. They show
// the query controller's state and turn the user's choices into its intents.

import type { FilterProblem, QueryController } from "./controller";
import { clear, h } from "./dom";
import { FilterBar } from "./filterbar";
import type { Model } from "./model";

export class Toolbar {
  /** The row of controls above the grid. */
  readonly el: HTMLElement;
  /** Group chips, under the controls. */
  readonly chips: HTMLElement;
  /** The status line, under the grid. */
  readonly status: HTMLElement;
  private readonly filterBar: FilterBar;
  private readonly groupSelect: HTMLSelectElement;
  private readonly columnsMenu: HTMLElement;
  private readonly changedBox: HTMLLabelElement;
  private shownProblem: FilterProblem | null = null;

  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
  ) {
    this.filterBar = new FilterBar((text) => {
      // Unchanged text is no new query: show its error again (a completion hid it).
      if (text === model.get("filter")) this.showStatus(true);
      else query.setState("filter", text);
    });
    this.groupSelect = h("select", { class: "dv-select", attrs: { "aria-label": "group by" } });
    this.groupSelect.addEventListener("change", () => {
      const v = this.groupSelect.value;
      this.groupSelect.value = "";
      if (v) query.groupBy(v);
    });
    const columnsButton = h("button", { class: "dv-button", text: "Columns", attrs: { type: "button" } });
    this.columnsMenu = h("div", { class: "dv-menu" });
    columnsButton.addEventListener("click", () => this.toggleColumnsMenu());
    const changedInput = h("input", { attrs: { type: "checkbox" } });
    changedInput.addEventListener("change", () => query.setState("changed_only", changedInput.checked));
    this.changedBox = h("label", { class: "dv-toggle" }, [changedInput, h("span", { text: "changed rows only" })]);
    this.changedBox.style.display = "none";
    this.el = h("div", { class: "dv-toolbar" }, [
      this.filterBar.el, this.groupSelect, h("div", { class: "dv-menu-wrap" }, [columnsButton, this.columnsMenu]), this.changedBox,
    ]);
    this.chips = h("div", { class: "dv-chips" });
    this.status = h("div", { class: "dv-status", attrs: { "aria-live": "polite" } });
  }

  /** The table's description arrived: offer what it has. */
  setup(): void {
    const info = this.query.info;
    if (!info) return;
    this.changedBox.style.display = info.compare ? "" : "none";
    this.filterBar.columns = info.columns.map((c) => c.name);
  }

  /** The query changed: show it (typed filter, groups) and its pending state. */
  reset(): void {
    this.filterBar.value = this.model.get("filter");
    this.renderChips();
    this.renderGroupSelect();
    this.showStatus(true);
  }

  /** Status line and filter error, from the controller. The error (its caret under the text
   * typed now) is redrawn when it changed, or on `redraw`. */
  showStatus(redraw = false): void {
    const problem = this.query.filterShown;
    if (redraw || problem !== this.shownProblem) {
      this.shownProblem = problem;
      this.filterBar.showError(problem?.message ?? null, problem?.position ?? -1);
    }
    this.status.textContent = this.query.status.text;
    this.status.classList.toggle("dv-status-error", this.query.status.error);
  }

  private renderGroupSelect(): void {
    clear(this.groupSelect);
    this.groupSelect.appendChild(h("option", { text: "Group by…", attrs: { value: "" } }));
    for (const c of this.query.groupChoices()) {
      this.groupSelect.appendChild(h("option", { text: c.name, attrs: { value: c.name } }));
    }
  }

  renderChips(): void {
    clear(this.chips);
    const groupBy = this.model.get("group_by");
    for (const g of groupBy) {
      const x = h("button", { class: "dv-chip-x", text: "×", title: `stop grouping by ${g}`, attrs: { type: "button" } });
      x.addEventListener("click", () => this.query.ungroup(g));
      this.chips.appendChild(h("span", { class: "dv-chip" }, [h("span", { text: `group: ${g}` }), x]));
    }
    if (this.model.get("group_row") !== null && groupBy.length > 0) {
      // The kernel names the group (exact values as text); until its page arrives, "…".
      const key = this.query.groupKey;
      const text = key ? key.map(([k, v]) => `${k} = ${v}`).join(", ") : "…";
      const back = h("button", { class: "dv-button dv-back", text: "← all groups", attrs: { type: "button" } });
      back.addEventListener("click", () => this.query.closeGroup());
      this.chips.appendChild(back);
      this.chips.appendChild(h("span", { class: "dv-chip dv-chip-group", text: text }));
    }
    this.chips.style.display = this.chips.childElementCount ? "" : "none";
  }

  private toggleColumnsMenu(): void {
    const open = this.columnsMenu.style.display === "block";
    this.columnsMenu.style.display = open ? "none" : "block";
    if (open) return;
    clear(this.columnsMenu);
    const all = this.query.allColumns();
    const visible = new Set(this.model.get("columns"));
    const allVisible = visible.size === 0;
    for (const col of all) {
      const box = h("input", { attrs: { type: "checkbox" } });
      box.checked = allVisible || visible.has(col.key);
      box.addEventListener("change", () => {
        const current = new Set(this.model.get("columns").length ? this.model.get("columns") : all.map((c) => c.key));
        if (box.checked) current.add(col.key);
        else current.delete(col.key);
        const next = all.map((c) => c.key).filter((k) => current.has(k));
        this.query.setState("columns", next.length === all.length ? [] : next);
      });
      this.columnsMenu.appendChild(h("label", { class: "dv-menu-item" }, [box, h("span", { text: col.label })]));
    }
  }
}
