"""``table.query(...)``: pages of the engine as DataFrames for Python users.

Results come back as pandas DataFrames indexed by row number, with media cells as
``Image`` / ``Audio`` objects, the same values ``table.to_pandas()`` would hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError

if TYPE_CHECKING:
    from dsviz_widget.engine import Source

_engine: Any = None
_engine_lock = threading.Lock()


def default_engine() -> Any:
    """The process-wide engine (one DuckDB connection, created on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from dsviz_widget.engine import Engine

            _engine = Engine()
        return _engine


def _keys(value: Sequence[str] | str | None, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{what} must be a column name or a list of column names")
    return list(value)


def run_query(
    source_of: Callable[[], Source],
    read_blob: Callable[[str], bytes],
    filter: str | None = None,
    sort: Sequence[str] | str | None = None,
    group_by: Sequence[str] | str | None = None,
    columns: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 50,
    as_arrow: bool = False,
) -> Any:
    """One page of ``source_of()`` (asked for once the arguments are checked), as a
    DataFrame decoded with ``read_blob`` or, with ``as_arrow``, as the engine's Arrow page."""
    from dsviz_widget.engine import Query

    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset must be an int >= 0, got {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(f"limit must be an int >= 0, got {limit!r}")
    source = source_of()
    query = Query(
        filter=filter or None,
        sort=_keys(sort, "sort"),
        group_by=_keys(group_by, "group_by"),
        columns=list(columns) if columns is not None else None,
    )
    page = default_engine().view(source, query).page(offset, limit)
    if as_arrow:
        return page
    return to_frame(page, read_blob)


def to_frame(page: pa.Table, read_blob: Callable[[str], bytes]) -> Any:
    """A DataFrame of an engine page: media cells decoded, ``_row`` as the index."""
    import pandas as pd

    from dsviz_widget._storage import Decoder, to_pandas_column

    decoder = Decoder(page.schema, read_blob)
    names = [n for n in page.column_names if n != "_row"]
    frame = pd.DataFrame(
        {n: to_pandas_column(decoder, n, page.column(n)) for n in names}, columns=names
    )
    if "_row" in page.column_names:
        frame.index = pd.Index(page.column("_row").to_pylist(), name="_row")
    return frame
