import { describe, expect, it } from "vitest";
import { QueryController } from "../src/controller";
import { rowsStatus } from "../src/counting";
import { FakeKernel, FakeModel, FakeView } from "./fake-kernel";

/** A controller over `n` fake rows whose filtered pages come back before their count. */
async function started(n: number): Promise<{ kernel: FakeKernel; model: FakeModel; view: FakeView; query: QueryController }> {
  const kernel = FakeKernel.ofSize(n);
  kernel.countLater = true;
  kernel.holdCounts = true;
  const model = new FakeModel();
  const view = new FakeView(20);
  const query = new QueryController(model, kernel.client, view, { summaryDelayMs: 0 });
  const rows = view.next("rows");
  await query.start();
  await rows;
  return { kernel, model, view, query };
}

describe("rows first, the count right after", () => {
  it("says counting… while the count is to come, then N of M rows", async () => {
    const { kernel, model, view, query } = await started(1000);
    expect(query.status.text).toBe("t · 1,000 of 1,000 rows · 3 ms");
    expect(kernel.counts).toHaveLength(0); // an unfiltered page is counted already

    let drawn = view.next("rows");
    model.set("filter", "score > 0.3");
    await drawn;
    // The first rows are there, the grid sized to what it has, the count asked for once.
    expect(query.row(0)?.id).toBe(301);
    expect(query.numRows).toBe(100);
    expect(query.status.text).toBe("t · counting… of 1,000 rows · 3 ms");
    expect(kernel.counts).toHaveLength(1);
    expect(kernel.counts[0]?.query.filter).toBe("score > 0.3");

    drawn = view.next("rows");
    kernel.releaseCounts();
    await drawn;
    expect(query.numRows).toBe(699);
    expect(query.status.text).toBe("t · 699 of 1,000 rows · 3 ms");
    expect(query.row(0)?.id).toBe(301); // the rows drawn stay
    expect(kernel.counts).toHaveLength(1);
  });

  it("drops the count of a filter typed over before it arrived", async () => {
    const { kernel, model, view, query } = await started(1000);
    let drawn = view.next("rows");
    model.set("filter", "score > 0.3");
    await drawn;
    drawn = view.next("rows");
    model.set("filter", "score > 0.5");
    await drawn;
    expect(kernel.counts.map((c) => c.query.filter)).toEqual(["score > 0.3", "score > 0.5"]);
    kernel.releaseCounts(); // the first one was cancelled by the second: only 499 arrives
    await view.until(() => query.numRows === 499);
    expect(query.status.text).toBe("t · 499 of 1,000 rows · 3 ms");
  });

  it("asks nothing when the page was counted (a filter keeping fewer rows than a page)", async () => {
    const { kernel, model, view, query } = await started(1000);
    const drawn = view.next("rows");
    model.set("filter", "score > 0.95");
    await drawn;
    expect(query.numRows).toBe(49);
    expect(query.status.text).toBe("t · 49 of 1,000 rows · 3 ms");
    expect(kernel.counts).toHaveLength(0);
  });

  it("formats the rows part of the status line", () => {
    expect(rowsStatus(1234, 5000, false)).toBe("1,234 of 5,000 rows");
    expect(rowsStatus(100, 5000, true)).toBe("counting… of 5,000 rows");
  });
});
