// The query controller in compare mode: the change definition travels with the query, the
// change counts are asked once after the first rows, transitions follow the query, and a
// transitions cell narrows the filter in force.
import { describe, expect, it } from "vitest";
import { QueryController } from "../src/controller";
import type { Request } from "../src/protocol";
import { COLUMNS, FakeKernel, FakeModel, FakeView } from "./fake-kernel";

const CHANGES = { rows: 10, counts: { label: 5, score: 10 }, always: ["score"], default: ["label"] };

/** The fake kernel, telling the controller its table is a comparison of v0 and v1. */
function compareKernel(): FakeKernel {
  const kernel = FakeKernel.ofSize(10);
  const answerRest = kernel.transport.send.bind(kernel.transport);
  kernel.transport.send = (msg: Request) => {
    if (msg.kind === "info") {
      kernel.transport.sent.push(msg);
      kernel.transport.reply({
        id: msg.id, kind: "info-response", name: "t", total_rows: 10, columns: COLUMNS, classes: {},
        class_lists: {}, overlays: {}, protocol: 1,
        compare: { labels: ["v0", "v1"], on: "id", compared: ["label", "score"] },
      });
    } else if (msg.kind === "changes") {
      kernel.transport.sent.push(msg);
      kernel.transport.reply({ id: msg.id, kind: "changes-response", ...CHANGES });
    } else if (msg.kind === "transitions") {
      kernel.transport.sent.push(msg);
    } else {
      answerRest(msg);
    }
  };
  return kernel;
}

async function started() {
  const kernel = compareKernel();
  const model = new FakeModel();
  const view = new FakeView(20);
  const query = new QueryController(model, kernel.client, view, { summaryDelayMs: 1e6 });
  const counted = view.until(() => query.changes !== null);
  await query.start();
  await counted;
  return { kernel, model, view, query };
}

const kinds = (kernel: FakeKernel) => kernel.transport.sent.map((m) => m.kind);

describe("QueryController in compare mode", () => {
  it("asks for the change counts once, after the first page", async () => {
    const { kernel, model, view, query } = await started();
    expect(kinds(kernel)).toEqual(["info", "page", "changes"]);
    expect(query.changes).toMatchObject(CHANGES);
    const rows = view.next("rows");
    model.set("filter", "score > 0.5");
    await rows;
    expect(kinds(kernel).filter((k) => k === "changes")).toHaveLength(1);
    expect(view.changes.filter((c) => c === "compare").length).toBeGreaterThanOrEqual(2);
  });

  it("sends the change columns with the query and re-queries when they change", async () => {
    const { kernel, model, view } = await started();
    expect(kernel.lastQuery).toMatchObject({ changed_only: false, change_columns: [] });
    const rows = view.next("rows");
    model.set("changed_only", true);
    model.set("change_columns", ["label"]);
    await rows;
    expect(kernel.lastQuery).toMatchObject({ changed_only: true, change_columns: ["label"] });
  });

  it("asks for transitions over the query shown, and a cell narrows the filter in force", async () => {
    const { kernel, model, query } = await started();
    model.set("filter", "score > 0.5");
    void query.transitions("label", "v0", "v1").catch(() => undefined);
    const sent = kernel.transport.sent.at(-1);
    expect(sent).toMatchObject({ kind: "transitions", column: "label", before: "v0", after: "v1", query: { filter: "score > 0.5", columns: null } });
    query.narrowFilter("label@v0 == 'cat' and label@v1 == 'dog'");
    expect(model.get("filter")).toBe("(score > 0.5) and (label@v0 == 'cat' and label@v1 == 'dog')");
  });
});
