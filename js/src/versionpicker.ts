// The version picker: on a table read from a logged artifact, "Compare with…" lists the
// artifact's other versions holding the same table; picking one asks the kernel to show the
// comparison in place (the synced `compared_with`), and "← back to vN" returns to the table.
//
// The kernel decides everything (which versions exist, what the comparison is, why one cannot
// be shown); this only lists its `versions`, sets `compared_with` and shows `compare_error`.
// When the kernel has swapped the table it bumps `source_generation`, and the app reloads.

import { clear, h } from "./dom";
import type { Model } from "./model";
import type { VersionsState } from "./protocol";

// The kernel's answers to a pick: the table swapped, or an error (and the old value back).
const ANSWERS = ["change:versions", "change:compare_error", "change:source_generation"];

export class VersionPicker {
  /** The controls, in the toolbar. */
  readonly el: HTMLElement;
  /** Why the last pick could not be shown, in a line under the toolbar (hidden when none). */
  readonly error: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly back: HTMLButtonElement;
  /** The version asked for and not yet answered by the kernel (undefined: none). */
  private pending: string | null | undefined = undefined;
  private readonly onAnswer = (): void => {
    this.pending = undefined;
    this.render();
  };
  private readonly onCompared = (): void => {
    // Set here (the pick itself), or by the kernel: putting the old value back is an answer.
    if (this.model.get("compared_with") !== this.pending) this.pending = undefined;
    this.render();
  };

  constructor(
    private readonly model: Model,
    private readonly notice: (text: string) => void,
  ) {
    this.select = h("select", { class: "dv-versions-select", attrs: { "aria-label": "compare with version" } });
    this.select.addEventListener("change", () => {
      const v = this.select.value;
      if (v) this.ask(v);
    });
    this.back = h("button", { class: "dv-button dv-versions-back", attrs: { type: "button" } });
    this.back.addEventListener("click", () => this.ask(null));
    this.el = h("div", { class: "dv-versions" }, [this.select, this.back]);
    this.error = h("div", { class: "dv-versions-error", attrs: { role: "alert" } });
    for (const e of ANSWERS) model.on(e, this.onAnswer);
    model.on("change:compared_with", this.onCompared);
    this.render();
  }

  destroy(): void {
    for (const e of ANSWERS) this.model.off(e, this.onAnswer);
    this.model.off("change:compared_with", this.onCompared);
  }

  private ask(version: string | null): void {
    this.pending = version;
    this.model.set("compared_with", version);
    this.model.save_changes();
    const state = this.state();
    this.notice(version === null ? `back to ${state?.version ?? "the table"}…` : `comparing with ${version}…`);
    this.render();
  }

  private state(): VersionsState | null {
    // The trait is a plain dict in Python; its shape is _protocol.VersionsState.
    return this.model.get("versions") as VersionsState | null;
  }

  render(): void {
    const state = this.state();
    const compared = this.model.get("compared_with");
    this.el.style.display = state ? "" : "none";
    const message = this.model.get("compare_error");
    this.error.textContent = message;
    this.error.style.display = message && state ? "" : "none";
    if (!state) return;
    clear(this.select);
    const busy = this.pending !== undefined;
    if (compared === null) {
      const none = state.choices.length === 0;
      this.select.appendChild(h("option", {
        text: none ? "Compare with… (no other versions)" : "Compare with…", attrs: { value: "" },
      }));
    }
    for (const c of state.choices) {
      this.select.appendChild(h("option", { text: compared === null ? c.label : `vs ${c.label}`, attrs: { value: c.version } }));
    }
    this.select.value = compared ?? "";
    this.select.disabled = busy || state.choices.length === 0;
    this.select.title = compared === null
      ? `compare ${state.artifact}:${state.version} / ${state.entry} with another version`
      : `${state.artifact}:${state.version} / ${state.entry} compared with ${compared}: pick another version`;
    this.back.textContent = `← back to ${state.version}`;
    this.back.title = `show ${state.artifact}:${state.label} / ${state.entry} alone again`;
    this.back.style.display = compared === null ? "none" : "";
    this.back.disabled = busy;
  }
}
