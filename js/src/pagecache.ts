// Rows of the current query, fetched in fixed-size blocks and kept in a small LRU.
//
// The grid asks `ensure(first, last)` for the visible window; missing blocks are fetched in one
// request covering them (a newer window cancels the older fetch through the loader's signal).
// `reset()` on any query change drops everything: the browser never holds the whole table.

export interface Loaded<R> {
  rows: R[];
  /** Rows (or groups) matching the query, as counted by the kernel. */
  numRows: number;
}

export type Loader<R> = (offset: number, limit: number, signal: AbortSignal) => Promise<Loaded<R>>;

export class PageCache<R> {
  private blocks = new Map<number, R[]>();
  private generation = 0;
  private controller: AbortController | null = null;
  private wanted: [number, number] | null = null;
  numRows: number | null = null;
  lastError: unknown = null;

  constructor(
    private loader: Loader<R>,
    readonly blockSize = 100,
    readonly maxBlocks = 20,
    private readonly onChange: () => void = () => {},
  ) {}

  /** Forget every row (the query changed); pending fetches are cancelled. */
  reset(loader?: Loader<R>): void {
    if (loader) this.loader = loader;
    this.generation++;
    this.controller?.abort();
    this.controller = null;
    this.blocks.clear();
    this.numRows = null;
    this.lastError = null;
    this.wanted = null;
  }

  get(row: number): R | undefined {
    const block = this.blocks.get(Math.floor(row / this.blockSize));
    if (block === undefined) return undefined;
    // Re-insert to mark as recently used.
    const index = Math.floor(row / this.blockSize);
    this.blocks.delete(index);
    this.blocks.set(index, block);
    return block[row % this.blockSize];
  }

  has(row: number): boolean {
    return this.blocks.has(Math.floor(row / this.blockSize));
  }

  get cachedBlocks(): number {
    return this.blocks.size;
  }

  /** Make sure rows first..last (inclusive) are loaded or loading. Resolves when they are. */
  async ensure(first: number, last: number): Promise<void> {
    const lo = Math.max(0, Math.floor(first / this.blockSize));
    let hi = Math.max(lo, Math.floor(Math.max(first, last) / this.blockSize));
    if (this.numRows !== null) {
      hi = Math.min(hi, Math.max(lo, Math.ceil(this.numRows / this.blockSize) - 1));
    }
    let missingLo = -1;
    let missingHi = -1;
    for (let b = lo; b <= hi; b++) {
      if (!this.blocks.has(b)) {
        if (missingLo < 0) missingLo = b;
        missingHi = b;
      }
    }
    if (missingLo < 0 && this.numRows !== null) return;
    if (missingLo < 0) {
      missingLo = lo;
      missingHi = lo;
    }
    if (
      this.controller !== null &&
      this.wanted !== null &&
      this.wanted[0] === missingLo &&
      this.wanted[1] === missingHi
    ) {
      return; // the same fetch is already under way
    }
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.wanted = [missingLo, missingHi];
    const generation = this.generation;
    const offset = missingLo * this.blockSize;
    const limit = (missingHi - missingLo + 1) * this.blockSize;
    try {
      const loaded = await this.loader(offset, limit, controller.signal);
      if (generation !== this.generation || controller.signal.aborted) return;
      this.numRows = loaded.numRows;
      this.lastError = null;
      for (let b = missingLo; b <= missingHi; b++) {
        const start = (b - missingLo) * this.blockSize;
        const rows = loaded.rows.slice(start, start + this.blockSize);
        if (rows.length === 0 && b > missingLo) break;
        this.blocks.set(b, rows);
      }
      while (this.blocks.size > this.maxBlocks) {
        const oldest = this.blocks.keys().next().value as number;
        this.blocks.delete(oldest);
      }
    } catch (error) {
      if (generation !== this.generation || controller.signal.aborted) return;
      this.lastError = error;
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        this.wanted = null;
      }
    }
    if (generation === this.generation) this.onChange();
  }
}
