"""A table is read a few batches ahead of the writer (``_serialize._prefetched``): rows keep their
order, a reading error reaches the caller as itself, and the reader stops when the writer does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts._serialize import _prefetched


def _batches(n: int, fail_at: int | None = None) -> Iterator[pa.RecordBatch]:
    for i in range(n):
        if i == fail_at:
            raise dv.IntegrityError(f"batch {i} is damaged")
        yield pa.record_batch({"i": pa.array([i] * 3)})


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dsviz-log-reader"]


def test_batches_come_in_order() -> None:
    got = [b.column("i")[0].as_py() for b in _prefetched(_batches(50))]
    assert got == list(range(50))
    assert _readers() == []


def test_a_reading_error_is_raised_after_the_batches_before_it() -> None:
    got: list[int] = []
    with pytest.raises(dv.IntegrityError, match="batch 7 is damaged"):
        for b in _prefetched(_batches(20, fail_at=7)):
            got.append(b.column("i")[0].as_py())
    assert got == list(range(7))
    assert _readers() == []


def test_the_reader_stops_when_the_writer_stops() -> None:
    consumed = _prefetched(_batches(10_000))
    for i, _ in enumerate(consumed):
        if i == 3:
            break
    consumed.close()  # what a failing ``for`` over it does when the writer raises
    assert _readers() == []


def test_a_logged_parquet_table_keeps_its_rows_in_order(store_dir: Path, tmp_path: Path) -> None:
    n = 700_000  # several batches of 131,072 rows
    rng = np.random.default_rng(9)
    src = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"id": np.arange(n), "v": rng.normal(size=n)}), src, row_group_size=100_000
    )
    art = dv.Artifact("ordered", type="dataset")
    art.add(dv.Table.from_parquet(str(src)), "t")
    dv.log_artifact(art)
    got = dv.use_artifact("ordered:latest").get("t").to_arrow()
    assert got.column("id").to_pylist() == list(range(n))
    assert got.column("v").equals(pq.read_table(src).column("v"))
