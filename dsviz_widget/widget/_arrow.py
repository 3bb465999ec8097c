"""Arrow for the wire: pages as IPC stream bytes, and rows fetched back by source row id."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsviz_widget.engine import Engine, Query, Source

ROW = "_row"


def to_ipc(table: pa.Table) -> bytes:
    """Serialise ``table`` as one Arrow IPC *stream* (what apache-arrow's tableFromIPC reads)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _array_summary(col: pa.ChunkedArray) -> pa.Array:
    """``array`` cells (dtype, shape, raw bytes) become a short text such as ``float32[3, 4]``."""
    out: list[str | None] = []
    for cell in col.to_pylist():
        if cell is None:
            out.append(None)
        else:
            shape = ", ".join(str(n) for n in cell.get("shape") or [])
            out.append(f"{cell.get('dtype', '?')}[{shape}]")
    return pa.array(out, pa.string())


def for_browser(table: pa.Table, kinds: dict[str, str]) -> pa.Table:
    """Make a page easy and cheap for the browser: no raw array bytes, no exotic Arrow types.

    Columns the JS decoder handles as they are (numbers, bools, strings, image/audio structs,
    lists of int64) pass through; ``array`` cells become a text summary; other native types
    (timestamps, decimals, dictionaries, nested types) become their text form.
    """
    columns: list[pa.Array | pa.ChunkedArray] = []
    names: list[str] = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        kind = kinds.get(name, "")
        t = col.type
        if kind == "array":
            col = _array_summary(col)
        elif pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
        elif pa.types.is_large_string(t):
            col = col.cast(pa.string())
        elif kind == "native" or not _plain(t):
            col = _as_text(col)
        columns.append(col)
        names.append(name)
    return pa.table(columns, names=names)


def _plain(t: pa.DataType) -> bool:
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_null(t)
    ):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _plain(t.value_type)
    if pa.types.is_struct(t):
        return all(_plain(t.field(i).type) for i in range(t.num_fields))
    return False


def _as_text(col: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    try:
        return pc.cast(col, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())


def take_rows(source: Source, rows: Sequence[int], columns: Sequence[str] | None = None,
              engine: Engine | None = None) -> pa.Table:
    """The source rows with these row ids (0-based positions in the source), in the given order.

    Parquet sources read only the row groups that hold the rows. Derived sources (joins,
    comparisons) have no storage of their own: their rows come from the engine, whose
    unsorted, unfiltered view has row ``r`` at position ``r``.
    """
    wanted = [int(r) for r in rows]
    names = list(columns) if columns is not None else None
    if any(r < 0 or r >= source.num_rows for r in wanted):
        bad = next(r for r in wanted if r < 0 or r >= source.num_rows)
        raise IndexError(f"row {bad} is out of range (the table has {source.num_rows} rows)")
    if source.arrow is None and not source.parquet:
        eng = engine or Engine()
        view = eng.view(source, Query(columns=names))
        parts = [view.page(r, 1).drop_columns([ROW]) for r in wanted]
        return pa.concat_tables(parts) if parts else view.page(0, 0).drop_columns([ROW])
    if source.arrow is not None:
        t = source.arrow if names is None else source.arrow.select(names)
        return t.take(pa.array(wanted, pa.int64()))
    # Parquet: map each row id to (file, row group, offset) through cumulative row counts.
    starts: list[int] = []
    groups: list[tuple[str, int]] = []
    total = 0
    for path in source.parquet:
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            starts.append(total)
            groups.append((path, g))
            total += meta.row_group(g).num_rows
    pieces: dict[int, pa.Table] = {}
    out_rows: list[tuple[int, int]] = []
    for r in wanted:
        gi = bisect.bisect_right(starts, r) - 1
        if gi not in pieces:
            path, g = groups[gi]
            pieces[gi] = pq.ParquetFile(path).read_row_group(g, columns=names)
        out_rows.append((gi, r - starts[gi]))
    if not out_rows:
        schema = source.schema if names is None else pa.schema([source.schema.field(n) for n in names])
        return schema.empty_table()
    parts = [pieces[gi].slice(off, 1) for gi, off in out_rows]
    return pa.concat_tables(parts)
