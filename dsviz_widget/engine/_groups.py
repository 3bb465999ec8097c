"""Group-by for views: the group page (keys, count, aggregates, sample row ids) and the
exact query that opens one group (``Query.match``).

A grouped view is answered in one ``GROUP BY`` whose result is small (one row per group) and
kept in memory; opening a group needs no grouped view at all: its rows are those whose key
columns equal the key values, compared in each column's own type (:func:`match_sql`).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dsviz_widget.engine._budget import run_arrow
from dsviz_widget.engine._columns import SqlColumn, column_sql, unusable
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._query import (
    AGGREGATES,
    DEFAULT_AGGREGATES,
    Query,
    check_columns,
    parse_sort_key,
)
from dsviz_widget.engine._relation import ROW, Relation
from dsviz_widget.engine._samples import SAMPLE_ROWS, first_rows, hash_sql, staged
from dsviz_widget.engine._temporal import match_value

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine

_AGG_SQL = {"mean": "avg", "min": "min", "max": "max", "sum": "sum", "count": "count"}

#: Per relation, the float columns an aggregate has found NaN in (see :func:`group_page`):
#: a later group page aggregating one of them reads NaN as missing from the start instead of
#: scanning the rows twice. Kept as long as the engine keeps the relation; a column listed
#: here only ever costs the guard's CASE (about 6% of a scan), never a different answer.
_nan_columns: weakref.WeakKeyDictionary[Relation, set[str]] = weakref.WeakKeyDictionary()
_nan_lock = threading.Lock()


def check_group_by(columns: Mapping[str, SqlColumn], group_by: Sequence[str]) -> list[str]:
    """``group_by`` as a list, refused (naming the column) unless every key can be grouped."""
    keys = list(group_by)
    check_columns(keys, list(columns), "group_by")
    for g in keys:
        if columns[g].cls == "opaque":
            raise QueryError(f"group_by: column {g!r} {unusable(columns[g], 'grouped')}")
    return keys


def drill_query(
    columns: Mapping[str, SqlColumn], query: Query, key_values: Mapping[str, Any]
) -> Query:
    """``query`` restricted to the group of ``query.group_by`` with ``key_values``, with
    ``group_by`` removed; sort keys naming no column of the table (a group page's count or
    aggregate) are dropped. See :meth:`View.group_query`."""
    group_by = check_group_by(columns, query.group_by)
    missing = [k for k in group_by if k not in key_values]
    if missing:
        raise QueryError(f"group_query: missing values for group keys {missing}")
    match = tuple((k, key_values[k]) for k in group_by)
    names = list(columns)
    sort = [k for k in query.sort if k.lstrip("+-") in names or k in names]
    return Query(
        filter=query.filter,
        sort=sort,
        columns=query.columns,
        match=(*query.match, *match),
    )


def match_sql(
    engine: Engine, relation: Relation, match: Mapping[str, Any], params: list[object]
) -> str:
    """``key = value`` for each pair, with the value bound (appended to ``params``) and cast
    to the key column's own DuckDB type."""
    cols = relation.columns
    check_columns(list(match), list(cols), "match")
    parts = []
    for name, value in match.items():
        info = cols[name]
        # Durations are integers to DuckDB; an Arrow scalar key is read exactly.
        value = match_value(value, info.type)
        # column_sql reads NaN as null, which is how group-by keys NaN (one rule).
        col = column_sql(info)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            parts.append(f"({col} IS NULL)")
            continue
        with engine.connection(relation) as con:
            duck_type = _duck_type(con, relation, info)
            _check_castable(con, name, value, duck_type)
        params.append(value)
        # The column's own DuckDB type: exact for BIGINT/UBIGINT extremes and decimals.
        parts.append(f"({col} = CAST(${len(params)} AS {duck_type}))")
    return "(" + " AND ".join(parts) + ")"


def _check_castable(con: duckdb.DuckDBPyConnection, name: str, value: Any, duck_type: str) -> None:
    """Refuse a key value that is not of the column's type, naming the column (DuckDB
    might otherwise skip the cast, or fail with no column named)."""
    try:
        con.execute(f"SELECT CAST($1 AS {duck_type})", [value]).fetchall()
    except (duckdb.Error, TypeError, ValueError) as exc:
        raise QueryError(
            f"match: {value!r} is not a value of column {name!r} ({duck_type})"
        ) from exc


def _duck_type(con: duckdb.DuckDBPyConnection, relation: Relation, info: SqlColumn) -> str:
    got = con.execute(f"DESCRIBE SELECT {info.ident} FROM {relation.sql(con)}").fetchall()
    return str(got[0][1])


@dataclass(frozen=True)
class GroupPage:
    """Every group of a grouped view, in view order, and the names of its made columns."""

    table: pa.Table
    count_column: str
    samples_column: str


class Groups:
    """The groups of a grouped view, in two stages: keys and counts, then everything.

    :meth:`counts` is one ``GROUP BY`` of the keys with ``count(*)`` alone (what a widget
    draws first: it reads the key columns only); :meth:`table` adds the aggregates and the
    sample rows (:func:`group_page`), computed once. Both list the groups in the same order
    (the view's sort, then the keys, which tell every two groups apart), so the rows of the
    one are the rows of the other. When the sort names an aggregate or the sample rows, the
    counts cannot be ordered without them: :attr:`separable` is False and :meth:`counts`
    is a projection of :meth:`table`. Nothing runs until one of them is asked.
    """

    def __init__(
        self, engine: Engine, relation: Relation, query: Query, where: str, params: list[object]
    ) -> None:
        self._args = (engine, relation, query, where, params)
        cols = relation.columns
        self.group_by = list(query.group_by)
        self.names = _output_names(
            self.group_by,
            _aggregates(cols, query.aggregates, self.group_by, query.columns),
            query.samples,
        )
        n_keys = len(self.group_by)
        self.count_column = self.names[n_keys]
        # No sample rows (Query.samples False): no field plays that part.
        self.samples_column = self.names[-1] if query.samples else ""
        #: The fields :meth:`counts` leaves out (aggregates and sample rows), in page order.
        self.pending = self.names[n_keys + 1 :]
        self.separable = all(
            parse_sort_key(k, self.names)[0] in self.names[: n_keys + 1] for k in query.sort
        )
        self._lock = threading.Lock()
        self._counts: pa.Table | None = None
        self._full: pa.Table | None = None

    @property
    def ready(self) -> bool:
        """Whether the aggregates and sample rows are computed (:meth:`table` costs nothing)."""
        return self._full is not None

    @property
    def known(self) -> int | None:
        """The number of groups if either stage has run, else None."""
        done = self._full if self._full is not None else self._counts
        return None if done is None else done.num_rows

    def __len__(self) -> int:
        known = self.known
        return known if known is not None else self.counts().num_rows

    def counts(self) -> pa.Table:
        """Keys and count of every group, in view order (the first fields of :meth:`table`)."""
        with self._lock:
            if self._full is None and self._counts is None and self.separable:
                self._counts = _count_table(*self._args, self.names)
            if self._counts is not None:
                return self._counts
        return self.table().select(self.names[: len(self.group_by) + 1])

    def table(self) -> pa.Table:
        """Every field of every group, in view order (:func:`group_page`)."""
        with self._lock:
            if self._full is None:
                self._full = group_page(*self._args).table
            return self._full


def group_page(
    engine: Engine, relation: Relation, query: Query, where: str, params: list[object]
) -> GroupPage:
    """One row per group of ``query.group_by`` over the rows matching ``where``: the keys,
    ``count``, the aggregates and up to :data:`SAMPLE_ROWS` sample row ids.

    Aggregates of float columns first run on the plain column, without the NaN-as-missing
    CASE on every row: a mean, sum or max over values holding NaN is NaN, and a min is NaN
    only when every value is, so a result without NaN is exactly what the NaN-skipping
    aggregate gives; only when some result is NaN does the query run again with the CASE.
    The columns found holding NaN are remembered for the relation (``_nan_columns``): the
    next group page aggregating one of them runs once, with the CASE (a second scan costs
    about as much as the first; the CASE about 6% more than the plain column at 100M rows).
    """
    cols = relation.columns
    group_by = list(query.group_by)
    aggs = _aggregates(cols, query.aggregates, group_by, query.columns)
    names = _output_names(group_by, aggs, query.samples)
    n_keys = len(group_by)
    # Keys read NaN as null (column_sql): NaN and null are one group, opened by 'is null'.
    keys = [column_sql(cols[g]) for g in group_by]
    # A sort by the sample rows (odd, but a field like any other) needs them in the query.
    by_samples = query.samples and any(parse_sort_key(k, names)[0] == names[-1] for k in query.sort)
    in_rounds = query.samples and staged(relation) and not by_samples

    def run(guard: bool, samples: bool) -> pa.Table:
        return _group_table(
            engine, relation, query, where, params, keys, aggs, names, guard, samples, in_rounds
        )

    floats = {
        n_keys + 1 + j: col
        for j, (_, fn, col) in enumerate(aggs)
        if fn != "count" and cols[col].is_float
    }
    with _nan_lock:
        known = _nan_columns.get(relation, set())
        guard = any(col in known for col in floats.values())
    table = run(guard, query.samples and not in_rounds)
    if not guard:
        nan = {col for i, col in floats.items() if pc.any(pc.is_nan(table.column(i))).as_py()}
        if nan:
            with _nan_lock:
                _nan_columns.setdefault(relation, set()).update(nan)
            guard = True
            table = run(guard, query.samples and not in_rounds)
    samples: pa.Array | pa.ChunkedArray | None = None
    if in_rounds:
        samples = first_rows(
            engine,
            relation,
            where,
            params,
            keys,
            table.column("h").to_numpy(),
            table.column("n").to_numpy(),
        )
        if samples is None:  # groups not told apart by their hashes: the exact aggregate
            table = run(guard, True)
    if samples is None and query.samples:
        samples = table.column("s").cast(pa.list_(pa.int64()))
    arrays = []
    for i, g in enumerate(group_by):
        arrays.append(table.column(i).cast(cols[g].type))
    arrays.append(table.column(n_keys).cast(pa.int64()))
    for j in range(len(aggs)):
        arrays.append(table.column(n_keys + 1 + j))
    if samples is not None:
        arrays.append(samples)
    samples_column = names[-1] if query.samples else ""
    return GroupPage(pa.Table.from_arrays(arrays, names=names), names[n_keys], samples_column)


def _count_table(
    engine: Engine,
    relation: Relation,
    query: Query,
    where: str,
    params: list[object],
    names: list[str],
) -> pa.Table:
    """Keys and ``count(*)`` per group, ordered as :func:`_group_table` orders the groups
    (the sort names only keys and the count: see :attr:`Groups.separable`)."""
    cols = relation.columns
    group_by = list(query.group_by)
    n_keys = len(group_by)
    # The keys exactly as group_page makes them (NaN read as null: one group with null).
    select = [*(f"{column_sql(cols[g])} AS k{i}" for i, g in enumerate(group_by)), "count(*) AS n"]
    internal = [*(f"k{i}" for i in range(n_keys)), "n"]
    order = []
    for key in query.sort:
        name, desc = parse_sort_key(key, names)
        order.append(f"{internal[names.index(name)]} {'DESC' if desc else 'ASC'} NULLS LAST")
    order += [f"k{i} ASC NULLS LAST" for i in range(n_keys)]
    group = ", ".join(internal[:n_keys])
    with engine.connection(relation) as con:
        sql = (
            f"SELECT {', '.join(select)} FROM {relation.sql(con)} WHERE {where} "
            f"GROUP BY {group} ORDER BY {', '.join(order)}"
        )
        table = run_arrow(con, sql, params, engine.budget)
    arrays = [table.column(i).cast(cols[g].type) for i, g in enumerate(group_by)]
    arrays.append(table.column(n_keys).cast(pa.int64()))
    return pa.Table.from_arrays(arrays, names=names[: n_keys + 1])


def _group_table(
    engine: Engine,
    relation: Relation,
    query: Query,
    where: str,
    params: list[object],
    keys: list[str],
    aggs: list[tuple[str, str, str]],
    names: list[str],
    guard: bool,
    samples: bool,
    hashes: bool,
) -> pa.Table:
    """The GROUP BY: keys ``k<i>``, ``n``, aggregates ``a<j>``, then the sample rows ``s``
    (``samples``) or else, with ``hashes``, the keys' hash ``h`` (for :func:`first_rows`),
    in view order.
    ``guard``: float aggregates read NaN as missing (else the plain column; see
    :func:`group_page`)."""
    cols = relation.columns
    n_keys = len(keys)
    # Internal aliases k<i>, n, a<j>, s, h: no user name can collide with them or with SQL.
    select = [*(f"{k} AS k{i}" for i, k in enumerate(keys)), "count(*) AS n"]
    for j, (_, fn, col) in enumerate(aggs):
        info = cols[col]
        # count(x) must not count NaN: it always reads the column as the engine does.
        value = column_sql(info) if guard or fn == "count" else info.ident
        select.append(f"{_AGG_SQL[fn]}({value}) AS a{j}")
    if samples:
        select.append(f"min({ROW}, {SAMPLE_ROWS}) AS s")
    internal = [*(f"k{i}" for i in range(n_keys)), "n", *(f"a{j}" for j in range(len(aggs))), "s"]
    order = []
    for key in query.sort:
        name, desc = parse_sort_key(key, names)
        order.append(f"{internal[names.index(name)]} {'DESC' if desc else 'ASC'} NULLS LAST")
    order += [f"k{i} ASC NULLS LAST" for i in range(n_keys)]
    group = ", ".join(f"k{i}" for i in range(n_keys))
    with engine.connection(relation) as con:
        sql = f"SELECT {', '.join(select)} FROM {relation.sql(con)} WHERE {where} GROUP BY {group}"
        if hashes and not samples:
            sql = f"SELECT *, {hash_sql([f'k{i}' for i in range(n_keys)])} AS h FROM ({sql})"
        return run_arrow(con, f"{sql} ORDER BY {', '.join(order)}", params, engine.budget)


def group_fields(
    columns: Mapping[str, SqlColumn],
    group_by: Sequence[str],
    aggregates: Mapping[str, Sequence[str]] | None = None,
    shown: Sequence[str] | None = None,
) -> list[str]:
    """The field names of the group page ``group_by`` makes (keys, count, aggregates, sample
    rows, as :func:`group_page` names them), without computing it; ``shown``: the query's
    ``columns``."""
    keys = check_group_by(columns, group_by)
    return _output_names(keys, _aggregates(columns, aggregates, keys, shown))


def _aggregates(
    cols: Mapping[str, SqlColumn],
    spec: Mapping[str, Sequence[str]] | None,
    group_by: list[str],
    shown: Sequence[str] | None = None,
) -> list[tuple[str, str, str]]:
    if spec is None:
        # The default: the mean of each numeric column the query shows (every column when it
        # names none). A widget with columns hidden does not pay for their means: each
        # column read costs about as much as the count itself.
        spec = {
            c: DEFAULT_AGGREGATES
            for c, i in cols.items()
            if i.cls == "num" and c not in group_by and (shown is None or c in shown)
        }
    out: list[tuple[str, str, str]] = []
    check_columns(list(spec), list(cols), "aggregates")
    for col, funcs in spec.items():
        for fn in [funcs] if isinstance(funcs, str) else funcs:
            if fn not in AGGREGATES:
                raise QueryError(
                    f"aggregates: unknown function {fn!r}; use one of {', '.join(AGGREGATES)}"
                )
            if fn != "count" and cols[col].cls != "num":
                raise QueryError(f"aggregates: {fn}({col}) needs a numeric column")
            out.append((f"{fn}({col})", fn, col))
    return out


def _output_names(
    group_by: list[str], aggs: list[tuple[str, str, str]], samples: bool = True
) -> list[str]:
    """Names of a group page's columns: the keys keep their names; a name the engine
    makes (``count``, ``mean(x)``, ``_sample_rows``) that is already taken gets ``_``
    appended until it is unique (see :attr:`View.count_column`, :attr:`View.samples_column`)."""
    names = list(group_by)
    taken = set(names)
    for made in ["count", *(a[0] for a in aggs), *(["_sample_rows"] if samples else [])]:
        while made in taken:
            made += "_"
        taken.add(made)
        names.append(made)
    return names
