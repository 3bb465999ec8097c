"""Rows by id from a row store's memory-mapped Arrow IPC file (``_rows.MappedBatches``)."""

from __future__ import annotations

import mmap
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import _rows
from dsviz_widget.engine._rows import MappedBatches

N = 5_000
BATCH = 700  # batches of uneven sizes: the last one is short


def _table() -> pa.Table:
    rng = np.random.default_rng(5)
    score = rng.random(N)
    score[::17] = np.nan
    image = pa.StructArray.from_arrays(
        [pa.array([f"{i:064x}" for i in range(N)]), pa.array(rng.integers(1, 9, N), pa.int32())],
        names=["digest", "width"],
        mask=pa.array(rng.random(N) < 0.1),
    )
    return pa.table(
        {
            "id": pa.array(np.arange(N)),
            "score": pa.array(score, mask=rng.random(N) < 0.05),
            "label": pa.array([None if i % 11 == 0 else f"ü{i % 7}" * (i % 5) for i in range(N)]),
            "image": image,
            "tags": pa.array([[i, i + 1][: i % 3] for i in range(N)], pa.list_(pa.int64())),
        }
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, str, np.ndarray]:
    table = _table()
    path = str(tmp_path_factory.mktemp("rows") / "store.arrow")
    sizes = []
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        for b in table.to_batches(max_chunksize=BATCH):
            w.write_batch(b)
            sizes.append(b.num_rows)
    return table, path, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, N - 1), max_size=80),
    columns=st.lists(
        st.sampled_from(["id", "score", "label", "image", "tags"]), min_size=1, unique=True
    ),
)
def test_rows_by_id_equal_take_and_share_no_memory_with_the_map(
    stored: tuple[pa.Table, str, np.ndarray], ids: list[int], columns: list[str]
) -> None:
    table, path, starts = stored
    mapped = MappedBatches(path)
    want = table.select(columns).take(pa.array(ids, pa.int64()))
    got = mapped.take(np.array(ids, np.int64), starts, columns, want.slice(0, 0))
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist() or str(got.to_pylist()) == str(want.to_pylist())
    base = pa.py_buffer(mapped._map).address
    for col in got.columns:
        for chunk in col.chunks:
            for buf in chunk.buffers():
                if buf is not None and buf.size:
                    assert not base <= buf.address < base + len(mapped._map)


def test_reads_give_back_the_maps_pages(
    stored: tuple[pa.Table, str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(mmap, "MADV_DONTNEED") or _rows._file_resident() is None:
        pytest.skip("needs madvise and /proc/self/statm")
    table, path, starts = stored
    monkeypatch.setattr(MappedBatches, "RELEASE_BYTES", 0)
    mapped = MappedBatches(path)
    rng = np.random.default_rng(0)
    mapped.take(rng.integers(0, N, 50), starts, table.column_names, table.slice(0, 0))
    before = _rows._file_resident()
    for _ in range(50):
        mapped.take(rng.integers(0, N, 50), starts, table.column_names, table.slice(0, 0))
    after = _rows._file_resident()
    assert before is not None and after is not None
    assert after - before < Path(path).stat().st_size // 2  # dropped as read, not kept


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, N - 1), max_size=80),
    cuts=st.lists(st.integers(0, N), max_size=5),
)
def test_rows_of_a_chunked_table_equal_take(ids: list[int], cuts: list[int]) -> None:
    # Columns chunked differently from each other (and empty chunks): taken chunk by chunk.
    table = _table()
    bounds = sorted({0, *cuts, N})
    label = pa.chunked_array(
        [
            pa.array([], pa.string()),
            *(table.column("label").slice(a, b - a).combine_chunks() for a, b in pairwise(bounds)),
        ],
        pa.string(),
    )
    chunked = table.set_column(2, "label", label)
    for i, name, at in ((3, "image", N // 3), (4, "tags", 10)):
        whole = table.column(name).combine_chunks()
        cut = pa.chunked_array([whole.slice(0, at), whole.slice(at)])
        chunked = chunked.set_column(i, name, cut)
    got = _rows.take_rows(chunked, np.asarray(ids, dtype=np.int64))
    want = table.take(pa.array(ids, pa.int64()))
    assert got.schema == chunked.schema
    assert got.num_rows == len(ids)
    for name in table.column_names:
        nan = "NaN"  # NaN != NaN: compared as a marker
        norm = [nan if v != v else v for v in got.column(name).to_pylist()]
        assert norm == [nan if v != v else v for v in want.column(name).to_pylist()], name
