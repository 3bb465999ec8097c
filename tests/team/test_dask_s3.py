"""Dask workers write a table's parts and images straight to S3 (SeaweedFS on 127.0.0.1).

The store's wiring to S3 (``Store`` over an ``S3ObjectStore``) lands separately; here the
ingest is given the real ``S3ObjectStore`` as the store's objects, and everything it wrote
is read back from the bucket: the parts, the schema-only table file, the media index and
every image, as a table equal to the partitions' pandas rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

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
