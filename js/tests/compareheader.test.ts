// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { arrange, pinOffsets } from "../src/colsize";
import { rowColumns } from "../src/columns";
import { drawBands } from "../src/compareheader";

const CAN = { sortable: true, groupable: true, filterable: true, summarisable: true };
const info = (names: [string, string][]) => names.map(([name, kind]) => ({ name, kind, type: "", capabilities: CAN }));
const labels = ["v0", "v11"];
const cols = rowColumns(
  info([["id", "int"], ["pred@v0", "str"], ["score@v0", "float"], ["pred@v11", "str"], ["score@v11", "float"],
    ["changed", "bool"], ["score@delta", "float"], ["pred@changed", "bool"], ["score@changed", "bool"]]),
  [], { labels, on: "id", compared: ["pred", "score"] });

function bands(pinned: string[]): HTMLElement {
  const host = document.createElement("div");
  const columns = arrange(cols, { widths: { "pred@v0": 150 }, pinned, density: "comfortable" });
  drawBands(host, columns, { numWidth: 40, pins: pinOffsets(columns, 40), labels });
  return host;
}

describe("group header band", () => {
  it("one cell per compared column, as wide as its versions, blank over the keys", () => {
    const host = bands(["id", "changed"]);
    const cells = [...host.children] as HTMLElement[];
    const pred = cols.filter((c) => c.group === "pred");
    expect(cells.map((c) => [c.dataset.group ?? null, c.textContent, c.style.width])).toEqual([
      [null, "", "40px"], // the row numbers
      [null, "", `${cols[0]?.width}px`], [null, "", `${cols[1]?.width}px`],
      ["pred", "pred", `${150 + (pred[1]?.width ?? 0)}px`],
      ["score", "score", `${cols.find((c) => c.key === "score")?.width}px`],
    ]);
    expect(cells[3]?.title).toBe("pred: v0 | v11");
    // The pinned keys' band cells stick with them; the names stay clear of them.
    expect(cells.slice(0, 3).map((c) => [c.classList.contains("dv-pinned"), c.style.left])).toEqual([
      [true, "0px"], [true, "40px"], [true, `${40 + (cols[0]?.width ?? 0)}px`]]);
    const name = cells[3]?.querySelector<HTMLElement>(".dv-hband-name");
    expect(name?.style.left).toBe(`${40 + (cols[0]?.width ?? 0) + (cols[1]?.width ?? 0) + 6}px`);
  });

  it("names how many rows each compared column changed on, once the kernel said", () => {
    const host = document.createElement("div");
    const columns = arrange(cols, { widths: {}, pinned: [], density: "comfortable" });
    drawBands(host, columns, { numWidth: 40, pins: new Map(), labels, counts: { pred: 1234, score: 7 } });
    const named = [...host.querySelectorAll<HTMLElement>(".dv-hband-group")].map((c) => c.textContent);
    expect(named).toEqual(["pred · 1,234 changed", "score · 7 changed"]);
    expect(host.querySelector<HTMLElement>("[data-group='pred']")?.title).toBe("pred: v0 | v11\n1,234 rows changed");
  });

  it("hidden for a plain table", () => {
    const host = document.createElement("div");
    drawBands(host, rowColumns(info([["a", "int"]]), [], null), { numWidth: 40, pins: new Map(), labels: [] });
    expect(host.style.display).toBe("none");
    expect(host.children.length).toBe(0);
  });
});
