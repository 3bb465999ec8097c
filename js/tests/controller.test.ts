import { afterEach, describe, expect, it, vi } from "vitest";
import { PENDING } from "../src/cells";
import { QueryController } from "../src/controller";
import type { ViewState } from "../src/model";
import { FakeKernel, FakeModel, FakeView } from "./fake-kernel";

afterEach(() => {
  vi.useRealTimers();
});

interface Setup {
  kernel: FakeKernel;
  model: FakeModel;
  view: FakeView;
  query: QueryController;
}

/** A controller over a fake kernel of `n` rows, started, with its first rows loaded. */
async function started(
  n = 10, state: Partial<ViewState> = {}, visible = 20, summaryDelayMs = 0, prepare: (kernel: FakeKernel) => void = () => undefined,
): Promise<Setup> {
  const kernel = FakeKernel.ofSize(n);
  prepare(kernel);
  const model = new FakeModel(state);
  const view = new FakeView(visible);
  const query = new QueryController(model, kernel.client, view, { summaryDelayMs });
  const rows = view.next("rows");
  await query.start();
  await rows;
  return { kernel, model, view, query };
}

function ids(query: QueryController, first: number, last: number): unknown[] {
  const out: unknown[] = [];
  for (let i = first; i <= last; i++) out.push(query.row(i)?.id);
  return out;
}

describe("QueryController: the query it sends", () => {
  it("sends the model's state as the query and shows the count", async () => {
    const { kernel, query } = await started(10);
    expect(kernel.pages).toHaveLength(1);
    expect(kernel.pages[0]).toMatchObject({
      offset: 0, limit: 100,
      query: { filter: "", sort: [], group_by: [], columns: null, changed_only: false, group_row: null },
    });
    expect(query.status).toEqual({ text: "t · 10 of 10 rows · 3 ms", error: false });
    expect(ids(query, 0, 2)).toEqual([0, 1, 2]);
    expect(query.columns.map((c) => c.key)).toEqual(["id", "score", "label", "emb"]);
  });

  it("re-queries when a query trait changes and shows the new rows", async () => {
    const { kernel, model, view, query } = await started(10);
    const rows = view.next("rows");
    model.set("filter", "score > 0.5");
    model.set("sort", ["-score"]);
    await rows;
    expect(kernel.lastQuery).toMatchObject({ filter: "score > 0.5", sort: ["-score"] });
    expect(ids(query, 0, 3)).toEqual([9, 8, 7, 6]);
    expect(query.numRows).toBe(4);
    expect(query.status.text).toBe("t · 4 of 10 rows · 3 ms");
    expect(view.changes).toContain("reset");
  });

  it("lists the visible columns, with every field a compare pair needs", async () => {
    const { kernel, model, view, query } = await started(10);
    const rows = view.next("rows");
    model.set("columns", ["label", "id"]);
    await rows;
    expect(kernel.lastQuery?.columns).toEqual(["label", "id"]);
    expect(query.columns.map((c) => c.key)).toEqual(["label", "id"]);
    expect(query.row(0)?.score).toBeUndefined();
  });

  it("says why when the table cannot be described", async () => {
    const kernel = FakeKernel.ofSize(3);
    kernel.infoError = "the table was closed";
    const view = new FakeView();
    const query = new QueryController(new FakeModel(), kernel.client, view);
    await query.start();
    expect(query.status).toEqual({ text: "Could not load the table: the table was closed", error: true });
    expect(view.changes).toEqual(["status"]);
    expect(kernel.pages).toHaveLength(0);
  });
});

describe("QueryController: paging and the cache", () => {
  it("loads the visible window in page-size blocks, then only the blocks scrolled to", async () => {
    const { kernel, view, query } = await started(250, { page_size: 10 }, 15);
    expect(kernel.pages.map((p) => [p.offset, p.limit])).toEqual([[0, 20]]);
    const rows = view.next("rows");
    query.want(95, 120);
    await rows;
    expect(kernel.pages.map((p) => [p.offset, p.limit])).toEqual([[0, 20], [90, 40]]);
    expect(ids(query, 118, 120)).toEqual([118, 119, 120]);
  });

  it("reuses rows it holds: scrolling back or changing overlays asks for nothing", async () => {
    const { kernel, model, view, query } = await started(250, { page_size: 10 }, 15);
    const rows = view.next("rows");
    query.want(95, 120);
    await rows;
    const sent = kernel.transport.sent.length;
    query.want(100, 110);
    query.want(0, 15);
    model.set("score_threshold", 0.5);
    model.set("selection", [3]);
    expect(kernel.transport.sent.length).toBe(sent);
    expect(ids(query, 0, 1)).toEqual([0, 1]);
  });

  it("drops the cache when the query changes, and starts again from the top", async () => {
    const { kernel, model, view, query } = await started(250, { page_size: 10 }, 15);
    let rows = view.next("rows");
    query.want(95, 120);
    await rows;
    rows = view.next("rows");
    model.set("sort", ["-id"]);
    await rows;
    expect(kernel.pages.at(-1)).toMatchObject({ offset: 0, limit: 20, query: { sort: ["-id"] } });
    expect(query.row(100)).toBeUndefined();
    expect(ids(query, 0, 1)).toEqual([249, 248]);
  });

  it("bounds the page size the model asks for to 10..1000 rows", async () => {
    const { kernel, model, view } = await started(50, {}, 5);
    let rows = view.next("rows");
    model.set("page_size", 5000);
    await rows;
    expect(kernel.pages.at(-1)?.limit).toBe(1000);
    rows = view.next("rows");
    model.set("page_size", 3);
    await rows;
    expect(kernel.pages.at(-1)?.limit).toBe(10);
  });
});

describe("QueryController: errors", () => {
  it("a bad filter keeps the last good rows and reports where the error is", async () => {
    const { kernel, model, view, query } = await started(10);
    let rows = view.next("rows");
    model.set("filter", "score > 0.5");
    await rows;
    expect(query.numRows).toBe(4);

    rows = view.next("rows");
    model.set("filter", "score >");
    await rows;
    // The typed filter went out, failed, and the last good one was run again.
    expect(kernel.pages.slice(-2).map((p) => p.query.filter)).toEqual(["score >", "score > 0.5"]);
    expect(query.filterShown).toEqual({ message: "expected a value", position: 7 });
    expect(query.numRows).toBe(4);
    expect(ids(query, 0, 3)).toEqual([6, 7, 8, 9]);
    expect(query.status).toEqual({ text: "t · 4 of 10 rows · 3 ms", error: false });
    expect(query.spec().filter).toBe("score > 0.5");

    // Fixing it clears the error and applies the new filter.
    rows = view.next("rows");
    model.set("filter", "score > 0.7");
    await rows;
    expect(query.filterShown).toBeNull();
    expect(query.numRows).toBe(2);
    expect(kernel.lastQuery?.filter).toBe("score > 0.7");
  });

  it("keeps the error while the override runs, across a page-size change", async () => {
    const { model, view, query } = await started(10);
    let rows = view.next("rows");
    model.set("filter", "label ==");
    await rows;
    expect(query.filterShown?.position).toBe(8);
    rows = view.next("rows");
    model.set("page_size", 50);
    await rows;
    expect(query.filterShown).toEqual({ message: "expected a value", position: 8 });
    expect(query.spec().filter).toBe("");
  });

  it("a kernel error on the good filter shows in the status line, not as stale rows", async () => {
    const { kernel, model, view, query } = await started(10);
    kernel.failNext = "out of memory: raise Engine(memory_limit=)";
    const status = view.next("status");
    model.set("sort", ["score"]);
    await status;
    expect(query.status).toEqual({ text: "t · out of memory: raise Engine(memory_limit=)", error: true });
    expect(query.filterShown).toEqual({ message: "out of memory: raise Engine(memory_limit=)", position: -1 });
    expect(query.numRows).toBeNull();
    expect(kernel.pages.at(-1)?.query.filter).toBe(""); // not retried
  });
});

describe("QueryController: summaries", () => {
  it("asks for one summary per visible column that has one, over every matching row", async () => {
    const { kernel, view, query } = await started(10);
    await view.until(() => query.summaries.size === 3);
    expect(kernel.summaries.map((s) => s.column)).toEqual(["id", "score", "label"]); // not the array
    for (const s of kernel.summaries) expect(s.query.columns).toBeNull();
    expect(query.summaries.get("score")).toMatchObject({ type: "histogram", min: 0, max: 0.9 });
    expect(view.changes.filter((c) => c === "header").length).toBeGreaterThanOrEqual(3);
  });

  it("follows the visible columns and the filter, and drops stale summaries", async () => {
    const { kernel, model, view, query } = await started(10);
    await view.until(() => query.summaries.size === 3);
    const before = kernel.summaries.length;
    model.set("columns", ["score"]);
    model.set("filter", "score > 0.5");
    expect(query.summaries.size).toBe(0);
    await view.until(() => query.summaries.size === 1);
    const asked = kernel.summaries.slice(before);
    expect(asked.map((s) => s.column)).toEqual(["score"]);
    expect(asked[0]?.query.filter).toBe("score > 0.5");
    expect(query.summaries.get("score")).toMatchObject({ min: 0.6, max: 0.9 });
  });

  it("waits for a pause in the user's edits before asking", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { kernel, model, view, query } = await started(10, {}, 20, 400);
    for (const f of ["score > 0.1", "score > 0.2", "score > 0.3"]) {
      const rows = view.next("rows");
      model.set("filter", f);
      await rows;
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(kernel.summaries).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(kernel.summaries.map((s) => [s.column, s.query.filter])).toEqual([
      ["id", "score > 0.3"], ["score", "score > 0.3"], ["label", "score > 0.3"],
    ]);
    await view.until(() => query.summaries.size === 3);
  });

  it("asks for none on a group page", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { kernel, view, query } = await started(10, {}, 20, 400);
    await vi.advanceTimersByTimeAsync(400);
    const before = kernel.summaries.length;
    expect(before).toBe(3);
    const rows = view.next("rows");
    query.groupBy("label");
    await rows;
    await vi.advanceTimersByTimeAsync(400);
    expect(query.grouped).toBe(true);
    expect(kernel.summaries.length).toBe(before);
  });
});

describe("QueryController: groups", () => {
  it("grouping keeps the sort for the kernel to fit, and shows group rows with their count", async () => {
    const { kernel, model, view, query } = await started(10, { sort: ["score"] });
    let rows = view.next("rows");
    query.groupBy("label");
    await rows;
    expect(model.get("sort")).toEqual(["score"]);
    expect(kernel.lastQuery).toMatchObject({ group_by: ["label"], group_row: null, sort: ["score"] });
    expect(query.sortKeys).toEqual([]); // what the kernel applied to the groups
    rows = view.next("rows");
    query.ungroup("label");
    await rows;
    expect(query.sortKeys).toEqual(["score"]); // the rows' sort is back
    rows = view.next("rows");
    query.groupBy("label");
    await rows;
    expect(query.grouped).toBe(true);
    expect(query.columns.map((c) => c.label)).toEqual(["label", "count", "mean(score)"]); // sample rows hidden
    expect(query.status.text).toBe("t · 2 groups · 10 rows · 3 ms");
    expect(query.row(0)).toMatchObject({ label: "dog", count: 5 });
  });

  /** Grouped by label, the groups' values held back by the kernel. */
  async function groupedHeld(): Promise<Setup> {
    const setup = await started(10);
    setup.kernel.holdGroups = true;
    const rows = setup.view.next("rows");
    setup.query.groupBy("label");
    await rows;
    return setup;
  }

  it("draws the groups with their counts first and the values still coming as pending, then fills them in", async () => {
    const { kernel, view, query } = await groupedHeld();
    // The columns of every field, from the first reply: nothing moves when the rest comes.
    expect(query.columns.map((c) => c.label)).toEqual(["label", "count", "mean(score)"]);
    expect(query.row(0)).toMatchObject({ label: "dog", count: 5, "mean(score)": PENDING, _sample_rows: PENDING });
    expect(kernel.groupsAsked.map((m) => [m.query.group_by, m.offset])).toEqual([[["label"], 0]]);
    const repaint = view.next("repaint");
    kernel.releaseGroups();
    await repaint;
    expect(query.row(0)).toMatchObject({ label: "dog", count: 5, _sample_rows: [0, 2, 4] });
    expect(query.row(0)?.["mean(score)"]).toBeCloseTo(0.4, 12);
    expect(query.row(1)?.["mean(score)"]).toBeCloseTo(0.5, 12);
  });

  it("opens a group clicked before its sample rows arrived once they do", async () => {
    const { kernel, view, query } = await groupedHeld();
    query.openGroup(query.row(1)!); // cat: no sample row to open by yet
    expect(kernel.lastQuery?.group_row).toBeNull();
    const rows = view.next("rows");
    kernel.releaseGroups();
    await rows;
    expect(kernel.lastQuery).toMatchObject({ group_by: ["label"], group_row: 1 });
    expect(query.grouped).toBe(false);
  });

  it("drops the values of groups no longer shown", async () => {
    const { kernel, view, query } = await groupedHeld();
    const rows = view.next("rows");
    query.ungroup("label");
    await rows;
    const before = view.changes.length;
    kernel.releaseGroups();
    await Promise.resolve();
    expect(view.changes.slice(before)).not.toContain("repaint");
    expect(query.row(0)).not.toHaveProperty("mean(score)");
  });

  it("drills into a group by one of its rows, names it, and comes back", async () => {
    const { kernel, model, view, query } = await started(10);
    let rows = view.next("rows");
    query.groupBy("label");
    await rows;
    const cat = query.row(1);
    expect(cat?.label).toBe("cat");

    rows = view.next("rows");
    query.openGroup(cat!);
    await rows;
    expect(kernel.lastQuery).toMatchObject({ group_by: ["label"], group_row: 1, sort: [] });
    expect(model.get("group_row")).toBe(1);
    expect(query.grouped).toBe(false);
    expect(query.groupKey).toEqual([["label", "cat"]]);
    expect(view.changes).toContain("chips");
    expect(ids(query, 0, 4)).toEqual([1, 3, 5, 7, 9]);
    expect(query.status.text).toBe("t · 5 of 10 rows · 3 ms");

    rows = view.next("rows");
    query.closeGroup();
    await rows;
    expect(kernel.lastQuery).toMatchObject({ group_by: ["label"], group_row: null });
    expect(query.grouped).toBe(true);
    expect(query.groupKey).toBeNull();
  });

  it("ungrouping by the last key goes back to the rows", async () => {
    const { kernel, view, query } = await started(10);
    let rows = view.next("rows");
    query.groupBy("label");
    await rows;
    rows = view.next("rows");
    query.ungroup("label");
    await rows;
    expect(kernel.lastQuery).toMatchObject({ group_by: [], group_row: null });
    expect(query.grouped).toBe(false);
    expect(query.numRows).toBe(10);
  });
});

describe("QueryController: capabilities come from the kernel", () => {
  it("offers grouping and sorting only where the engine can", async () => {
    const { model, query } = await started(10);
    expect(query.groupChoices().map((c) => c.name)).toEqual(["id", "score", "label"]);
    const emb = query.columns.find((c) => c.key === "emb")!;
    const score = query.columns.find((c) => c.key === "score")!;
    expect(query.sortable(emb)).toBe(false);
    query.sortBy(emb, false);
    expect(model.get("sort")).toEqual([]);
    query.sortBy(score, false);
    expect(model.get("sort")).toEqual(["score"]);
    query.sortBy(score, false);
    expect(model.get("sort")).toEqual(["-score"]);
    query.sortBy(query.columns.find((c) => c.key === "id")!, true);
    expect(model.get("sort")).toEqual(["-score", "id"]);
    // A field the table does not have (a group page's count) sorts like a number.
    expect(query.can("count", "sortable")).toBe(true);
  });

  it("does not offer a column already grouped by", async () => {
    const { view, query } = await started(10);
    const rows = view.next("rows");
    query.groupBy("label");
    await rows;
    expect(query.groupChoices().map((c) => c.name)).toEqual(["id", "score"]);
  });
});

describe("QueryController: a provisional description becomes exact in place", () => {
  const box = (classes: number[]): { boxes: boolean; scores: boolean; masks: boolean; box_classes: Record<string, number[]>; mask_classes: Record<string, number[]>; exact: boolean } =>
    ({ boxes: true, scores: true, masks: true, box_classes: { L: classes }, mask_classes: { L: classes }, exact: false });
  const PROVISIONAL = { image: box([1, 2]) };
  const EXACT = { image: { ...box([2]), scores: false, masks: false, mask_classes: {}, exact: true } };

  const provisional = (): Promise<Setup> => started(10, {}, 20, 0, (kernel) => { kernel.provisional = PROVISIONAL; });

  it("asks once more, waiting, and shows the exact one without reloading the rows", async () => {
    const { kernel, model, view, query } = await provisional();
    expect(kernel.infos.map((m) => m.wait)).toEqual([false, true]);
    expect(query.info?.provisional).toBe(true);
    expect(query.info?.overlays).toEqual(PROVISIONAL);
    // The user filters while the file downloads.
    let rows = view.next("rows");
    model.set("filter", "score > 0.5");
    await rows;
    const pages = kernel.pages.length;
    view.changes = [];
    const info = view.next("info");
    kernel.settle(EXACT);
    await info;
    expect(query.info?.provisional).toBe(false);
    expect(query.info?.overlays).toEqual(EXACT);
    expect(query.classes.get("L")?.get(2)?.name).toBe("dog");
    // In place: no reset, no new page; the filter, the rows and the status stay.
    expect(view.changes).not.toContain("reset");
    expect(kernel.pages).toHaveLength(pages);
    expect(model.get("filter")).toBe("score > 0.5");
    expect(query.numRows).toBe(4);
    expect(query.status).toEqual({ text: "t · 4 of 10 rows · 3 ms", error: false });
    expect(kernel.infos).toHaveLength(2); // asked once: no polling
    rows = view.next("rows");
    model.set("filter", "");
    await rows;
    expect(kernel.infos).toHaveLength(2);
  });

  it("keeps the provisional one, says why when the download failed, and asks again with the next query", async () => {
    const { kernel, model, view, query } = await provisional();
    const status = view.next("status");
    kernel.settle(new Error("RemoteStoreError: cars:v0/data: fetching object 1234"));
    await status;
    expect(query.info?.overlays).toEqual(PROVISIONAL);
    expect(query.status).toEqual({
      text: "t · The table's description stays provisional: RemoteStoreError: cars:v0/data: fetching object 1234", error: true,
    });
    expect(query.numRows).toBe(10);
    // The next query asks once more (the kernel fetches the file again); exact this time.
    const rows = view.next("rows");
    model.set("filter", "score > 0.5");
    await rows;
    expect(kernel.infos.map((m) => m.wait)).toEqual([false, true, true]);
    const info = view.next("info");
    kernel.settle(EXACT);
    await info;
    expect(query.info?.overlays).toEqual(EXACT);
    expect(query.status).toEqual({ text: "t · 4 of 10 rows · 3 ms", error: false });
    model.set("filter", "");
    expect(kernel.infos).toHaveLength(3); // exact now: nothing more to ask
  });

  it("drops the exact one of a table no longer shown", async () => {
    const { kernel, query } = await provisional();
    kernel.provisional = null;
    kernel.client.cancelAll("the widget now shows another table");
    await query.restart();
    expect(query.info?.provisional).toBe(false);
    kernel.settle(EXACT); // too late: the request was cancelled
    expect(query.info?.overlays).toEqual({});
  });

  it("leaves nothing waiting when the widget closes meanwhile", async () => {
    const { kernel, view, query } = await provisional();
    expect(kernel.client.inFlight).toBe(1); // the description that waits
    view.changes = [];
    kernel.client.close();
    query.destroy();
    await Promise.resolve();
    expect(kernel.client.inFlight).toBe(0);
    expect(view.changes).toEqual([]); // nothing said: the widget is gone
    kernel.settle(EXACT); // a late answer changes nothing
    expect(query.info?.overlays).toEqual(PROVISIONAL);
  });

  it("asks nothing more of a description that is exact already", async () => {
    const { kernel, query } = await started(10);
    expect(kernel.infos.map((m) => m.wait)).toEqual([false]);
    expect(query.info?.provisional).toBe(false);
  });
});
