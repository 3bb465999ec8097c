"""A time budget holds even when it runs out before DuckDB has started the statement."""

from __future__ import annotations

import time

import duckdb
import pytest

from dsviz_widget.engine._budget import Budget, BudgetError, run_sql


@pytest.mark.parametrize("seconds", [1e-6, 0.001, 0.02])
def test_a_budget_spent_before_the_query_starts_still_stops_it(seconds: float) -> None:
    con = duckdb.connect()
    start = time.monotonic()
    # Minutes of work unless interrupted.
    with pytest.raises(BudgetError, match="was stopped after"):
        run_sql(con, "SELECT sum(i * i) FROM range(50000000000) t(i)", [], Budget("256MB", seconds))
    assert time.monotonic() - start < 5
    # The connection is usable afterwards: no interrupt is left over for the next query.
    assert run_sql(con, "SELECT 41 + 1", [], Budget("256MB", 30)).fetchall() == [(42,)]
