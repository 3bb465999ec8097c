"""A header's top values equal pandas' ``value_counts`` (issue 15).

The top values, the null count, the number of distinct values and the row count come from
one aggregate over the groups (``min_by`` with a bounded list, see ``_summary``) instead of a
window over every group: the values, their order (count descending, then value), ties, the
null group and the counts must stay exactly pandas'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source

ENGINE = Engine(background=False)


def reference(values: list[Any], where: list[bool] | None, top: int = 10) -> dict[str, Any]:
    s = pd.Series(values, dtype=object)
    if where is not None:
        s = s[pd.Series(where)]
    counts = s.dropna().value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "values": [v for v, _ in ranked],
        "counts": [int(c) for _, c in ranked],
        "nulls": int(s.isna().sum()),
        "distinct": len(counts),
        "count": len(s),
    }


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.one_of(
            st.none(), st.sampled_from(["a", "b", "B", "é", "", "a ", "zz"]), st.text(max_size=3)
        ),
        max_size=40,
    ),
    filtered=st.booleans(),
    parquet=st.booleans(),
)
def test_top_values_match_pandas(
    tmp_path: Path, values: list[str | None], filtered: bool, parquet: bool
) -> None:
    values = [v.replace("\0", "") if v is not None else None for v in values]
    table = pa.table({"s": pa.array(values, pa.string()), "i": list(range(len(values)))})
    src = Source.from_arrow(table)
    if parquet:
        path = tmp_path / "t.parquet"
        pq.write_table(table, path, row_group_size=7)
        src = Source.from_parquet([str(path)])
    query = Query(filter="i % 3 != 0") if filtered else Query()
    got = ENGINE.view(src, query).summary("s")
    where = [i % 3 != 0 for i in range(len(values))] if filtered else None
    want = reference(values, where)
    assert {k: got[k] for k in want} == want
    assert got["type"] == "top"


def test_top_values_of_booleans_and_an_all_null_column() -> None:
    table = pa.table(
        {
            "b": pa.array([True, False, None, True, None, None], pa.bool_()),
            "n": pa.array([None] * 6, pa.string()),
        }
    )
    src = Source.from_arrow(table)
    b = ENGINE.view(src, Query()).summary("b")
    assert (b["values"], b["counts"], b["nulls"], b["distinct"], b["count"]) == (
        [True, False],
        [2, 1],
        3,
        2,
        6,
    )
    n = ENGINE.view(src, Query()).summary("n")
    assert (n["values"], n["counts"], n["nulls"], n["distinct"], n["count"]) == ([], [], 6, 0, 6)
    empty = ENGINE.view(src, Query(filter="b == true and b == false")).summary("b")
    assert (empty["values"], empty["nulls"], empty["distinct"], empty["count"]) == ([], 0, 0, 0)
