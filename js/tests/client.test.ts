import { describe, expect, it, vi, afterEach } from "vitest";
import { KERNEL_GONE, RequestClient, RequestError, type Transport } from "../src/client";
import { FakeTransport } from "./fake-transport";


const page = { query: {}, offset: 0, limit: 10 };
const pageReply = (id: string) => ({ id, kind: "page-response", offset: 0, num_rows: 5, total_rows: 9, grouped: false, elapsed_ms: 1 });

afterEach(() => vi.useRealTimers());

describe("RequestClient", () => {
  it("sends id and kind and resolves with the matching answer and its buffers", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const p = c.request("page", page);
    expect(t.sent[0]).toMatchObject({ kind: "page", offset: 0, limit: 10 });
    const id = t.sent[0]!.id;
    const buf = new DataView(new ArrayBuffer(3));
    t.reply(pageReply(id), [buf]);
    const { msg, buffers } = await p;
    expect(msg.num_rows).toBe(5);
    expect(buffers[0]).toBe(buf);
    expect(c.inFlight).toBe(0);
  });

  it("gives every request its own id and ignores answers it did not ask for", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const a = c.request("info", { wait: false });
    const b = c.request("info", { wait: false });
    expect(t.sent[0]!.id).not.toBe(t.sent[1]!.id);
    t.reply({ id: "nobody", kind: "info-response" });
    t.reply({ id: 42, kind: "info-response" });
    t.reply("garbage");
    t.reply({ id: t.sent[1]!.id, kind: "info-response", total_rows: 2 });
    await expect(b).resolves.toMatchObject({ msg: { total_rows: 2 } });
    expect(c.inFlight).toBe(1);
    t.reply({ id: t.sent[0]!.id, kind: "info-response", total_rows: 1 });
    await expect(a).resolves.toMatchObject({ msg: { total_rows: 1 } });
  });

  it("rejects with the server's error and its position", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const p = c.request("page", page);
    t.reply({ id: t.sent[0]!.id, kind: "error", request_kind: "page", error: "expected a value", position: 8 });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect(err).toMatchObject({ reason: "server", message: "expected a value", position: 8, requestKind: "page" });
  });

  it("rejects a response of the wrong kind", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const p = c.request("page", page);
    t.reply({ id: t.sent[0]!.id, kind: "summary-response" });
    await expect(p).rejects.toMatchObject({ reason: "server" });
  });

  it("times out", async () => {
    vi.useFakeTimers();
    const t = new FakeTransport();
    const c = new RequestClient(t, { timeoutMs: 1000 });
    const p = c.request("info", { wait: false });
    const check = expect(p).rejects.toMatchObject({ reason: "timeout" });
    vi.advanceTimersByTime(1001);
    await check;
    // A late answer is ignored.
    t.reply({ id: t.sent[0]!.id, kind: "info-response" });
    expect(c.inFlight).toBe(0);
  });

  it("with onSlow, waits past the timeout for a busy kernel's late answer", async () => {
    vi.useFakeTimers();
    const t = new FakeTransport();
    const c = new RequestClient(t, { timeoutMs: 1000 });
    let slow = 0;
    const p = c.request("info", { wait: false }, { onSlow: () => (slow += 1) });
    vi.advanceTimersByTime(5000);
    expect(slow).toBe(1);
    expect(c.inFlight).toBe(1);
    t.reply({ id: t.sent[0]!.id, kind: "info-response", total_rows: 7 });
    await expect(p).resolves.toMatchObject({ msg: { total_rows: 7 } });
    expect(c.inFlight).toBe(0);
  });

  it("a newer request on the same channel cancels the older one", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const older = c.request("page", page, { channel: "page" });
    const other = c.request("page", page, { channel: "elsewhere" });
    const newer = c.request("page", page, { channel: "page" });
    await expect(older).rejects.toMatchObject({ reason: "cancelled" });
    t.reply(pageReply(t.sent[0]!.id)); // the older answer arrives late: dropped
    t.reply(pageReply(t.sent[2]!.id));
    await expect(newer).resolves.toBeTruthy();
    t.reply(pageReply(t.sent[1]!.id));
    await expect(other).resolves.toBeTruthy();
  });

  it("is cancelled by an AbortSignal, before or after sending", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const ctl = new AbortController();
    const p = c.request("info", { wait: false }, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ reason: "cancelled" });
    await expect(c.request("info", { wait: false }, { signal: ctl.signal })).rejects.toMatchObject({ reason: "cancelled" });
    expect(c.inFlight).toBe(0);
  });

  it("close rejects everything pending and refuses new requests", async () => {
    const t = new FakeTransport();
    const c = new RequestClient(t);
    const p = c.request("info", { wait: false });
    c.close();
    await expect(p).rejects.toMatchObject({ reason: "closed" });
    await expect(c.request("info", { wait: false })).rejects.toMatchObject({ reason: "closed" });
  });

  it("a send the comm refuses means the kernel is gone: this and every later request say so", async () => {
    const t = new FakeTransport();
    t.send = () => { throw new Error("Cannot send"); }; // JupyterLab's comm on a disposed kernel
    const c = new RequestClient(t);
    const gone = vi.fn();
    c.onGone(gone);
    await expect(c.request("info", { wait: false })).rejects.toMatchObject({ reason: "gone", message: KERNEL_GONE });
    expect(gone).toHaveBeenCalledTimes(1);
    expect(c.kernelGone).toBe(true);
    await expect(c.request("page", page)).rejects.toMatchObject({ reason: "gone" });
    expect(KERNEL_GONE).toMatch(/re-run the cell/i);
  });

  it("the transport reporting the kernel gone fails pending requests at once, not at their timeout", async () => {
    const t = new FakeTransport();
    let report = (): void => undefined;
    const transport: Transport = {
      send: (m, b) => t.send(m),
      listen: (h) => t.listen(h),
      onGone: (h) => { report = h; return () => undefined; },
    };
    const c = new RequestClient(transport);
    const p = c.request("page", page);
    report();
    await expect(p).rejects.toMatchObject({ reason: "gone", message: KERNEL_GONE });
    expect(c.inFlight).toBe(0);
    const late = vi.fn();
    c.onGone(late); // subscribing after the fact still hears of it
    expect(late).toHaveBeenCalledTimes(1);
  });
});
