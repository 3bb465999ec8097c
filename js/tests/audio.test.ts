import { describe, expect, it } from "vitest";
import { AudioStore } from "../src/audio";
import { RequestClient } from "../src/client";
import { FakeTransport } from "./fake-transport";
import type { Request } from "../src/protocol";

class AudioTransport extends FakeTransport {
  answer(i: number, bytes: number): void {
    const req = this.sent[i] as Extract<Request, { kind: "blob" }>;
    const buf = new DataView(new Uint8Array(bytes).fill(7).buffer);
    this.reply({ id: req.id, kind: "blob-response", digest: req.digest, mime: "audio/wav", size: bytes }, [buf]);
  }
}

const D = (c: string): string => c.repeat(64);

describe("AudioStore", () => {
  it("asks once per digest, shares the answer and keeps it for the next cell", async () => {
    const t = new AudioTransport();
    const store = new AudioStore(new RequestClient(t));
    const a = store.get(D("a"));
    const b = store.get(D("a"));
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]).toMatchObject({ kind: "blob", digest: D("a") });
    t.answer(0, 10);
    const [x, y] = await Promise.all([a, b]);
    expect(x).toBe(y);
    expect(x.type).toBe("audio/wav");
    expect(x.size).toBe(10);
    expect(await store.get(D("a"))).toBe(x);
    expect(t.sent).toHaveLength(1);
  });

  it("drops the least recently used clips beyond its byte budget", async () => {
    const t = new AudioTransport();
    const store = new AudioStore(new RequestClient(t), 25);
    for (const [i, c] of ["a", "b", "c"].entries()) {
      const p = store.get(D(c));
      t.answer(i, 10);
      await p;
    }
    expect(store.size).toBe(2);
    void store.get(D("a"));
    expect(t.sent).toHaveLength(4); // "a" was evicted: asked again
  });

  it("forgets a failed request so the next cell can retry", async () => {
    const t = new AudioTransport();
    const client = new RequestClient(t);
    const store = new AudioStore(client);
    const p = store.get(D("e"));
    client.cancel(t.sent[0]!.id);
    await expect(p).rejects.toThrow("cancelled");
    void store.get(D("e"));
    expect(t.sent).toHaveLength(2);
  });
});
