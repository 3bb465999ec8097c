// Keys the widget owns while it has focus, kept from the notebook's own keyboard shortcuts.
//
// JupyterLab matches its shortcuts as a keydown bubbles to the document, so the grid's
// preventDefault() keeps ArrowDown from moving the active cell. Notebook 7 matches them in the
// capture phase, before the widget sees the key: ArrowDown moved the notebook to the next cell
// and Enter put it into edit mode. Lumino skips shortcuts for a target inside an element marked
// `data-lm-suppress-shortcuts`, so the root is marked for the dispatch of each key it owns (set
// by a capture listener on window, which runs before the document's). Other keys (Shift+Enter,
// Ctrl+S) still reach the notebook.

const NAVIGATION = new Set([
  "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End", "Enter", "Escape",
]);
const SUPPRESS = "data-lm-suppress-shortcuts";

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

/** Whether the grid, focused outside a text field, owns this key rather than the notebook. */
export function ownsKey(e: KeyLike): boolean {
  if (e.altKey) return false;
  if (e.ctrlKey || e.metaKey) return e.key === "c" || e.key === "C"; // copy the cell
  if (e.key === "Enter" && e.shiftKey) return false; // run the cell, as everywhere in a notebook
  // A printable key is the notebook's command-mode shortcut (`d d` deletes the cell, `0 0`
  // restarts the kernel, `m` turns it into Markdown): typed while the grid has focus, it was
  // meant for the grid, never for the cell around it.
  return NAVIGATION.has(e.key) || e.key.length === 1;
}

function inTextField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

/** Keep the keys the widget owns from the notebook's shortcuts; returns the cleanup. */
export function claimKeys(root: HTMLElement): () => void {
  const onKey = (e: KeyboardEvent): void => {
    const target = e.target;
    if (!(target instanceof Node) || !root.contains(target) || inTextField(target) || !ownsKey(e)) return;
    root.setAttribute(SUPPRESS, "true");
    // Dispatch is synchronous: the mark is gone before the next key.
    setTimeout(() => root.removeAttribute(SUPPRESS), 0);
  };
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}
