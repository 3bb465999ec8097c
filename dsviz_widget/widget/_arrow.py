"""Arrow for the wire: pages as IPC stream bytes, with cells the browser can decode."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def to_ipc(table: pa.Table) -> bytes:
    """Serialise ``table`` as one Arrow IPC *stream* (what apache-arrow's tableFromIPC reads)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


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
