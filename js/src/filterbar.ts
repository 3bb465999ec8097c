// The filter input: applies on Enter or after a pause, shows errors with a caret under the
// offending character, and completes column names (quoted with backticks when they need it).

import { h, clear } from "./dom";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Words the tokenizer reads as keywords (engine/_tokens.py KEYWORDS) before it looks for a
// column: a column called `and` or `null` must be written in backticks.
const KEYWORDS = new Set(["and", "or", "not", "in", "is", "null", "none", "true", "false", "contains", "startswith", "endswith", "row"]);

export function quoteColumn(name: string): string {
  return IDENT.test(name) && !KEYWORDS.has(name.toLowerCase()) ? name : `\`${name.replace(/`/g, "``")}\``;
}

/** The identifier-ish word ending at `cursor` and where it starts. */
export function wordAt(text: string, cursor: number): { start: number; word: string } {
  let start = cursor;
  while (start > 0 && /[A-Za-z0-9_%.`]/.test(text[start - 1] as string)) start--;
  return { start, word: text.slice(start, cursor).replace(/^`/, "") };
}

export function completions(columns: readonly string[], word: string, limit = 8): string[] {
  if (!word) return [];
  const w = word.toLowerCase();
  const starts = columns.filter((c) => c.toLowerCase().startsWith(w) && c !== word);
  const contains = columns.filter((c) => !c.toLowerCase().startsWith(w) && c.toLowerCase().includes(w));
  return [...starts, ...contains].slice(0, limit);
}

export class FilterBar {
  readonly el: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly errorBox: HTMLElement;
  private readonly menu: HTMLElement;
  private options: string[] = [];
  private active = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  columns: string[] = [];

  constructor(private readonly apply: (text: string) => void) {
    this.input = h("input", {
      class: "dv-filter-input",
      attrs: { type: "text", placeholder: "Filter, e.g. score > 0.5 and label == 'cat'", spellcheck: "false", "aria-label": "filter" },
    });
    this.menu = h("div", { class: "dv-complete", attrs: { role: "listbox" } });
    this.errorBox = h("div", { class: "dv-filter-error", attrs: { role: "alert" } });
    this.el = h("div", { class: "dv-filter" }, [this.input, this.menu, this.errorBox]);
    this.input.addEventListener("input", () => {
      this.updateMenu();
      this.applySoon();
    });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.hideMenu(), 150));
  }

  set value(text: string) {
    if (this.input.value !== text) this.input.value = text;
  }

  private onKey(e: KeyboardEvent): void {
    e.stopPropagation(); // the grid's keyboard navigation must not see typing
    const open = this.options.length > 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : this.options.length - 1)) % this.options.length;
      this.renderMenu();
    } else if (open && (e.key === "Tab" || e.key === "Enter")) {
      e.preventDefault();
      this.accept(this.options[this.active] as string);
    } else if (e.key === "Enter") {
      clearTimeout(this.timer);
      this.apply(this.input.value);
    } else if (e.key === "Escape") {
      this.hideMenu();
    }
  }

  private accept(column: string): void {
    const cursor = this.input.selectionStart ?? this.input.value.length;
    const { start } = wordAt(this.input.value, cursor);
    const text = this.input.value;
    const insert = quoteColumn(column);
    this.input.value = text.slice(0, start) + insert + text.slice(cursor);
    const pos = start + insert.length;
    this.input.setSelectionRange(pos, pos);
    this.hideMenu();
    // The error shown was about the text before the completion (typically the very name just
    // completed): it goes now, and the new text is checked once the user pauses, as typing is.
    this.showError(null);
    this.applySoon();
  }

  private applySoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.apply(this.input.value), 600);
  }

  private updateMenu(): void {
    const cursor = this.input.selectionStart ?? this.input.value.length;
    const { word } = wordAt(this.input.value, cursor);
    this.options = completions(this.columns, word);
    this.active = 0;
    this.renderMenu();
  }

  private renderMenu(): void {
    clear(this.menu);
    this.menu.style.display = this.options.length ? "block" : "none";
    this.options.forEach((opt, i) => {
      const item = h("div", { class: `dv-complete-item${i === this.active ? " dv-active" : ""}`, text: opt, attrs: { role: "option" } });
      item.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.accept(opt);
      });
      this.menu.appendChild(item);
    });
  }

  private hideMenu(): void {
    this.options = [];
    this.renderMenu();
  }

  showError(message: string | null, position = -1): void {
    clear(this.errorBox);
    this.input.classList.toggle("dv-invalid", message !== null);
    if (message === null) return;
    const text = this.input.value.replace(/[\t\r\n]/g, " ");
    if (position >= 0) {
      this.errorBox.appendChild(h("pre", { class: "dv-caret", text: `${text}\n${" ".repeat(Math.min(position, text.length))}^` }));
    }
    this.errorBox.appendChild(h("div", { class: "dv-error-text", text: message }));
  }
}
