"""Parquet footers are read and parsed once: DuckDB keeps them per connection
(``parquet_metadata_cache``), and a logged table's footers read at ``get()`` serve its first
``table.query``. Neither may ever answer from a file's old footer once it is rewritten."""

from __future__ import annotations

import os
import tempfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.engine import Engine, Query, Source

ROW = st.tuples(
    st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64)),
    st.one_of(st.none(), st.text(max_size=6)),
)
ROWS = st.lists(ROW, min_size=0, max_size=40)


def _table(rows: list[tuple[object, object, object]], group: int) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], []]
    return pa.table(
        {
            "n": pa.array(cols[0], pa.int64()),
            "x": pa.array(cols[1], pa.float64()),
            "s": pa.array(cols[2], pa.string()),
        }
    )


def _write(table: pa.Table, path: str, group: int) -> None:
    pq.write_table(table, path, row_group_size=max(1, group))


def _expected(table: pa.Table, offset: int, limit: int) -> pd.DataFrame:
    frame = table.to_pandas().iloc[offset : offset + limit]
    return frame.reset_index(drop=True)


def _page(engine: Engine, path: str, offset: int, limit: int) -> pd.DataFrame:
    page = engine.view(Source.from_parquet([path]), Query()).page(offset, limit)
    return page.drop(columns=["_row"]).to_pandas().reset_index(drop=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=ROWS,
    second=ROWS,
    group=st.integers(1, 16),
    offset=st.integers(0, 45),
    limit=st.integers(0, 20),
    same_mtime=st.booleans(),
)
def test_a_rewritten_file_is_read_anew_not_from_its_old_footer(
    first: list, second: list, group: int, offset: int, limit: int, same_mtime: bool
) -> None:
    """One engine (one DuckDB connection, its footer cache filled by the first read) reads
    a file, which is then rewritten in place, even with its old mtime: the pages are the
    new file's, as pandas reads it (nulls, NaN, strings, pages past the end)."""
    engine = Engine()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.parquet")
            a, b = _table(first, group), _table(second, group)
            _write(a, path, group)
            before = os.stat(path)
            pd.testing.assert_frame_equal(
                _page(engine, path, offset, limit), _expected(a, offset, limit), check_dtype=False
            )
            _write(b, path, group)
            if same_mtime:
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            if os.stat(path).st_size == before.st_size and same_mtime:
                return  # the same identity: the engine's documented limit (size + mtime)
            pd.testing.assert_frame_equal(
                _page(engine, path, offset, limit), _expected(b, offset, limit), check_dtype=False
            )
            assert engine.view(Source.from_parquet([path])).num_rows == b.num_rows
    finally:
        engine.close()


def test_engine_connections_keep_parquet_footers() -> None:
    engine = Engine()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.parquet")
            pq.write_table(pa.table({"n": [1, 2, 3]}), path)
            view = engine.view(Source.from_parquet([path]))
            assert view.page(0, 5).column("n").to_pylist() == [1, 2, 3]
            with engine.connection(view.relation) as con:
                got = con.execute("SELECT current_setting('parquet_metadata_cache')").fetchone()
            assert got is not None and got[0] is True
    finally:
        engine.close()


def test_first_query_of_a_logged_table_reads_no_footer_again(tmp_path, monkeypatch) -> None:
    """``get()`` reads the footer; ``table.query`` then answers without reading it again,
    and with the rows pandas reads from the same file."""
    data = pa.table({"id": list(range(30)), "score": [i / 7 for i in range(30)]})
    pq.write_table(data, tmp_path / "in.parquet")
    run = dv.init(project="footers", dir=str(tmp_path / "store"))
    try:
        art = dv.Artifact("t", type="dataset")
        art.add(dv.Table.from_parquet(str(tmp_path / "in.parquet")), "table")
        run.log_artifact(art)
        table = dv.use_artifact("t:latest").get("table")
        reads: list[str] = []
        real = pq.read_metadata

        def counted(where, *args, **kwargs):  # the real read, counted
            reads.append(str(where))
            return real(where, *args, **kwargs)

        monkeypatch.setattr(pq, "read_metadata", counted)
        got = table.query(sort="-score", limit=5)
        assert reads == []
        want = data.to_pandas().sort_values("score", ascending=False).head(5)
        assert got["id"].tolist() == want["id"].tolist()
    finally:
        run.finish()
