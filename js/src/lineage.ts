// The lineage graph (runs and artifact versions) as SVG: layered left to right by dependency.
// Collapsed by default (one node per step, one per artifact); "Explode" shows every run and
// version. Clicking a node sets the model's `selected`; for an artifact version the kernel
// then shows its tables under the graph. Labels are SVG text, never HTML.

import "./lineage.css";
import { svg, h, clear } from "./dom";

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

/**
 * Longest-path layering (cycles are broken by ignoring back edges), then the nodes of each
 * layer ordered by the mean position of their neighbours (a few barycentre sweeps down and up,
 * which untangles most crossings of a pipeline graph), and each layer centred vertically.
 */
export function layoutGraph<N extends LineageNode>(graph: { nodes: N[]; edges: LineageEdge[] }, dx = 208, dy = 58): Placed<N>[] {
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
    return { node: n, id: n.id, layer: l, x: 20 + l * dx, y: 16 + row * dy };
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

const W = 168;
const H = 40;

function fit(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function drawGraph(area: HTMLElement, model: LineageModel): void {
  clear(area);
  const graph = model.get("graph") ?? { nodes: [], edges: [] };
  const shown = collapseGraph(graph, model.get("explode"));
  const placed = layoutGraph(shown);
  const byId = new Map(placed.map((p) => [p.id, p]));
  let width = 300;
  let height = 72;
  for (const p of placed) {
    width = Math.max(width, p.x + W + 20);
    height = Math.max(height, p.y + H + 16);
  }
  const root = svg("svg", { class: "dv-lineage-svg", width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "dv-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto", markerUnits: "userSpaceOnUse" });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "dv-lineage-arrow" }));
  defs.appendChild(marker);
  root.appendChild(defs);
  for (const e of shown.edges) {
    const a = byId.get(e.source);
    const b = byId.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    const path = svg("path", {
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      class: `dv-lineage-edge dv-${e.kind}`,
      "marker-end": "url(#dv-arrow)",
      "stroke-width": 1.3 + Math.min(e.count - 1, 4) * 0.5,
    });
    path.appendChild(svg("title", {}, e.count > 1 ? `${e.kind} ×${e.count}` : e.kind));
    root.appendChild(path);
  }
  const selected = model.get("selected");
  for (const p of placed) {
    const n = p.node;
    const grouped = n.members.length > 1;
    const active = selected !== null && (n.id === selected || n.members.includes(selected));
    const g = svg("g", {
      class: `dv-lineage-node dv-${n.kind}${grouped ? " dv-grouped" : ""}${active ? " dv-active" : ""}`,
      transform: `translate(${p.x},${p.y})`, "data-id": n.id, tabindex: 0, role: "button",
    });
    // A stacked card behind a group says "several" before the label is read.
    if (grouped) g.appendChild(svg("rect", { class: "dv-stack", x: 4, y: -4, width: W, height: H, rx: n.kind === "run" ? 20 : 4 }));
    g.appendChild(svg("rect", { class: "dv-card", width: W, height: H, rx: n.kind === "run" ? 20 : 4 }));
    const detail = n.detail ?? "";
    g.appendChild(svg("text", { class: "dv-label", x: W / 2, y: detail ? 17 : H / 2 + 4, "text-anchor": "middle" }, fit(n.label, 24)));
    if (detail) g.appendChild(svg("text", { class: "dv-detail", x: W / 2, y: 32, "text-anchor": "middle" }, fit(detail, 28)));
    const what = n.kind === "run" ? (grouped ? `${n.members.length} runs` : "run") : grouped ? `${n.members.length} versions (click opens the newest)` : "artifact version";
    g.appendChild(svg("title", {}, `${n.label}${detail ? ` (${detail})` : ""}: ${what}`));
    const pick = (): void => {
      model.set("selected", clickTarget(n, graph));
      model.save_changes();
    };
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        pick();
      }
    });
    root.appendChild(g);
  }
  area.appendChild(root);
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

function render({ model, el }: { model: LineageModel; el: HTMLElement }): () => void {
  const input = h("input", { attrs: { type: "checkbox" } });
  input.checked = Boolean(model.get("explode"));
  input.addEventListener("change", () => {
    model.set("explode", input.checked);
    model.save_changes();
  });
  const summary = h("span", { class: "dv-lineage-summary" });
  const bar = h("div", { class: "dv-lineage-bar" }, [
    h("label", { class: "dv-lineage-toggle", title: "Show every run of each step and every artifact version" }, [input, h("span", { text: "Explode" })]),
    summary,
  ]);
  const area = h("div", { class: "dv-lineage-scroll" });
  const footer = h("div", { class: "dv-lineage-footer" });
  const box = h("div", { class: "dv-lineage" }, [bar, area, footer]);
  el.appendChild(box);

  const redraw = (): void => {
    const graph = model.get("graph") ?? { nodes: [], edges: [] };
    const runs = graph.nodes.filter((n) => n.kind === "run").length;
    const versions = graph.nodes.length - runs;
    summary.textContent = `${runs} run${runs === 1 ? "" : "s"}, ${versions} artifact version${versions === 1 ? "" : "s"}`;
    input.checked = Boolean(model.get("explode"));
    area.style.maxHeight = `${model.get("height") || 400}px`;
    drawGraph(area, model);
  };
  const reopen = (): void => drawOpened(footer, model);
  const events = ["change:graph", "change:explode", "change:selected", "change:height"];
  const opened = ["change:opened", "change:tables", "change:table", "change:error", "change:can_open"];
  for (const ev of events) model.on(ev, redraw);
  for (const ev of opened) model.on(ev, reopen);
  redraw();
  reopen();
  return () => {
    for (const ev of events) model.off(ev, redraw);
    for (const ev of opened) model.off(ev, reopen);
  };
}

export default { render };
