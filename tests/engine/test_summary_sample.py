"""Top values of a mostly-distinct column come from a labelled sample (issue 15).

The exact top values of 100M distinct captions are one GROUP BY over 100M groups: past the
engine's 30 s budget. ``View.summary`` first reads the first ``sample_rows`` filtered rows;
when more than half of their values are distinct the reply is their summary, marked
``"sample": n``, with ``distinct`` unknown (``None``) and ``distinct_min`` (a lower bound).
Every number shown is checked against pandas, for the rows it says it is of.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, QueryError, Source
from dsviz_widget.engine._budget import BudgetError
from tests.engine.test_top_values import reference as pandas_top

ENGINE = Engine(background=False)
HOSTILE = ["", " ", "'", "''; DROP TABLE t; --", "$1", "?", "\\", "é", "😀", "a\nb", "NULL"]


def reference(values: list[Any]) -> dict[str, Any]:
    return pandas_top(values, None)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    n=st.integers(0, 60),
    cardinality=st.integers(1, 60),
    filtered=st.booleans(),
    parquet=st.booleans(),
    sample_rows=st.integers(1, 30),
)
def test_sampled_or_exact_top_values_match_pandas(
    tmp_path: Path,
    data: st.DataObject,
    n: int,
    cardinality: int,
    filtered: bool,
    parquet: bool,
    sample_rows: int,
) -> None:
    # From one value repeated to every row distinct, with nulls, empty and hostile text.
    pool = [*HOSTILE, *(f"v{k}" for k in range(cardinality))][: max(cardinality, 1)]
    values = data.draw(
        st.lists(st.one_of(st.none(), st.sampled_from(pool)), min_size=n, max_size=n)
    )
    table = pa.table({"s": pa.array(values, pa.string()), "i": list(range(n))})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=7)  # several row groups, read in order
    src = Source.from_parquet([str(path)]) if parquet else Source.from_arrow(table)
    rows = [v for i, v in enumerate(values) if not filtered or i % 3 != 0]
    view = ENGINE.view(src, Query(filter="i % 3 != 0") if filtered else Query())
    whole = reference(rows)

    exact = view.summary("s", exact=True, sample_rows=sample_rows)
    assert {k: exact[k] for k in whole} == whole and "sample" not in exact

    got = view.summary("s", sample_rows=sample_rows)
    assert got["type"] == "top"
    if "sample" not in got:
        assert {k: got[k] for k in whole} == whole
        # Exact only when the first rows were all of them (or the table holds no more than
        # a sample's rows, filtered or not) or were not mostly distinct.
        first = reference(rows[:sample_rows])
        seen = first["count"] - first["nulls"]
        assert (
            len(rows) < sample_rows
            or n <= sample_rows
            or not (seen and first["distinct"] > seen / 2)
        )
    else:
        n_sample = got["sample"]
        assert n_sample == sample_rows <= len(rows) and sample_rows < n
        part = reference(rows[:n_sample])  # the first rows in the table's order
        assert {k: got[k] for k in ("values", "counts", "nulls", "count")} == {
            k: part[k] for k in ("values", "counts", "nulls", "count")
        }
        assert got["distinct"] is None
        assert got["distinct_min"] == part["distinct"] <= whole["distinct"]
        assert part["distinct"] > (part["count"] - part["nulls"]) / 2


def test_low_cardinality_is_exact_and_all_distinct_is_a_sample() -> None:
    n = 5000
    table = pa.table(
        {"label": [f"l{i % 8}" for i in range(n)], "caption": [f"image {i}" for i in range(n)]}
    )
    view = ENGINE.view(Source.from_arrow(table), Query())
    label = view.summary("label", sample_rows=100)
    assert "sample" not in label and label["distinct"] == 8 and label["counts"] == [625] * 8
    caption = view.summary("caption", sample_rows=100)
    assert caption["sample"] == 100 and caption["count"] == 100 and caption["distinct"] is None
    assert caption["distinct_min"] == 100 and caption["counts"] == [1] * 10
    assert view.summary("caption", exact=True)["distinct"] == n


def test_a_table_no_bigger_than_the_sample_is_summarized_exactly() -> None:
    """Every value distinct, exactly ``sample_rows`` rows (or fewer, or that many before a
    filter): the whole table was read, so the distinct count is shown, not a lower bound."""
    for n, query in ((100, Query()), (60, Query()), (100, Query(filter="i % 2 == 0"))):
        table = pa.table({"caption": [f"image {i}" for i in range(n)], "i": list(range(n))})
        got = ENGINE.view(Source.from_arrow(table), query).summary("caption", sample_rows=100)
        kept = n if query.filter is None else n // 2
        assert "sample" not in got and got["distinct"] == got["count"] == kept, (n, query)


def test_exact_summary_over_the_budget_is_the_budget_error() -> None:
    n = 1_200_000
    table = pa.table({"caption": pa.array([f"image {i}" for i in range(n)], pa.string())})
    view = ENGINE.view(Source.from_arrow(table), Query())
    assert view.summary("caption")["sample"] == 1_000_000  # the default first look
    with pytest.raises(BudgetError, match="time budget"):
        view.summary("caption", exact=True, timeout=0.05)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"timeout": 0}, "positive number of seconds"),
        ({"timeout": -1.0}, "positive number of seconds"),
        ({"sample_rows": 0}, "sample_rows must be a positive whole number"),
        ({"sample_rows": 1.5}, "sample_rows must be a positive whole number"),
        ({"sample_rows": True}, "sample_rows must be a positive whole number"),
        ({"exact": "no"}, "exact must be True or False"),
        ({"exact": 1}, "exact must be True or False"),
    ],
)
def test_bad_summary_options_are_named(kwargs: dict[str, Any], words: str) -> None:
    view = ENGINE.view(Source.from_arrow(pa.table({"s": ["a", "b"]})), Query())
    with pytest.raises(QueryError, match=words):
        view.summary("s", **kwargs)
