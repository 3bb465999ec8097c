"""``JoinedTable``: the join of two tables on a key column (W&B's ``wandb.JoinedTable``).

Its tables may be ``Table`` objects or the entry names of tables in the artifact it is added
to (resolved by ``Artifact.add``); the join itself is the engine's (``engine.join_sources``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dsviz_widget import _display
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget.table import Table

if TYPE_CHECKING:
    from dsviz_widget.engine import Source

#: Suffixes of a table's entry name that W&B code (``.table.json``) or ours may give.
_TABLE_SUFFIXES = (".table.json", ".table.parquet")


def _entry_name(name: str) -> str:
    for suffix in _TABLE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _added_table(part: Table | str, lookup: Callable[[str], Any]) -> Table:
    """``part`` itself, or the table added to the artifact under that entry name."""
    found = lookup(part) if isinstance(part, str) else part
    if not isinstance(found, Table):
        raise NotFoundError(
            f"JoinedTable table {part!r} is not a table of this artifact: add it first with "
            f"art.add(table, {part!r}), then add the JoinedTable"
        )
    return found


def _default_key(parts: Sequence[Table | str]) -> str:
    """The primary key of the first table that has one and shares it with the other."""
    for t, other in ((parts[0], parts[1]), (parts[1], parts[0])):
        pk = t.primary_key if isinstance(t, Table) else None
        if pk is not None and (not isinstance(other, Table) or pk in other.columns):
            return pk
    raise ValidationError(
        "JoinedTable needs a join_key: give one, or set a primary key with table.set_pk(column)"
    )


class JoinedTable:
    """The join of two tables on a key column; the tables may live in other artifacts.

    Parameters
    ----------
    table1, table2 : Table or str
        The tables, or the entry names of tables in the artifact this joined table is added
        to (``"t1"``, or W&B's ``"t1.table.json"``); names are resolved by ``Artifact.add``,
        which needs the tables added first, as W&B does.
    join_key : str or list of str, optional
        Column(s) present in both tables; default the primary key (``Table.set_pk``) of the
        first table, else of the second.

    Examples
    --------
    >>> left = Table(columns=["id", "x"], data=[[0, "a"], [1, "b"]])
    >>> right = Table(columns=["id", "y"], data=[[1, 10.0], [0, 20.0]])
    >>> jt = JoinedTable(left, right, "id")
    >>> jt.join_key
    'id'
    """

    table1: Table
    table2: Table

    def __init__(
        self,
        table1: Table | str,
        table2: Table | str,
        join_key: str | Sequence[str] | None = None,
    ) -> None:
        parts = []
        for label, t in (("table1", table1), ("table2", table2)):
            if isinstance(t, str):
                t = _entry_name(t)
            elif not isinstance(t, Table):
                raise ValidationError(
                    f"JoinedTable {label} must be a dv.Table or the entry name of a table in the "
                    f"same artifact, got {type(t).__name__}"
                )
            parts.append(t)
        #: Entry names still to resolve (``Artifact.add`` does, through :meth:`resolved`).
        self.entry_names = tuple(p for p in parts if isinstance(p, str))
        if join_key is None and not self.entry_names:
            join_key = _default_key(parts)
        keys: list[str] = (
            [] if join_key is None else [join_key] if isinstance(join_key, str) else list(join_key)
        )
        for key in keys:
            for label, t in (("first", parts[0]), ("second", parts[1])):
                if isinstance(t, Table) and key not in t.columns:
                    raise ValidationError(
                        f"join key {key!r} is not a column of the {label} table {t.columns}"
                    )
        self.table1, self.table2 = parts  # type: ignore[assignment]  # names until resolved
        #: The key column(s); None only while the tables are entry names (then the primary key).
        self.join_key: str | list[str] | None = (
            join_key if join_key is None or isinstance(join_key, str) else list(join_key)
        )
        # how -> (the parts' Sources, the join of them): kept while the parts' Sources are
        # the same, so repeated queries find the engine's views of this join.
        self._joins: dict[str, tuple[tuple[object, ...], Source]] = {}

    def resolved(self, lookup: Callable[[str], Any]) -> JoinedTable:
        """This joined table with entry names replaced by the tables ``lookup`` finds (the
        objects added to an artifact under those names)."""
        t1, t2 = (_added_table(t, lookup) for t in (self.table1, self.table2))
        return JoinedTable(t1, t2, self.join_key)

    def _tables(self) -> tuple[Table, Table]:
        if self.entry_names:
            raise ValidationError(
                f"this JoinedTable names artifact entries {list(self.entry_names)}: add it to the "
                "artifact holding them (art.add(jt, name)) and read it back with art.get(name)"
            )
        return self.table1, self.table2

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JoinedTable):
            return NotImplemented
        return (self.join_key, self.table1, self.table2) == (
            other.join_key,
            other.table1,
            other.table2,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.entry_names:
            return f"JoinedTable({self.table1!r}, {self.table2!r}, on={self.join_key!r})"
        return (
            f"JoinedTable(on={self.join_key!r}, {len(self.table1):,} x {len(self.table2):,} rows)"
        )

    def engine_source(self, how: str = "inner") -> Source:
        """The joined rows as an engine ``Source`` (``how``: inner, left or outer)."""
        from dsviz_widget.engine import join_sources

        t1, t2 = self._tables()
        assert self.join_key is not None  # set whenever both are tables
        parts = (t1.engine_source(), t2.engine_source())
        ids = tuple(p.identity for p in parts)
        hit = self._joins.get(how)
        if hit is not None and hit[0] == ids:
            return hit[1]
        joined = join_sources(parts[0], parts[1], self.join_key, how=how)
        self._joins[how] = (ids, joined)
        return joined

    def read_blob(self, digest: str) -> bytes:
        """Bytes of a media file either table refers to."""
        t1, t2 = self._tables()
        try:
            return t1.read_blob(digest)
        except NotFoundError:
            return t2.read_blob(digest)

    def query(
        self,
        filter: str | None = None,
        sort: Sequence[str] | str | None = None,
        group_by: Sequence[str] | str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 50,
        as_arrow: bool = False,
        how: str = "inner",
        aggregates: Mapping[str, Sequence[str] | str] | None = None,
    ) -> Any:
        """Query the joined rows like ``Table.query``; ``how`` is inner, left or outer."""
        from dsviz_widget._frames import run_query

        return run_query(
            lambda: self.engine_source(how),
            self.read_blob,
            filter,
            sort,
            group_by,
            columns,
            offset,
            limit,
            as_arrow,
            aggregates,
        )

    def count(self, filter: str | None = None, how: str = "inner") -> int:
        """Joined rows the filter keeps (all without one), exact; see ``Table.count``."""
        from dsviz_widget._frames import run_count

        return run_count(lambda: self.engine_source(how), filter)

    def _ipython_display_(self) -> None:
        _display.display_table(self)
