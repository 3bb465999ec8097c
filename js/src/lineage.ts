// The lineage graph (runs and artifact versions) as SVG: layered left to right by dependency.
// Collapsed by default (one node per step, one per artifact); "Explode" shows every run and
// version. Clicking a node sets the model's `selected`; for an artifact version the kernel
// then shows its tables under the graph. Labels are SVG text, never HTML.

import "./lineage.css";
import { svg, h, clear } from "./dom";
import { canvasMeasure, fitText, fontsAt, type Fonts, type Measure } from "./lineage-labels";
import { PanZoom, type FitLimits, type Size } from "./panzoom";

export interface LineageNode {
  id: string;
  kind: "run" | "artifact";
  label: string;
  /** Nodes with the same kind and group are drawn as one when collapsed. */
  group?: string;
  /** The name a group is shown with: a run's job type, an artifact's name. */
  step?: string;
  version?: number | null;
  /** A second, smaller line: a run's short id, a version's aliases. */
  detail?: string;
  /** More for the tooltip: a run's whole id, a version's type and aliases. */
  title?: string;
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

/** A node as drawn: one original node, or a group of them when collapsed. */
export interface ShownNode extends LineageNode {
  /** Ids of the original nodes this node stands for (itself when not grouped). */
  members: string[];
}

export interface ShownEdge extends LineageEdge {
  /** How many original edges this edge stands for. */
  count: number;
}

export interface ShownGraph {
  nodes: ShownNode[];
  edges: ShownEdge[];
}

/** "v0–v2" for a run of versions, else "v0, v2, v5" (shortened past six). */
export function versionRange(versions: number[]): string {
  const vs = [...new Set(versions)].sort((a, b) => a - b);
  if (vs.length === 0) return "";
  const contiguous = vs.every((v, i) => i === 0 || v === (vs[i - 1] ?? Number.NaN) + 1);
  if (contiguous && vs.length > 2) return `v${vs[0]}–v${vs[vs.length - 1]}`;
  const shown = vs.length > 6 ? [...vs.slice(0, 3), null, ...vs.slice(-2)] : vs;
  return shown.map((v) => (v === null ? "…" : `v${v}`)).join(", ");
}

/**
 * Merge the runs of one step into one node ("train ×3") and the versions of one artifact made
 * by the same step into one node ("predictions ×3", "v0–v2"), with edges merged to match.
 *
 * Versions are grouped too, not only runs: a step run N times makes N versions, and N separate
 * version nodes all wired to "train ×N" would keep the fan-out that collapsing is meant to hide.
 * Versions are grouped per producing step, so "data refined by clean" stays apart from "data
 * made by ingest" and the collapsed graph keeps the pipeline's order instead of a loop.
 * `explode` returns every node and edge as it is.
 */
export function collapseGraph(graph: Graph, explode = false): ShownGraph {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  if (explode) {
    return {
      nodes: graph.nodes.map((n) => ({ ...n, members: [n.id] })),
      edges: edges.map((e) => ({ ...e, count: 1 })),
    };
  }
  const runKey = new Map<string, string>();
  for (const n of graph.nodes) if (n.kind === "run") runKey.set(n.id, `run\u0000${n.group ?? n.id}`);
  const producers = new Map<string, Set<string>>();
  for (const e of edges) {
    const key = runKey.get(e.source);
    if (e.kind === "produced" && key !== undefined) {
      const set = producers.get(e.target) ?? new Set<string>();
      set.add(key);
      producers.set(e.target, set);
    }
  }
  const keyOf = new Map<string, string>();
  const groups = new Map<string, LineageNode[]>();
  for (const n of graph.nodes) {
    const key = runKey.get(n.id)
      ?? `artifact\u0000${n.group ?? n.id}\u0000${[...(producers.get(n.id) ?? [])].sort().join("\u0001")}`;
    keyOf.set(n.id, key);
    const members = groups.get(key) ?? [];
    members.push(n);
    groups.set(key, members);
  }
  const idOf = new Map<string, string>();
  const usedIds = new Set(ids);
  const nodes: ShownNode[] = [];
  for (const [key, members] of groups) {
    const first = members[0];
    if (first === undefined) continue;
    if (members.length === 1) {
      nodes.push({ ...first, members: [first.id] });
      idOf.set(key, first.id);
      continue;
    }
    // Readable, and unique even if a name holds the separator.
    let id = `group:${key.replace(/[\u0000\u0001]/g, "|")}`;
    while (usedIds.has(id)) id += "+";
    usedIds.add(id);
    idOf.set(key, id);
    const step = first.step ?? first.label;
    const versions = members.map((m) => m.version).filter((v): v is number => typeof v === "number");
    nodes.push({
      id,
      kind: first.kind,
      label: `${step} ×${members.length}`,
      group: first.group,
      step,
      version: null,
      detail: first.kind === "run" ? `${members.length} runs` : versionRange(versions),
      members: members.map((m) => m.id),
    });
  }
  const merged = new Map<string, ShownEdge>();
  for (const e of edges) {
    const source = idOf.get(keyOf.get(e.source) ?? "") ?? e.source;
    const target = idOf.get(keyOf.get(e.target) ?? "") ?? e.target;
    if (source === target) continue;
    const k = `${source}\u0000${target}\u0000${e.kind}`;
    const known = merged.get(k);
    if (known) known.count += 1;
    else merged.set(k, { source, target, kind: e.kind, count: 1 });
  }
  return { nodes, edges: [...merged.values()] };
}

/** The original node a click on `node` opens: for a group of versions, the newest version. */
export function clickTarget(node: ShownNode, graph: Graph): string {
  const only = node.members.length === 1 ? node.members[0] : undefined;
  if (only !== undefined) return only;
  if (node.kind !== "artifact") return node.id;
  const members = new Set(node.members); // a group can hold 50,000 versions: no includes()
  let best: LineageNode | undefined;
  for (const m of graph.nodes) {
    if (members.has(m.id) && (best === undefined || (m.version ?? -1) >= (best.version ?? -1))) best = m;
  }
  return best?.id ?? node.id;
}

export interface Placed<N extends LineageNode = LineageNode> {
  node: N;
  id: string;
  x: number;
  y: number;
  layer: number;
}

/** Card size and spacing of the drawn graph, in the drawing's units. */
export const NODE_W = 184;
export const NODE_H = 40;
export const LAYER_DX = NODE_W + 44;
export const ROW_DY = 58;

/**
 * Puts the versions of each artifact in a layer in version order, in the places they hold
 * together: the sweeps decide where an artifact's versions go, not their order among
 * themselves, so v9 is always above v10 (numbers, not text) whatever order their runs had.
 */
export function keepVersionOrder(ls: string[], nodeOf: Map<string, LineageNode>): void {
  const slots = new Map<string, number[]>();
  ls.forEach((id, i) => {
    const n = nodeOf.get(id);
    if (n?.kind !== "artifact" || typeof n.version !== "number") return;
    const key = n.group ?? n.id;
    const list = slots.get(key) ?? [];
    list.push(i);
    slots.set(key, list);
  });
  for (const places of slots.values()) {
    if (places.length < 2) continue;
    const ids = places.map((i) => ls[i] as string);
    ids.sort((a, b) => (nodeOf.get(a)?.version ?? 0) - (nodeOf.get(b)?.version ?? 0));
    places.forEach((i, j) => {
      ls[i] = ids[j] as string;
    });
  }
}

/**
 * Longest-path layering (cycles are broken by ignoring back edges), then the nodes of each
 * layer ordered by the mean position of their neighbours (a few barycentre sweeps down and up,
 * which untangles most crossings of a pipeline graph) with each artifact's versions kept in
 * version order, and each layer centred vertically. The first layer's cards start at x = 0,
 * the top row at y = 4 (room for a group's stacked card above it).
 */
export function layoutGraph<N extends LineageNode>(graph: { nodes: N[]; edges: LineageEdge[] }, dx = LAYER_DX, dy = ROW_DY): Placed<N>[] {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const incoming = new Map<string, string[]>();
  const outgoing = new Map<string, string[]>();
  for (const n of graph.nodes) {
    incoming.set(n.id, []);
    outgoing.set(n.id, []);
  }
  for (const e of graph.edges) {
    if (!ids.has(e.source) || !ids.has(e.target)) continue;
    incoming.get(e.target)?.push(e.source);
    outgoing.get(e.source)?.push(e.target);
  }
  // Longest path from a source, by a depth-first walk with its own stack: a recursive walk
  // overflows the JS stack on a long chain of versions (about 12,000 deep). It visits nodes in
  // the order the recursion did, so a back edge of a cycle is ignored at the same place.
  const layer = new Map<string, number>();
  const onStack = new Set<string>();
  const depthOf = (root: string): void => {
    if (layer.has(root)) return;
    const stack: { id: string; sources: string[]; next: number; depth: number }[] = [];
    const enter = (id: string): void => {
      onStack.add(id);
      stack.push({ id, sources: incoming.get(id) ?? [], next: 0, depth: 0 });
    };
    enter(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as (typeof stack)[number];
      if (top.next < top.sources.length) {
        const src = top.sources[top.next++] as string;
        const known = layer.get(src);
        if (known !== undefined) top.depth = Math.max(top.depth, known + 1);
        else if (onStack.has(src)) top.depth = Math.max(top.depth, 1); // back edge: as if depth 0
        else enter(src);
        continue;
      }
      stack.pop();
      onStack.delete(top.id);
      layer.set(top.id, top.depth);
      const parent = stack[stack.length - 1];
      if (parent) parent.depth = Math.max(parent.depth, top.depth + 1);
    }
  };
  const layers: string[][] = [];
  for (const n of graph.nodes) {
    depthOf(n.id);
    const l = layer.get(n.id) ?? 0;
    while (layers.length <= l) layers.push([]);
    layers[l]?.push(n.id);
  }
  // Start from versions in order (v0 above v1), a proxy for time; the sweeps below then put
  // the runs that made them in the same order, since ties keep their place.
  const nodeOf = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const ls of layers) {
    if (ls.length < 2) continue;
    // Each group keeps the place of its first member; within it, versions ascend.
    const groupAt = new Map<string, number>();
    const key = new Map<string, [number, number, number]>();
    ls.forEach((id, i) => {
      const n = nodeOf.get(id);
      const g = n?.group ?? id;
      if (!groupAt.has(g)) groupAt.set(g, i);
      key.set(id, [groupAt.get(g) ?? i, n?.version ?? 0, i]);
    });
    ls.sort((a, b) => {
      const ka = key.get(a) ?? [0, 0, 0], kb = key.get(b) ?? [0, 0, 0];
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
    });
  }
  // Positions centred on 0, so layers of different sizes compare.
  const pos = new Map<string, number>();
  const place = (ls: string[]): void => ls.forEach((id, i) => pos.set(id, i - (ls.length - 1) / 2));
  layers.forEach(place);
  const reorder = (ls: string[], neighbours: Map<string, string[]>): void => {
    if (ls.length < 2) return; // one node stays at 0: a long chain is mostly such layers
    const key = new Map<string, number>();
    for (const id of ls) {
      const ps = (neighbours.get(id) ?? []).map((o) => pos.get(o)).filter((p): p is number => p !== undefined);
      key.set(id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : (pos.get(id) ?? 0));
    }
    ls.sort((a, b) => (key.get(a) ?? 0) - (key.get(b) ?? 0)); // stable: ties keep their order
    keepVersionOrder(ls, nodeOf);
    place(ls);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const ls of layers.slice(0, -1).reverse()) reorder(ls, outgoing);
    for (const ls of layers.slice(1)) reorder(ls, incoming);
  }
  // A loop, not Math.max(...spread): spreading 50,000 values overflows the stack as well.
  let tallest = 0;
  for (const ls of layers) tallest = Math.max(tallest, ls.length);
  return graph.nodes.map((n) => {
    const l = layer.get(n.id) ?? 0;
    const row = (pos.get(n.id) ?? 0) + (tallest - 1) / 2;
    return { node: n, id: n.id, layer: l, x: l * dx, y: 4 + row * dy };
  });
}

interface LineageModel {
  get(key: "graph"): Graph;
  get(key: "height"): number;
  get(key: "explode"): boolean;
  get(key: "selected"): string | null;
  get(key: "opened"): string;
  get(key: "tables"): string[];
  get(key: "table"): string | null;
  get(key: "error"): string;
  get(key: "can_open"): boolean;
  set(key: "selected", value: string): void;
  set(key: "explode", value: boolean): void;
  set(key: "table", value: string): void;
  save_changes(): void;
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

/** Fit the width down to 40% (about ten steps in a notebook), and the height as well only while
 * cards stay at 60% or more: a taller graph is panned instead of shrunk out of reading. */
const FIT: FitLimits = { max: 1, minWidth: 0.4, minHeight: 0.6 };
const MIN_VIEW_HEIGHT = 90;
/** Room left and right of the text inside a card, in the drawing's units. */
const TEXT_INSET = 7;

/** A drawn node, kept to restyle its text on zoom and to mark the selection. */
interface DrawnNode {
  node: ShownNode;
  g: SVGGElement;
  label: SVGTextElement;
  detail: SVGTextElement;
}

export function nodeTooltip(n: ShownNode): string {
  const grouped = n.members.length > 1;
  const what = n.kind === "run"
    ? (grouped ? `${n.members.length} runs` : "run")
    : grouped ? `${n.members.length} versions (click opens the newest)` : "artifact version";
  const lines = [n.label, n.title || n.detail || "", what].filter((x) => x !== "");
  return [...new Set(lines)].join("\n");
}

/** Size of the drawing of `placed` nodes (cards and a group's stacked card 4 units up-right). */
export function drawingSize(placed: Placed[]): Size {
  let width = 0;
  let height = 0;
  for (const p of placed) {
    width = Math.max(width, p.x + NODE_W + 4);
    height = Math.max(height, p.y + NODE_H);
  }
  return { width, height };
}

function drawGraph(layer: SVGGElement, shown: ShownGraph, placed: Placed<ShownNode>[], pick: (n: ShownNode) => void): DrawnNode[] {
  clear(layer);
  const byId = new Map(placed.map((p) => [p.id, p]));
  for (const e of shown.edges) {
    const a = byId.get(e.source);
    const b = byId.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    const path = svg("path", {
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      class: `dv-lineage-edge dv-${e.kind}`,
      "marker-end": "url(#dv-arrow)",
      "stroke-width": 1.3 + Math.min(e.count - 1, 4) * 0.5,
      "data-source": e.source,
      "data-target": e.target,
    });
    path.appendChild(svg("title", {}, e.count > 1 ? `${e.kind} ×${e.count}` : e.kind));
    layer.appendChild(path);
  }
  const drawn: DrawnNode[] = [];
  for (const p of placed) {
    const n = p.node;
    const grouped = n.members.length > 1;
    const g = svg("g", {
      class: `dv-lineage-node dv-${n.kind}${grouped ? " dv-grouped" : ""}`,
      transform: `translate(${p.x},${p.y})`, "data-id": n.id, tabindex: 0, role: "button",
    });
    if (n.version !== null && n.version !== undefined) g.setAttribute("data-version", String(n.version));
    const rx = n.kind === "run" ? 20 : 4;
    // A stacked card behind a group says "several" before the label is read.
    if (grouped) g.appendChild(svg("rect", { class: "dv-stack", x: 4, y: -4, width: NODE_W, height: NODE_H, rx }));
    g.appendChild(svg("rect", { class: "dv-card", width: NODE_W, height: NODE_H, rx }));
    const label = svg("text", { class: "dv-label", x: NODE_W / 2, "text-anchor": "middle" });
    const detail = svg("text", { class: "dv-detail", x: NODE_W / 2, "text-anchor": "middle" });
    g.append(label, detail, svg("title", {}, nodeTooltip(n)));
    g.addEventListener("click", () => pick(n));
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        ev.stopPropagation(); // Enter would also put JupyterLab's active cell in edit mode
        pick(n);
      }
    });
    layer.appendChild(g);
    drawn.push({ node: n, g, label, detail });
  }
  return drawn;
}

/** Sets a node's text for the fonts of the current zoom: one or two lines, each cut to fit. */
function styleText(d: DrawnNode, fonts: Fonts, measure: Measure): void {
  const inner = NODE_W - 2 * TEXT_INSET;
  const detailText = d.node.detail ?? "";
  const lf = fonts.label;
  if (lf === null) {
    d.label.textContent = "";
    d.detail.textContent = "";
    return;
  }
  const df = detailText && fonts.detail !== null ? fonts.detail : null;
  d.label.setAttribute("font-size", String(lf));
  d.label.textContent = fitText(d.node.label, inner, lf, measure);
  if (df === null) {
    // One line, its middle on the card's middle (a capital is about 0.7 of the font size).
    d.label.setAttribute("y", String(NODE_H / 2 + lf * 0.35));
    d.detail.textContent = "";
    return;
  }
  const top = (NODE_H - (lf + 3 + df)) / 2;
  d.label.setAttribute("y", String(top + lf * 0.8));
  d.detail.setAttribute("font-size", String(df));
  d.detail.setAttribute("y", String(top + lf + 3 + df * 0.8));
  d.detail.textContent = fitText(detailText, inner, df, measure);
}

function drawOpened(footer: HTMLElement, model: LineageModel): void {
  clear(footer);
  const opened = model.get("opened");
  const error = model.get("error");
  if (opened) {
    const tables = model.get("tables") ?? [];
    const parts: Node[] = [h("span", { class: "dv-lineage-opened", text: opened })];
    if (tables.length > 1) {
      const select = h("select", { class: "dv-lineage-tables", attrs: { "aria-label": "table" } });
      for (const name of tables) {
        const option = h("option", { text: name, attrs: { value: name } });
        option.selected = name === model.get("table");
        select.appendChild(option);
      }
      select.addEventListener("change", () => {
        model.set("table", select.value);
        model.save_changes();
      });
      parts.push(h("span", { text: `${tables.length} tables:` }), select);
    } else if (tables.length === 1) {
      parts.push(h("span", { class: "dv-lineage-table", text: `table ${tables[0]}` }));
    }
    for (const p of parts) footer.appendChild(p);
  } else if (!error && model.get("can_open")) {
    footer.appendChild(h("span", { class: "dv-lineage-hint", text: "Click an artifact version to see its tables." }));
  }
  if (error) footer.appendChild(h("span", { class: "dv-lineage-error", text: error, attrs: { role: "alert" } }));
}

function button(text: string, label: string, title: string): HTMLButtonElement {
  return h("button", { class: "dv-lineage-button", text, title, attrs: { type: "button", "aria-label": label } });
}

function render({ model, el }: { model: LineageModel; el: HTMLElement }): () => void {
  const input = h("input", { attrs: { type: "checkbox" } });
  input.checked = Boolean(model.get("explode"));
  input.addEventListener("change", () => {
    model.set("explode", input.checked);
    model.save_changes();
  });
  const summary = h("span", { class: "dv-lineage-summary" });
  const zoomOut = button("−", "Zoom out", "Zoom out (−, or ctrl + wheel)");
  const zoomIn = button("+", "Zoom in", "Zoom in (+, or ctrl + wheel)");
  const fitButton = button("Fit", "Fit to view", "Fit the graph to the view (0)");
  const zoomText = h("span", { class: "dv-lineage-zoomtext", attrs: { "aria-live": "polite" } });
  const bar = h("div", { class: "dv-lineage-bar" }, [
    h("label", { class: "dv-lineage-toggle", title: "Show every run of each step and every artifact version" }, [input, h("span", { text: "Explode" })]),
    summary,
    h("span", { class: "dv-lineage-zoom" }, [zoomOut, zoomText, zoomIn, fitButton]),
  ]);
  const view = h("div", {
    class: "dv-lineage-view",
    attrs: {
      tabindex: "0",
      role: "group",
      "aria-label": "Lineage graph: drag or arrow keys pan, ctrl + wheel or + and − zoom, 0 fits",
    },
  });
  const root = svg("svg", { class: "dv-lineage-svg", width: "100%", height: "100%" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "dv-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto", markerUnits: "userSpaceOnUse" });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "dv-lineage-arrow" }));
  defs.appendChild(marker);
  const layer = svg("g", { class: "dv-lineage-layer" });
  root.append(defs, layer);
  view.appendChild(root);
  const footer = h("div", { class: "dv-lineage-footer" });
  const box = h("div", { class: "dv-lineage" }, [bar, view, footer]);
  el.appendChild(box);

  let drawn: DrawnNode[] = [];
  // Text is measured in the page's font, known once the widget is on the page.
  let measure: Measure | null = null;
  let styled = "";
  const restyle = (k: number): void => {
    if (measure === null && box.isConnected) {
      const family = getComputedStyle(box).fontFamily;
      if (family) measure = canvasMeasure(family);
    }
    const fonts = fontsAt(k, NODE_H);
    const key = `${fonts.label}/${fonts.detail}/${measure === null ? "estimate" : "measured"}`;
    if (key === styled) return;
    styled = key;
    const m = measure ?? canvasMeasure("sans-serif");
    for (const d of drawn) styleText(d, fonts, m);
  };
  const panzoom = new PanZoom(view, layer, FIT, MIN_VIEW_HEIGHT, {
    onChange: (t) => {
      zoomText.textContent = `${Math.round(t.k * 100)}%`;
      restyle(t.k);
    },
  });
  zoomOut.addEventListener("click", () => panzoom.zoomBy(0.8));
  zoomIn.addEventListener("click", () => panzoom.zoomBy(1.25));
  fitButton.addEventListener("click", () => panzoom.fit());

  const markSelected = (): void => {
    const selected = model.get("selected");
    for (const d of drawn) {
      const active = selected !== null && (d.node.id === selected || d.node.members.includes(selected));
      d.g.classList.toggle("dv-active", active);
    }
  };
  const redraw = (): void => {
    const graph = model.get("graph") ?? { nodes: [], edges: [] };
    const runs = graph.nodes.filter((n) => n.kind === "run").length;
    const versions = graph.nodes.length - runs;
    summary.textContent = `${runs} run${runs === 1 ? "" : "s"}, ${versions} artifact version${versions === 1 ? "" : "s"}`;
    input.checked = Boolean(model.get("explode"));
    const shown = collapseGraph(graph, model.get("explode"));
    const placed = layoutGraph(shown);
    drawn = drawGraph(layer, shown, placed, (n) => {
      if (panzoom.dragged) return; // the end of a drag, not a click
      model.set("selected", clickTarget(n, graph));
      model.save_changes();
    });
    styled = "";
    markSelected();
    panzoom.setContent(drawingSize(placed), model.get("height") || 400);
    restyle(panzoom.t.k); // when the view is not on the page yet, fit has not styled them
  };
  const reopen = (): void => drawOpened(footer, model);
  const events = ["change:graph", "change:explode", "change:height"];
  const opened = ["change:opened", "change:tables", "change:table", "change:error", "change:can_open"];
  for (const ev of events) model.on(ev, redraw);
  model.on("change:selected", markSelected);
  for (const ev of opened) model.on(ev, reopen);
  redraw();
  reopen();
  return () => {
    panzoom.dispose();
    for (const ev of events) model.off(ev, redraw);
    model.off("change:selected", markSelected);
    for (const ev of opened) model.off(ev, reopen);
  };
}

export default { render };
