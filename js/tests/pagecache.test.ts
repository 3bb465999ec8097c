import { describe, expect, it } from "vitest";
import { PageCache, type Loader } from "../src/pagecache";

function rows(offset: number, limit: number, total: number): number[] {
  const out: number[] = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) out.push(i);
  return out;
}

function recording(total: number): { loader: Loader<number>; calls: [number, number][] } {
  const calls: [number, number][] = [];
  const loader: Loader<number> = async (offset, limit) => {
    calls.push([offset, limit]);
    return { rows: rows(offset, limit, total), numRows: total };
  };
  return { loader, calls };
}

describe("PageCache", () => {
  it("loads whole blocks covering the window in one request", async () => {
    const { loader, calls } = recording(1000);
    const cache = new PageCache(loader, 50);
    await cache.ensure(40, 120);
    expect(calls).toEqual([[0, 150]]);
    expect(cache.get(0)).toBe(0);
    expect(cache.get(149)).toBe(149);
    expect(cache.get(150)).toBeUndefined();
    expect(cache.numRows).toBe(1000);
  });

  it("does not refetch what it holds, and fetches only missing blocks", async () => {
    const { loader, calls } = recording(1000);
    const cache = new PageCache(loader, 50);
    await cache.ensure(0, 60);
    await cache.ensure(10, 30);
    await cache.ensure(60, 160);
    expect(calls).toEqual([[0, 100], [100, 100]]);
  });

  it("stops at the end of the data", async () => {
    const { loader, calls } = recording(120);
    const cache = new PageCache(loader, 50);
    await cache.ensure(0, 10);
    await cache.ensure(100, 400);
    expect(calls).toEqual([[0, 50], [100, 50]]);
    expect(cache.get(119)).toBe(119);
  });

  it("evicts least recently used blocks beyond its limit", async () => {
    const { loader } = recording(10_000);
    const cache = new PageCache(loader, 10, 3);
    for (const start of [0, 10, 20, 30]) await cache.ensure(start, start);
    expect(cache.cachedBlocks).toBe(3);
    expect(cache.has(0)).toBe(false);
    expect(cache.has(30)).toBe(true);
  });

  it("a newer window cancels an older fetch; reset drops stale answers", async () => {
    const pending: { offset: number; signal: AbortSignal; resolve: () => void }[] = [];
    const loader: Loader<number> = (offset, limit, signal) =>
      new Promise((resolve) => {
        pending.push({ offset, signal, resolve: () => resolve({ rows: rows(offset, limit, 1000), numRows: 1000 }) });
      });
    let changes = 0;
    const cache = new PageCache(loader, 10, 20, () => changes++);
    const first = cache.ensure(0, 5);
    const second = cache.ensure(500, 505);
    expect(pending[0]!.signal.aborted).toBe(true);
    pending[0]!.resolve();
    pending[1]!.resolve();
    await Promise.all([first, second]);
    expect(cache.has(0)).toBe(false);
    expect(cache.get(500)).toBe(500);
    expect(changes).toBe(1);

    const third = cache.ensure(0, 5);
    cache.reset();
    pending[2]!.resolve();
    await third;
    expect(cache.has(0)).toBe(false);
    expect(cache.numRows).toBeNull();
  });

  it("records a failed fetch and retries later", async () => {
    let fail = true;
    const loader: Loader<number> = async (offset, limit) => {
      if (fail) throw new Error("kernel busy");
      return { rows: rows(offset, limit, 30), numRows: 30 };
    };
    const cache = new PageCache(loader, 10);
    await cache.ensure(0, 5);
    expect((cache.lastError as Error).message).toBe("kernel busy");
    fail = false;
    await cache.ensure(0, 5);
    expect(cache.lastError).toBeNull();
    expect(cache.get(3)).toBe(3);
  });
});
