// The controls around the grid: the filter bar, the group-by menu, the columns menu, the
// "changed rows only" toggle (compare views), the group chips and the status line. They show
// the query controller's state and turn the user's choices into its intents.

import { densityOf } from "./colsize";
import { ColumnsMenu } from "./columnsmenu";
import type { FilterProblem, QueryController } from "./controller";
import { clear, h } from "./dom";
import { FilterBar } from "./filterbar";
import type { Model } from "./model";
import { DENSITIES } from "./protocol";

export class Toolbar {
  /** The row of controls above the grid. */
  readonly el: HTMLElement;
  /** Group chips, under the controls. */
  readonly chips: HTMLElement;
  /** The status line, under the grid. */
  readonly status: HTMLElement;
  private readonly filterBar: FilterBar;
  private readonly groupSelect: HTMLSelectElement;
  private readonly columnsMenu: ColumnsMenu;
  private readonly densitySelect: HTMLSelectElement;
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
    this.columnsMenu = new ColumnsMenu(query, model);
    // Not a .dv-select: "the" select of the toolbar is the group-by menu.
    this.densitySelect = h("select", { class: "dv-density", title: "row height", attrs: { "aria-label": "row density" } });
    for (const d of DENSITIES) this.densitySelect.appendChild(h("option", { text: `${d} rows`, attrs: { value: d } }));
    this.densitySelect.value = densityOf(model.get("density"));
    this.densitySelect.addEventListener("change", () => query.setState("density", densityOf(this.densitySelect.value)));
    const changedInput = h("input", { attrs: { type: "checkbox" } });
    changedInput.addEventListener("change", () => query.setState("changed_only", changedInput.checked));
    this.changedBox = h("label", { class: "dv-toggle" }, [changedInput, h("span", { text: "changed rows only" })]);
    this.changedBox.style.display = "none";
    this.el = h("div", { class: "dv-toolbar" }, [
      this.filterBar.el, this.groupSelect, this.columnsMenu.el, this.densitySelect, this.changedBox,
    ]);
    this.chips = h("div", { class: "dv-chips" });
    this.status = h("div", { class: "dv-status", attrs: { "aria-live": "polite" } });
  }

  /** The table's description arrived: offer what it has. */
  setup(): void {
    const info = this.query.info;
    if (!info) return;
    this.changedBox.style.display = info.compare ? "" : "none";
    // The table may have been swapped (version picker), and the kernel reset the toggle.
    (this.changedBox.firstChild as HTMLInputElement).checked = this.model.get("changed_only");
    this.filterBar.columns = info.columns.map((c) => c.name);
  }

  /** The density changed (here or from Python): show it. */
  syncDensity(): void {
    this.densitySelect.value = densityOf(this.model.get("density"));
  }

  destroy(): void {
    this.columnsMenu.destroy();
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
}
