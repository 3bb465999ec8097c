// A toolbar button with a menu under it (the Columns menu, the change definition menu). The
// menu closes as menus do: on Escape, on a click outside it, or on the button again.

import { h } from "./dom";

export abstract class DropdownMenu {
  readonly el: HTMLElement;
  protected readonly button: HTMLButtonElement;
  protected readonly menu: HTMLElement;
  private closeListeners: (() => void) | null = null;

  constructor(buttonClass: string, menuClass: string, menuLabel: string | null, text = "") {
    this.button = h("button", {
      class: buttonClass, text, attrs: { type: "button", "aria-haspopup": "true", "aria-expanded": "false" },
    });
    const attrs: Record<string, string> = { role: "menu" };
    if (menuLabel) attrs["aria-label"] = menuLabel;
    this.menu = h("div", { class: menuClass, attrs });
    this.button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    this.el = h("div", { class: "dv-menu-wrap" }, [this.button, this.menu]);
  }

  /** Fill the menu with what it offers now (called on open, and by subclasses on changes). */
  protected abstract render(): void;

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
}
