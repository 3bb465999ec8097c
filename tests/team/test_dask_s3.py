"""Dask workers write a table's parts and images straight to S3 (SeaweedFS on 127.0.0.1).

First the ingest is given the real ``S3ObjectStore`` as the store's objects, and everything
it wrote is read back from the bucket: the parts, the schema-only table file, the media
index and every image, as a table equal to the partitions' pandas rows. Then the public
path: ``dv.init(dir="s3://...", catalog=...)``, ``dv.Table(dataframe=dask_df)``, a log, and
the version read back on a new machine and compared with pandas.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.artifacts._dask_ingest import opener_for, write_table
from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore
from tests import _dask, _servers

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _dask.local_cluster(tmp_path_factory.mktemp("worker-cache")) as c:
        yield c


def test_workers_write_parts_and_images_to_the_bucket(
    client: Any, seaweed_shared: _servers.Seaweed, s3_url: str, cache_dir: Path
) -> None:
    objects = S3ObjectStore(s3_url, S3Config.from_env(seaweed_shared.env()), cache_dir=cache_dir)
    assert opener_for(objects).url == s3_url  # the workers open the same bucket and prefix
    parts = 8
    entries = write_table(
        SimpleNamespace(objects=objects),  # type: ignore[arg-type]
        "t",
        dv.Table(dataframe=_dask.image_frame(parts)),
    )
    kinds = {name: e.kind for name, e in entries.items()}
    assert kinds == {
        "t.table.parquet": "table",
        **{f"t.parts/{i:06d}.parquet": "table-part" for i in range(parts)},
        "t.media.parquet": "media-index",
    }
    # Everything named is in the bucket, and nothing else but the images and masks.
    stored = set(objects.iter_digests())
    with objects.local_copy(entries["t.media.parquet"].digest, "media index") as path:
        media = pq.read_table(path).column("digest").to_pylist()
    expected = {e.digest for e in entries.values()} | set(media)
    rows = _dask.local_image_frame(parts)
    # Every picture and mask file, as a single machine would store them.
    assert set(media) == {b.digest for im in rows["image"] for b, _ in im._storage_blobs()}
    # A part written again with the whole table's derived columns leaves its first copy.
    assert expected <= stored and len(stored - expected) <= parts
    with ExitStack() as stack:
        head = [stack.enter_context(objects.local_copy(entries["t.table.parquet"].digest, "t"))]
        files = head + [
            stack.enter_context(objects.local_copy(entries[f"t.parts/{i:06d}.parquet"].digest, "t"))
            for i in range(parts)
        ]
        got = dv.Table.from_stored(
            [str(f) for f in files], lambda d: objects.read(d, "media"), None, "t"
        )
        frame = got.to_pandas()
        pd.testing.assert_frame_equal(
            frame[["id", "label", "score"]], rows[["id", "label", "score"]]
        )
        for mine, theirs in zip(frame["image"], rows["image"], strict=True):
            assert (mine.to_numpy() == theirs.to_numpy()).all() and mine.boxes == theirs.boxes
        assert got == dv.Table(dataframe=rows)


def test_a_dask_frame_logged_through_dv_init_on_s3_reads_back_as_its_pandas_rows(
    client: Any,
    seaweed_shared: _servers.Seaweed,
    s3_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a user writes: ``dv.init(dir="s3://...", catalog=...)``, a Dask frame as a
    Table, ``log_artifact``; read back on a new machine, equal to the partitions' rows."""
    from dsviz_widget.artifacts import _store

    for name, value in seaweed_shared.env().items():
        monkeypatch.setenv(name, value)
    client_cache = tmp_path / "client-cache"
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(client_cache))
    parts = 6
    dv.finish()
    with dv.init(dir=s3_url, catalog=str(tmp_path / "catalog.sqlite")) as run:
        art = dv.Artifact("frames", type="dataset")
        art.add(dv.Table(dataframe=_dask.image_frame(parts)), "t")
        run.log_artifact(art)
    # A new machine: nothing open, nothing cached.
    _store._open.clear()
    monkeypatch.setenv("DSVIZ_CACHE_DIR", str(tmp_path / "other-machine"))
    dv.init(dir=s3_url, catalog=str(tmp_path / "catalog.sqlite"))
    # Stored as the workers wrote it: one part per partition, under one table entry.
    manifest = dv.use_artifact("frames:v0").manifest
    assert manifest is not None
    kinds = sorted(e.kind for e in manifest.entries.values())
    assert kinds.count("table-part") == parts and dv.use_artifact("frames:v0").entries() == ["t"]
    got = dv.use_artifact("frames:v0").get("t")
    rows = _dask.local_image_frame(parts)
    frame = got.to_pandas()
    pd.testing.assert_frame_equal(frame[["id", "label", "score"]], rows[["id", "label", "score"]])
    for mine, theirs in zip(frame["image"], rows["image"], strict=True):
        assert np.array_equal(mine.to_numpy(), theirs.to_numpy())
        assert mine.boxes == theirs.boxes and mine.caption == theirs.caption
    # The engine reads the parts as one table: a filtered, sorted page across partitions.
    page = got.query(filter="label == 'car'", sort=["-score"], limit=4)
    want = rows[rows.label == "car"].sort_values("score", ascending=False)
    assert page["id"].tolist() == want["id"].head(4).tolist()
    assert got == dv.Table(dataframe=rows)
    assert dv.verify().ok
    dv.finish()
