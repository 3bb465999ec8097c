// Copying text to the system clipboard from a keyboard shortcut.
//
// The asynchronous Clipboard API needs a secure context (https or localhost) and, in some
// browsers, a permission; a notebook served over plain http from another host has neither.
// There the old way still works during a key event: select a hidden textarea's text and
// `execCommand("copy")`.

/** Put `text` on the clipboard; resolves to whether it got there. `host` holds the hidden
 * textarea the fallback needs (inside the widget, so the notebook's styles stay out). */
export async function copyText(text: string, host: HTMLElement): Promise<boolean> {
  const clipboard = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
  if (clipboard?.writeText) {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Denied or not allowed here: try the fallback below.
    }
  }
  const doc = host.ownerDocument;
  const before = doc.activeElement instanceof HTMLElement ? doc.activeElement : null;
  const area = doc.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.setAttribute("aria-hidden", "true");
  Object.assign(area.style, { position: "fixed", left: "-9999px", top: "0", opacity: "0" });
  host.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = doc.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  before?.focus({ preventScroll: true });
  return ok;
}
