// The compare view's change definition: "Changed in: pred, correct ▾", a menu of the compared
// columns, each with a checkbox and the number of rows it changed on (the kernel's `changes`
// reply). A row is "changed" (the "changed rows only" toggle, the status count) when any
// checked column differs between versions. The choice is the synced trait `change_columns`;
// empty means the kernel's default, which leaves out the columns that differ on every row
// (a retrained model's confidence), and the menu says so.
//
// The rules (what is checked, what a click makes of the trait, the button's text) are pure and
// unit-tested (js/tests/changemenu.test.ts).

import type { QueryController } from "./controller";
import { clear, h } from "./dom";
import { DropdownMenu } from "./dropdown";
import { formatCount } from "./format";
import type { Model } from "./model";
import type { ChangesResponse } from "./protocol";

export interface ChangeItem {
  name: string;
  /** Rows this column changed on; null until the kernel has counted. */
  count: number | null;
  checked: boolean;
  /** Differs on every row, so the default leaves it out. */
  always: boolean;
}

/** The columns in force: the user's, else the kernel's default (null until it is known). */
export function effectiveColumns(chosen: readonly string[], changes: ChangesResponse | null): string[] | null {
  if (chosen.length) return [...chosen];
  return changes ? [...changes.default] : null;
}

export function changeItems(compared: readonly string[], chosen: readonly string[], changes: ChangesResponse | null): ChangeItem[] {
  const inForce = new Set(effectiveColumns(chosen, changes) ?? []);
  return compared.map((name) => ({
    name,
    count: changes ? (changes.counts[name] ?? 0) : null,
    checked: inForce.has(name),
    always: changes?.always.includes(name) ?? false,
  }));
}

/**
 * The trait `change_columns` after checking or unchecking `name`: the checked columns in the
 * compared order, or [] when they are the default (so the kernel's default stays in force,
 * and a later default follows it). Null when nothing would be left checked: a change needs
 * at least one column.
 */
export function nextChangeColumns(
  compared: readonly string[],
  chosen: readonly string[],
  changes: ChangesResponse | null,
  name: string,
  checked: boolean,
): string[] | null {
  const now = new Set(effectiveColumns(chosen, changes) ?? []);
  if (checked) now.add(name);
  else now.delete(name);
  const next = compared.filter((c) => now.has(c));
  if (next.length === 0) return null;
  const defaults = changes?.default ?? null;
  if (defaults && defaults.length === next.length && defaults.every((d) => now.has(d))) return [];
  return next;
}

/** The button's text: "Changed in: pred, correct" (a long list ends "+3"). */
export function changeLabel(chosen: readonly string[], changes: ChangesResponse | null, max = 3): string {
  const names = effectiveColumns(chosen, changes);
  if (names === null) return "Changed in: …";
  const shown = names.slice(0, max).join(", ");
  return `Changed in: ${shown}${names.length > max ? `, +${names.length - max}` : ""}`;
}

/** The note on a column the default leaves out. */
export function alwaysNote(name: string): string {
  return `${name} differs on every row: left out`;
}

export class ChangeMenu extends DropdownMenu {
  constructor(
    private readonly query: QueryController,
    private readonly model: Model,
  ) {
    super("dv-button dv-change-button", "dv-menu dv-change-menu", "columns that define a change");
    this.sync();
  }

  private compared(): string[] {
    return this.query.info?.compare?.compared ?? [];
  }

  /** The trait or the counts changed: redraw the button (and the menu, if open). */
  sync(): void {
    const chosen = this.model.get("change_columns");
    const changes = this.query.changes;
    this.button.textContent = `${changeLabel(chosen, changes)} ▾`;
    const left = changes?.always.filter((c) => !chosen.includes(c)) ?? [];
    const title = ["A row counts as changed when any of these columns differs between versions."];
    for (const c of left) title.push(alwaysNote(c));
    this.button.title = title.join("\n");
    if (this.isOpen) this.render();
  }

  protected render(): void {
    clear(this.menu);
    const compared = this.compared();
    const chosen = this.model.get("change_columns");
    const changes = this.query.changes;
    const items = changeItems(compared, chosen, changes);
    const checkedCount = items.filter((i) => i.checked).length;
    this.menu.appendChild(h("div", { class: "dv-change-head", text: "A row is changed when any checked column differs:" }));
    for (const item of items) {
      const box = h("input", { attrs: { type: "checkbox", "data-col": item.name } });
      box.checked = item.checked;
      // Nothing to check against until the kernel has counted (the default is its answer);
      // the last checked column stays: a change needs at least one.
      box.disabled = (changes === null && chosen.length === 0) || (item.checked && checkedCount === 1);
      if (item.checked && checkedCount === 1) box.title = "a change needs at least one column";
      box.addEventListener("change", () => {
        const next = nextChangeColumns(compared, this.model.get("change_columns"), this.query.changes, item.name, box.checked);
        if (next === null) {
          box.checked = true;
          return;
        }
        this.query.setState("change_columns", next);
        this.sync();
      });
      const count = item.count === null ? "…" : `${formatCount(item.count)} changed`;
      const text = h("span", { class: "dv-menu-label" }, [
        h("span", { class: "dv-change-name", text: item.name }),
        h("span", { class: "dv-change-count", text: ` · ${count}` }),
      ]);
      const row = h("label", { class: "dv-menu-item dv-change-item", attrs: { "data-col": item.name } }, [box, text]);
      this.menu.appendChild(row);
      if (item.always) this.menu.appendChild(h("div", { class: "dv-change-note", text: alwaysNote(item.name), attrs: { "data-col": item.name } }));
    }
    if (changes === null) {
      const error = this.query.changesError;
      this.menu.appendChild(h("div", { class: "dv-change-note", text: error ? `Could not count the changes: ${error}` : "counting the changed rows…" }));
    }
    if (chosen.length) {
      const reset = h("button", { class: "dv-pin dv-change-reset", text: "back to the default", attrs: { type: "button" } });
      reset.addEventListener("click", () => {
        this.query.setState("change_columns", []);
        this.sync();
      });
      this.menu.appendChild(h("div", { class: "dv-change-foot" }, [reset]));
    }
  }
}
