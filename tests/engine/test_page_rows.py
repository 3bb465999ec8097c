"""Scattered rows read from their Parquet pages (``engine/_pagerows.py``, issue 15).

A page of a sorted view wants rows spread over the file; where the file has an offset index
the engine reads each row's value from one small page instead of DuckDB decoding whole
row groups. Every value must be pyarrow's, whatever the column types, nulls, encodings,
codecs, page sizes and page versions; what the reader does not understand (nested, temporal,
decimal columns, a changed or broken file) must be read another way, never wrongly.
"""

from __future__ import annotations

import contextlib
import os
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.artifacts._serialize import _writer_options
from dsviz_widget.engine import Engine, Query, QueryError, Source
from dsviz_widget.engine import _pagerows as pr
from dsviz_widget.engine._relation import ParquetRelation

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
# (Arrow type, values) of the columns the reader reads ...
READ: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "i8": (pa.int8(), st.integers(-128, 127)),
    "i16": (pa.int16(), st.integers(-(2**15), 2**15 - 1)),
    "i32": (pa.int32(), st.integers(-(2**31), 2**31 - 1)),
    "i64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "u8": (pa.uint8(), st.integers(0, 255)),
    "u32": (pa.uint32(), st.integers(0, 2**32 - 1)),
    "u64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "f32": (pa.float32(), st.floats(width=32, allow_nan=False)),
    "f64": (pa.float64(), st.floats(allow_nan=True)),
    "b": (pa.bool_(), st.booleans()),
    "s": (pa.string(), TEXT),
    "ls": (pa.large_string(), st.sampled_from(["", "a", "bb", "ccc", "é" * 5])),
    "bin": (pa.binary(), st.binary(max_size=9)),
}
# ... and of columns it leaves to DuckDB.
OTHER: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "ts": (pa.timestamp("ms"), st.integers(0, 2**40)),
    "d": (pa.date32(), st.integers(0, 30000)),
    "l": (pa.list_(pa.int64()), st.lists(st.integers(-9, 9), max_size=3)),
    "st": (pa.struct([("p", pa.int32())]), st.fixed_dictionaries({"p": st.integers(0, 9)})),
}


def _column(
    data: st.DataObject, t: pa.DataType, values: st.SearchStrategy[Any], n: int, seed: int
) -> Any:
    """``n`` values drawn from a small pool (so dictionaries and runs occur), with no,
    some or only nulls, placed by a seeded generator (hypothesis draws the pool, not each
    row: shrinking stays fast)."""
    mode = data.draw(st.sampled_from(["none", "some", "all"]))
    pool = data.draw(st.lists(values, min_size=1, max_size=6))
    rng = random.Random(seed)
    out = [pool[rng.randrange(len(pool))] for _ in range(n)]
    if mode != "none":
        out = [None if mode == "all" or rng.random() < 0.3 else v for v in out]
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pa.array(out, pa.int64() if pa.types.is_timestamp(t) else pa.int32()).cast(t)
    return pa.array(out, type=t)


def _expected(table: pa.Table, ids: np.ndarray, columns: list[str]) -> dict[str, list[Any]]:
    return {c: table.column(c).take(pa.array(ids)).to_pylist() for c in columns}


def _same(got: list[Any], want: list[Any]) -> bool:
    """Equal values, NaN equal to NaN, -0.0 told from 0.0."""
    return len(got) == len(want) and all(
        (g is None and w is None)
        or (
            isinstance(w, float)
            and isinstance(g, float)
            and (struct.pack("<d", g) == struct.pack("<d", w) or (g != g and w != w))
        )
        or (not isinstance(w, float) and g == w)
        for g, w in zip(got, want, strict=True)
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    n=st.integers(1, 700),
    version=st.sampled_from(["1.0", "2.0"]),
    page_rows=st.sampled_from([1, 3, 64, 2048]),
    group_rows=st.sampled_from([5, 100, 1 << 20]),
    codec=st.sampled_from(["snappy", "zstd", "gzip", "lz4", "none"]),
    dictionary=st.booleans(),
    delta=st.booleans(),
)
def test_rows_from_pages_are_pyarrows(
    tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
    n: int,
    version: str,
    page_rows: int,
    group_rows: int,
    codec: str,
    dictionary: bool,
    delta: bool,
) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(READ)), min_size=1, unique=True))
    others = data.draw(st.lists(st.sampled_from(sorted(OTHER)), max_size=2, unique=True))
    kinds = {**READ, **OTHER}
    seed = data.draw(st.integers(0, 2**32))
    table = pa.table(
        {c: _column(data, *kinds[c], n, seed + i) for i, c in enumerate(names + others)}
    )
    encodings = {}
    if delta and not dictionary:  # the DELTA encodings of other writers
        for c in names:
            t = READ[c][0]
            if pa.types.is_integer(t) and t.bit_width >= 32:
                encodings[c] = "DELTA_BINARY_PACKED"
            elif c in ("s", "bin"):
                encodings[c] = "DELTA_LENGTH_BYTE_ARRAY"
    path = tmp_path_factory.mktemp("pages") / "t.parquet"
    pq.write_table(
        table,
        path,
        row_group_size=group_rows,
        max_rows_per_page=page_rows,
        data_page_version=version,
        write_page_index=True,
        compression=codec,
        use_dictionary=dictionary,
        column_encoding=encodings or None,
    )
    reader = pr.PageRows(str(path), table.schema)
    assert reader.readable(table.column_names) == names  # every flat column, none other
    picks = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40))
    ids = np.unique(np.array(picks + random.Random(seed).sample(range(n), min(n, 30))))
    got = reader.take(ids, names)
    assert got.column_names == names  # nothing fell back on a well-formed file
    want = _expected(table, ids, names)
    for c in names:
        assert _same(got.column(c).cast(table.schema.field(c).type).to_pylist(), want[c]), c
    # The offset indexes decoded all at once (the engine's footer thread) are the ones
    # decoded chunk by chunk: every chunk, the same rows.
    ahead = pr.PageRows(str(path), table.schema)
    ahead.load_indexes()
    assert len(ahead._index) == len(ahead._chunks) * len(names)
    again = ahead.take(ids, names)
    for c in names:  # (Table.equals would call NaN unequal to itself)
        assert _same(again.column(c).to_pylist(), got.column(c).to_pylist()), c


def _logged_like(path: Path, table: pa.Table) -> None:
    """``table`` written as logged tables are (artifacts/_serialize.write_rows)."""
    batches = table.to_batches(max_chunksize=50_000)
    with pq.ParquetWriter(path, table.schema, **_writer_options(table.schema, batches[0])) as w:
        for batch in batches:
            w.write_batch(batch)


def _table(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    labels = np.array(["cat", "dog", "car", None], dtype=object)
    score = rng.random(n)
    score[rng.integers(0, n, 50)] = np.nan
    return pa.table(
        {
            "id": np.arange(n),
            "score": score,
            "label": pa.array(labels[rng.integers(0, 4, n)]),
            "n": pa.array(rng.integers(0, 12, n), pa.int16()),
            "caption": [f"image {i}" if i % 7 else None for i in range(n)],
            "ok": rng.random(n) < 0.5,
            "when": pa.array(np.arange(n), pa.int64()).cast(pa.timestamp("us")),
            "box": pa.array([{"x": i % 5} for i in range(n)]),
        }
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    table = _table(300_000)
    path = tmp_path_factory.mktemp("big") / "logged.parquet"
    _logged_like(path, table)
    return path, table


def test_logged_files_are_read_page_by_page(big: tuple[Path, pa.Table]) -> None:
    """A page of scattered rows of a logged table: the flat columns from their pages, the
    timestamp and struct by DuckDB, every value the file's, in the order asked."""
    path, table = big
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).column(0).has_offset_index
    source = Source.from_parquet([str(path)])
    engine = Engine()
    ids = np.random.default_rng(3).choice(table.num_rows, 50, replace=False)
    got = engine.rows(source, ids)
    rel = engine._relation(source)
    assert isinstance(rel, ParquetRelation)
    reader = rel._pages[0]
    assert reader is not None
    assert sorted(reader.leaves) == ["caption", "id", "label", "n", "ok", "score"]
    assert got.column("_row").to_pylist() == ids.tolist()
    want = _expected(table, ids, table.column_names)
    for c in table.column_names:
        assert _same(got.column(c).to_pylist(), want[c]), c
        assert got.schema.field(c).type == table.schema.field(c).type


def test_a_run_of_rows_and_many_rows_stay_with_duckdb(big: tuple[Path, pa.Table]) -> None:
    path, table = big
    source = Source.from_parquet([str(path)])
    engine = Engine()
    for ids in (np.arange(1000, 1050), np.arange(0, 300_000, 50)):
        got = engine.rows(source, ids, ["score", "caption"])
        assert got.column("caption").to_pylist() == table.column("caption").take(ids).to_pylist()
    assert 0 not in engine._relation(source)._pages  # never needed


def test_a_file_changed_under_the_reader_is_read_by_duckdb(tmp_path: Path) -> None:
    """The reader parsed the footer of the file as it was; a file rewritten since (same
    path) must not be read with the old offsets."""
    path = tmp_path / "t.parquet"
    first = _table(300_000)
    _logged_like(path, first)
    source = Source.from_parquet([str(path)])
    engine = Engine()
    ids = np.array([5, 150_001, 299_999])
    engine.rows(source, ids, ["id"])
    reader = engine._relation(source)._pages[0]
    assert reader is not None
    changed = first.set_column(0, "id", pa.array(np.arange(300_000) * 3))
    _logged_like(path, changed)
    os.utime(path, ns=(1, 1))  # another modification time, whatever the clock says
    with pytest.raises(pr.Unsupported, match="changed"):
        reader.take(ids, ["id"])


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(max_size=200), k=st.integers(0, 5000), width=st.integers(0, 33))
def test_broken_bytes_are_unsupported_never_an_other_error(blob: bytes, k: int, width: int) -> None:
    """Whatever the bytes (a corrupt or hostile file), the parsers end, and say
    ``Unsupported`` or give a value: no other exception, no endless loop."""
    b = memoryview(blob)
    for call in (
        lambda: pr.parse_struct(blob),
        lambda: pr.page_header(b),
        lambda: pr.offset_index(blob),
        lambda: pr.rle_at(b, 0, len(b), width, k),
        lambda: pr.delta_prefix(b, 0, len(b), k + 1),
        lambda: pr._plain_at(b, 0, pr._BYTE_ARRAY, k % 50),
    ):
        with contextlib.suppress(*pr._MALFORMED):
            call()


def test_a_corrupt_page_falls_back_to_duckdb(tmp_path: Path) -> None:
    """Bytes of a snappy page overwritten: the page reader gives up on that column (it
    does not decompress) and DuckDB reads it, which fails loudly too — never a wrong value
    from the reader."""
    table = pa.table({"caption": [f"row {i:06d} " * 3 for i in range(300_000)]})
    path = tmp_path / "t.parquet"
    _logged_like(path, table)
    reader = pr.PageRows(str(path), table.schema)
    offsets, sizes, _ = reader._pages(os.open(path, os.O_RDONLY), 0, reader.leaves["caption"])
    with open(path, "r+b") as f:  # the middle of the second page's compressed body
        f.seek(offsets[1] + sizes[1] - 40)
        f.write(b"\xff" * 30)
    st_ = os.stat(path)
    reader.identity = (st_.st_size, st_.st_mtime_ns)
    got = reader.take(np.array([2048 + 5, 100_000]), ["caption"])
    assert got.column_names == []  # the column is left to another reader
    assert reader.readable(["caption"]) == []


def test_sorted_pages_of_a_page_readable_table_need_no_row_store(
    big: tuple[Path, pa.Table], tmp_path: Path
) -> None:
    """A logged table whose every column is read page by page gets no row store (its disk
    and CPU buy little); its pages at every depth are pandas' stable sort. One with a
    column the reader leaves to DuckDB (a struct) still gets its row store."""
    path, table = big
    flat = table.drop_columns(["when", "box"])
    flat_path = tmp_path / "flat.parquet"
    _logged_like(flat_path, flat)
    frame = flat.to_pandas()
    want = frame.sort_values("score", ascending=False, na_position="last", kind="stable")
    engine = Engine()
    view = engine.view(Source.from_parquet([str(flat_path)]), Query(sort=["-score"]))
    for offset in (0, 150_000, 7, 299_950, 123_457):
        page = view.page(offset, 50)
        ids = want.index[offset : offset + 50].to_numpy()
        assert page.column("_row").to_pylist() == ids.tolist()
        assert page.column("caption").to_pylist() == flat.column("caption").take(ids).to_pylist()
    engine._worker.wait(view._order_job())
    assert view.relation.store is None
    assert view.relation._pages[0] is not None

    other = engine.view(Source.from_parquet([str(path)]), Query(sort=["-score"]))
    other.page(150_000, 50)
    assert other.relation.store is not None
    engine.close()


def test_a_file_gone_under_the_reader_is_the_engines_usual_error(tmp_path: Path) -> None:
    """The page reader opens the file for each page: gone, the read is DuckDB's, whose
    failure the engine words as for any other table (a ``QueryError``, not an ``OSError``)."""
    path = tmp_path / "t.parquet"
    _logged_like(path, _table(300_000))
    source = Source.from_parquet([str(path)])
    engine = Engine()
    ids = np.array([5, 150_001, 299_999])
    assert engine.rows(source, ids, ["id"]).column("id").to_pylist() == ids.tolist()
    path.unlink()
    with pytest.raises(QueryError, match="reading rows failed"):
        engine.rows(source, ids, ["id"])
