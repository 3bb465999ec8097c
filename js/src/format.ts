// Cell and number formatting. Everything returns text; the grid puts it in textContent.

const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(n: number | bigint): string {
  return INT.format(n);
}

export function formatNumber(value: number | bigint): string {
  if (typeof value === "bigint") return INT.format(value);
  if (Number.isInteger(value)) return INT.format(value);
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return value.toExponential(3);
  return value.toLocaleString("en-US", { maximumFractionDigits: abs < 1 ? 4 : 3 });
}

export function isNumericKind(kind: string): boolean {
  return kind === "int" || kind === "float" || kind === "derived";
}

/** A one-line preview of a JSON list/dict cell, e.g. `{a: 1, b: [2 items]}`. */
export function jsonPreview(text: string, max = 80): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }
  const out = previewValue(value, 0);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function previewValue(value: unknown, depth: number): string {
  if (Array.isArray(value)) {
    if (depth > 0) return `[${value.length} items]`;
    return `[${value.map((v) => previewValue(v, depth + 1)).join(", ")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value);
    if (depth > 0) return `{${keys.length} keys}`;
    return `{${keys
      .map((k) => `${k}: ${previewValue((value as Record<string, unknown>)[k], depth + 1)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value) ?? String(value);
}
