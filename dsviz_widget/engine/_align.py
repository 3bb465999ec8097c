"""Row maps: which row of each part makes each row of a join or comparison.

A row map has one column ``_p<i>`` per part, holding that part's ``_row`` (null where an
outer or left join found no match). Its rows are ordered by ``_p0, _p1, ...`` with nulls
last. The rules are those of the SQL chain the map used to be computed with, and which
still computes it when the fast path does not apply (:func:`row_map_duckdb`)::

    p0 <how> JOIN p1 ON p0.k = p1.k <how> JOIN p2 ON COALESCE(p0.k, p1.k) = p2.k ...

so null keys never match, duplicate keys give every pairing, and unmatched rows of an
outer join follow in the order of their part.

Why not always DuckDB: its join hashes both sides, sorts the result and needs a connection
of its own (~35 ms to open); on two 1M-row versions that was 0.3-0.4 s before anything
could be shown. The fast path reads only the key columns (column projection in Parquet,
zero-copy in memory) and:

- returns the identity when every part holds the same unique keys in the same order (the
  common case: predictions written in dataset order), after one comparison per row;
- otherwise matches integer keys (strings: codes from one shared dictionary) with a
  direct-address table when they are unique and dense enough, else by sorting the right
  side and binary searching it. Each step keeps the left side's order and appends the
  right side's unmatched rows in order, so the map comes out already ordered.

Keys of other types (floats, whose NaN and -0.0 equalities DuckDB defines, timestamps,
decimals, keys of different kinds in different parts) and parts that are themselves joins
go to DuckDB, so the answer never depends on which path ran.

The second half of the module answers "what changed" (the change counts, the changed
count, transitions) from the compared columns lined up by the map, for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsviz_widget.engine._budget import Budget, memory_limit, query_timeout
from dsviz_widget.engine._connection import open_connection
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._relation import ROW, ArrowRelation, ParquetRelation, Relation

JOIN_SQL = {"inner": "INNER", "left": "LEFT", "outer": "FULL OUTER"}
# The fast path holds the keys and a few arrays of row indices in memory (~40-50 bytes a
# row at its peak); above this many rows in all, DuckDB joins within its memory limit instead.
FAST_MAX_ROWS = 24_000_000
# A direct-address table is used while the keys' range is at most this many times the
# number of rows (plus a little): its memory stays a small multiple of the keys' own.
_DENSE_FACTOR = 4
# Combined codes of several key columns are re-numbered before they could overflow.
_CODE_LIMIT = 1 << 62

# One part's key: a code per row (int64) and whether the key is present (no null in it).
Codes = tuple[np.ndarray, np.ndarray]


def row_map(parts: Sequence[Relation], on: Sequence[str], how: str) -> pa.Table:
    """The row map of ``parts`` joined on ``on`` (``how``: inner, left or outer).

    Without ``on`` the parts are aligned row by row and must have equal lengths.
    """
    if how not in JOIN_SQL:
        raise QueryError(f"how must be one of {', '.join(JOIN_SQL)}, got {how!r}")
    if not on:
        n = {p.num_rows for p in parts}
        if len(n) != 1:
            raise QueryError(
                "without 'on', the tables are aligned row by row and must have the same "
                f"number of rows; got {', '.join(str(p.num_rows) for p in parts)}"
            )
        return _map_table([np.arange(n.pop(), dtype=np.int64)] * len(parts))
    fast = fast_row_map(parts, on, how)
    return fast if fast is not None else row_map_duckdb(parts, on, how)


def fast_row_map(parts: Sequence[Relation], on: Sequence[str], how: str) -> pa.Table | None:
    """The row map from the key columns alone, or None when the keys' types or the parts
    are not handled here (see the module's docstring)."""
    if sum(p.num_rows for p in parts) > FAST_MAX_ROWS:
        return None
    keys = [_key_columns(part, on) for part in parts]
    codes = _encode(keys) if all(k is not None for k in keys) else None
    return None if codes is None else _map_table(align_codes(codes, how))


def row_map_duckdb(parts: Sequence[Relation], on: Sequence[str], how: str) -> pa.Table:
    """The row map computed by DuckDB: the reference the fast path must agree with, and
    the path for keys it does not handle."""
    # The join runs before any Engine sees it: the default budget (environment) applies.
    budget = Budget(memory_limit(), query_timeout())
    allowed = tuple(p for part in parts for p in part.allowed_paths)
    con = open_connection(allowed, memory_limit=budget.memory)
    try:
        srcs = [part.sql(con) for part in parts]
        sql = f"SELECT p0.{ROW} AS _p0"
        for i in range(1, len(parts)):
            sql += f", p{i}.{ROW} AS _p{i}"
        sql += f" FROM {srcs[0]} p0"
        for i in range(1, len(parts)):
            conds = []
            for key in on:
                idents = [part.columns[key].ident for part in parts]
                left = (
                    "COALESCE(" + ", ".join(f"p{j}.{idents[j]}" for j in range(i)) + ")"
                    if i > 1
                    else f"p0.{idents[0]}"
                )
                conds.append(f"{left} = p{i}.{idents[i]}")
            sql += f" {JOIN_SQL[how]} JOIN {srcs[i]} p{i} ON {' AND '.join(conds)}"
        sql += " ORDER BY " + ", ".join(f"_p{i} NULLS LAST" for i in range(len(parts)))
        try:
            with budget.watch(con, "the join"):
                return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(f"the join failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def _map_table(indices: Sequence[np.ndarray]) -> pa.Table:
    first = indices[0]
    if all(idx is first for idx in indices) and _is_arange(first):
        # The identity (align_codes returns one array for all parts): one Arrow array
        # shared by every column, marked so the change counts need not check again.
        ids = pa.array(first, pa.int64())
        return pa.table(
            {f"_p{i}": ids for i in range(len(indices))}, metadata={_IDENTITY_KEY: b"1"}
        )
    cols = {}
    for i, idx in enumerate(indices):
        missing = idx < 0
        cols[f"_p{i}"] = pa.array(idx, pa.int64(), mask=missing if missing.any() else None)
    return pa.table(cols)


def _is_arange(idx: np.ndarray) -> bool:
    # Only align_codes' identity (and rows aligned by position) share one array across
    # parts, always an arange: the ends confirm it without another pass over the rows.
    return len(idx) == 0 or (int(idx[0]) == 0 and int(idx[-1]) == len(idx) - 1)


# --- reading keys -------------------------------------------------------------------


def _key_columns(
    part: Relation, on: Sequence[str], dictionary: Sequence[str] = ()
) -> list[pa.ChunkedArray] | None:
    """The part's key columns in ``_row`` order, read without the other columns; None
    when the part is not a plain table (a join: DuckDB computes its keys). Columns named
    in ``dictionary`` are read from Parquet as dictionary arrays (no string is made)."""
    if isinstance(part, ArrowRelation):
        return [part.table.column(k) for k in on]
    if isinstance(part, ParquetRelation):
        names = part.source.schema.names
        chunks: list[list[pa.Array]] = [[] for _ in on]
        for path in part.paths:
            f = pq.ParquetFile(path)
            # DuckDB reads the files by position under the first file's names; by name
            # here is the same only when every file has those names in that order.
            if f.schema_arrow.names != names:
                return None
            try:
                # read_table (memory-mapped) decodes a column about twice as fast as
                # ParquetFile.read; a file path has no partitions to discover.
                got = pq.read_table(
                    path,
                    columns=list(on),
                    memory_map=True,
                    partitioning=None,
                    read_dictionary=list(dictionary) or None,
                )
            except (pa.ArrowException, KeyError, ValueError):
                return None
            if got.column_names != list(on):
                return None  # e.g. a dotted name taken as a nested path
            for j in range(len(on)):
                chunks[j].extend(got.column(j).chunks)
        types = [
            got.schema.field(k).type if k in dictionary else part.source.schema.field(k).type
            for k in on
        ]
        try:
            cols = [pa.chunked_array(c, type=t) for c, t in zip(chunks, types, strict=True)]
        except (pa.ArrowException, TypeError):
            return None
        if any(len(c) != part.num_rows for c in cols):
            return None
        return cols
    return None


def _category(t: pa.DataType) -> str | None:
    # uint64 would not fit int64 codes; other types compare by DuckDB's rules (NaN = NaN
    # for floats, time zones for timestamps): DuckDB decides those.
    if pa.types.is_integer(t) and t != pa.uint64():
        return "int"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return None


def _encode(keys: Sequence[Sequence[pa.ChunkedArray] | None]) -> list[Codes] | None:
    """Each part's keys as int64 codes equal exactly where the keys are equal, or None
    when some key column's types are not handled here (DuckDB then joins)."""
    parts = [list(k) for k in keys if k is not None]
    n_keys = len(parts[0])
    per_column: list[list[Codes]] = []
    for j in range(n_keys):
        cols = [p[j] for p in parts]
        cats = {_category(c.type) for c in cols}
        if len(cats) != 1 or None in cats:
            return None
        dense = n_keys > 1  # several columns combine only from dense codes
        if cats == {"int"} and not dense:
            per_column.append([_int_codes(c) for c in cols])
        else:
            per_column.append(_shared_codes(cols))
    if n_keys == 1:
        return per_column[0]
    return _combine(per_column)


def _int_codes(col: pa.ChunkedArray) -> Codes:
    col = col.cast(pa.int64())
    if col.null_count == 0:  # the common case: a copy (or none) less per step
        return np.ascontiguousarray(col.to_numpy(), dtype=np.int64), np.ones(len(col), bool)
    valid = np.asarray(col.is_valid(), dtype=bool)
    values = col.fill_null(0).to_numpy()
    return np.ascontiguousarray(values, dtype=np.int64), valid


def _shared_codes(cols: Sequence[pa.ChunkedArray]) -> list[Codes]:
    """Dense codes from one dictionary over every part's values (a hash per value)."""
    types = {c.type for c in cols}
    if len(types) > 1:  # one dictionary needs one type: int32 and int64, string and large
        common = pa.int64() if _category(cols[0].type) == "int" else pa.large_string()
        cols = [c.cast(common) for c in cols]
    chunks = [ch for c in cols for ch in c.chunks]
    encoded = pa.chunked_array(chunks, type=cols[0].type).dictionary_encode()
    # The encoded chunks need not match the input's (empty ones go): split by length.
    idx = pa.chunked_array([ch.indices for ch in encoded.chunks], type=pa.int32())
    valid = np.asarray(idx.is_valid(), dtype=bool)
    codes = idx.fill_null(0).to_numpy().astype(np.int64)
    bounds = np.cumsum([0, *(len(c) for c in cols)])
    return [
        (codes[bounds[i] : bounds[i + 1]], valid[bounds[i] : bounds[i + 1]])
        for i in range(len(cols))
    ]


def _combine(per_column: list[list[Codes]]) -> list[Codes]:
    """One code per row from several key columns' dense codes: a row's key is present only
    when all its columns are (a null in any column never matches, as in SQL)."""
    n_parts = len(per_column[0])
    codes = [per_column[0][i][0].copy() for i in range(n_parts)]
    valid = [per_column[0][i][1].copy() for i in range(n_parts)]
    for col in per_column[1:]:
        span = int(max((int(c.max()) + 1 if len(c) else 1) for c, _ in col))
        top = int(max((int(c.max()) + 1 if len(c) else 1) for c in codes))
        if top * span >= _CODE_LIMIT:
            codes = _renumber(codes)
            top = int(max((int(c.max()) + 1 if len(c) else 1) for c in codes))
        for i in range(n_parts):
            codes[i] = codes[i] * span + col[i][0]
            valid[i] &= col[i][1]
    return list(zip(codes, valid, strict=True))


def _renumber(codes: list[np.ndarray]) -> list[np.ndarray]:
    joined = np.concatenate(codes)
    _, inverse = np.unique(joined, return_inverse=True)
    bounds = np.cumsum([0, *(len(c) for c in codes)])
    return [inverse[bounds[i] : bounds[i + 1]].astype(np.int64) for i in range(len(codes))]


# --- matching -----------------------------------------------------------------------


def align_codes(codes: Sequence[Codes], how: str) -> list[np.ndarray]:
    """Row indices per part (-1: no row) of the join of the parts' coded keys, in the
    order ``_p0, _p1, ...`` with missing rows last."""
    first, first_valid = codes[0]
    n = len(first)
    if (
        all(len(c) == n and v.all() for c, v in codes)
        and all(np.array_equal(c, first) for c, _ in codes[1:])
        and _unique(first)
    ):
        ids = np.arange(n, dtype=np.int64)
        return [ids] * len(codes)
    out = [np.arange(n, dtype=np.int64)]
    acc_code, acc_valid = first, first_valid
    for right, right_valid in codes[1:]:
        li, ri = _match(acc_code, acc_valid, right, right_valid, keep_left=how != "inner")
        if li is not None:  # None: every left row once, in order
            out = [o[li] for o in out]
            acc_code, acc_valid = acc_code[li], acc_valid[li]
        out.append(ri)
        if how == "outer":
            matched = np.zeros(len(right), dtype=bool)
            matched[ri[ri >= 0]] = True
            rest = np.flatnonzero(~matched)
            if len(rest):
                none = np.full(len(rest), -1, dtype=np.int64)
                out = [np.concatenate([o, none]) for o in out[:-1]]
                out.append(np.concatenate([ri, rest]))
                # A row that exists only from here on is keyed by its own key (COALESCE).
                acc_code = np.concatenate([acc_code, right[rest]])
                acc_valid = np.concatenate([acc_valid, right_valid[rest]])
    return out


def _unique(codes: np.ndarray) -> bool:
    if len(codes) < 2 or bool(np.all(codes[1:] > codes[:-1])):
        return True
    lo, hi = int(codes.min()), int(codes.max())
    if hi - lo < _DENSE_FACTOR * len(codes) + 1024:
        return int(np.bincount(codes - lo).max()) <= 1
    s = np.sort(codes)
    return not bool(np.any(s[1:] == s[:-1]))


def _match(
    lc: np.ndarray, lv: np.ndarray, rc: np.ndarray, rv: np.ndarray, keep_left: bool
) -> tuple[np.ndarray | None, np.ndarray]:
    """Pairs (left index, right index) of equal present keys, in left order and, for one
    left row, right order; with ``keep_left`` a left row without a match pairs with -1.
    The left indices are None when they are every left row once, in order."""
    present = None if rv.all() else np.flatnonzero(rv)
    keys = rc if present is None else rc[present]
    if len(keys):
        lo, hi = int(keys.min()), int(keys.max())
        if hi - lo < _DENSE_FACTOR * len(rc) + 1024:
            # A table from key to row: each left row is one lookup, no sort.
            table = np.full(hi - lo + 1, -1, dtype=np.int64)
            rows = np.arange(len(rc), dtype=np.int64) if present is None else present
            table[keys - lo] = rows
            # Duplicates overwrite each other: unique when every row found its own slot.
            if int(np.count_nonzero(table >= 0)) == len(keys):
                inside = (lc >= lo) & (lc <= hi)
                if not lv.all():
                    inside &= lv
                if inside.all():
                    ri = table[lc - lo]
                else:
                    ri = np.full(len(lc), -1, dtype=np.int64)
                    ri[inside] = table[lc[inside] - lo]
                if keep_left:
                    return None, ri
                li = np.flatnonzero(ri >= 0)
                return li, ri[li]
    rows = np.arange(len(rc), dtype=np.int64) if present is None else present
    order = rows[np.argsort(keys, kind="stable")]
    sorted_keys = rc[order]
    start = np.searchsorted(sorted_keys, lc, "left")
    count = np.where(lv, np.searchsorted(sorted_keys, lc, "right") - start, 0)
    emit = np.maximum(count, 1) if keep_left else count
    li = np.repeat(np.arange(len(lc), dtype=np.int64), emit)
    total = len(li)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(emit) - emit, emit)
    has = np.repeat(count > 0, emit)
    ri = np.full(total, -1, dtype=np.int64)
    ri[has] = order[np.repeat(start, emit)[has] + within[has]]
    return li, ri


# --- what changed, from the aligned columns ---------------------------------------------
#
# A comparison's SQL joins the map back to every part on ``_row`` (two hash joins of 1M
# rows for two versions): ~0.4-0.8 s for one count over two 1M-row versions, where plain
# DuckDB's one join on the key takes ~0.5 s. The counts below read only the compared
# columns (Parquet column projection), line them up by the map (no work for the identity)
# and compare them with Arrow kernels: ~50-150 ms for four columns. They keep the SQL's rules: NaN is
# missing, a missing value equals a missing value, a row missing from a version changed.
# Columns of other types (images, decimals, timestamps, a column whose type differs
# between versions) return None: the engine's SQL counts those.


class Aligned(Protocol):
    """What these functions read from a comparison (``JoinRelation``)."""

    parts: list[Relation]
    map: pa.Table
    compared: list[str]


def is_identity(row_map_table: pa.Table) -> bool:
    """Whether the map pairs row i of every part with output row i (nothing to line up)."""
    meta = row_map_table.schema.metadata or {}
    return bool(meta.get(_IDENTITY_KEY) == b"1")


def change_masks(rel: Aligned, columns: Sequence[str]) -> dict[str, pa.ChunkedArray] | None:
    """Per column, whether each output row changed (``<c>@changed``), or None when some
    column's type is not handled here."""
    got = _aligned_columns(rel, columns)
    if got is None:
        return None
    aligned = got[0]
    missing = _missing_rows(rel)
    out = {}
    for c, versions in aligned.items():
        first = versions[0]
        mask = missing
        for other in versions[1:]:
            differs = _differs(first, other)
            mask = differs if mask is None else pc.or_(mask, differs)
        out[c] = mask if mask is not None else pa.chunked_array([pa.array([], pa.bool_())])
    return out


def change_counts(rel: Aligned) -> dict[str, int] | None:
    """On how many rows each compared column changed, or None (then SQL counts)."""
    masks = change_masks(rel, rel.compared)
    if masks is None:
        return None
    return {c: int(pc.sum(m).as_py() or 0) for c, m in masks.items()}


def count_changed(rel: Aligned, columns: Sequence[str]) -> int | None:
    """Rows where any of ``columns`` changed (none named: any compared column, or a row
    missing from a version, as the ``changed`` column says), or None (then SQL counts)."""
    masks = change_masks(rel, list(columns) or rel.compared)
    if masks is None:
        return None
    if not masks:
        missing = _missing_rows(rel)
        return 0 if missing is None else int(pc.sum(missing).as_py() or 0)
    total = None
    for m in masks.values():
        total = m if total is None else pc.or_(total, m)
    assert total is not None
    return int(pc.sum(total).as_py() or 0)


def transition_counts(rel: Aligned, column: str, before: int, after: int) -> pa.Table | None:
    """``before``, ``after`` and ``count`` per pair of ``column``'s values in versions
    ``before`` and ``after`` (part indices), nulls included and NaN read as null, ordered by
    the values (nulls last) as the engine's group page orders them; None for types not
    handled here (floats: their groups follow the SQL)."""
    got = _aligned_column(rel, column)
    if got is None or pa.types.is_floating(got[0][0].type):
        return None
    versions, dictionary = got
    pairs = pa.table({"before": versions[before], "after": versions[after]})
    counted = pairs.group_by(["before", "after"], use_threads=False).aggregate([([], "count_all")])
    keys = [counted.column("before"), counted.column("after")]
    if dictionary is not None:  # back from indices to the strings, in the column's type
        want = rel.parts[0].columns[column].type
        keys = [dictionary.take(k.combine_chunks()).cast(want) for k in keys]
    counted = pa.table(
        {"before": keys[0], "after": keys[1], "count": counted.column("count_all").cast(pa.int64())}
    )
    order = pc.sort_indices(
        counted,
        sort_keys=[("before", "ascending", "at_end"), ("after", "ascending", "at_end")],
    )
    return counted.take(order)


_IDENTITY_KEY = b"dsviz.identity"


def _comparable(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
    )


def _aligned_column(
    rel: Aligned, column: str
) -> tuple[list[pa.ChunkedArray], pa.Array | None] | None:
    got = _aligned_columns(rel, [column])
    return None if got is None else (got[0][column], got[1].get(column))


def _aligned_columns(
    rel: Aligned, columns: Sequence[str]
) -> tuple[dict[str, list[pa.ChunkedArray]], dict[str, pa.Array]] | None:
    """Each of ``columns`` in every version, row i of each belonging to output row i (null
    where the version lacks the row; NaN read as null), and for string columns the
    dictionary their values are indices into (one for all versions, so equal strings have
    equal indices). One read per version (Parquet decodes the columns in parallel) and one
    take per version when the map is not the identity."""
    if sum(p.num_rows for p in rel.parts) > FAST_MAX_ROWS:
        return None
    for c in columns:
        types = [p.columns[c].type for p in rel.parts if c in p.columns]
        if len(types) != len(rel.parts) or len(set(types)) != 1 or not _comparable(types[0]):
            return None
    strings = [c for c in columns if _is_string(rel.parts[0].columns[c].type)]
    read = []
    for part in rel.parts:
        cols = _key_columns(part, columns, dictionary=strings)
        if cols is None:
            return None
        read.append(cols)
    dicts: dict[str, pa.Array] = {}
    for j, c in enumerate(columns):
        if c in strings:
            # Strings as indices into one dictionary: a take of 1M strings costs ~100 ms,
            # of their int32 indices ~5 ms, and equal indices mean equal strings.
            indices, dicts[c] = _shared_dictionary([cols[j] for cols in read])
            for cols, idx in zip(read, indices, strict=True):
                cols[j] = idx
    identity = is_identity(rel.map)
    out: dict[str, list[pa.ChunkedArray]] = {c: [] for c in columns}
    for i, (part, cols) in enumerate(zip(rel.parts, read, strict=True)):
        index = rel.map.column(f"_p{i}")
        if not identity and columns and not _is_all_rows(index, part.num_rows):
            # One chunk each: a take over chunked columns and indices is much slower.
            table = pa.table(cols, names=list(columns)).combine_chunks()
            cols = list(table.take(index.combine_chunks()).columns)
        for c, col in zip(columns, cols, strict=True):
            if pa.types.is_floating(col.type):
                col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
            out[c].append(col)
    return out, dicts


def _shared_dictionary(
    cols: Sequence[pa.ChunkedArray],
) -> tuple[list[pa.ChunkedArray], pa.Array]:
    """Each version's strings as int32 indices (nulls kept) into one dictionary. Parquet
    columns come as dictionary arrays already (a dictionary per row group, unified here
    without touching the rows' strings); in-memory strings are encoded."""
    encoded = [c if pa.types.is_dictionary(c.type) else c.dictionary_encode() for c in cols]
    if len({c.type for c in encoded}) != 1:  # e.g. int8 and int32 indices: decode all
        value = encoded[0].type.value_type
        encoded = [c.cast(value).dictionary_encode() for c in encoded]
    chunks = [ch for c in encoded for ch in c.chunks]
    unified = pa.chunked_array(chunks, type=encoded[0].type).unify_dictionaries()
    value_type = encoded[0].type.value_type
    dictionary = unified.chunk(0).dictionary if unified.num_chunks else pa.array([], value_type)
    flat = pa.chunked_array([ch.indices for ch in unified.chunks], type=encoded[0].type.index_type)
    flat = flat.cast(pa.int32())
    out = []
    start = 0
    for c in cols:
        out.append(flat.slice(start, len(c)))
        start += len(c)
    return out, dictionary


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_all_rows(index: pa.ChunkedArray, n: int) -> bool:
    """Whether a map column is 0, 1, ..., n-1: that version's rows need no take (the first
    version of a comparison whose other versions are reordered)."""
    if index.null_count or len(index) != n:
        return False
    return bool(np.array_equal(index.to_numpy(), np.arange(n, dtype=np.int64)))


def _missing_rows(rel: Aligned) -> pa.ChunkedArray | None:
    """True where some version lacks the row; None when none ever does."""
    out = None
    for name in rel.map.column_names:
        col = rel.map.column(name)
        if col.null_count:
            missing = col.is_null()
            out = missing if out is None else pc.or_(out, missing)
    return out


def _differs(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """``a IS DISTINCT FROM b`` (a null equals a null, never a value)."""
    differs = pc.fill_null(pc.not_equal(a, b), True)  # one null: differs unless both are
    if a.null_count or b.null_count:
        both = pc.and_(pc.is_null(a), pc.is_null(b))
        differs = pc.and_(differs, pc.invert(both))
    return differs
