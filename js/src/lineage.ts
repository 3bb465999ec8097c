// The lineage graph (runs and artifact versions) as SVG: layered left to right by dependency.
// Clicking a node sets the model's `selected` to its id. Labels are SVG text, never HTML.

import "./lineage.css";
import { svg, h } from "./dom";

export interface LineageNode {
  id: string;
  kind: "run" | "artifact";
  label: string;
}

export interface LineageEdge {
  source: string;
  target: string;
  kind: "used" | "produced";
}

export interface Graph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface Placed extends LineageNode {
  x: number;
  y: number;
  layer: number;
}

/** Longest-path layering (cycles are broken by ignoring back edges), then order within layers. */
export function layoutGraph(graph: Graph, dx = 190, dy = 56): Placed[] {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const incoming = new Map<string, string[]>();
  for (const n of graph.nodes) incoming.set(n.id, []);
  for (const e of graph.edges) if (ids.has(e.source) && ids.has(e.target)) incoming.get(e.target)?.push(e.source);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    let d = 0;
    for (const src of incoming.get(id) ?? []) d = Math.max(d, depth(src) + 1);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  const counts = new Map<number, number>();
  return graph.nodes.map((n) => {
    const l = depth(n.id);
    const row = counts.get(l) ?? 0;
    counts.set(l, row + 1);
    return { ...n, layer: l, x: 20 + l * dx, y: 20 + row * dy };
  });
}

interface LineageModel {
  get(key: "graph"): Graph;
  get(key: "height"): number;
  set(key: "selected", value: string): void;
  save_changes(): void;
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

const W = 150;
const H = 34;

function draw(el: HTMLElement, model: LineageModel): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  const graph = model.get("graph") ?? { nodes: [], edges: [] };
  const placed = layoutGraph(graph);
  const byId = new Map(placed.map((p) => [p.id, p]));
  const width = Math.max(300, ...placed.map((p) => p.x + W + 20));
  const height = Math.max(80, ...placed.map((p) => p.y + H + 20));
  const root = svg("svg", { class: "dv-lineage-svg", width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "dv-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "dv-lineage-arrow" }));
  defs.appendChild(marker);
  root.appendChild(defs);
  for (const e of graph.edges) {
    const a = byId.get(e.source);
    const b = byId.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    const path = svg("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: `dv-lineage-edge dv-${e.kind}`, "marker-end": "url(#dv-arrow)" });
    path.appendChild(svg("title", {}, e.kind));
    root.appendChild(path);
  }
  for (const p of placed) {
    const g = svg("g", { class: `dv-lineage-node dv-${p.kind}`, transform: `translate(${p.x},${p.y})`, "data-id": p.id, tabindex: 0 });
    g.appendChild(svg("rect", { width: W, height: H, rx: p.kind === "run" ? 17 : 4 }));
    const text = p.label.length > 22 ? `${p.label.slice(0, 21)}…` : p.label;
    g.appendChild(svg("text", { x: W / 2, y: H / 2 + 4, "text-anchor": "middle" }, text));
    g.appendChild(svg("title", {}, `${p.kind}: ${p.label}`));
    g.addEventListener("click", () => {
      model.set("selected", p.id);
      model.save_changes();
      for (const other of root.querySelectorAll(".dv-lineage-node")) other.classList.remove("dv-active");
      g.classList.add("dv-active");
    });
    root.appendChild(g);
  }
  const box = h("div", { class: "dv-lineage" }, [root]);
  box.style.maxHeight = `${model.get("height") || 400}px`;
  el.appendChild(box);
}

function render({ model, el }: { model: LineageModel; el: HTMLElement }): () => void {
  const redraw = (): void => draw(el, model);
  model.on("change:graph", redraw);
  redraw();
  return () => model.off("change:graph", redraw);
}

export default { render };
