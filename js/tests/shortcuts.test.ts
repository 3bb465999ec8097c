import { describe, expect, it } from "vitest";
import { ownsKey } from "../src/shortcuts";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) => ({
  key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods,
});

describe("ownsKey", () => {
  it("takes the grid's navigation keys from the notebook", () => {
    for (const k of ["ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", "PageDown", "Home", "End", "Enter", "Escape"]) {
      expect(ownsKey(key(k))).toBe(true);
    }
    expect(ownsKey(key("ArrowDown", { shiftKey: true }))).toBe(true); // extend the selection
    expect(ownsKey(key("c", { ctrlKey: true }))).toBe(true);
    expect(ownsKey(key("c", { metaKey: true }))).toBe(true);
  });

  it("leaves the notebook's own keys to it", () => {
    expect(ownsKey(key("Enter", { shiftKey: true }))).toBe(false); // run the cell
    expect(ownsKey(key("s", { ctrlKey: true }))).toBe(false); // save
    expect(ownsKey(key("Enter", { ctrlKey: true }))).toBe(false);
    expect(ownsKey(key("ArrowDown", { altKey: true }))).toBe(false);
  });

  it("keeps typed letters from the notebook's command mode (d d deletes the cell)", () => {
    for (const k of ["a", "b", "d", "m", "x", "0", "D", " "]) expect(ownsKey(key(k))).toBe(true);
  });
});
