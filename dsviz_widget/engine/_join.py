"""Joins and version comparison as relations the engine can view like any table.

A join is computed once into a *row map*: one row per output row, holding the ``_row`` of
each part (null where an outer join has no match). The output's ``_row`` is the position
in that map, so it is stable for the joined source. Queries join the map back to the
parts in SQL; a page fetches only its rows from each part by id and evaluates the same
projection over those few rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from dsviz_widget._format import META_KEY, storage_field, table_metadata
from dsviz_widget.engine._align import is_identity, row_map
from dsviz_widget.engine._background import BackgroundWorker
from dsviz_widget.engine._columns import SqlColumn, column_sql, quote_ident
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._relation import ROW, Relation, relation_for
from dsviz_widget.engine._source import Source
from dsviz_widget.engine._temporal import for_duckdb
from dsviz_widget.engine._tokens import unknown_column_message

_names = itertools.count()
#: Labels a comparison cannot use: its own per-column results are ``<c>@changed``/``<c>@delta``.
RESERVED_LABELS = ("changed", "delta")
_HOW = {"inner": "INNER", "left": "LEFT", "outer": "FULL OUTER"}


class JoinRelation:
    """Parts joined on key columns (or row by row when ``on`` is empty)."""

    def __init__(
        self,
        parts: list[Relation],
        on: list[str],
        how: str,
        labels: list[str],
        suffix_all: bool,
        compare: bool,
    ) -> None:
        if how not in _HOW:
            raise QueryError(f"how must be one of {', '.join(_HOW)}, got {how!r}")
        self.parts = parts
        self.how = how
        self.on = on
        self.labels = labels
        self.compare = compare
        self.compared: list[str] = []  # compare: the columns every version has
        self.change_counts: dict[str, int] | None = None  # compare: cached by the engine
        self.name = f"_dsviz_join{next(_names)}"
        for label, part in zip(labels, parts, strict=True):
            for key in on:
                if key not in part.columns:
                    raise QueryError(
                        f"on: {unknown_column_message(key, list(part.columns))} (in {label})"
                    )
        # Output column name -> SQL over the aliases m (map), p0, p1, ... Parts expose
        # their columns under positional aliases (ident); so does the join (c0, c1, ...).
        self.exprs: dict[str, str] = {}
        self.columns: dict[str, SqlColumn] = {}
        for key in on:
            self.exprs[key] = (
                "COALESCE("
                + ", ".join(f"p{i}.{part.columns[key].ident}" for i, part in enumerate(parts))
                + ")"
            )
            self._add(key, parts[0].columns[key].kind, parts[0].columns[key].type)
        seen: dict[str, int] = {}
        for part in parts:
            for c in part.columns:
                if c not in on:
                    seen[c] = seen.get(c, 0) + 1
        for i, (label, part) in enumerate(zip(labels, parts, strict=True)):
            for c, info in part.columns.items():
                if c in on:
                    continue
                out = f"{c}@{label}" if suffix_all or seen[c] > 1 else c
                self._add(out, info.kind, info.type)
                self.exprs[out] = f"p{i}.{info.ident}"
        self.allowed_paths = tuple(p for part in parts for p in part.allowed_paths)
        self.map = self._build_map()
        self.num_rows = self.map.num_rows
        # Every part's row i is output row i (same keys in the same order, or rows aligned
        # by position): queries line the parts up with a POSITIONAL JOIN instead of joining
        # the map back to each of them (a full-table filter on 1M rows: ~0.75 s -> see
        # benchmarks/README.md), and no row is missing from a version.
        self.positional = is_identity(self.map)
        if compare:
            self._add_compare_columns()

    def _add_compare_columns(self) -> None:
        parts = self.parts
        # The columns every version has: each gets ``<c>@changed``, a pure per-row test
        # (nulls equal nulls; a row missing from some version counts as changed), so a
        # filter, a count or a page can use it without any table-wide state.
        self.compared = [
            c
            for c in parts[0].columns
            if c not in self.on and all(c in p.columns for p in parts[1:])
        ]
        missing = [] if self.positional else [f"(m._p{i} IS NULL)" for i in range(len(parts))]
        for c in self.compared:
            # NaN is missing, as everywhere in the engine (column_sql): NaN -> null is
            # no change, and a transition groups them together.
            first = column_sql(parts[0].columns[c], "p0")
            diffs = [
                f"({column_sql(p.columns[c], f'p{i}')} IS DISTINCT FROM {first})"
                for i, p in enumerate(parts)
                if i
            ]
            name = f"{c}@changed"
            self._add(name, "bool", pa.bool_())
            self.exprs[name] = "(" + (" OR ".join(missing + diffs) or "FALSE") + ")"
        self._add("changed", "bool", pa.bool_())
        terms = missing + [self.exprs[f"{c}@changed"] for c in self.compared]
        self.exprs["changed"] = "(" + (" OR ".join(terms) or "FALSE") + ")"
        last = len(parts) - 1
        for c in self.compared:
            infos = [p.columns[c] for p in parts]
            if all(i.cls == "num" for i in infos):
                name = f"{c}@delta"
                self._add(name, "float", pa.float64())
                self.exprs[name] = (
                    f"(p{last}.{infos[-1].ident}::DOUBLE - p0.{infos[0].ident}::DOUBLE)"
                )

    def _add(self, name: str, kind: str, type_: pa.DataType) -> None:
        if name in self.columns:
            raise QueryError(
                f"the result would have two columns named {name!r}; rename one "
                "of the tables' columns or choose other labels"
            )
        self.columns[name] = SqlColumn(name, kind, type_, f"c{len(self.columns)}")

    def _build_map(self) -> pa.Table:
        return row_map(self.parts, self.on, self.how)

    def prepare(self, worker: BackgroundWorker) -> None:
        for part in self.parts:
            part.prepare(worker)

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        if self.positional:
            # No expression names the map (m) here: keys and versions read the parts, and
            # no version misses a row. The connection preserves insertion order, which is
            # what POSITIONAL JOIN pairs rows by.
            select = [f"p0.{ROW} AS {ROW}"] + [
                f"{e} AS {self.columns[n].ident}" for n, e in self.exprs.items()
            ]
            srcs = [part.sql(con) for part in self.parts]
            sql = f"SELECT {', '.join(select)} FROM {srcs[0]} p0"
            for i, src in enumerate(srcs[1:], start=1):
                sql += f" POSITIONAL JOIN {src} p{i}"
            return f"({sql})"
        name = self.name
        con.register(
            name, self.map.append_column(ROW, pa.array(np.arange(self.num_rows, dtype=np.int64)))
        )
        return self._projection(con, quote_ident(name), [part.sql(con) for part in self.parts])

    def _projection(
        self, con: duckdb.DuckDBPyConnection, map_sql: str, part_sqls: list[str]
    ) -> str:
        select = [f"m.{ROW} AS {ROW}"] + [
            f"{e} AS {self.columns[n].ident}" for n, e in self.exprs.items()
        ]
        sql = f"SELECT {', '.join(select)} FROM {map_sql} m"
        for i, psql in enumerate(part_sqls):
            sql += f" LEFT JOIN {psql} p{i} ON p{i}.{ROW} = m._p{i}"
        return f"({sql})"

    def fetch(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
    ) -> pa.Table:
        ids = np.asarray(ids, dtype=np.int64)
        small_map = self.map.take(pa.array(ids)).append_column(ROW, pa.array(ids))
        small_map = small_map.append_column("_pos", pa.array(np.arange(len(ids))))
        tag = f"{self.name}_page"
        con.register(f"{tag}_m", small_map)
        part_sqls = []
        for i, part in enumerate(self.parts):
            col = small_map.column(f"_p{i}")
            wanted = np.unique(col.drop_null().to_numpy()).astype(np.int64)
            rows = part.fetch(con, wanted, list(part.columns))
            # Back to the part's positional aliases, as its sql() has them.
            rows = rows.rename_columns([*(info.ident for info in part.columns.values()), ROW])
            # As the part's sql() gives them to DuckDB (durations as integers, wide
            # decimals as text); the projection's result is cast back below.
            con.register(f"{tag}_{i}", for_duckdb(rows))
            part_sqls.append(quote_ident(f"{tag}_{i}"))
        sql = self._projection(con, quote_ident(f"{tag}_m"), part_sqls)
        names = ", ".join(f"q.{self.columns[c].ident}" for c in columns)
        # Repeated ids would repeat in the join, so order by the page position instead.
        out = con.sql(
            f"SELECT {names}, q.{ROW} FROM {sql} q JOIN {quote_ident(tag + '_m')} pm "
            f"ON pm.{ROW} = q.{ROW} ORDER BY pm._pos"
        ).to_arrow_table()
        arrays = []
        for k, c in enumerate(columns):
            want = self.columns[c].type
            col = out.column(k)
            arrays.append(col if col.type == want else col.cast(want))
        arrays.append(out.column(len(columns)).cast(pa.int64()))
        fields = [storage_field(c, self.columns[c].kind, self.columns[c].type) for c in columns]
        schema = pa.schema([*fields, pa.field(ROW, pa.int64())], metadata=self.metadata())
        return pa.table(arrays, schema=schema)

    def metadata(self) -> dict[bytes, bytes]:
        """The parts' ``dsviz`` metadata merged: every part's classes, so image overlays in
        a joined or compared view keep their class names and colours."""
        classes: dict[str, Any] = {}
        for part in self.parts:
            source = getattr(part, "source", None)
            if source is not None:
                classes.update(source.metadata.get("classes", {}))
            elif isinstance(part, JoinRelation):
                inner = json.loads(part.metadata()[META_KEY])
                classes.update(inner.get("classes", {}))
        return table_metadata(classes)


@dataclass(frozen=True, eq=False)
class DerivedSource(Source):
    """What :func:`join_sources` and :func:`compare_sources` return: a Source whose rows
    come from other sources (neither ``arrow`` nor ``parquet`` is set). View it with an
    :class:`Engine` like any Source; its ``schema`` carries each column's kind."""

    _relation: JoinRelation | None = field(default=None, repr=False)

    @classmethod
    def of(cls, relation: JoinRelation, name: str) -> DerivedSource:
        schema = pa.schema(
            [storage_field(c, i.kind, i.type) for c, i in relation.columns.items()],
            metadata=relation.metadata(),
        )
        return cls(
            schema=schema,
            name=name,
            num_rows=relation.num_rows,
            _kinds={c: i.kind for c, i in relation.columns.items()},
            _relation=relation,
        )

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def _keys(on: str | Sequence[str] | None) -> list[str]:
    if on is None:
        return []
    return [on] if isinstance(on, str) else list(on)


def join_sources(
    left: Source | DerivedSource,
    right: Source | DerivedSource,
    on: str | Sequence[str],
    how: str = "inner",
    labels: Sequence[str] = ("left", "right"),
) -> DerivedSource:
    """Join two sources on key column(s), like ``JoinedTable``.

    The keys appear once; other columns keep their names unless both sides have them,
    then they are suffixed ``"@left"`` / ``"@right"`` (or ``labels``). Output rows are in
    left order, then right order (unmatched right rows of an outer join last).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from dsviz_widget.engine import Engine, Source, join_sources
    >>> a = Source.from_arrow(pa.table({"id": [1, 2], "image": ["a.png", "b.png"]}))
    >>> b = Source.from_arrow(pa.table({"id": [2, 1], "pred": ["dog", "cat"]}))
    >>> Engine().query(join_sources(a, b, "id")).to_pydict()
    {'id': [1, 2], 'image': ['a.png', 'b.png'], 'pred': ['cat', 'dog'], '_row': [0, 1]}
    """
    keys = _keys(on)
    if not keys:
        raise QueryError("join_sources needs at least one key column in 'on'")
    rel = JoinRelation(
        [relation_for(left), relation_for(right)],
        keys,
        how,
        list(labels),
        suffix_all=False,
        compare=False,
    )
    return DerivedSource.of(rel, f"join({_name(left)}, {_name(right)})")


def compare_sources(
    sources: Sequence[Source | DerivedSource],
    labels: Sequence[str] | None = None,
    on: str | Sequence[str] | None = None,
) -> DerivedSource:
    """Align two or more versions of a table for comparison.

    Rows are matched on ``on`` (an outer join: rows missing from a version show nulls) or,
    without ``on``, row by row (the tables must have equal lengths). Key columns appear
    once; every other column is suffixed with its version label (``"score@v0"``). A
    boolean ``changed`` column is true where any shared column differs or the row is
    missing from a version; ``"<col>@changed"`` says the same of each column the versions
    share, and ``"<col>@delta"`` is last minus first for numeric columns.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from dsviz_widget.engine import Engine, Source, compare_sources
    >>> v0 = Source.from_arrow(pa.table({"id": [1, 2], "score": [0.5, 0.9]}))
    >>> v1 = Source.from_arrow(pa.table({"id": [1, 2], "score": [0.5, 0.7]}))
    >>> cmp = compare_sources([v0, v1], on="id")
    >>> Engine().query(cmp, filter="changed", columns=["id", "score@delta"]).to_pydict()
    {'id': [2], 'score@delta': [-0.20000000000000007], '_row': [1]}
    """
    if len(sources) < 2:
        raise QueryError("compare_sources needs at least two sources")
    names = list(labels) if labels is not None else [f"v{i}" for i in range(len(sources))]
    if len(names) != len(sources) or len(set(names)) != len(names):
        raise QueryError(f"labels must be {len(sources)} distinct names, got {names}")
    for reserved in RESERVED_LABELS:
        if reserved in names:
            raise QueryError(
                f"label {reserved!r} is taken: compare names its own columns '<column>@{reserved}'; "
                "choose another label"
            )
    rel = JoinRelation(
        [relation_for(s) for s in sources], _keys(on), "outer", names, suffix_all=True, compare=True
    )
    return DerivedSource.of(rel, "compare(" + ", ".join(_name(s) for s in sources) + ")")


def _name(source: object) -> str:
    return str(getattr(source, "name", "table"))
