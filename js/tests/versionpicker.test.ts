// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { QueryController } from "../src/controller";
import { RequestClient } from "../src/client";
import type { VersionsState } from "../src/protocol";
import { VersionPicker } from "../src/versionpicker";
import { FakeKernel, FakeModel, FakeView } from "./fake-kernel";
import { FakeTransport } from "./fake-transport";

const VERSIONS: VersionsState = {
  artifact: "preds", entry: "predictions", version: "v1", label: "v1 (latest)",
  choices: [{ version: "v2", label: "v2 (candidate)" }, { version: "v0", label: "v0 (best)" }],
};

function picker(state: object = {}): { model: FakeModel; p: VersionPicker; notices: string[] } {
  const model = new FakeModel({ versions: VERSIONS as unknown as Record<string, unknown>, ...state });
  const notices: string[] = [];
  const p = new VersionPicker(model, (text) => notices.push(text));
  return { model, p, notices };
}

const options = (p: VersionPicker): string[] =>
  [...p.el.querySelectorAll("option")].map((o) => o.textContent ?? "");
const select = (p: VersionPicker): HTMLSelectElement => p.el.querySelector("select") as HTMLSelectElement;
const back = (p: VersionPicker): HTMLButtonElement => p.el.querySelector("button") as HTMLButtonElement;

describe("VersionPicker", () => {
  it("is hidden for a table not read from an artifact", () => {
    const model = new FakeModel();
    const p = new VersionPicker(model, () => undefined);
    expect(p.el.style.display).toBe("none");
    expect(p.error.style.display).toBe("none");
  });

  it("lists the other versions with their aliases, newest first", () => {
    const { p } = picker();
    expect(p.el.style.display).toBe("");
    expect(options(p)).toEqual(["Compare with…", "v2 (candidate)", "v0 (best)"]);
    expect(select(p).value).toBe("");
    expect(back(p).style.display).toBe("none");
  });

  it("says when there is nothing to compare with", () => {
    const { p } = picker({ versions: { ...VERSIONS, choices: [] } });
    expect(options(p)).toEqual(["Compare with… (no other versions)"]);
    expect(select(p).disabled).toBe(true);
  });

  it("asks the kernel for a version and waits for its answer", () => {
    const { model, p, notices } = picker();
    select(p).value = "v0";
    select(p).dispatchEvent(new Event("change"));
    expect(model.get("compared_with")).toBe("v0");
    expect(model.saves).toBe(1);
    expect(notices).toEqual(["comparing with v0…"]);
    expect(select(p).disabled).toBe(true);
    // The kernel swapped the table.
    model.set("source_generation", 1);
    expect(select(p).disabled).toBe(false);
    expect(options(p)).toEqual(["vs v2 (candidate)", "vs v0 (best)"]);
    expect(select(p).value).toBe("v0");
    expect(back(p).style.display).toBe("");
    expect(back(p).textContent).toBe("← back to v1");
    back(p).click();
    expect(model.get("compared_with")).toBe(null);
    expect(notices.at(-1)).toBe("back to v1…");
    model.set("source_generation", 2);
    expect(options(p)[0]).toBe("Compare with…");
    expect(back(p).style.display).toBe("none");
  });

  it("shows the kernel's error as text and is usable again when the kernel puts the old value back", () => {
    const { model, p } = picker();
    select(p).value = "v2";
    select(p).dispatchEvent(new Event("change"));
    const message = "preds:v2 has no entry 'predictions', so it cannot be compared with <b>x</b>";
    model.set("compared_with", null);
    expect(select(p).disabled).toBe(false);
    model.set("compare_error", message);
    expect(p.error.style.display).toBe("");
    expect(p.error.textContent).toBe(message);
    expect(p.error.querySelector("b")).toBeNull(); // never parsed as HTML
    expect(select(p).value).toBe("");
  });
});

describe("a swap of the table shown", () => {
  it("cancelAll rejects every pending request at once and ignores late answers", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const a = c.request("page", { query: {}, offset: 0, limit: 10 });
    const b = c.request("info", { wait: false });
    c.cancelAll("the widget now shows another table");
    await expect(a).rejects.toMatchObject({ reason: "cancelled", message: "the widget now shows another table" });
    await expect(b).rejects.toMatchObject({ reason: "cancelled" });
    t.reply({ id: t.sent[0]!.id, kind: "page-response", offset: 0, num_rows: 1, total_rows: 1, grouped: false, elapsed_ms: 1 });
    expect(c.inFlight).toBe(0);
  });

  it("restart asks for the new table's description and rows", async () => {
    const kernel = FakeKernel.ofSize(10);
    const model = new FakeModel();
    const view = new FakeView(20);
    const query = new QueryController(model, kernel.client, view, { summaryDelayMs: 0 });
    let rows = view.next("rows");
    await query.start();
    await rows;
    expect(query.numRows).toBe(10);
    kernel.rows.splice(4); // the kernel now shows another table, of 4 rows
    const infos = kernel.transport.sent.filter((m) => m.kind === "info").length;
    rows = view.next("rows");
    const restarted = query.restart();
    expect(query.info).toBeNull(); // nothing of the old table is described meanwhile
    expect(query.numRows).toBeNull();
    await restarted;
    await rows;
    expect(kernel.transport.sent.filter((m) => m.kind === "info").length).toBe(infos + 1);
    expect(query.info?.total_rows).toBe(4);
    expect(query.numRows).toBe(4);
    expect(query.row(0)?.id).toBe(0);
    expect(query.row(4)).toBeUndefined();
  });
});
