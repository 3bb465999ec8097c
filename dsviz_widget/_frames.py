"""``table.query(...)``: pages of the engine as DataFrames for Python users.

Results come back as pandas DataFrames indexed by row number, with media cells as
``Image`` / ``Audio`` objects, the same values ``table.to_pandas()`` would hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError

if TYPE_CHECKING:
    from dsviz_widget.engine import Source


def default_engine() -> Any:
    """The kernel's one engine (``engine.shared_engine``): the widget pages the same views."""
    from dsviz_widget.engine import shared_engine

    return shared_engine()


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
    aggregates: Mapping[str, Sequence[str] | str] | None = None,
) -> Any:
    """One page of ``source_of()`` (asked for once the arguments are checked), as a
    DataFrame decoded with ``read_blob`` or, with ``as_arrow``, as the engine's Arrow page.

    The page is read without counting the rows a filter keeps (see :func:`run_count`)."""
    from dsviz_widget.engine import Query

    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset must be an int >= 0, got {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(f"limit must be an int >= 0, got {limit!r}")
    if aggregates is not None and not group_by:
        raise ValidationError("aggregates need group_by (they are computed per group)")
    plain = not (filter or sort or group_by or aggregates)
    source = until_here(source_of, (offset, offset + limit) if plain else None)
    query = Query(
        filter=filter or None,
        sort=_keys(sort, "sort"),
        group_by=_keys(group_by, "group_by"),
        columns=list(columns) if columns is not None else None,
        aggregates=_aggregates(aggregates),
        # A group page from Python: keys, count and the aggregates asked, no sample rows.
        samples=False,
    )
    page = default_engine().view(source, query).page(offset, limit)
    if as_arrow:
        return page
    return to_frame(page, read_blob)


def run_count(source_of: Callable[[], Source], filter: str | None = None) -> int:
    """Rows of ``source_of()`` the filter keeps (all without one): exact, counted once per
    view and kept, so it costs nothing after the widget or an earlier call counted."""
    from dsviz_widget.engine import Query

    if filter is not None and not isinstance(filter, str):
        raise ValidationError(f"filter must be a string, got {type(filter).__name__}")
    # Without a filter the count is the table's row count: known, no row read.
    source = until_here(source_of, None if filter else (0, 0))
    view = default_engine().view(source, Query(filter=filter or None))
    return int(view.num_rows)


#: Seconds between checks of a waited-for Source when its callback has not come (a safety
#: net, as the widget's request worker has: the callback wakes the waiting thread).
RECHECK_SECONDS = 5.0


def until_here(source_of: Callable[[], Source], rows: tuple[int, int] | None) -> Source:
    """``source_of()`` once answering from it needs no wait for its files: a table read cold
    from a remote store may still be downloading (``Source.waiting``). The wait is here,
    *before* the engine is entered, asleep until the download's callback (``Source.when_here``;
    no busy loop), so the engine's lock is never held while a download runs: the widgets and
    other threads' queries go on meanwhile. ``rows``: the plain rows ``[start, stop)`` a
    query reads (an unfiltered, unsorted page: those within the table's head need no
    wait), or None for any query. A failed download raises its error here (typed, naming
    the table and the step); the next call fetches again."""
    source = source_of()
    if rows is not None:
        rows = (min(rows[0], source.num_rows), min(rows[1], source.num_rows))
    waited = False
    while source.waiting(rows):
        waited = True
        error = _download_ends(source, rows)
        if error is not None:
            raise error
    # Asked again: a Source made while the files were downloading reads them now.
    return source_of() if waited else source


def _aggregates(
    value: Mapping[str, Sequence[str] | str] | None,
) -> dict[str, Sequence[str]] | None:
    """``{"score": ["mean"]}`` (or ``{"score": "mean"}``) checked for shape; the engine
    checks the names and functions."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError('aggregates must be a dict such as {"score": ["mean", "max"]}')
    out: dict[str, Sequence[str]] = {}
    for column, fns in value.items():
        if not isinstance(column, str):
            raise ValidationError(f"aggregates: column names must be strings, got {column!r}")
        names = [fns] if isinstance(fns, str) else fns
        if not isinstance(names, Sequence) or not all(isinstance(f, str) for f in names):
            raise ValidationError(
                f"aggregates[{column!r}] must be a function name or a list of them (mean, ...)"
            )
        out[column] = list(names)
    return out


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


def _download_ends(source: Source, rows: tuple[int, int] | None) -> BaseException | None:
    """Sleep until the download ``source`` waits for ends (its callback wakes this thread);
    its error, or None."""
    done = threading.Event()
    outcome: list[BaseException | None] = []

    def arrived(error: BaseException | None) -> None:
        outcome.append(error)
        done.set()

    source.when_here(arrived)
    while not done.wait(RECHECK_SECONDS) and source.waiting(rows):
        pass
    return outcome[0] if outcome else None
