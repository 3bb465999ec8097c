"""Row maps and change counts: the fast paths (key or compared columns alone, numpy and
Arrow kernels) agree exactly with DuckDB's join and the engine's SQL.

Random versions with integer or string keys, duplicates, nulls and rows missing from some
versions, two and three parts, one or two key columns, in memory and in Parquet files; the
map from ``fast_row_map`` must equal ``row_map_duckdb``'s, row for row (the order included).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, QueryError, Source, compare_sources, join_sources
from dsviz_widget.engine._align import (
    change_counts,
    count_changed,
    fast_row_map,
    row_map,
    row_map_duckdb,
    transition_counts,
)
from dsviz_widget.engine._changes import change_filter
from dsviz_widget.engine._relation import Relation, relation_for

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
INT_TYPES = [pa.int64(), pa.int32(), pa.int8(), pa.uint32()]
STR_TYPES = [pa.string(), pa.large_string()]
ENGINE = Engine(background=False)
WORDS = st.sampled_from(["a", "b", "é", "", "ab", "A", "a ", "\x00", "日本"])


def _rels(tables: list[pa.Table], parquet: list[bool], tmp: Path) -> list[Relation]:
    rels = []
    for i, (t, pq_file) in enumerate(zip(tables, parquet, strict=True)):
        if pq_file:
            # Two files, so _row counts across files as DuckDB's scan does.
            half = t.num_rows // 2
            paths = [str(tmp / f"p{i}_0.parquet"), str(tmp / f"p{i}_1.parquet")]
            pq.write_table(t.slice(0, half), paths[0], row_group_size=3)
            pq.write_table(t.slice(half), paths[1])
            rels.append(relation_for(Source.from_parquet(paths)))
        else:
            rels.append(relation_for(Source.from_arrow(t)))
    return rels


@st.composite
def versions(draw: st.DrawFn) -> tuple[list[pa.Table], list[str], list[bool]]:
    n_parts = draw(st.integers(2, 3))
    n_keys = draw(st.integers(1, 2))
    kinds = [draw(st.sampled_from(["int", "str"])) for _ in range(n_keys)]
    tables = []
    for _ in range(n_parts):
        n = draw(st.integers(0, 12))
        cols: dict[str, Any] = {}
        for j, kind in enumerate(kinds):
            if kind == "int":
                t = draw(st.sampled_from(INT_TYPES))
                lo = 0 if t == pa.uint32() else -3
                vals = draw(
                    st.lists(st.one_of(st.none(), st.integers(lo, 6)), min_size=n, max_size=n)
                )
            else:
                t = draw(st.sampled_from(STR_TYPES))
                vals = draw(st.lists(st.one_of(st.none(), WORDS), min_size=n, max_size=n))
            cols[f"k{j}"] = pa.array(vals, t)
        cols["v"] = pa.array(np.arange(n, dtype=np.int64))
        tables.append(pa.table(cols))
    on = [f"k{j}" for j in range(n_keys)]
    parquet = [draw(st.booleans()) for _ in range(n_parts)]
    return tables, on, parquet


@SETTINGS
@given(versions(), st.sampled_from(["inner", "left", "outer"]))
def test_fast_map_equals_duckdb(
    case: tuple[list[pa.Table], list[str], list[bool]], how: str
) -> None:
    tables, on, parquet = case
    with tempfile.TemporaryDirectory() as tmp:
        rels = _rels(tables, parquet, Path(tmp))
        fast = fast_row_map(rels, on, how)
        assert fast is not None  # int and string keys never fall back
        expected = row_map_duckdb(rels, on, how)
        assert fast.to_pydict() == expected.to_pydict()
        assert fast.schema == expected.schema


@st.composite
def big_versions(draw: st.DrawFn) -> list[np.ndarray]:
    """Keys spread wider than the direct-address table allows, or not: both matchers."""
    n_parts = draw(st.integers(2, 3))
    spread = draw(st.sampled_from([10, 10**12]))
    out = []
    for _ in range(n_parts):
        n = draw(st.integers(0, 300))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        out.append(rng.integers(-spread, spread, n) if spread > 10 else rng.permutation(n))
    return out


@SETTINGS
@given(big_versions(), st.sampled_from(["inner", "left", "outer"]))
def test_sparse_and_permuted_keys(keys: list[np.ndarray], how: str) -> None:
    rels = [relation_for(Source.from_arrow(pa.table({"id": k}))) for k in keys]
    fast = fast_row_map(rels, ["id"], how)
    assert fast is not None
    assert fast.to_pydict() == row_map_duckdb(rels, ["id"], how).to_pydict()


def test_same_keys_in_the_same_order_give_the_identity() -> None:
    n = 1000
    a = pa.table({"id": np.arange(n), "x": np.zeros(n)})
    b = pa.table({"id": np.arange(n), "x": np.ones(n)})
    rels = [relation_for(Source.from_arrow(t)) for t in (a, b)]
    got = row_map(rels, ["id"], "outer")
    assert got.column("_p0").to_pylist() == list(range(n))
    assert got.column("_p1").to_pylist() == list(range(n))
    assert got.column("_p0").null_count == 0


def test_repeated_keys_in_the_same_order_pair_every_row() -> None:
    # Not the identity: equal keys repeat, so each pairs with each (as SQL does).
    a = pa.table({"id": [1, 1, 2]})
    rels = [relation_for(Source.from_arrow(a)) for _ in range(2)]
    got = row_map(rels, ["id"], "outer").to_pydict()
    assert got == {"_p0": [0, 0, 1, 1, 2], "_p1": [0, 1, 0, 1, 2]}


def test_rows_missing_from_a_version_come_last_in_its_order() -> None:
    a = pa.table({"id": [3, 1, None, 2]})
    b = pa.table({"id": [2, 5, 3, None, 4]})
    rels = [relation_for(Source.from_arrow(t)) for t in (a, b)]
    got = row_map(rels, ["id"], "outer").to_pydict()
    assert got == {
        "_p0": [0, 1, 2, 3, None, None, None],
        "_p1": [2, None, None, 0, 1, 3, 4],
    }


@pytest.mark.parametrize(
    "keys",
    [
        [pa.array([1.0, float("nan"), -0.0]), pa.array([float("nan"), 0.0, 1.0])],
        [pa.array([1, 2], pa.int64()), pa.array(["1", "2"])],
        [pa.array([2**63 + 1, 1], pa.uint64()), pa.array([1, 2**63 + 1], pa.uint64())],
    ],
    ids=["float", "int-vs-str", "uint64"],
)
def test_other_key_types_are_joined_by_duckdb(keys: list[pa.Array]) -> None:
    rels = [relation_for(Source.from_arrow(pa.table({"id": k}))) for k in keys]
    assert fast_row_map(rels, ["id"], "outer") is None
    try:
        expected = row_map_duckdb(rels, ["id"], "outer").to_pydict()
    except Exception as exc:
        with pytest.raises(type(exc)):
            row_map(rels, ["id"], "outer")
    else:
        assert row_map(rels, ["id"], "outer").to_pydict() == expected


def test_a_join_as_a_part_falls_back_and_agrees() -> None:
    a = Source.from_arrow(pa.table({"id": [1, 2, 3], "x": [1, 2, 3]}))
    b = Source.from_arrow(pa.table({"id": [3, 2], "y": [30, 20]}))
    c = Source.from_arrow(pa.table({"id": [2, 3, 4], "x": [2, 9, 4]}))
    joined = join_sources(a, b, "id", how="left")
    rels = [relation_for(joined), relation_for(c)]
    assert fast_row_map(rels, ["id"], "outer") is None
    assert row_map(rels, ["id"], "outer").to_pydict() == {
        "_p0": [0, 1, 2, None],
        "_p1": [None, 0, 1, 2],
    }


def test_compare_of_reordered_parquet_versions_pairs_rows_by_key(tmp_path: Path) -> None:
    n = 5000
    rng = np.random.default_rng(1)
    ids = np.arange(n)
    pred = rng.integers(0, 10, n)
    pred2 = np.where(rng.random(n) < 0.1, (pred + 1) % 10, pred)
    pq.write_table(pa.table({"id": ids, "pred": pred}), tmp_path / "a.parquet")
    pq.write_table(
        pa.table({"id": ids[::-1], "pred": pred2[::-1]}), tmp_path / "b.parquet", row_group_size=999
    )
    a = Source.from_parquet([str(tmp_path / "a.parquet")])
    b = Source.from_parquet([str(tmp_path / "b.parquet")])
    cmp = compare_sources([a, b], on="id")
    got = Engine(background=False).query(cmp, columns=["id", "pred@v0", "pred@v1"], limit=n)
    assert got.column("id").to_pylist() == ids.tolist()
    assert got.column("pred@v0").to_pylist() == pred.tolist()
    assert got.column("pred@v1").to_pylist() == pred2.tolist()


# --- change counts and transitions from the aligned columns ------------------------------

VALUES = {
    "i": (pa.int64(), st.one_of(st.none(), st.integers(-2, 2))),
    "f": (
        pa.float64(),
        st.one_of(st.none(), st.sampled_from([float("nan"), 0.0, -0.0, 1.5, -1.0])),
    ),
    "s": (pa.string(), st.one_of(st.none(), WORDS)),
    "b": (pa.bool_(), st.one_of(st.none(), st.booleans())),
}


@st.composite
def compared_versions(draw: st.DrawFn) -> tuple[list[pa.Table], list[bool]]:
    n_parts = draw(st.integers(2, 3))
    aligned = draw(st.booleans())  # same keys in the same order: the identity map
    n_same = draw(st.integers(0, 12))
    tables = []
    for _ in range(n_parts):
        if aligned:
            n, keys = n_same, list(range(n_same))
        else:
            n = draw(st.integers(0, 12))
            keys = draw(st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=n, max_size=n))
        cols: dict[str, Any] = {"id": pa.array(keys, pa.int64())}
        for name, (t, values) in VALUES.items():
            cols[name] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), t)
        tables.append(pa.table(cols))
    return tables, [draw(st.booleans()) for _ in range(n_parts)]


def _sources(tables: list[pa.Table], parquet: list[bool], tmp: Path) -> list[Source]:
    out = []
    for i, (t, pq_file) in enumerate(zip(tables, parquet, strict=True)):
        if pq_file:
            path = tmp / f"v{i}.parquet"
            pq.write_table(t, path)
            out.append(Source.from_parquet([str(path)]))
        else:
            out.append(Source.from_arrow(t))
    return out


@settings(SETTINGS, max_examples=40)
@given(compared_versions(), st.data())
def test_fast_change_counts_and_transitions_equal_the_sql(
    case: tuple[list[pa.Table], list[bool]], data: st.DataObject
) -> None:
    tables, parquet = case
    engine = ENGINE
    with tempfile.TemporaryDirectory() as tmp:
        src = compare_sources(_sources(tables, parquet, Path(tmp)), on="id")
        rel = relation_for(src)
        compared = list(VALUES)
        counts = change_counts(rel)  # type: ignore[arg-type]
        assert counts is not None
        for c in compared:
            sql = engine.view(src, Query(filter=change_filter([c]))).num_rows
            assert counts[c] == sql, c
        some = data.draw(st.lists(st.sampled_from(compared), unique=True, max_size=3))
        expected = engine.view(src, Query(filter=change_filter(some))).num_rows
        assert count_changed(rel, some) == expected  # type: ignore[arg-type]
        labels = [f"v{i}" for i in range(len(tables))]
        before, after = data.draw(st.permutations(range(len(tables))))[:2]
        column = data.draw(st.sampled_from(["i", "s", "b"]))
        fields = [f"{column}@{labels[before]}", f"{column}@{labels[after]}"]
        view = engine.view(src, Query(group_by=fields, aggregates={}))
        page = view.page(0, max(view.num_rows, 1))
        got = transition_counts(rel, column, before, after)  # type: ignore[arg-type]
        assert got is not None
        assert got.to_pydict() == {
            "before": page.column(fields[0]).to_pylist(),
            "after": page.column(fields[1]).to_pylist(),
            "count": page.column("count").to_pylist(),
        }
        assert got.schema.field("before").type == page.schema.field(fields[0]).type


def test_images_and_other_types_are_left_to_the_sql() -> None:
    a = pa.table({"id": [1, 2], "d": pa.array([1, 2], pa.decimal128(5, 1))})
    b = pa.table({"id": [1, 2], "d": pa.array([1, 3], pa.decimal128(5, 1))})
    rel = relation_for(compare_sources([Source.from_arrow(a), Source.from_arrow(b)], on="id"))
    assert change_counts(rel) is None  # type: ignore[arg-type]
    assert transition_counts(rel, "d", 0, 1) is None  # type: ignore[arg-type]
    counts = Engine(background=False).change_counts(
        compare_sources([Source.from_arrow(a), Source.from_arrow(b)], on="id")
    )
    assert counts.counts == {"d": 1}


def test_count_changed_answers_for_comparisons_only() -> None:
    a = Source.from_arrow(pa.table({"id": [1, 2, 3], "pred": [0, 1, 2], "p": [0.1, 0.2, 0.3]}))
    b = Source.from_arrow(pa.table({"id": [3, 2, 4], "pred": [2, 5, 9], "p": [0.1, 0.2, 0.3]}))
    cmp = compare_sources([a, b], on="id")
    # id 1 and 4 are missing from a version; id 2 changed its pred; id 3 changed p only.
    assert ENGINE.count_changed(cmp, ["pred"]) == 3
    assert ENGINE.count_changed(cmp, []) == 4
    with pytest.raises(QueryError, match="need a comparison"):
        ENGINE.count_changed(join_sources(a, b, "id"), [])
    with pytest.raises(QueryError, match="'prd'"):
        ENGINE.count_changed(cmp, ["prd"])
