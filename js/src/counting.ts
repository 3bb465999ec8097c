// The exact row count of the current query, when the kernel sends the rows before it.
//
// A new filter's first page comes back without its count (`num_rows: null`, with
// `rows_at_least` to size the grid to): counting every matching row takes a scan the rows do
// not need. Once those rows are drawn, the controller asks for the count (one `count`
// request per query) and the status line says "counting…" until it arrives. A newer query
// forgets an unanswered count: its answer would describe other rows.

import { formatCount } from "./format";

export class RowCount {
  private exact: number | null = null;
  private pending = false;
  private asked = false;
  private generation = 0;

  constructor(
    /** Ask the kernel for the current query's count. */
    private readonly ask: () => Promise<number>,
    /** The count arrived (for the query still shown). */
    private readonly counted: (n: number) => void,
    /** Counting failed (for the query still shown). */
    private readonly failed: (error: Error) => void,
  ) {}

  /** The query changed: whatever was counted or asked describes other rows. */
  reset(): void {
    this.generation++;
    this.exact = null;
    this.pending = false;
    this.asked = false;
  }

  /** The row count a page answer lets the grid size to: exact when the page or an earlier
   * count said so, else the page's lower bound (and the count is then still to come). */
  fromPage(numRows: number | null, atLeast: number): number {
    if (numRows !== null) {
      this.exact = numRows;
      this.pending = false;
      return numRows;
    }
    if (this.exact !== null) return this.exact;
    this.pending = true;
    return atLeast;
  }

  /** Rows are shown, their exact number is not known yet. */
  get counting(): boolean {
    return this.pending && this.exact === null;
  }

  /** Ask for the count once the rows are drawn (once per query; nothing if it is known). */
  request(): void {
    if (!this.counting || this.asked) return;
    this.asked = true;
    const generation = this.generation;
    this.ask().then(
      (n) => {
        if (generation !== this.generation) return;
        this.exact = n;
        this.pending = false;
        this.counted(n);
      },
      (error: Error) => {
        if (generation !== this.generation) return;
        this.pending = false;
        this.failed(error);
      },
    );
  }
}

/** The status line's rows part: "12 of 100 rows", or "counting… of 100 rows" while the count
 * of the rows shown is still to come. */
export function rowsStatus(n: number, total: number, counting: boolean): string {
  return `${counting ? "counting…" : formatCount(n)} of ${formatCount(total)} rows`;
}
