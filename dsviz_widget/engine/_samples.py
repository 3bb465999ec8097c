"""The sample row ids of a group page, found without reading every row's id.

A group page lists each group's first :data:`SAMPLE_ROWS` row ids in source order
(``min(_row, 4)``): the widget opens a group through the first and shows the images of all.
Computed in the group query itself, that aggregate reads ``_row`` for every row, which at
10M Parquet rows made a group page cost 1.5-2x a plain count + mean. A group's first rows
are usually among the source's first rows, so for big Parquet sources they are found in
rounds over growing ranges of ``_row`` (:data:`FIRST_ROUND` rows, then :data:`GROWTH` times
more each round), which DuckDB prunes to the row groups holding them, until every group has
``min(count, SAMPLE_ROWS)`` ids. Rounds never overlap and go up in ``_row``, so ids found in
earlier rounds come first and the result is exactly ``min(_row, SAMPLE_ROWS)``; at worst
(a rare group near the end) the rounds read the key columns once more in all.

Groups are matched across queries by DuckDB's ``hash`` of their key values (the same
expressions, so the same types and hashes); a page where two groups hash alike, or a row's hash is no
group's, gets its samples from the exact aggregate instead (:func:`first_rows` returns None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dsviz_widget.engine._budget import run_arrow
from dsviz_widget.engine._relation import ROW, ParquetRelation, Relation

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine

SAMPLE_ROWS = 4
#: Parquet sources from this many rows find samples in rounds (below, reading ``_row`` with
#: the group query costs a few milliseconds).
STAGED_MIN_ROWS = 200_000
FIRST_ROUND = 65_536  # half a row group as pyarrow writes them
GROWTH = 8


def staged(relation: Relation) -> bool:
    """Whether ``relation``'s group pages find their samples in rounds (:func:`first_rows`)."""
    return isinstance(relation, ParquetRelation) and relation.num_rows >= STAGED_MIN_ROWS


def hash_sql(keys: list[str]) -> str:
    """DuckDB's hash of a group's key values (``keys``: SQL expressions or aliases)."""
    return f"hash({', '.join(keys)})"


def first_rows(
    engine: Engine,
    relation: Relation,
    where: str,
    params: list[object],
    keys: list[str],
    hashes: np.ndarray,
    counts: np.ndarray,
) -> pa.Array | None:
    """Each group's first ``min(count, SAMPLE_ROWS)`` row ids (``list<int64>``), in the order
    of ``hashes`` (:func:`hash_sql` of each group's keys); ``keys`` are the key expressions
    the groups were made with, ``counts`` the groups' row counts. None when two groups
    hash alike (then no round could tell them apart)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    by_hash = hashes[order]
    if len(by_hash) > 1 and bool((by_hash[1:] == by_hash[:-1]).any()):
        return None
    need = np.minimum(np.asarray(counts, dtype=np.int64), SAMPLE_ROWS)
    got = np.zeros((len(hashes), SAMPLE_ROWS), dtype=np.int64)
    have = np.zeros(len(hashes), dtype=np.int64)
    lo, size = 0, FIRST_ROUND
    while bool((have < need).any()) and lo < relation.num_rows:
        hi = min(lo + size, relation.num_rows)
        # lo and hi are our own ints; DuckDB pushes the range into the Parquet scan.
        with engine.connection(relation) as con:
            sql = (
                f"SELECT {hash_sql(keys)} AS h, min({ROW}, {SAMPLE_ROWS}) AS s "
                f"FROM {relation.sql(con)} WHERE ({where}) AND {ROW} >= {int(lo)} "
                f"AND {ROW} < {int(hi)} GROUP BY h"
            )
            found = run_arrow(con, sql, params, engine.budget)
        if not _merge(found, by_hash, order, got, have):
            return None
        lo, size = hi, size * GROWTH
    offsets = np.concatenate([[0], np.cumsum(have)]).astype(np.int32)
    values = got[np.arange(SAMPLE_ROWS)[None, :] < have[:, None]]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int64()))


def _merge(
    found: pa.Table, by_hash: np.ndarray, order: np.ndarray, got: np.ndarray, have: np.ndarray
) -> bool:
    """Append one round's ids (``h``, ``s``: ascending ids of that range) after the ids of
    earlier rounds, up to SAMPLE_ROWS per group; each group is at most once per round.
    False if a round's hash is no group's (values DuckDB groups as equal but hashes apart
    would do that; then the exact aggregate decides)."""
    if not found.num_rows:
        return True
    h = found.column("h").to_numpy().astype(np.uint64)
    at = np.minimum(np.searchsorted(by_hash, h), len(by_hash) - 1)
    if not bool((by_hash[at] == h).all()):
        return False
    group = order[at]
    lists = found.column("s").combine_chunks()
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    parent = np.repeat(np.arange(len(lengths)), lengths)
    slot = (
        have[group][parent]
        + np.arange(len(flat))
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    keep = slot < SAMPLE_ROWS
    got[group[parent][keep], slot[keep]] = flat[keep]
    have[group] = np.minimum(have[group] + lengths, SAMPLE_ROWS)
    return True
