"""Reading rows by id from a table kept in pieces (Parquet files, Arrow IPC record batches).

Row ids (``_row``) are positions in the source; a source on disk is a sequence of pieces,
piece ``k`` holding rows ``starts[k] .. starts[k + 1]``. Every engine path that reads given
ids from such pieces (the row store's batches, the exact Arrow read of Parquet files) goes
through :func:`take_pieces`, so ids are mapped to pieces, grouped and put back in the order
asked for in one place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa


def take_pieces(
    ids: np.ndarray,
    starts: np.ndarray,
    read: Callable[[int], pa.Table | pa.RecordBatch],
    empty: pa.Table,
) -> pa.Table:
    """Rows ``ids`` (in that order, repeats allowed) of a table kept in pieces.

    ``starts`` holds the first row id of each piece (and may end with the total row count);
    ``read(k)`` returns piece ``k`` with the wanted columns; each piece is read at most once.
    ``empty`` is the (column-selected) result when ``ids`` is empty.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> pieces = [pa.table({"x": [0, 1, 2]}), pa.table({"x": [3, 4]})]
    >>> take_pieces(np.array([4, 0, 3]), np.array([0, 3, 5]), pieces.__getitem__,
    ...             pieces[0].schema.empty_table()).column("x").to_pylist()
    [4, 0, 3]
    """
    ids = np.asarray(ids, dtype=np.int64)
    which = np.searchsorted(starts, ids, side="right") - 1
    by_piece = np.argsort(which, kind="stable")
    sorted_which = which[by_piece]
    cuts = np.flatnonzero(np.diff(sorted_which)) + 1
    parts: list[pa.Table] = []
    for chunk in np.split(np.arange(len(ids)), cuts):
        if not len(chunk):
            continue
        k = int(sorted_which[chunk[0]])
        local = ids[by_piece[chunk]] - starts[k]
        got = read(k).take(pa.array(local))
        parts.append(got if isinstance(got, pa.Table) else pa.Table.from_batches([got]))
    if not parts:
        return empty
    table = pa.concat_tables(parts)
    if len(ids) and not bool(np.all(by_piece[1:] > by_piece[:-1])):
        inverse = np.empty_like(by_piece)
        inverse[by_piece] = np.arange(len(by_piece))
        table = table.take(pa.array(inverse))
    return table
