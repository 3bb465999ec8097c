"""``dv.Table(dataframe=dask_df)`` logged by the workers of a real ``dask.distributed`` cluster.

What a user relies on: the logged table reads back equal to the pandas concatenation of the
partitions (rows numbered in partition order), its derived columns and class lists are the
ones a single machine computes, images written by the workers are the bytes the widget's
thumbnails come from, and a failure (a worker killed, partitions whose columns differ)
publishes nothing, says which partition, and leaves the next log working.
"""

from __future__ import annotations

import io
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

import dsviz_widget as dv
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget.artifacts._dask_ingest import DaskIngestError
from tests import _dask

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

PARTS = _dask.PARTS
ROWS = _dask.ROWS
image_rows, META, objects_frame = _dask.image_rows, _dask.META, _dask.objects_frame
image_frame, local_image_frame = _dask.image_frame, _dask.local_image_frame


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _dask.local_cluster(tmp_path_factory.mktemp("worker-cache")) as c:
        yield c


def log(table: dv.Table, name: str = "data") -> dv.Table:
    art = dv.Artifact(name, type="dataset")
    art.add(table, "t")
    dv.log_artifact(art)
    got = dv.use_artifact(f"{name}:latest").get("t")
    assert isinstance(got, dv.Table)
    return got


# -- round trips ----------------------------------------------------------------------------------
SCALARS = {
    "int": st.integers(-(2**40), 2**40),
    "float": st.floats(allow_nan=True, allow_infinity=False, width=64),
    "str": st.text(max_size=6),
    "bool": st.booleans(),
}


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    kinds = draw(st.lists(st.sampled_from(sorted(SCALARS)), min_size=1, max_size=4))
    n = draw(st.integers(PARTS, 3 * PARTS))
    data = {
        f"c{j}_{k}": draw(st.lists(SCALARS[k], min_size=n, max_size=n)) for j, k in enumerate(kinds)
    }
    return pd.DataFrame(data)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pdf=frames())
def test_a_20_partition_frame_reads_back_as_its_pandas_rows(
    client: Any, store_dir: Path, pdf: pd.DataFrame
) -> None:
    ddf = dd.from_pandas(pdf, npartitions=PARTS, sort=False)
    assert ddf.npartitions == PARTS
    got = log(dv.Table(dataframe=ddf))
    assert len(got) == len(pdf)
    local = dv.Table(dataframe=pdf)
    assert got.kinds == local.kinds
    pd.testing.assert_frame_equal(got.to_pandas(), local.to_pandas())
    assert got == local
    # Row ids are global, in partition order: the engine pages through every part.
    page = got.query(offset=len(pdf) - 3, limit=10)
    assert page.index.tolist() == list(range(len(pdf) - 3, len(pdf)))


def test_images_written_by_the_workers(client: Any, store_dir: Path) -> None:
    got = log(dv.Table(dataframe=image_frame()))
    local = local_image_frame()
    assert len(got) == PARTS * ROWS
    frame = got.to_pandas()
    pd.testing.assert_frame_equal(frame[["id", "label", "score"]], local[["id", "label", "score"]])
    for mine, theirs in zip(frame["image"], local["image"], strict=True):
        assert mine.caption == theirs.caption and mine.boxes == theirs.boxes
        assert np.array_equal(mine.to_numpy(), theirs.to_numpy())
    # The store holds each part as its own entry, under a table entry of no rows.
    manifest = dv.use_artifact("data:latest").manifest
    assert manifest is not None
    parts = sorted(n for n, e in manifest.entries.items() if e.kind == "table-part")
    assert parts == [f"t.parts/{i:06d}.parquet" for i in range(PARTS)]
    assert dv.use_artifact("data:latest").entries() == ["t"]  # parts are not entries of their own


def test_derived_columns_equal_the_single_machine_path(client: Any, store_dir: Path) -> None:
    got = log(dv.Table(dataframe=image_frame()), "dask")
    alone = log(dv.Table(dataframe=local_image_frame()), "local")
    assert got.derived_columns == alone.derived_columns
    assert "n_boxes.person" in got.derived_columns and "max_score.conf" in got.derived_columns
    assert "%_car" in got.derived_columns and "%_person" in got.derived_columns
    # Every stored column, derived included, and the table metadata (class lists, derived
    # descriptions), exactly as a single machine writes them.
    mine, theirs = got._storage_table(), alone._storage_table()
    assert mine.schema.metadata == theirs.schema.metadata
    assert mine.equals(theirs)
    # Queries over the derived columns agree too.
    f = "n_boxes.person > 0 and `%_car` > 0.3"
    assert got.count(f) == alone.count(f) > 0
    by = got.query(group_by="label", aggregates={"max_score.conf": ["max"]}, limit=10)
    ref = alone.query(group_by="label", aggregates={"max_score.conf": ["max"]}, limit=10)
    pd.testing.assert_frame_equal(by.reset_index(drop=True), ref.reset_index(drop=True))


def test_thumbnails_of_worker_images(client: Any, store_dir: Path) -> None:
    from dsviz_widget.widget._handler import MessageHandler

    got = log(dv.Table(dataframe=image_frame(4)))
    local = local_image_frame(4)
    handler = MessageHandler(got.engine_source(), got.read_blob, name="dask")
    reply, buffers = handler.handle(
        {"id": "p", "kind": "page", "query": {"sort": ["-id"]}, "offset": 0, "limit": 3}
    )
    page = __import__("pyarrow").ipc.open_stream(buffers[0]).read_all()
    assert page.column("id").to_pylist() == [23, 22, 21]
    digests = [cell["digest"] for cell in page.column("image").to_pylist()]
    reply, buffers = handler.handle(
        {"id": "t", "kind": "thumbnails", "images": digests, "masks": [], "size": 64}
    )
    assert [item["role"] for item in reply["items"]] == ["image"] * 3
    for item, i, digest in zip(reply["items"], (23, 22, 21), digests, strict=True):
        # The bytes the worker stored are the picture's PNG, the same as a local log's.
        assert got.read_blob(digest) == local["image"][i]._storage_blobs()[0][0].data()
        thumb = PILImage.open(io.BytesIO(buffers[item["buffer"]])).convert("RGB")
        expected = np.asarray(
            local["image"][i].to_pil().convert("RGB").resize(thumb.size), np.int16
        )
        assert thumb.size == (item["width"], item["height"]) == (16, 12)
        assert np.abs(np.asarray(thumb, np.int16) - expected).mean() < 6


def test_a_bag_of_images_is_a_one_column_table(client: Any, store_dir: Path) -> None:
    import dask.bag as db

    # Pixel values from 10 up: an all-0/1 array reads as a [0, 1] picture (W&B's rule).
    pixels = [np.full((4, 5), 10 + v, np.uint8) for v in range(30)]
    bag = db.from_sequence(range(30), npartitions=6).map(
        lambda v: dv.Image(np.full((4, 5), 10 + v, np.uint8), caption=str(v))
    )
    got = log(dv.Table(columns=["image"], data=bag))
    images = got.get_column("image")
    assert [im.caption for im in images] == [str(v) for v in range(30)]
    assert all(np.array_equal(im.to_numpy(), p) for im, p in zip(images, pixels, strict=True))


# -- failures ---------------------------------------------------------------------------------------
def rows_or_die(part: int, die: bool) -> pd.DataFrame:
    if die:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker process, mid-ingest
    return pd.DataFrame({"id": np.arange(part * 5, part * 5 + 5), "x": np.full(5, part * 0.5)})


def dying_frame(die_at: int | None) -> Any:
    meta = pd.DataFrame({"id": pd.Series([], dtype="int64"), "x": pd.Series([], dtype="float64")})
    return dd.from_delayed(
        [dask.delayed(rows_or_die, pure=False)(p, p == die_at) for p in range(PARTS)], meta=meta
    )


def test_a_worker_killed_mid_ingest_publishes_nothing(client: Any, store_dir: Path) -> None:
    first = log(dv.Table(dataframe=dying_frame(None)), "killed")
    art = dv.Artifact("killed", type="dataset")
    art.add(dv.Table(dataframe=dying_frame(7).assign(x=lambda d: d.x + 1)), "t")
    with pytest.raises(DaskIngestError, match="nothing was published") as caught:
        dv.log_artifact(art)
    # It names a partition the dead worker held: 7's, or one queued on that worker with it.
    assert re.search(r"failed at partition \d+ of 20: KilledWorker", str(caught.value))
    # Nothing partial: the latest version is still the first one, and there is no v1.
    assert dv.use_artifact("killed:latest").version == "v0"
    with pytest.raises(NotFoundError):
        dv.use_artifact("killed:v1")
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    again = dv.Artifact("killed", type="dataset")
    again.add(dv.Table(dataframe=dying_frame(None).assign(x=lambda d: d.x + 1)), "t")
    dv.log_artifact(again)
    got = dv.use_artifact("killed:v1").get("t")
    assert got.get_column("x") == [v + 1 for v in first.get_column("x")]


def mixed_types(part: int) -> pd.DataFrame:
    value: Any = [f"s{part}"] * 3 if part == 13 else [part] * 3
    return pd.DataFrame({"id": [part] * 3, "value": pd.Series(value, dtype=object)})


def test_partitions_whose_columns_differ_are_refused_naming_the_partition(
    client: Any, store_dir: Path
) -> None:
    meta = pd.DataFrame({"id": pd.Series([], dtype="int64"), "value": pd.Series([], dtype=object)})
    ddf = objects_frame([dask.delayed(mixed_types)(p) for p in range(PARTS)], meta)
    art = dv.Artifact("mixed", type="dataset")
    art.add(dv.Table(dataframe=ddf), "t")
    with pytest.raises(
        ValidationError,
        match=r"partition 13: column 'value' is str \(string\) there but int \(int64\) in partition 0",
    ):
        dv.log_artifact(art)
    with pytest.raises(NotFoundError):
        dv.use_artifact("mixed:latest")


def test_a_partition_that_fails_is_named(client: Any, store_dir: Path) -> None:
    def bad(part: int) -> pd.DataFrame:
        cells: list[Any] = [{"a": 1}, {"a": 2}] if part != 4 else [{"a": 1}, object()]
        return pd.DataFrame({"id": [part, part], "d": pd.Series(cells, dtype=object)})

    meta = pd.DataFrame({"id": pd.Series([], dtype="int64"), "d": pd.Series([], dtype=object)})
    ddf = objects_frame([dask.delayed(bad)(p) for p in range(6)], meta)
    art = dv.Artifact("bad", type="dataset")
    art.add(dv.Table(dataframe=ddf), "t")
    with pytest.raises(ValidationError, match="partition 4 of 6"):
        dv.log_artifact(art)


# -- the store sees every part ------------------------------------------------------------------
def test_gc_verify_and_download_see_every_part(
    client: Any, store_dir: Path, tmp_path: Path
) -> None:
    got = log(dv.Table(dataframe=image_frame(5)))
    # Parts written again with the whole table's derived columns leave their first
    # versions unreferenced: gc removes those and keeps every part the version names.
    dv.gc(grace_seconds=0)
    assert dv.verify().ok
    again = dv.use_artifact("data:latest").get("t")
    assert again == got
    out = Path(dv.use_artifact("data:latest").download(str(tmp_path / "out")))
    parts = sorted(p.name for p in (out / "t.parts").iterdir())
    assert parts == [f"{i:06d}.parquet" for i in range(5)]
    # Borrowed by another artifact of the store: its parts come along, not copied.
    other = dv.Artifact("other", type="dataset")
    other.add(again, "same")
    dv.log_artifact(other)
    assert dv.use_artifact("other:latest").get("same") == got


def test_reading_before_logging_computes_here(client: Any, store_dir: Path) -> None:
    pdf = pd.DataFrame({"id": np.arange(40), "x": np.linspace(0, 1, 40)})
    t = dv.Table(dataframe=dd.from_pandas(pdf, npartitions=4))
    assert t.columns == ["id", "x"] and len(t) == 40
    assert t.query(filter="x > 0.9")["id"].tolist() == [36, 37, 38, 39]
    t.add_data(40, 2.0)  # changing it loads it into memory, as a Parquet table would be
    assert len(t) == 41


def test_images_dask_turned_into_text_are_refused(client: Any, store_dir: Path) -> None:
    ddf = dd.from_delayed([dask.delayed(image_rows)(p, 2) for p in range(3)], meta=META)
    art = dv.Artifact("text", type="dataset")
    art.add(dv.Table(dataframe=ddf), "t")
    with pytest.raises(ValidationError, match="column 'image' holds the text of images"):
        dv.log_artifact(art)
