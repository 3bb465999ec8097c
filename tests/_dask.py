"""A Dask cluster and partitions made on its workers, for the Dask ingest tests.

Functions here run on the workers (referred to by module, which the worker processes import
through ``PYTHONPATH``), so the tests and the cluster agree on what each partition holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import dsviz_widget as dv

PARTS = 20
ROWS = 6  # per partition
CLASSES = dv.Classes(
    [{"id": 0, "name": "road"}, {"id": 1, "name": "car"}, {"id": 2, "name": "person"}]
)


@contextmanager
def local_cluster(cache_dir: Path) -> Iterator[Any]:
    """A client of 2 worker processes of one thread each on 127.0.0.1, no dashboard.

    A task whose worker dies fails at once (by default it is retried on other workers, so a
    partition that kills its worker would take the cluster down three times before failing).
    The workers' S3 read cache is ``cache_dir`` (they inherit the environment at start).
    """
    import dask
    from dask import distributed

    before = os.environ.get("DSVIZ_CACHE_DIR")
    os.environ["DSVIZ_CACHE_DIR"] = str(cache_dir)
    try:
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
    finally:
        if before is None:
            os.environ.pop("DSVIZ_CACHE_DIR", None)
        else:
            os.environ["DSVIZ_CACHE_DIR"] = before


# -- partitions made on the workers ------------------------------------------------------------
def image_rows(part: int, rows: int = ROWS) -> pd.DataFrame:
    """Partition ``part``: ids, a label, a score and an image with boxes and a mask. Which
    classes occur depends on the partition (partitions 0-4 have no "person" box, only
    partitions from 10 on have a "conf" score), so the partitions' own derived columns
    differ and the whole table's must be planned from all of them."""
    rng = np.random.default_rng(part)
    out: dict[str, list[Any]] = {"id": [], "label": [], "score": [], "image": []}
    for k in range(rows):
        i = part * rows + k
        mask = np.zeros((12, 16), np.uint8)
        mask[: 1 + i % 12, :] = 1 if part % 2 else 2
        box: dict[str, Any] = {
            "position": {"minX": 1, "maxX": 6, "minY": 2, "maxY": 9},
            "domain": "pixel",
            "class_id": (i % 3) if part >= 5 else (i % 2),
        }
        if part >= 10:
            box["scores"] = {"conf": round(float(rng.random()), 3)}
        # Smooth pictures (a thumbnail is a JPEG), each its own: row i's colour.
        ramp = np.linspace(0, 120, 16, dtype=np.float64)[None, :].repeat(12, 0)
        pixels = np.dstack([ramp + (i * 7) % 120, ramp[::-1] + (i * 3) % 120, ramp * 0 + i % 200])
        img = dv.Image(
            pixels.astype(np.uint8),
            classes=CLASSES,
            boxes={"gt": {"box_data": [box]}},
            masks={"seg": {"mask_data": mask}},
            caption=f"#{i}",
        )
        out["id"].append(i)
        out["label"].append(["road", "car", "person"][i % 3])
        out["score"].append(float(rng.random()))
        out["image"].append(img)
    return pd.DataFrame(out)


META = pd.DataFrame(
    {
        "id": pd.Series([], dtype="int64"),
        "label": pd.Series([], dtype="str"),
        "score": pd.Series([], dtype="float64"),
        "image": pd.Series([], dtype="object"),
    }
)


def objects_frame(parts: list[Any], meta: pd.DataFrame) -> Any:
    """A frame of delayed partitions whose object columns stay Python objects (Dask would
    turn them into their text: test_images_dask_turned_into_text_are_refused)."""
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(parts, meta=meta)


def image_frame(parts: int = PARTS) -> Any:
    import dask

    return objects_frame([dask.delayed(image_rows)(p) for p in range(parts)], META)


def local_image_frame(parts: int = PARTS) -> pd.DataFrame:
    return pd.concat([image_rows(p) for p in range(parts)], ignore_index=True)
