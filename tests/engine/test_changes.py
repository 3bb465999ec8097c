"""What changed between versions: per-column change flags, counts and transitions, checked
against pandas on generated versions (keys missing from one side, nulls, NaN, repeats)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, QueryError, Source, change_filter, compare_sources

VALUES = {
    "pred": st.one_of(st.none(), st.integers(0, 3)),
    "label": st.one_of(st.none(), st.sampled_from(["cat", "dog", "", "ünï `x`"])),
    "ok": st.one_of(st.none(), st.booleans()),
    "p": st.one_of(st.none(), st.just(math.nan), st.sampled_from([0.0, 0.5, 1.0])),
}
TYPES = {"pred": pa.int64(), "label": pa.string(), "ok": pa.bool_(), "p": pa.float64()}


@st.composite
def versions(draw: Any, n_versions: int = 2) -> list[dict[str, list[Any]]]:
    keys = draw(st.lists(st.integers(0, 30), unique=True, min_size=1, max_size=25))
    out = []
    for _ in range(n_versions):
        mine = [k for k in keys if draw(st.booleans()) or k == keys[0]]
        table: dict[str, list[Any]] = {"id": mine}
        for col, values in VALUES.items():
            table[col] = [draw(values) for _ in mine]
        out.append(table)
    return out


def _source(table: dict[str, list[Any]]) -> Source:
    arrays = {"id": pa.array(table["id"], pa.int64())}
    arrays.update({c: pa.array(table[c], TYPES[c]) for c in VALUES})
    return Source.from_arrow(pa.table(arrays))


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _reference(tables: list[dict[str, list[Any]]]) -> pd.DataFrame:
    """The versions outer-joined on id by pandas, with ``<c>@changed`` per column."""
    frames = [
        pd.DataFrame(
            {"id": t["id"], **{f"{c}@v{i}": pd.Series(t[c], dtype=object) for c in VALUES}}
        ).assign(**{f"_in{i}": True})
        for i, t in enumerate(tables)
    ]
    merged = frames[0]
    for f in frames[1:]:
        merged = merged.merge(f, on="id", how="outer")
    present = merged[[f"_in{i}" for i in range(len(tables))]].fillna(False).astype(bool)
    missing = ~present.all(axis=1)
    for c in VALUES:

        def differs(row: pd.Series, c: str = c) -> bool:
            first = row[f"{c}@v0"]
            for i in range(1, len(tables)):
                other = row[f"{c}@v{i}"]
                if _missing(first) != _missing(other):
                    return True
                if not _missing(first) and first != other:
                    return True
            return False

        merged[f"{c}@changed"] = merged.apply(differs, axis=1) | missing
    return merged.set_index("id")


@settings(max_examples=40, deadline=None)
@given(versions(), st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=3, unique=True))
def test_change_flags_counts_and_filter_match_pandas(
    tables: list[dict[str, list[Any]]], chosen: list[str]
) -> None:
    engine = Engine()
    cmp = compare_sources([_source(t) for t in tables], on="id")
    ref = _reference(tables)
    page = engine.query(cmp, columns=["id", *(f"{c}@changed" for c in VALUES)], limit=1000)
    got = page.to_pandas().set_index("id").sort_index()
    for c in VALUES:
        assert got[f"{c}@changed"].tolist() == ref.sort_index()[f"{c}@changed"].tolist(), c
    counts = engine.change_counts(cmp)
    assert counts.rows == len(ref)
    assert counts.counts == {c: int(ref[f"{c}@changed"].sum()) for c in VALUES}
    expect_always = [c for c in VALUES if len(ref) >= 2 and ref[f"{c}@changed"].all()]
    assert counts.always == expect_always
    assert counts.default == [c for c in VALUES if c not in expect_always]
    # The filter the widget composes for "changed only" on the chosen columns.
    rows = engine.query(cmp, filter=change_filter(chosen), columns=["id"], limit=1000)
    want = ref.index[ref[[f"{c}@changed" for c in chosen]].any(axis=1)]
    assert sorted(rows.column("id").to_pylist()) == sorted(want.tolist())


@settings(max_examples=40, deadline=None)
@given(versions(n_versions=3), st.sampled_from(["pred", "label", "ok"]))
def test_transitions_match_a_pandas_crosstab(
    tables: list[dict[str, list[Any]]], column: str
) -> None:
    engine = Engine()
    cmp = compare_sources([_source(t) for t in tables], on="id")
    ref = _reference(tables)
    before, after = f"{column}@v0", f"{column}@v2"
    table = engine.transitions(cmp, column, "v0", "v2")
    got = {(b, a): n for b, a, n in zip(*table.to_pydict().values(), strict=True)}
    want: dict[tuple[Any, Any], int] = {}
    for b, a in zip(ref[before], ref[after], strict=True):
        key = (None if _missing(b) else b, None if _missing(a) else a)
        want[key] = want.get(key, 0) + 1
    assert got == want
    assert sum(got.values()) == len(ref)
    # Over a filter: only the rows it keeps.
    kept = engine.transitions(cmp, column, "v0", "v2", filter=change_filter([column]))
    assert sum(kept.column("count").to_pylist()) == int(ref[f"{column}@changed"].sum())


def test_transitions_and_change_columns_name_what_is_wrong() -> None:
    v0 = Source.from_arrow(pa.table({"id": [1], "pred": [1]}))
    v1 = Source.from_arrow(pa.table({"id": [1], "pred": [2], "extra": [0]}))
    cmp = compare_sources([v0, v1], on="id")
    engine = Engine()
    with pytest.raises(QueryError, match="no version 'v7' of 'pred'; versions are 'v0', 'v1'"):
        engine.transitions(cmp, "pred", "v0", "v7")
    with pytest.raises(QueryError, match=r"'extra'.*every compared version"):
        engine.transitions(cmp, "extra", "v0", "v1")
    with pytest.raises(QueryError, match="two different versions"):
        engine.transitions(cmp, "pred", "v1", "v1")
    with pytest.raises(QueryError, match="need a comparison"):
        engine.change_counts(v0)
    with pytest.raises(QueryError, match="label 'changed' is taken"):
        compare_sources([v0, v1], on="id", labels=["a", "changed"])


def test_transitions_refuse_a_continuous_column_with_a_clear_error() -> None:
    n = 20_000
    v0 = Source.from_arrow(pa.table({"id": range(n), "x": [i * 0.5 for i in range(n)]}))
    v1 = Source.from_arrow(pa.table({"id": range(n), "x": [i * 0.25 for i in range(n)]}))
    with pytest.raises(QueryError, match="distinct pairs of values"):
        Engine().transitions(compare_sources([v0, v1], on="id"), "x", "v0", "v1")
