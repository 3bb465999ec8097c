import { describe, expect, it } from "vitest";
import { clickTarget, collapseGraph, keepVersionOrder, layoutGraph, versionRange, type Graph, type LineageNode } from "../src/lineage";

describe("lineage layout", () => {
  it("layers nodes by their longest path from a source", () => {
    const placed = layoutGraph({
      nodes: [
        { id: "d", kind: "artifact", label: "d" },
        { id: "r", kind: "run", label: "r" },
        { id: "m", kind: "artifact", label: "m" },
        { id: "r2", kind: "run", label: "r2" },
      ],
      edges: [
        { source: "d", target: "r", kind: "used" },
        { source: "r", target: "m", kind: "produced" },
        { source: "d", target: "r2", kind: "used" },
        { source: "m", target: "r2", kind: "used" },
      ],
    });
    expect(Object.fromEntries(placed.map((p) => [p.id, p.layer]))).toEqual({ d: 0, r: 1, m: 2, r2: 3 });
  });

  it("survives cycles and dangling edges", () => {
    const placed = layoutGraph({
      nodes: [{ id: "a", kind: "run", label: "a" }, { id: "b", kind: "artifact", label: "b" }],
      edges: [{ source: "a", target: "b", kind: "produced" }, { source: "b", target: "a", kind: "used" },
        { source: "zz", target: "a", kind: "used" }],
    });
    expect(placed).toHaveLength(2);
    expect(new Set(placed.map((p) => `${p.x},${p.y}`)).size).toBe(2);
  });

  it("orders each layer after its neighbours, so parallel chains do not cross", () => {
    // Runs listed in one order, their outputs in the opposite: r1->m1, r2->m2, r3->m3.
    const graph = exploded();
    const placed = layoutGraph(graph);
    const y = Object.fromEntries(placed.map((p) => [p.id, p.y]));
    for (const [run, out] of [["run:a", "art:v0"], ["run:b", "art:v1"], ["run:c", "art:v2"]] as const) {
      expect(y[run]).toBe(y[out]);
    }
    // No two nodes share a place, and rows are a full node height apart.
    const spots = placed.map((p) => `${p.x},${p.y}`);
    expect(new Set(spots).size).toBe(placed.length);
    const ys = [...new Set(placed.filter((p) => p.layer === 2).map((p) => p.y))].sort((a, b) => a - b);
    expect(ys[1]! - ys[0]!).toBeGreaterThanOrEqual(50);
  });

  it("puts versions in order top to bottom, and the runs that made them beside them", () => {
    const placed = layoutGraph(exploded());
    const y = Object.fromEntries(placed.map((p) => [p.id, p.y]));
    expect(y["art:v0"]!).toBeLessThan(y["art:v1"]!);
    expect(y["art:v1"]!).toBeLessThan(y["art:v2"]!);
  });

  it("centres a short layer on a tall one", () => {
    const placed = layoutGraph(exploded());
    const data = placed.find((p) => p.id === "data:v0")!;
    const runs = placed.filter((p) => p.layer === 2).map((p) => p.y);
    expect(data.y).toBe((Math.min(...runs) + Math.max(...runs)) / 2);
  });
});

/** A dataset run making data:v0, then three train runs each using it and making one version. */
function exploded(): Graph {
  const run = (id: string, step: string): LineageNode => ({ id, kind: "run", label: step, group: `p/${step}`, step });
  const art = (id: string, name: string, version: number): LineageNode => ({ id, kind: "artifact", label: `${name}:v${version}`, group: name, step: name, version });
  return {
    nodes: [
      art("art:v2", "preds", 2), art("art:v1", "preds", 1), art("art:v0", "preds", 0), art("data:v0", "data", 0),
      run("run:a", "train"), run("run:b", "train"), run("run:c", "train"), run("run:d", "dataset"),
    ],
    edges: [
      { source: "run:d", target: "data:v0", kind: "produced" },
      { source: "data:v0", target: "run:a", kind: "used" },
      { source: "data:v0", target: "run:b", kind: "used" },
      { source: "data:v0", target: "run:c", kind: "used" },
      { source: "run:a", target: "art:v0", kind: "produced" },
      { source: "run:b", target: "art:v1", kind: "produced" },
      { source: "run:c", target: "art:v2", kind: "produced" },
    ],
  };
}

describe("collapsing runs into steps", () => {
  it("draws one node per step and per artifact, with merged edges", () => {
    const shown = collapseGraph(exploded());
    const labels = shown.nodes.map((n) => n.label).sort();
    expect(labels).toEqual(["data:v0", "dataset", "preds ×3", "train ×3"]);
    const train = shown.nodes.find((n) => n.label === "train ×3")!;
    expect(train.members.sort()).toEqual(["run:a", "run:b", "run:c"]);
    expect(train.detail).toBe("3 runs");
    const preds = shown.nodes.find((n) => n.label === "preds ×3")!;
    expect(preds.detail).toBe("v0–v2");
    const edges = shown.edges.map((e) => [e.source, e.target, e.kind, e.count]);
    expect(edges).toEqual([
      ["run:d", "data:v0", "produced", 1],
      ["data:v0", train.id, "used", 3],
      [train.id, preds.id, "produced", 3],
    ]);
  });

  it("keeps single nodes as they are, ids included, so clicks open the same thing", () => {
    const shown = collapseGraph(exploded());
    const data = shown.nodes.find((n) => n.id === "data:v0")!;
    expect(data).toMatchObject({ label: "data:v0", members: ["data:v0"] });
    expect(clickTarget(data, exploded())).toBe("data:v0");
  });

  it("opens the newest version when a group of versions is clicked", () => {
    const graph = exploded();
    const preds = collapseGraph(graph).nodes.find((n) => n.label === "preds ×3")!;
    expect(clickTarget(preds, graph)).toBe("art:v2");
    const train = collapseGraph(graph).nodes.find((n) => n.label === "train ×3")!;
    expect(clickTarget(train, graph)).toBe(train.id);
  });

  it("explode shows every run and version", () => {
    const shown = collapseGraph(exploded(), true);
    expect(shown.nodes).toHaveLength(8);
    expect(shown.edges).toHaveLength(7);
    expect(shown.nodes.every((n) => n.members.length === 1)).toBe(true);
  });

  it("keeps versions made by different steps apart, so a refining step does not loop on itself", () => {
    const graph: Graph = {
      nodes: [
        { id: "r1", kind: "run", label: "ingest", group: "/ingest", step: "ingest" },
        { id: "r2", kind: "run", label: "clean", group: "/clean", step: "clean" },
        { id: "d0", kind: "artifact", label: "data:v0", group: "data", step: "data", version: 0 },
        { id: "d1", kind: "artifact", label: "data:v1", group: "data", step: "data", version: 1 },
      ],
      edges: [
        { source: "r1", target: "d0", kind: "produced" },
        { source: "d0", target: "r2", kind: "used" },
        { source: "r2", target: "d1", kind: "produced" },
      ],
    };
    const shown = collapseGraph(graph);
    expect(shown.nodes.map((n) => n.label)).toEqual(["ingest", "clean", "data:v0", "data:v1"]);
    expect(shown.edges).toHaveLength(3);
  });

  it("groups runs by step within a project, not across projects", () => {
    const graph: Graph = {
      nodes: [
        { id: "a", kind: "run", label: "train", group: "p1/train", step: "train" },
        { id: "b", kind: "run", label: "train", group: "p2/train", step: "train" },
      ],
      edges: [],
    };
    expect(collapseGraph(graph).nodes).toHaveLength(2);
  });

  it("writes version ranges briefly", () => {
    expect(versionRange([2, 0, 1])).toBe("v0–v2");
    expect(versionRange([0, 2, 5])).toBe("v0, v2, v5");
    expect(versionRange([0, 1])).toBe("v0, v1");
    expect(versionRange([0, 2, 4, 6, 8, 10, 12])).toBe("v0, v2, v4, …, v10, v12");
  });
});

// Generous timeouts: the machines running this are shared; the layout time is printed.
describe("lineage layout of very large graphs", { timeout: 120_000 }, () => {
  // A chain data:v0 -> run 0 -> data:v1 -> run 1 -> ... : each version made from the one before.
  function chain(versions: number): Graph {
    const nodes: LineageNode[] = [];
    const edges: Graph["edges"] = [];
    for (let v = 0; v < versions; v++) {
      nodes.push({ id: `data:v${v}`, kind: "artifact", label: `data:v${v}`, group: "data", step: "data", version: v });
      if (v === 0) continue;
      nodes.push({ id: `run:${v}`, kind: "run", label: "refine", group: "p/refine", step: "refine" });
      edges.push({ source: `data:v${v - 1}`, target: `run:${v}`, kind: "used" });
      edges.push({ source: `run:${v}`, target: `data:v${v}`, kind: "produced" });
    }
    return { nodes, edges };
  }

  it("lays out an exploded chain of 50,000 versions without overflowing the stack", () => {
    const graph = chain(50_000);
    const started = performance.now();
    const placed = layoutGraph(collapseGraph(graph, true));
    const ms = performance.now() - started;
    console.log(`layout of a 50,000-version chain (${placed.length} nodes): ${ms.toFixed(0)} ms`);
    const layer = new Map(placed.map((p) => [p.id, p.layer]));
    expect(placed).toHaveLength(99_999);
    expect(layer.get("data:v0")).toBe(0);
    expect(layer.get("run:1")).toBe(1);
    expect(layer.get("data:v49999")).toBe(2 * 49_999);
    // Left to right, one node per layer, all on one row.
    expect(new Set(placed.map((p) => p.y)).size).toBe(1);
    expect(ms).toBeLessThan(20_000);
  });

  it("collapses the same chain and finds the newest version to open", () => {
    const graph = chain(50_000);
    const shown = collapseGraph(graph, false);
    const placed = layoutGraph(shown);
    expect(placed.length).toBeLessThan(5);
    const versions = shown.nodes.find((n) => n.kind === "artifact" && n.members.length > 1)!;
    expect(clickTarget(versions, graph)).toBe("data:v49999");
  });

  it("lays out a chain with a back edge (a cycle) 50,000 deep", () => {
    const graph = chain(50_000);
    graph.edges.push({ source: "data:v49999", target: "run:1", kind: "used" });
    const placed = layoutGraph(graph);
    expect(placed).toHaveLength(99_999);
    expect(new Set(placed.map((p) => `${p.x},${p.y}`)).size).toBe(placed.length);
  });

  it("lays out a wide graph: one dataset used by 50,000 runs, each making a version", () => {
    const nodes: LineageNode[] = [{ id: "data:v0", kind: "artifact", label: "data:v0", group: "data", version: 0 }];
    const edges: Graph["edges"] = [];
    for (let i = 0; i < 50_000; i++) {
      nodes.push({ id: `run:${i}`, kind: "run", label: "train", group: "p/train", step: "train" });
      nodes.push({ id: `preds:v${i}`, kind: "artifact", label: `preds:v${i}`, group: "preds", version: i });
      edges.push({ source: "data:v0", target: `run:${i}`, kind: "used" });
      edges.push({ source: `run:${i}`, target: `preds:v${i}`, kind: "produced" });
    }
    const started = performance.now();
    const placed = layoutGraph({ nodes, edges });
    const ms = performance.now() - started;
    console.log(`layout of a 50,000-wide graph (${placed.length} nodes): ${ms.toFixed(0)} ms`);
    expect(new Set(placed.map((p) => `${p.x},${p.y}`)).size).toBe(placed.length);
    const y = new Map(placed.map((p) => [p.id, p.y]));
    expect(y.get("run:123")).toBe(y.get("preds:v123")); // each run beside its version
    expect(y.get("preds:v0")!).toBeLessThan(y.get("preds:v49999")!);
    expect(ms).toBeLessThan(20_000);
  });
});

describe("exploded versions in version order", () => {
  /** Twelve versions of "data", each made by its own ingest run and read by its own eval run
   * (the last layer: nothing after it orders it), run ids sorting in an order unrelated to the
   * versions, as random ids do; nodes listed sorted by id, as dv.lineage lists them (so
   * data:v10 comes before data:v2). */
  function scrambled(): Graph {
    const nodes: LineageNode[] = [];
    const edges: Graph["edges"] = [];
    const hex = (i: number, salt: number): string => ((i * 7919 + salt) % 9973).toString(16).padStart(4, "0");
    for (let v = 0; v < 12; v++) {
      const ingest = `run:${hex(v, 17)}`, evaluate = `run:${hex(v, 4242)}`;
      nodes.push({ id: ingest, kind: "run", label: "ingest", group: "p/ingest", step: "ingest" });
      nodes.push({ id: evaluate, kind: "run", label: "eval", group: "p/eval", step: "eval" });
      nodes.push({ id: `artifact:data:v${v}`, kind: "artifact", label: `data:v${v}`, group: "data", step: "data", version: v });
      edges.push({ source: ingest, target: `artifact:data:v${v}`, kind: "produced" });
      edges.push({ source: `artifact:data:v${v}`, target: evaluate, kind: "used" });
    }
    nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodes, edges };
  }

  it("puts each artifact's versions top to bottom by number, v10 after v9", () => {
    const graph = scrambled();
    const placed = layoutGraph(collapseGraph(graph, true));
    const data = placed.filter((p) => p.node.group === "data");
    expect(data.sort((a, b) => a.y - b.y).map((p) => p.node.version)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(new Set(data.map((p) => p.x)).size).toBe(1);
  });

  it("keeps each version beside the runs that made and read it, so edges stay short and right", () => {
    const graph = scrambled();
    const placed = layoutGraph(collapseGraph(graph, true));
    const y = new Map(placed.map((p) => [p.id, p.y]));
    for (const e of graph.edges) expect(y.get(e.source)).toBe(y.get(e.target));
  });

  it("orders only versions of one artifact, in the places they held", () => {
    const nodeOf = new Map<string, LineageNode>([
      ["a10", { id: "a10", kind: "artifact", label: "a:v10", group: "a", version: 10 }],
      ["a9", { id: "a9", kind: "artifact", label: "a:v9", group: "a", version: 9 }],
      ["b1", { id: "b1", kind: "artifact", label: "b:v1", group: "b", version: 1 }],
      ["r", { id: "r", kind: "run", label: "r" }],
      ["a2", { id: "a2", kind: "artifact", label: "a:v2", group: "a", version: 2 }],
      ["b0", { id: "b0", kind: "artifact", label: "b:v0", group: "b", version: 0 }],
    ]);
    const ls = ["a10", "b1", "r", "a9", "b0", "a2"];
    keepVersionOrder(ls, nodeOf);
    expect(ls).toEqual(["a2", "b0", "r", "a9", "b1", "a10"]);
  });
});
