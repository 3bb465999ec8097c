import { describe, expect, it } from "vitest";
import { layoutGraph } from "../src/lineage";

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
});
